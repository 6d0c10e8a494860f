"""`replay-quarantine`: unknown_track rows load once the catalogue knows their tracks, once only."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from flows.replay import replay_quarantine_flow
from music_etl.warehouse import tables
from tests.integration.helpers import (
    QUICK_TIMEOUT,
    Stores,
    Warehouse,
    bucket_keys,
    cli,
    open_warehouse,
    single_error_line,
    songs_csv,
    streams_csv,
    upload_landing,
)

STREAM_KEY = "streams/2026/11/27/10.csv"
# Tracks the catalogue learns later: D1 adds plays for "Delta, The" (already an artist) in
# hours that have other events, D2 brings a new genre on day 2.
LATE_SONGS = {
    "D1": ("Delta, The;Nu", "Song D1", 80, 180000, "jazz"),
    "D2": ("Nu", "Song D2", 40, 240000, "folk"),
}
KNOWN = [
    (1, "A1", "2026-11-27 10:00:00"),
    (2, "B1", "2026-11-27 10:05:00"),
    (3, "A2", "2026-11-27 11:00:00"),
    (1, "B2", "2026-11-27 11:10:00"),
    (4, "C1", "2026-11-28 09:00:00"),
    (4, "B3", "2026-11-28 09:10:00"),
    (5, "A1", "2026-11-28 09:20:00"),
]
D1_AT_10 = (2, "D1", "2026-11-27 10:15:00")
LATE = [
    D1_AT_10,
    D1_AT_10,  # an exact duplicate in the file: one event, one duplicate
    (5, "D1", "2026-11-27T11:30:00Z"),
    (6, "D2", "2026-11-28 09:30:00"),
]
NEVER_KNOWN = [(7, "X9", "2026-11-27 10:20:00")]
MISSING_USER = [("", "D1", "2026-11-27 10:25:00")]  # quarantined for another reason: not replayable
# 13 rows, 6 quarantined: under max_invalid_fraction, so the file loads.
ROWS = KNOWN + LATE + NEVER_KNOWN + MISSING_USER


def _first_run_then_catalogue_learns(
    stores: Stores, publish: Callable[[], None] = lambda: None, **locations: str
) -> None:
    """A run that quarantines ROWS' unknown tracks, then a run that loads their songs."""
    stores.write(STREAM_KEY, streams_csv(ROWS))
    publish()
    first = stores.run(**locations)
    assert first.rows_loaded == len(KNOWN) and first.rows_quarantined == 6
    stores.write("songs/late.csv", songs_csv(LATE_SONGS))
    publish()
    catalogue = stores.run(**locations)
    assert "songs" in catalogue.catalogues and catalogue.rows_loaded == 0


def _replay(stores: Stores, lake: str | None = None, **_landing: str):
    """A replay reads only the lake (its quarantine) and the warehouse."""
    return replay_quarantine_flow(
        lake=lake or str(stores.lake),
        warehouse=stores.warehouse.url,
        warehouse_schema=stores.warehouse.schema,
    )


def _events(stores: Stores) -> list[tuple]:
    return stores.query(
        "SELECT user_id, track_id, listen_time, listen_hour, listen_date, source_file"
        " FROM {s}.streams ORDER BY user_id, track_id, listen_time"
    )


def _full_state(stores: Stores) -> dict[str, list[tuple]]:
    """Every row of every table, load times and run ids included."""
    return {
        table: sorted(stores.query(f"SELECT * FROM {{s}}.{table}"), key=repr)
        for table in (table.name for table in tables.TABLES)
    }


def test_replay_loads_the_rows_the_catalogue_now_knows_and_kpis_match_a_clean_run(
    stores, tmp_path, new_warehouse
):
    _first_run_then_catalogue_learns(stores)

    summary = _replay(stores)

    assert summary.rows_revalidated == len(LATE) + len(NEVER_KNOWN)
    assert summary.rows_loaded == 3
    assert summary.rows_duplicate == 1
    assert summary.still_quarantined == (("unknown_track", 1),)
    assert summary.kpi_hours_recomputed == 3  # 27th 10:00 and 11:00, 28th 09:00
    clean = Stores.fresh(tmp_path / "clean", new_warehouse())
    clean.write("songs/late.csv", songs_csv(LATE_SONGS))
    clean.write(STREAM_KEY, streams_csv(ROWS))
    clean_run = clean.run()
    assert clean_run.rows_loaded == len(KNOWN) + 3  # the reference really had the tracks
    assert stores.kpis() == clean.kpis()
    assert _events(stores) == _events(clean)
    assert stores.query("SELECT COUNT(*) FROM {s}.etl_kpi_pending") == [(0,)]


def test_second_replay_changes_nothing(stores):
    _first_run_then_catalogue_learns(stores)
    _replay(stores)
    after_first = _full_state(stores)

    again = _replay(stores)

    assert _full_state(stores) == after_first
    assert (again.rows_loaded, again.rows_duplicate, again.kpi_hours_recomputed) == (0, 0, 0)
    assert again.rows_revalidated == 1  # only the row whose track is still unknown
    # The four rows that left quarantine, each recorded once, with the row number in the file.
    replayed = stores.query(
        "SELECT row_number, source_key FROM {s}.etl_quarantine_replays ORDER BY row_number"
    )
    first_late_row = len(KNOWN) + 1
    assert replayed == [(first_late_row + i, STREAM_KEY) for i in range(len(LATE))]


