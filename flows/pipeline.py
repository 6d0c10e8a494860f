"""The parent flow: extract -> validate -> transform -> load, then artifacts and a summary."""

from __future__ import annotations

from datetime import UTC, datetime

from prefect import flow, get_run_logger
from prefect.runtime import flow_run

from flows.extract import extract_flow
from flows.heartbeats import subflows_without_heartbeats
from flows.load import load_flow
from flows.transform import transform_flow
from flows.validate import validate_flow
from music_etl.reports import RunSummary, file_rows, quality_message, summarise
from music_etl.settings import load_settings
from tasks.connections import close_warehouses
from tasks.load import prepare_warehouse
from tasks.progress import start as start_progress
from tasks.report import kpi_history, notify_data_quality, report
from tasks.runners import run_cluster


@flow(name="music-etl")
def music_etl_pipeline(
    landing: str | None = None,
    lake: str | None = None,
    warehouse: str | None = None,
    warehouse_schema: str | None = None,
    max_files: int | None = None,
    max_invalid_fraction: float = 0.5,
    file_keys: list[str] | None = None,
    force_reingest: bool = False,
    notification_block: str | None = None,
    task_runner: str | None = None,
) -> RunSummary:
    """Ingest new stream files and catalogue changes, validate, transform, load, update KPIs.

    Args:
        landing: Landing zone: a folder, s3://bucket/prefix or block:NAME. Empty means
            $MUSIC_ETL_LANDING, else ./data/landing.
        lake: Lake for raw copies, validated/quarantined rows, Parquet and Data Docs. Empty
            means $MUSIC_ETL_LAKE, else ./data/lake.
        warehouse: SQLAlchemy URL of the warehouse (duckdb:///path, postgresql://...,
            redshift+psycopg2://...) or block:NAME. Empty means $MUSIC_ETL_WAREHOUSE, else
            duckdb:///data/warehouse.duckdb.
        warehouse_schema: Warehouse schema holding the tables. Empty means
            $MUSIC_ETL_WAREHOUSE_SCHEMA, else music.
        max_files: Ingest at most this many new stream files (oldest keys first); empty means all.
        max_invalid_fraction: Reject a whole stream file when more than this fraction of its
            rows is quarantined.
        file_keys: Backfill or replay: only these stream file keys of the landing zone (for
            example streams/2026/11/28/10.csv). Empty means every new file.
        force_reingest: Process the selected files even when their version was already
            ingested (for example files rejected before a catalogue fix). Events already in the
            warehouse still count once.
        notification_block: A Prefect notification block as TYPE-SLUG/NAME (for example
            slack-webhook/music-etl-alerts) told, with counts and the Data Docs link, when files
            are rejected or rows quarantined. Empty means no message.
        task_runner: Where per-file validation and transformation run: threads (in the flow's
            process), dask (a local Dask cluster of worker processes, one per CPU, for this
            run) or tcp://HOST:PORT of a running Dask scheduler whose workers have this
            project and reach the lake and the Prefect API. Empty means
            $MUSIC_ETL_TASK_RUNNER, else threads.
    """
    if max_files is not None and max_files < 1:
        raise ValueError("max_files must be at least 1")
    settings = load_settings().with_overrides(
        landing=landing,
        lake=lake,
        warehouse=warehouse,
        warehouse_schema=warehouse_schema,
        max_invalid_fraction=max_invalid_fraction,
        force_reingest=force_reingest,
        task_runner=task_runner,
        flow_run_id=str(flow_run.id or "local"),
        started_at=datetime.now(UTC),  # future_listen_time is judged against the run's start
    )
    try:
        with run_cluster(settings) as settings, subflows_without_heartbeats():
            prepare_warehouse(settings)
            extracted = extract_flow(settings, max_files, file_keys)
            progress = start_progress(len(extracted.stream_files))
            if extracted.stream_files or extracted.catalogues:
                catalogues, validated, docs = validate_flow(settings, extracted, progress)
                new_catalogues, transformed = transform_flow(
                    settings, catalogues, validated, progress
                )
            else:  # no validation or transformation subflows: a second of an idle run
                catalogues, validated, docs, new_catalogues, transformed = [], [], "", [], []
            # Always: the load recomputes KPI hours a crashed run may have left pending.
            loaded, kpis = load_flow(settings, new_catalogues, transformed, progress)
            history = kpi_history(settings) if validated or catalogues else None
    finally:
        close_warehouses()

    catalogue_files = [f for c in catalogues for f in c.files]
    rows = file_rows(catalogue_files + validated, loaded)
    summary = summarise(loaded, validated, catalogues, kpis, docs, extracted)
    summary = report(settings, summary, rows, kpis, history, docs)
    logger = get_run_logger()
    for line in summary.lines():
        logger.info(line)
    # Prefect builds the link even without a UI to point at ("None/flow-runs/..." or, on the
    # CLI's temporary server, which serves none, "/flow-runs/..."): only a real address is sent.
    run_url = flow_run.ui_url or ""
    message = quality_message(rows, summary, run_url if run_url.startswith("http") else "")
    if notification_block and message:
        sent = notify_data_quality(notification_block, *message, return_state=True)
        if not sent.is_completed():  # the data is loaded; a lost message must not undo that
            logger.error("could not send the data-quality message via %s", notification_block)
    return summary


if __name__ == "__main__":
    music_etl_pipeline()
