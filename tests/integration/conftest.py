"""Integration fixtures: one temporary Prefect API for the session, fresh stores per test, and
every flow test run once on DuckDB and once on the real PostgreSQL server."""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Callable
from contextlib import contextmanager

import boto3
import pytest
from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
from prefect.testing.utilities import prefect_test_harness

import tasks.connections
from tests.integration.helpers import Stores, Warehouse
from tests.integration.scenarios import warehouse_state, write_abc
from tests.integration.servers import moto_server

POSTGRES_URL = os.environ.get(
    "MUSIC_ETL_TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
)


TASK_RUN_RECORDER = "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_ENABLED"


@contextmanager
def prefect_server(*, task_run_recorder: bool):
    """A temporary Prefect API for flow runs in this process.

    Heartbeats only matter to a server watching for crashed runs; a flow run's exit waits up to
    a second for its heartbeat thread. The product's subflows send none (flows/heartbeats.py);
    here the parent flows send none either, as with the CLI's temporary server. The task-run
    recorder turns task-run events into rows; its SQLite writes stalled subflow creation by ~2 s,
    so flow tests run twice as fast without it (the CLI's temporary server does the same,
    cli/main.py). Tests that read task runs from the API start a server with it.
    """
    previous = os.environ.get(TASK_RUN_RECORDER)
    os.environ[TASK_RUN_RECORDER] = str(task_run_recorder).lower()  # read by the server process
    try:
        with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
            with prefect_test_harness(server_startup_timeout=120):
                _restore(TASK_RUN_RECORDER, previous)  # servers started later decide for themselves
                yield
    finally:
        _restore(TASK_RUN_RECORDER, previous)


def _restore(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


@pytest.fixture(scope="session", autouse=True)
def prefect_api():
    with prefect_server(task_run_recorder=False):
        yield


def _postgres_problem() -> str | None:
    import psycopg2

    try:
        psycopg2.connect(POSTGRES_URL.replace("+psycopg2", ""), connect_timeout=5).close()
    except psycopg2.OperationalError as exc:
        return str(exc).strip().splitlines()[0]
    return None


@pytest.fixture(scope="session")
def postgres_schemas():
    """Schemas created on the PostgreSQL server this session; all dropped at the end."""
    created: list[str] = []
    yield created
    if created:
        import psycopg2

        with psycopg2.connect(POSTGRES_URL.replace("+psycopg2", "")) as connection:
            with connection.cursor() as cursor:
                for schema in created:
                    cursor.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(params=["duckdb", "postgresql"])
def new_warehouse(request, tmp_path, postgres_schemas) -> Callable[[], Warehouse]:
    """A factory of empty warehouses on this test's backend."""
    if request.param == "postgresql":
        problem = _postgres_problem()
        if problem and os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL must run in CI, but {POSTGRES_URL} is unreachable: {problem}")
        if problem:
            pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}: {problem}")
    counter = itertools.count()

    def make() -> Warehouse:
        if request.param == "duckdb":
            return Warehouse(f"duckdb:///{tmp_path}/warehouse{next(counter)}.duckdb")
        schema = f"music_test_{uuid.uuid4().hex[:12]}"
        postgres_schemas.append(schema)
        return Warehouse(POSTGRES_URL, schema)

    return make


@pytest.fixture
def stores(tmp_path, new_warehouse) -> Stores:
    return Stores.fresh(tmp_path / "stores", new_warehouse())


# --- shared scenarios and stores ----------------------------------------------------------------

_CLEAN_STATES: dict[str, dict[str, list[tuple]]] = {}


@pytest.fixture
def clean_state(tmp_path, new_warehouse) -> dict[str, list[tuple]]:
    """The warehouse after one clean run over a, b and c; computed once per backend."""
    warehouse = new_warehouse()
    backend = warehouse.url.split(":", 1)[0]
    if backend not in _CLEAN_STATES:
        clean = Stores.fresh(tmp_path / "clean", warehouse)
        write_abc(clean)
        clean.run()
        _CLEAN_STATES[backend] = warehouse_state(clean)
    return _CLEAN_STATES[backend]


@pytest.fixture
def restored_environ():
    """The CLI runs in-process here; it sets a few environment defaults: put them back."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


# --- S3 over HTTP: a moto server on 127.0.0.1 -----------------------------------------------------

AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}


@pytest.fixture(scope="module")
def s3_endpoint():
    with moto_server() as endpoint:
        yield from _aws_environment(endpoint)


def _aws_environment(endpoint: str):
    saved = {name: os.environ.get(name) for name in [*AWS_ENV, "AWS_ENDPOINT_URL"]}
    os.environ.update(AWS_ENV, AWS_ENDPOINT_URL=endpoint)
    # Stores are cached per location and process; another module's store talks to its own,
    # stopped, server. Every module importing this fixture gets its own server: start clean.
    tasks.connections.forget_stores()
    yield endpoint
    tasks.connections.forget_stores()
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture
def s3(s3_endpoint):
    client = boto3.client("s3", endpoint_url=s3_endpoint)
    for bucket in ("landing-zone", "data-lake"):
        client.create_bucket(Bucket=bucket)
    yield client
    for bucket in ("landing-zone", "data-lake"):
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for item in page.get("Contents", []):
                client.delete_object(Bucket=bucket, Key=item["Key"])
        client.delete_bucket(Bucket=bucket)
