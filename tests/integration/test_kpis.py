"""KPI tables after real flow runs on DuckDB, against values worked out by hand."""

from __future__ import annotations

from datetime import date, datetime

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


def _expected_genre() -> list[tuple]:
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


def test_kpis_match_hand_computed_values(stores):
    from tests.integration.helpers import streams_csv

    stores.write("streams/2026/11/27/10.csv", streams_csv(HOUR_10))
    stores.write("streams/2026/11/27/11.csv", streams_csv(HOUR_11))
    stores.write("streams/2026/11/28/09.csv", streams_csv(DAY_2))

    summary = stores.run()

    assert summary.files_by_status == {"loaded": 3}
    assert summary.rows_loaded == 12
    kpis = stores.kpis()
    assert kpis["hourly"] == EXPECTED_HOURLY
    assert kpis["genre"] == _expected_genre()


def test_same_events_split_differently_give_identical_kpis(tmp_path, new_warehouse):
    from tests.integration.helpers import Stores, streams_csv

    every_event = HOUR_10 + HOUR_11 + DAY_2
    one_file = Stores.fresh(tmp_path / "one", new_warehouse())
    one_file.write("streams/all.csv", streams_csv(every_event))
    one_file.run()

    # Reversed order, split across three runs, with overlapping files (duplicates).
    many = Stores.fresh(tmp_path / "many", new_warehouse())
    reversed_events = list(reversed(every_event))
    many.write("streams/b.csv", streams_csv(reversed_events[:7]))
    many.run()
    many.write("streams/a.csv.gz", streams_csv(reversed_events[5:]), gzipped=True)
    many.run()
    many.write("streams/c/again.csv", streams_csv(every_event[::3]))
    summary = many.run()

    assert summary.rows_loaded == 0 and summary.rows_duplicate == len(every_event[::3])
    assert many.kpis() == one_file.kpis()
    assert many.kpis()["hourly"] == EXPECTED_HOURLY
    assert many.event_count() == len(every_event)


def test_late_data_for_an_old_hour_updates_only_that_hour(stores):
    from tests.integration.helpers import streams_csv

    stores.write("streams/2026/11/27/10.csv", streams_csv(HOUR_10))
    stores.write("streams/2026/11/27/11.csv", streams_csv(HOUR_11))
    stores.run()
    before = stores.kpis()

    # Arrives a day later, in a new file, for hour 10: another Gamma play by user 4.
    stores.write("streams/2026/11/28/late.csv", streams_csv([(4, "B1", "2026-11-27 10:59:59")]))
    summary = stores.run()

    assert summary.kpi_hours_recomputed == 1
    hourly = stores.kpis()["hourly"]
    assert hourly[0] == (H10, 6, 4, 4, 4 / 6, "Beta", 3)
    assert hourly[1] == before["hourly"][1]
    jazz_day1 = [row for row in stores.kpis()["genre"] if row[1] == "jazz"][0]
    assert jazz_day1[2:4] == (5, 4)


def test_catalogue_change_recomputes_old_hours(stores):
    from tests.integration.helpers import CATALOGUE, songs_csv, streams_csv

    stores.write("streams/2026/11/27/10.csv", streams_csv(HOUR_10))
    stores.run()
    assert stores.kpis()["hourly"][0][5:] == ("Beta", 3)

    # A2 is re-credited to Alpha and moves to jazz: Alpha now has 3 plays, Beta 2.
    changed = dict(CATALOGUE)
    changed["A2"] = ("Alpha", "Song A2", 70, 100000, "jazz")
    del changed["C3"]  # delisted: stays in the warehouse
    stores.write("songs/tracks.csv", songs_csv(changed))
    summary = stores.run()

    assert summary.catalogues["songs"].startswith("reloaded 1 file(s)")
    assert stores.kpis()["hourly"][0][5:] == ("Alpha", 3)
    genres = {row[1]: row[2] for row in stores.kpis()["genre"]}
    assert genres == {"rock": 2, "jazz": 3}
    assert stores.query("SELECT COUNT(*) FROM {s}.songs WHERE track_id = 'C3'") == [(1,)]


def test_unchanged_catalogue_is_not_reloaded(stores):
    from tests.integration.helpers import streams_csv

    stores.write("streams/x.csv", streams_csv(HOUR_11))
    first = stores.run()
    second = stores.run()
    assert set(first.catalogues) == {"songs", "users"}
    assert second.catalogues == {}
