"""Repeated runs, repeated and changed files, failures mid-load, and retries that resume."""

from __future__ import annotations

import pytest

import flows.pipeline
from music_etl.quality.suites import SuiteRunner
from tests.integration.helpers import fail_once_while_loading, streams_csv
from tests.integration.scenarios import A, B, C, warehouse_state, write_abc


def test_repeated_run_changes_nothing(stores, clean_state):
    write_abc(stores)
    stores.run()
    again = stores.run()

    assert again.files_by_status == {} and again.files_skipped == 3
    assert again.rows_loaded == 0 and again.hourly_kpi_rows == 0
    assert warehouse_state(stores) == clean_state


def _recorded(subflow, started: list[str]):
    def run(*args, **kwargs):
        started.append(subflow.__name__)
        return subflow(*args, **kwargs)

    return run


def test_run_with_nothing_new_has_no_validation_or_transformation(stores, monkeypatch):
    write_abc(stores)
    stores.run()
    started: list[str] = []
    for name in ("validate_flow", "transform_flow"):
        monkeypatch.setattr(flows.pipeline, name, _recorded(getattr(flows.pipeline, name), started))

    again = stores.run()

    assert started == [] and again.files_skipped == 3 and again.rows_loaded == 0
    stores.write("streams/d.csv", streams_csv([(1, "B1", "2026-11-27 12:05:00")]))
    assert stores.run().files_by_status == {"loaded": 1}
    assert started == ["validate_flow", "transform_flow"]


def test_same_file_under_another_key_adds_nothing(stores, clean_state):
    write_abc(stores)
    stores.run()
    stores.write("streams/copy_of_a.csv", streams_csv(A))

    summary = stores.run()

    assert summary.rows_loaded == 0 and summary.rows_duplicate == len(A)
    state = warehouse_state(stores)
    assert {k: v for k, v in state.items() if k != "ledger"} == {
        k: v for k, v in clean_state.items() if k != "ledger"
    }


def test_changed_file_is_ingested_again(stores):
    stores.write("streams/a.csv", streams_csv(A))
    stores.run()
    stores.write("streams/a.csv", streams_csv(A + [(9, "B3", "2026-11-27 10:45:00")]))

    summary = stores.run()

    assert summary.files_by_status == {"loaded": 1}
    assert summary.rows_loaded == 1 and summary.rows_duplicate == len(A)
    versions = stores.query(
        "SELECT COUNT(DISTINCT etag) FROM {s}.etl_file_ledger WHERE source_key = 'streams/a.csv'"
    )
    assert versions == [(2,)]
    assert stores.kpis()["hourly"][0][1] == 3


def test_failure_inside_a_load_leaves_nothing_half_written(stores, clean_state, monkeypatch):
    write_abc(stores)
    raised = fail_once_while_loading(monkeypatch, stores, "streams/b.csv")

    state = stores.run(return_state=True)

    assert raised and state.is_failed()
    # a.csv committed; b.csv's events were inserted then rolled back with its ledger row.
    assert stores.query("SELECT DISTINCT source_file FROM {s}.streams") == [("streams/a.csv",)]
    assert [row[0] for row in stores.query("SELECT source_key FROM {s}.etl_file_ledger")] == [
        "songs/tracks.csv", "users/users.csv", "streams/a.csv",
    ]  # fmt: skip
    # a.csv's hours wait in the pending table, so the next run's KPI step still covers them.
    assert stores.query("SELECT COUNT(*) FROM {s}.etl_kpi_pending") == [(1,)]

    stores.run()
    assert warehouse_state(stores) == clean_state


def test_retried_flow_run_reuses_finished_work(stores, clean_state, monkeypatch):
    from flows.pipeline import music_etl_pipeline

    write_abc(stores)
    raised = fail_once_while_loading(monkeypatch, stores, "streams/b.csv")
    validations: list[str] = []
    original_validate = SuiteRunner.validate

    def counting_validate(self, dataset, frame, run_name, parameters=None):
        validations.append(run_name)
        return original_validate(self, dataset, frame, run_name, parameters)

    monkeypatch.setattr(SuiteRunner, "validate", counting_validate)

    flaky_once = music_etl_pipeline.with_options(retries=1, retry_delay_seconds=0)
    state = stores.run(flow=flaky_once, return_state=True)

    assert raised and state.is_completed()
    # 2 catalogues + 3 stream files validated once; the retry took b and c from the cache.
    assert len(validations) == 5, validations
    assert warehouse_state(stores) == clean_state


def test_replay_of_a_rejected_file_after_the_catalogue_learns_its_tracks(stores):
    from tests.integration.helpers import CATALOGUE, songs_csv

    new_tracks = [(u, "N1", f"2026-11-27 10:{u:02d}:00") for u in range(1, 5)]
    stores.write("streams/new_release.csv", streams_csv(new_tracks + A[:1]))
    first = stores.run()
    assert first.files_by_status == {"rejected": 1}  # 4 of 5 rows are unknown_track

    catalogue = dict(CATALOGUE, N1=("Newcomer", "New Song", 5, 1000, "pop"))
    stores.write("songs/tracks.csv", songs_csv(catalogue))
    ordinary = stores.run()
    assert ordinary.files_by_status == {}  # the rejected version is not retried by itself

    replay = stores.run(file_keys=["streams/new_release.csv"], force_reingest=True)

    assert replay.files_by_status == {"loaded": 1} and replay.rows_loaded == 5
    assert stores.ledger()["streams/new_release.csv"][:2] == ("loaded", 5)
    again = stores.run(file_keys=["streams/new_release.csv"], force_reingest=True)
    assert again.rows_loaded == 0 and again.rows_duplicate == 5
    assert stores.event_count() == 5
    assert stores.query("SELECT COUNT(*) FROM {s}.etl_file_ledger WHERE source_key LIKE '%new_release%'") == [(1,)]


@pytest.mark.parametrize("new_warehouse", ["postgresql"], indirect=True)
def test_two_runs_at_once_never_ingest_a_file_twice(stores, clean_state):
    """Runs started outside the deployment (no concurrency limit): the ledger lock in the load
    transaction lets one run load each file; the other finds it done and skips it."""
    from concurrent.futures import ThreadPoolExecutor

    write_abc(stores)
    with ThreadPoolExecutor(max_workers=2) as pool:
        summaries = list(pool.map(lambda _: stores.run(), range(2)))

    statuses = [s.files_by_status for s in summaries]
    loaded = sum(s.get("loaded", 0) for s in statuses)
    assert loaded == 3, statuses  # each file loaded by exactly one of the two runs
    assert sum(s.rows_loaded for s in summaries) == len(set(A + B + C))
    assert warehouse_state(stores) == clean_state
