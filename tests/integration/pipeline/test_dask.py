"""Per-file work on a real Dask cluster (SPEC §7): two worker processes on 127.0.0.1, started
and stopped here, leave the warehouse and the lake exactly as the thread runner does."""

from __future__ import annotations

import sys

import pytest
from distributed import Client, LocalCluster
from prefect.settings import PREFECT_API_URL

from tests.integration.helpers import Stores, streams_csv
from tests.integration.scenarios import DAY_2, EXPECTED_HOURLY, HOUR_10, HOUR_11, expected_genre
from tests.integration.scenarios import warehouse_state


@pytest.fixture(scope="module")
def dask_scheduler():
    """Two worker processes, one thread each; they report task runs to the tests' Prefect API."""
    cluster = LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        env={"PREFECT_API_URL": PREFECT_API_URL.value()},
    )
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close()


def _write_scenario(stores: Stores) -> None:
    """The hand-worked events in four files, with a quarantined row, an unknown track, a
    duplicate across files, a rejected file and a header-only file."""
    stores.write("streams/2026/11/27/10.csv", streams_csv(HOUR_10 + [(7, "", "2026-11-27 10:50:00")]))
    stores.write("streams/2026/11/27/11.csv", streams_csv(HOUR_11 + [(1, "ZZ", "2026-11-27 11:05:00")]))
    stores.write("streams/2026/11/28/a.csv", streams_csv(DAY_2[:3]))
    stores.write("streams/2026/11/28/b.csv.gz", streams_csv(DAY_2[2:]), gzipped=True)
    stores.write("streams/broken/no_track.csv", "user_id,listen_time\n1,2026-11-27 10:00:00\n")
    stores.write("streams/broken/header_only.csv", "user_id,track_id,listen_time\n")


def _lake_files(stores: Stores) -> set[str]:
    """Lake keys that do not name a run: raw copies, quarantines, transformed and validation
    pages (per file version)."""
    keys = set()
    for path in stores.lake.rglob("*"):
        key = path.relative_to(stores.lake).as_posix()
        if path.is_file() and key.split("/")[0] in ("raw", "quarantine", "validated", "transformed"):
            keys.add(key)
        if path.is_file() and key.startswith("data_docs/validations/streams/"):
            keys.add(key.rsplit("/", 2)[0])  # the file version's folder, not its timestamp
    return keys


def test_dask_run_leaves_the_warehouse_a_threaded_run_leaves(
    tmp_path, new_warehouse, dask_scheduler
):
    threaded = Stores.fresh(tmp_path / "threads", new_warehouse())
    on_dask = Stores.fresh(tmp_path / "dask", new_warehouse())
    _write_scenario(threaded)
    _write_scenario(on_dask)

    threaded_summary = threaded.run(task_runner="threads")
    dask_summary = on_dask.run(task_runner=dask_scheduler)

    assert on_dask.kpis() == {"hourly": EXPECTED_HOURLY, "genre": expected_genre()}
    assert warehouse_state(on_dask) == warehouse_state(threaded)
    assert dask_summary.lines() != [] and _summary(dask_summary) == _summary(threaded_summary)
    assert _lake_files(on_dask) == _lake_files(threaded)
    with Client(dask_scheduler) as client:  # the per-file work ran in the worker processes
        ran_there = client.run(lambda: "music_etl.quality.streams" in sys.modules)
    assert len(ran_there) == 2 and any(ran_there.values())


def _summary(summary) -> list[str]:
    """The summary's lines without the Data Docs address (it names the run)."""
    return [line for line in summary.lines() if not line.startswith("Data Docs")]
