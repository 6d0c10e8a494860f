"""Transient faults are retried and the run succeeds exactly once; permanent ones fail the run
with one clear line and leave the KPI tables as they were.

S3 faults are injected at the botocore layer (a `before-send` hook answers instead of the moto
server), so the real client, its retry mode and our error translation are all on the path."""

from __future__ import annotations

from collections import Counter

import psycopg2
import pytest
from botocore.awsrequest import AWSResponse

import tasks.connections
from cli.main import main as music_etl_main
from music_etl.settings import Settings
from music_etl.warehouse import sql as warehouse_sql
from music_etl.warehouse.duckdb_file import DuckDBSession
from music_etl.warehouse.postgres import PostgresSession
from tests.integration.conftest import POSTGRES_URL
from tests.integration.helpers import (
    Stores,
    open_warehouse,
    streams_csv,
    upload_landing,
)
from tests.integration.scenarios import (
    DAY_2,
    EXPECTED_HOURLY,
    HOUR_10,
    HOUR_11,
    A,
    B,
    warehouse_state,
    write_abc,
)

S3_RUN = dict(landing="s3://landing-zone/incoming", lake="s3://data-lake/lake")


class _Body:
    def __init__(self, data: bytes):
        self.data = data

    def stream(self, **_):
        yield self.data


def _s3_error(status: int, code: str) -> AWSResponse:
    body = f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code><Message>injected</Message></Error>"
    return AWSResponse("http://injected", status, {"Content-Type": "application/xml"}, _Body(body.encode()))


class S3Faults:
    """Answers the first `times` calls of an operation (optionally only those whose URL
    contains `where`) with an S3 error, then lets calls through; counts every call."""

    def __init__(self):
        self.rules: list[dict] = []
        self.calls: Counter[str] = Counter()
        self.injected: Counter[str] = Counter()

    def fail(self, operation: str, status: int, code: str, *, times: int = 1, where: str = ""):
        self.rules.append(dict(operation=operation, status=status, code=code, times=times, where=where))

    def __call__(self, request, event_name: str, **_):
        operation = event_name.rsplit(".", 1)[-1]
        self.calls[operation] += 1
        for rule in self.rules:
            if rule["operation"] == operation and rule["where"] in request.url and rule["times"]:
                rule["times"] -= 1
                self.injected[rule["code"]] += 1
                return _s3_error(rule["status"], rule["code"])
        return None


@pytest.fixture
def s3_faults(s3, monkeypatch) -> S3Faults:
    """Fresh S3 stores for this test (the process caches one per location), with the hook on
    their clients: the run's tasks use exactly these clients."""
    monkeypatch.setattr(tasks.connections, "_stores", {})
    faults = S3Faults()
    settings = Settings()
    for store in (
        tasks.connections.open_store(S3_RUN["landing"], settings),
        tasks.connections.open_store(S3_RUN["lake"], settings, create=True),
    ):
        store._client.meta.events.register("before-send.s3", faults)
    return faults


@pytest.mark.parametrize("new_warehouse", ["duckdb"], indirect=True)
def test_s3_server_errors_and_throttling_are_retried_and_the_run_succeeds(stores, s3, s3_faults):
    stores.write("streams/2026/11/27/10.csv", streams_csv(HOUR_10))
    stores.write("streams/2026/11/27/11.csv", streams_csv(HOUR_11))
    stores.write("streams/2026/11/28/09.csv", streams_csv(DAY_2))
    upload_landing(s3, stores, "incoming")
    # Each kind of transient error on a different path: landing list, landing -> lake copy,
    # lake write, lake read (twice in a row there: two backoffs).
    s3_faults.fail("ListObjectsV2", 500, "InternalError", where="/landing-zone")
    s3_faults.fail("CopyObject", 503, "ServiceUnavailable")
    s3_faults.fail("PutObject", 503, "SlowDown")
    s3_faults.fail("GetObject", 400, "ThrottlingException", times=2, where="/data-lake")

    summary = stores.run(**S3_RUN)

    assert s3_faults.injected == {
        "InternalError": 1, "ServiceUnavailable": 1, "SlowDown": 1, "ThrottlingException": 2,
    }  # fmt: skip
    assert summary.files_by_status == {"loaded": 3}
    assert stores.kpis()["hourly"] == EXPECTED_HOURLY
    assert stores.event_count() == len(set(HOUR_10 + HOUR_11 + DAY_2))
    assert stores.query("SELECT COUNT(*) FROM {s}.etl_file_ledger WHERE dataset = 'streams'") == [(3,)]


