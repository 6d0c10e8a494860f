"""Hand-worked scenarios shared by the flow tests: the events, and the KPI values worked out by
hand for them (never by the code under test)."""

from __future__ import annotations

from datetime import date, datetime

from tests.integration.helpers import Stores, streams_csv

H10 = datetime(2026, 11, 27, 10)
H11 = datetime(2026, 11, 27, 11)
DAY1 = date(2026, 11, 27)
DAY2 = date(2026, 11, 28)

# Hour 10: Alpha 2 plays (A1 x2), Beta 3 (A1 x2 + A2), Gamma 1, "Delta, The" 1.
HOUR_10 = [
    (1, "A1", "2026-11-27 10:00:00"),
    (2, "A1", "2026-11-27 10:10:00"),
    (1, "A2", "2026-11-27 10:20:00"),
    (3, "B1", "2026-11-27 10:30:00"),
    (3, "B2", "2026-11-27 10:40:00"),
]
# Hour 11: Gamma 1 and "Delta, The" 1 tie; "Delta, The" is first in code-point order.
HOUR_11 = [(1, "B1", "2026-11-27 11:00:00"), (2, "B2", "2026-11-27 11:30:00")]
# Day 2: B1 (popularity 70) and B3 (popularity 90) one play each: B3 wins on popularity.
# Hour 10 of day 2: Zed, alpha and Émile tie; code-point order puts "Zed" (Z=0x5A) first,
# where a locale-aware sort would put "alpha" or "Émile" first.
DAY_2 = [
    (4, "B1", "2026-11-28 09:00:00"),
    (4, "B3", "2026-11-28 09:05:00"),
    (5, "C1", "2026-11-28 10:10:00"),
    (5, "C2", "2026-11-28 10:11:00"),
    (5, "C3", "2026-11-28 10:12:00"),
]

EXPECTED_HOURLY = [
    (H10, 5, 3, 4, 4 / 5, "Beta", 3),
    (H11, 2, 2, 2, 2 / 2, "Delta, The", 1),
    (datetime(2026, 11, 28, 9), 2, 1, 2, 2 / 2, "Gamma", 1),
    (datetime(2026, 11, 28, 10), 3, 1, 3, 3 / 3, "Zed", 1),
]


def expected_genre() -> list[tuple]:
    rock_pop = (50 + 50 + 70) / 3
    jazz1_pop = (70 + 70 + 70 + 70) / 4
    jazz2_pop = (70 + 90) / 2
    return [
        # day 1 jazz: B1 x2, B2 x2 by users 3, 3, 1, 2; tie on plays and popularity -> B1
        (DAY1, "jazz", 4, 3, (300000 * 2 + 250000 * 2) / 4, jazz1_pop, 4 * jazz1_pop / 100,
         "B1", "Song B1", 2),
        (DAY1, "rock", 3, 2, (200000 * 2 + 100000) / 3, rock_pop, 3 * rock_pop / 100,
         "A1", "Song A1", 2),
        (DAY2, "jazz", 2, 1, (300000 + 100000) / 2, jazz2_pop, 2 * jazz2_pop / 100,
         "B3", "Song B3", 1),
        # pop: C1, C2, C3 one play each, same popularity -> smallest id C1
        (DAY2, "pop", 3, 1, 1000.0, 10.0, 3 * 10.0 / 100, "C1", "Song C1", 1),
    ]  # fmt: skip


# Three small files: b and c share one event; the state a clean run over them leaves.
A = [(1, "A1", "2026-11-27 10:00:00"), (2, "B1", "2026-11-27 10:30:00")]
B = [(3, "A2", "2026-11-27 11:00:00"), (1, "B2", "2026-11-27 12:00:00")]
C = [(4, "B3", "2026-11-28 01:00:00"), (3, "A2", "2026-11-27 11:00:00")]  # one duplicate of B


def write_abc(stores: Stores) -> None:
    stores.write("streams/a.csv", streams_csv(A))
    stores.write("streams/b.csv", streams_csv(B))
    stores.write("streams/c.csv", streams_csv(C))


def warehouse_state(stores: Stores) -> dict[str, list[tuple]]:
    """Every table's business content (load times and run ids left out)."""
    return {
        **stores.kpis(),
        "streams": stores.query(
            "SELECT user_id, track_id, listen_time, listen_hour, listen_date, source_file"
            " FROM {s}.streams ORDER BY user_id, track_id, listen_time"
        ),
        "ledger": stores.query(
            "SELECT source_key, etag, status, rows_read, rows_loaded, rows_quarantined,"
            " rows_duplicate FROM {s}.etl_file_ledger ORDER BY source_key, etag"
        ),
        "songs": stores.query("SELECT track_id, artists FROM {s}.songs ORDER BY track_id"),
        "pending": stores.query("SELECT * FROM {s}.etl_kpi_pending"),
    }
