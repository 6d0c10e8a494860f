"""Replay flow: quarantined unknown_track stream rows, once the catalogue knows their tracks."""

from __future__ import annotations

from datetime import UTC, datetime

from prefect import flow, get_run_logger, unmapped
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.runtime import flow_run

from flows.pipeline import resolve_locations
from tasks.concurrency import per_file_runner
from tasks.load import prepare_warehouse, recompute_kpis
from tasks.models import RunSettings
from tasks.quality import build_data_docs, write_lookups
from tasks.replay import (
    ReplaySummary,
    find_quarantined_stream_files,
    load_replayed_rows,
    replay_rows,
    revalidate_quarantine,
    summarise_replay,
)
from tasks.warehouse import close_warehouses


@flow(name="replay-quarantine", log_prints=True, task_runner=per_file_runner())
def replay_quarantine_flow(
    landing: str | None = None,
    lake: str | None = None,
    warehouse: str | None = None,
    warehouse_schema: str = "music",
) -> ReplaySummary:
    """Re-validate quarantined unknown_track stream rows against the current song catalogue and
    load the rows that now pass, each exactly once; then update the KPIs of their hours.

    Args:
        landing: Landing zone, as for the music-etl flow (a folder, s3://bucket/prefix or
            block:NAME; empty means $MUSIC_ETL_LANDING, else ./data/landing). A replay does
            not read it: it is accepted so a replay takes the same locations as a run.
        lake: Lake holding quarantine/streams/. Empty means $MUSIC_ETL_LAKE, else ./data/lake.
        warehouse: SQLAlchemy URL of the warehouse (duckdb:///path, postgresql://...,
            redshift+psycopg2://...) or block:NAME. Empty means $MUSIC_ETL_WAREHOUSE, else
            duckdb:///data/warehouse.duckdb.
        warehouse_schema: Warehouse schema holding the tables.
    """
    landing, lake, warehouse = resolve_locations(landing, lake, warehouse)
    settings = RunSettings(
        landing=landing,
        lake=lake,
        warehouse=warehouse,
        schema=warehouse_schema,
        max_invalid_fraction=1.0,  # a replay never rejects a file: its file is loaded already
        flow_run_id=str(flow_run.id or "local"),
        started_at=datetime.now(UTC),  # future_listen_time is judged against the replay's start
    )
    logger = get_run_logger()
    try:
        prepare_warehouse(settings)
        quarantines = find_quarantined_stream_files(settings)
        replayed, docs = [], ""
        if quarantines:
            lookups = write_lookups(settings, [])  # the warehouse's current tracks and users
            revalidated = revalidate_quarantine.map(
                unmapped(settings), quarantines, unmapped(lookups["tracks"]),
                unmapped(lookups["users"]),
            ).result()  # fmt: skip
            # One writer at a time, each quarantine file in its own transaction.
            replayed = [load_replayed_rows(settings, item) for item in revalidated]
            if any(item.docs_url for item in revalidated):
                docs = build_data_docs(settings)
        kpis = recompute_kpis(settings)
    finally:
        close_warehouses()

    summary = summarise_replay(len(quarantines), replayed, kpis, docs)
    rows = replay_rows(replayed)
    if rows:
        create_table_artifact(
            rows, key="replay-counts", description="Per-quarantine-file counts of this replay"
        )
    create_markdown_artifact("\n".join(f"- {line}" for line in summary.lines()), key="replay-summary")
    for line in summary.lines():
        logger.info(line)
    return summary


if __name__ == "__main__":
    replay_quarantine_flow()