def test_rows_whose_track_is_still_unknown_stay_quarantined(stores):
    stores.write(STREAM_KEY, streams_csv(ROWS))
    stores.run()
    before = _full_state(stores)
    quarantine = sorted((stores.lake / "quarantine" / "streams").rglob("*.parquet"))
    quarantined_bytes = [path.read_bytes() for path in quarantine]

    summary = _replay(stores)

    assert summary.rows_revalidated == len(LATE) + len(NEVER_KNOWN)
    assert summary.rows_loaded == 0
    assert summary.still_quarantined == (("unknown_track", 5),)
    assert _full_state(stores) == before
    assert [path.read_bytes() for path in quarantine] == quarantined_bytes
    assert len(quarantine) == 1


def test_quarantine_of_a_file_version_that_is_not_loaded_is_left_alone(stores):
    _first_run_then_catalogue_learns(stores)
    # As if the file's load had never committed: its quarantine is in the lake, its ledger
    # row is not; the pipeline takes such a file again, so the replay must not.
    warehouse = open_warehouse(stores.warehouse_url, stores.warehouse.schema)
    try:
        with warehouse.transaction() as session:
            session.execute("DELETE FROM {s}.etl_file_ledger WHERE dataset = 'streams'")
    finally:
        warehouse.close()

    summary = _replay(stores)

    assert (summary.quarantine_files, summary.rows_revalidated, summary.rows_loaded) == (0, 0, 0)
    assert stores.event_count() == len(KNOWN)


def test_event_loaded_meanwhile_from_another_file_counts_as_duplicate(stores):
    stores.write(STREAM_KEY, streams_csv(ROWS))
    stores.run()
    # The catalogue learns D1 and D2 in the same run that loads another file with two of the
    # quarantined D1 events.
    other = "streams/2026/11/27/other.csv"
    stores.write("songs/late.csv", songs_csv(LATE_SONGS))
    stores.write(other, streams_csv([D1_AT_10, (5, "D1", "2026-11-27 11:30:00")]))
    meanwhile = stores.run()
    assert meanwhile.rows_loaded == 2

    summary = _replay(stores)

    assert summary.rows_loaded == 1  # only D2
    assert summary.rows_duplicate == 3  # the in-file copy and the two events from `other`
    d1_events = stores.query(
        "SELECT user_id, listen_time, source_file FROM {s}.streams WHERE track_id = 'D1'"
        " ORDER BY listen_time"
    )
    assert [(user, source) for user, _, source in d1_events] == [(2, other), (5, other)]
    assert stores.event_count() == len(KNOWN) + 3


def test_replay_with_the_lake_on_s3(s3, tmp_path):
    stores = Stores.fresh(tmp_path / "stores", Warehouse(f"duckdb:///{tmp_path}/w.duckdb"))
    on_s3 = dict(landing="s3://landing-zone/incoming", lake="s3://data-lake/lake")
    _first_run_then_catalogue_learns(stores, lambda: upload_landing(s3, stores, "incoming"), **on_s3)

    summary = _replay(stores, **on_s3)

    assert (summary.rows_loaded, summary.rows_duplicate, summary.rows_still_quarantined) == (3, 1, 1)
    assert stores.event_count() == len(KNOWN) + 3
    lake_keys = bucket_keys(s3, "data-lake")
    assert any(k.startswith("lake/replay/") and f"/events/{STREAM_KEY}@" in k for k in lake_keys)
    assert _replay(stores, **on_s3).rows_loaded == 0


def test_cli_replay_prints_a_summary_and_rejects_a_missing_lake(tmp_path: Path):
    stores = Stores.fresh(tmp_path / "stores", Warehouse(f"duckdb:///{tmp_path}/w.duckdb"))
    _first_run_then_catalogue_learns(stores)
    locations = [
        "--lake", str(stores.lake), "--warehouse", stores.warehouse_url,
    ]  # fmt: skip

    result = cli("replay-quarantine", *locations, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    summary = result.stdout.split("music-etl replay-quarantine summary\n", 1)[1].splitlines()
    assert summary[:5] == [
        "quarantine files: 1 with rows to replay (of 1 of loaded stream files)",
        "rows re-validated: 5",
        "rows loaded: 3",
        "duplicates: 1",
        "rows still quarantined: 1 (unknown_track=1)",
    ]
    assert stores.event_count() == len(KNOWN) + 3

    missing = tmp_path / "no-such-lake"
    failed = cli(
        "replay-quarantine", "--lake", str(missing), "--warehouse", stores.warehouse_url,
        cwd=tmp_path, timeout=QUICK_TIMEOUT,
    )  # fmt: skip
    assert failed.returncode == 2
    assert str(missing) in single_error_line(failed)
    assert "Flow run" not in failed.stdout