@pytest.mark.parametrize("new_warehouse", ["postgresql"], indirect=True)
def test_dropped_warehouse_connection_mid_load_is_retried_exactly_once(stores, clean_state, monkeypatch):
    """The server terminates the loading backend in the middle of b.csv's transaction: the load
    task retries on a new connection, and every event and ledger row is there exactly once."""
    write_abc(stores)
    terminated: list[int] = []
    original = PostgresSession.execute

    def execute(self, statement, params=None):
        if statement == warehouse_sql.INSERT_NEW_EVENTS and not terminated:
            if self.connection.dbapi_connection.info.backend_pid and _source_of_stage(self) == "streams/b.csv":
                terminated.append(_terminate(self.connection.dbapi_connection.info.backend_pid))
        return original(self, statement, params)

    monkeypatch.setattr(PostgresSession, "execute", execute)

    summary = stores.run()

    assert terminated, "the connection was never dropped"
    assert summary.files_by_status == {"loaded": 3}  # b loaded by the retry, not skipped
    assert warehouse_state(stores) == clean_state


def _source_of_stage(session) -> str:
    with session.connection.cursor() as cursor:
        cursor.execute("SELECT MIN(source_file) FROM stage_events")
        return cursor.fetchone()[0]


def _terminate(pid: int) -> int:
    """Kill a backend from another connection, as a server restart or failover would."""
    with psycopg2.connect(POSTGRES_URL.replace("+psycopg2", "")) as admin:
        with admin.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", (pid,))
            assert cursor.fetchone()[0]
    admin.close()
    return pid


def _cli_run(stores: Stores, **locations) -> int:
    options = dict(
        landing=str(stores.landing), lake=str(stores.lake), warehouse=stores.warehouse_url,
        schema=stores.warehouse.schema,
    )  # fmt: skip
    options.update(locations)
    return music_etl_main(["run", *(f"--{name}={value}" for name, value in options.items())])


def _error_line(capsys) -> str:
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("music-etl:")]
    assert len(lines) == 1, lines
    return lines[0]


def test_a_table_that_cannot_be_written_fails_the_run_with_one_line(
    stores, monkeypatch, capsys, restored_environ
):
    stores.write("streams/a.csv", streams_csv(A))
    stores.run()
    kpis_before = stores.kpis()
    # An operator's mistake: a NOT NULL column the loader does not know about.
    _execute(
        stores,
        "ALTER TABLE {s}.streams ADD COLUMN region VARCHAR DEFAULT 'x'",
        "ALTER TABLE {s}.streams ALTER COLUMN region SET NOT NULL",
        "ALTER TABLE {s}.streams ALTER COLUMN region DROP DEFAULT",
    )
    stores.write("streams/b.csv", streams_csv(B))
    attempts = _count_statement(monkeypatch, stores, warehouse_sql.INSERT_NEW_EVENTS)
    capsys.readouterr()

    code = _cli_run(stores)

    assert code == 1
    line = _error_line(capsys)
    assert line.startswith("music-etl: error: run failed: ") and "region" in line, line
    assert attempts == [1], "a permanent error must not be retried"
    assert stores.kpis() == kpis_before
    assert "streams/b.csv" not in stores.ledger()


def _execute(stores: Stores, *statements: str) -> None:
    warehouse = open_warehouse(stores.warehouse_url, stores.warehouse.schema)
    try:
        with warehouse.transaction() as session:
            session.run_all(list(statements))
    finally:
        warehouse.close()


def _count_statement(monkeypatch, stores: Stores, statement: str) -> list[int]:
    session_class = DuckDBSession if stores.warehouse_url.startswith("duckdb") else PostgresSession
    original = session_class.execute
    count = [0]

    def execute(self, sql, params=None):
        if sql == statement:
            count[0] += 1
        return original(self, sql, params)

    monkeypatch.setattr(session_class, "execute", execute)
    return count


@pytest.mark.parametrize("new_warehouse", ["duckdb"], indirect=True)
def test_s3_access_denied_fails_the_run_with_one_line_and_no_kpi_change(
    stores, s3, s3_faults, capsys, restored_environ
):
    stores.write("streams/a.csv", streams_csv(A))
    upload_landing(s3, stores, "incoming")
    stores.run(**S3_RUN)
    kpis_before = stores.kpis()
    stores.write("streams/b.csv", streams_csv(B))
    stores.write("streams/c.csv", streams_csv([(4, "B3", "2026-11-28 01:00:00")]))
    upload_landing(s3, stores, "incoming")
    # The lake's policy changed: c.csv's transformed Parquet can no longer be read by the loader.
    s3_faults.fail("GetObject", 403, "AccessDenied", times=99, where="transformed/streams/c.csv")
    capsys.readouterr()

    code = _cli_run(stores, **S3_RUN)

    assert code == 1
    line = _error_line(capsys)
    assert line.startswith("music-etl: error: run failed: ") and "AccessDenied" in line, line
    assert s3_faults.injected == {"AccessDenied": 1}, "a permanent error must not be retried"
    # b.csv committed (its hours wait in etl_kpi_pending), but no KPI row changed.
    assert stores.kpis() == kpis_before
    assert stores.ledger()["streams/b.csv"][0] == "loaded" and "streams/c.csv" not in stores.ledger()
