"""Crashes at every stage boundary: a retry of the same flow run, or a fresh run, ends with the
warehouse a clean run leaves (KPIs, events, ledger, catalogue, pending hours)."""

from __future__ import annotations

import pytest

import flows.load
import flows.pipeline
from flows.pipeline import music_etl_pipeline
from music_etl.warehouse import sql as warehouse_sql
from music_etl.warehouse.duckdb_file import DuckDBSession
from music_etl.warehouse.postgres import PostgresSession
from tests.integration.helpers import Stores
from tests.integration.scenarios import warehouse_state, write_abc


class InjectedCrash(RuntimeError):
    """Stands for the process dying: not transient, so no task retry absorbs it."""


def _crash_after(monkeypatch, module, name: str, crashed: list[str], key: str | None = None):
    """Let `module.name` finish (for `key`, when given), then crash, once."""
    original = getattr(module, name)

    def wrapper(*args, **kwargs):
        result = original(*args, **kwargs)
        if not crashed and (key is None or result.source.key == key):
            crashed.append(name)
            raise InjectedCrash(f"injected crash after {name}")
        return result

    monkeypatch.setattr(module, name, wrapper)


def _crash_before(monkeypatch, module, name: str, crashed: list[str]):
    original = getattr(module, name)

    def wrapper(*args, **kwargs):
        if not crashed:
            crashed.append(name)
            raise InjectedCrash(f"injected crash before {name}")
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapper)


def _crash_inside_load(monkeypatch, stores: Stores, key: str, crashed: list[str]):
    """Crash in b.csv's load transaction after its events were inserted, before the commit."""
    session_class = DuckDBSession if stores.warehouse_url.startswith("duckdb") else PostgresSession
    original = session_class.execute

    def execute(self, statement, params=None):
        if statement == warehouse_sql.LEDGER_INSERT and params["source_key"] == key and not crashed:
            crashed.append("load")
            raise InjectedCrash(f"injected crash inside the load of {key}")
        return original(self, statement, params)

    monkeypatch.setattr(session_class, "execute", execute)


BOUNDARIES = {
    "after_extract": lambda mp, stores, crashed: _crash_after(mp, flows.pipeline, "extract_flow", crashed),
    "after_validate": lambda mp, stores, crashed: _crash_after(mp, flows.pipeline, "validate_flow", crashed),
    "after_transform": lambda mp, stores, crashed: _crash_after(mp, flows.pipeline, "transform_flow", crashed),
    "inside_load_before_commit": lambda mp, stores, crashed: _crash_inside_load(mp, stores, "streams/b.csv", crashed),
    # b.csv committed, c.csv not loaded yet, KPIs not recomputed.
    "after_commit_of_a_file": lambda mp, stores, crashed: _crash_after(
        mp, flows.load, "load_stream_file", crashed, key="streams/b.csv"
    ),
    # Every file committed; the KPI step never ran.
    "after_commits_before_kpis": lambda mp, stores, crashed: _crash_before(mp, flows.load, "recompute_kpis", crashed),
}  # fmt: skip


# Crashes before the load leave nothing in the warehouse but its schema, on any backend: they run
# on DuckDB only. The load's boundaries (rollback, ledger, pending hours) run on both backends.
# A fresh run after a crash before the load differs from a first run only by the lake objects
# already written, all of which exist after `after_transform`: that one stands for the three.
LOAD_BOUNDARIES = ["inside_load_before_commit", "after_commit_of_a_file", "after_commits_before_kpis"]
RETRY = [("duckdb", b, "retry_same_run") for b in BOUNDARIES] + [
    ("postgresql", b, "retry_same_run") for b in LOAD_BOUNDARIES
]
FRESH = [
    (backend, b, "fresh_run")
    for backend in ("duckdb", "postgresql")
    for b in (["after_transform"] if backend == "duckdb" else []) + LOAD_BOUNDARIES
]


@pytest.mark.parametrize("new_warehouse, boundary, recovery", RETRY + FRESH, indirect=["new_warehouse"])
def test_crash_then_recovery_equals_a_clean_run(stores, clean_state, monkeypatch, boundary, recovery):
    write_abc(stores)
    crashed: list[str] = []
    BOUNDARIES[boundary](monkeypatch, stores, crashed)

    if recovery == "retry_same_run":
        retried = music_etl_pipeline.with_options(retries=1, retry_delay_seconds=0)
        state = stores.run(flow=retried, return_state=True)
        assert state.is_completed(), state.message
    else:
        first = stores.run(return_state=True)
        assert first.is_failed() and "injected crash" in first.message
        stores.run()

    assert crashed, "the fault was never injected"
    assert warehouse_state(stores) == clean_state
