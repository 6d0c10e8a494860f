"""Runs started at the same time from anywhere (the CLI beside a deployment, a backfill beside
the schedule), as real concurrent processes: nothing is loaded or counted twice."""

from __future__ import annotations

import os
import time
import uuid
from contextlib import contextmanager

import psycopg2
import pytest

from tests.integration.conftest import POSTGRES_URL
from tests.integration.helpers import RUN_TIMEOUT, Stores, cli, location_args, start_cli
from tests.integration.scenarios import warehouse_state, write_abc


@pytest.fixture
def sequential_state(tmp_path, new_warehouse) -> dict[str, list[tuple]]:
    """The warehouse after the same files went through one run at a time."""
    reference = Stores.fresh(tmp_path / "reference", new_warehouse())
    write_abc(reference)
    reference.run()
    return warehouse_state(reference)


def _finish(runs) -> list[str]:
    """Wait for every process; each must have completed. Returns their stdout."""
    outputs = []
    for run in runs:
        out, err = run.communicate(timeout=RUN_TIMEOUT)
        assert run.returncode == 0, f"exit {run.returncode}\n{out[-3000:]}\n{err}"
        outputs.append(out)
    return outputs


@contextmanager
def _table_locked(stores: Stores, table: str):
    """Hold an exclusive lock on one table, so that whoever needs it waits until released."""
    connection = psycopg2.connect(POSTGRES_URL.replace("+psycopg2", ""))
    try:
        with connection.cursor() as cursor:
            cursor.execute(f'LOCK TABLE "{stores.warehouse.schema}".{table} IN ACCESS EXCLUSIVE MODE')
        yield
    finally:
        connection.commit()
        connection.close()


def _wait_for_lock_waiters(application: str, count: int, runs) -> None:
    """Until `count` connections of the runs (named `application`) wait on a lock, or a run
    ended (then its exit tells why)."""
    connection = psycopg2.connect(POSTGRES_URL.replace("+psycopg2", ""))
    connection.autocommit = True
    deadline = time.monotonic() + RUN_TIMEOUT
    try:
        while time.monotonic() < deadline and all(run.poll() is None for run in runs):
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT COUNT(*) FROM pg_stat_activity"
                    " WHERE application_name = %s AND wait_event_type = 'Lock'",
                    (application,),
                )
                if cursor.fetchone()[0] >= count:
                    return
            time.sleep(0.2)
    finally:
        connection.close()
    if all(run.poll() is None for run in runs):
        pytest.fail("the two runs never waited on a lock together")


@pytest.mark.parametrize("new_warehouse", ["postgresql"], indirect=True)
def test_two_runs_at_once_on_postgresql_write_every_kpi_row_once(stores, sequential_state, tmp_path):
    # The catalogues are loaded first, so the two runs below only load stream files.
    first = cli("run", *location_args(stores), cwd=tmp_path / "first")
    assert first.returncode == 0, first.stderr
    write_abc(stores)
    application = f"music-etl-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "PGAPPNAME": application}  # libpq names the runs' connections

    # song_artists is read by the hourly KPI recomputation and by nothing else these runs do:
    # while it is locked, a recomputation stops halfway, and both runs reach their critical
    # section together. They are let go only once both wait (on that table, or on each other).
    with _table_locked(stores, "song_artists"):
        runs = [
            start_cli("run", *location_args(stores), cwd=tmp_path / f"run{n}", env=env)
            for n in (1, 2)
        ]
        _wait_for_lock_waiters(application, 2, runs)
    outputs = _finish(runs)

    state = warehouse_state(stores)
    if state != sequential_state:  # DEBUG
        import pprint
        pprint.pprint(state); pprint.pprint(sequential_state)
        for out in outputs:
            print("=" * 80); print(out)
    assert state == sequential_state


@pytest.mark.parametrize("new_warehouse", ["duckdb"], indirect=True)
def test_a_second_run_on_one_duckdb_file_waits_its_turn(stores, sequential_state, tmp_path):
    write_abc(stores)

    runs = [start_cli("run", *location_args(stores), cwd=tmp_path / f"run{n}") for n in (1, 2)]
    outputs = _finish(runs)

    # DuckDB lets one process write a file: one run found it taken and waited for it.
    assert any("in use by another process" in out for out in outputs), outputs
    assert warehouse_state(stores) == sequential_state


@pytest.mark.parametrize("new_warehouse", ["duckdb"], indirect=True)
def test_two_runs_sharing_one_lake_both_complete(stores, new_warehouse, sequential_state, tmp_path):
    """Each run validates in a Great Expectations project of its own; only the published Data
    Docs are shared (the lake held one GX project, and one run died of it)."""
    write_abc(stores)
    other = Stores(stores.landing, stores.lake, new_warehouse())

    runs = [
        start_cli("run", *location_args(each), cwd=tmp_path / f"run{n}")
        for n, each in enumerate((stores, other))
    ]
    _finish(runs)

    assert warehouse_state(stores) == sequential_state
    assert warehouse_state(other) == sequential_state
    assert (stores.lake / "data_docs" / "index.html").is_file()


def test_kpi_rows_written_twice_by_an_older_version_are_repaired(stores, sequential_state):
    write_abc(stores)
    stores.run()
    # What concurrent runs of earlier versions left behind: no unique keys, rows twice.
    drop_index = "DROP INDEX {s}.hourly_kpis_key"
    stores.query_all([drop_index, drop_index.replace("hourly", "genre")])
    stores.query_all(["INSERT INTO {s}.hourly_kpis SELECT * FROM {s}.hourly_kpis",
                      "INSERT INTO {s}.genre_kpis SELECT * FROM {s}.genre_kpis"])  # fmt: skip

    summary = stores.run()

    assert summary.files_by_status == {}  # nothing new: the repair alone recomputed the rows
    assert warehouse_state(stores) == sequential_state
    with pytest.raises(Exception, match="(?i)duplicate|unique|constraint"):
        stores.query_all(["INSERT INTO {s}.hourly_kpis SELECT * FROM {s}.hourly_kpis"])
