"""KPI tables after real flow runs on DuckDB, against values worked out by hand."""

from __future__ import annotations

from tests.integration.scenarios import (
    DAY_2,
    EXPECTED_HOURLY,
    H10,
    HOUR_10,
    HOUR_11,
    expected_genre,
)


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
    assert kpis["genre"] == expected_genre()


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
