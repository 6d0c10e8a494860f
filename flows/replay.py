"""Replay flow: quarantined unknown_track stream rows, once the catalogue knows their tracks."""

from __future__ import annotations

from datetime import UTC, datetime

from prefect import flow, get_run_logger, unmapped
from prefect.runtime import flow_run

from music_etl.reports import RunSummary, replay_rows, summarise_replay
from music_etl.settings import load_settings
from tasks.connections import close_warehouses
from tasks.load import prepare_warehouse, recompute_kpis
from tasks.replay import find_quarantined_stream_files, load_replayed_rows, revalidate_quarantine
from tasks.report import kpi_history, report
from tasks.runners import per_file_runner, run_cluster
from tasks.validate import build_data_docs, write_lookups


@flow(name="replay-quarantine")
def replay_quarantine_flow(
    lake: str | None = None,
    warehouse: str | None = None,
    warehouse_schema: str | None = None,
    task_runner: str | None = None,
) -> RunSummary:
    """Re-validate quarantined unknown_track stream rows against the current song catalogue and
    load the rows that now pass, each exactly once; then update the KPIs of their hours.

    Args:
        lake: Lake holding quarantine/streams/. Empty means $MUSIC_ETL_LAKE, else ./data/lake.
        warehouse: SQLAlchemy URL of the warehouse (duckdb:///path, postgresql://...,
            redshift+psycopg2://...) or block:NAME. Empty means $MUSIC_ETL_WAREHOUSE, else
            duckdb:///data/warehouse.duckdb.
        warehouse_schema: Warehouse schema holding the tables. Empty means
            $MUSIC_ETL_WAREHOUSE_SCHEMA, else music.
        task_runner: Where the quarantine files are re-validated: threads, dask (a local Dask
            cluster of worker processes) or tcp://HOST:PORT of a running Dask scheduler. Empty
            means $MUSIC_ETL_TASK_RUNNER, else threads.
    """
    settings = load_settings().with_overrides(
        lake=lake,
        warehouse=warehouse,
        warehouse_schema=warehouse_schema,
        task_runner=task_runner,
        max_invalid_fraction=1.0,  # a replay never rejects a file: its file is loaded already
        flow_run_id=str(flow_run.id or "local"),
        started_at=datetime.now(UTC),  # future_listen_time is judged against the replay's start
    )
    try:
        prepare_warehouse(settings)
        quarantines = find_quarantined_stream_files(settings)
        replayed, docs = [], ""
        if quarantines:
            lookups = write_lookups(settings, [])  # the warehouse's current tracks and users
            with run_cluster(settings) as run_settings, per_file_runner(run_settings) as runner:
                parameters = {
                    "settings": unmapped(run_settings),
                    "quarantine": quarantines,
                    "tracks_key": unmapped(lookups["tracks"]),
                    "users_key": unmapped(lookups["users"]),
                }
                revalidated = runner.map(revalidate_quarantine, parameters).result()
            # One writer at a time, each quarantine file in its own transaction.
            replayed = [load_replayed_rows(settings, item) for item in revalidated]
            if any(item.docs_page for item in revalidated):
                docs = build_data_docs(settings)
        kpis = recompute_kpis(settings)
        history = kpi_history(settings) if replayed else None
    finally:
        close_warehouses()

    rows = replay_rows(replayed)
    summary = summarise_replay(len(quarantines), replayed, kpis, docs)
    summary = report(settings, summary, rows, kpis, history, docs)
    logger = get_run_logger()
    for line in summary.lines():
        logger.info(line)
    return summary


if __name__ == "__main__":
    replay_quarantine_flow()
