"""Load tasks: schema, catalogue upserts, one transaction per stream file, KPI recomputation."""

from __future__ import annotations

from prefect import task

from music_etl.models import KpiUpdate, LoadedFile, TransformedCatalogue, TransformedFile
from music_etl.settings import Settings
from music_etl.warehouse import loads
from tasks import connections
from tasks.policies import IO_RETRIES


@task(name="prepare-warehouse", **IO_RETRIES)
def prepare_warehouse(settings: Settings) -> None:
    connections.warehouse(settings).ensure_schema()


@task(
    name="load-stream-file",
    task_run_name="load {transformed.validated.source.key}",
    **IO_RETRIES,  # safe: one transaction per file, and the ledger makes a repeat a no-op
)
def load_stream_file(settings: Settings, transformed: TransformedFile) -> LoadedFile:
    return loads.load_stream_file(
        connections.warehouse(settings), connections.lake(settings), settings, transformed
    )


@task(name="load-catalogue", **IO_RETRIES)
def load_catalogue(settings: Settings, catalogue: TransformedCatalogue) -> list[LoadedFile]:
    return loads.load_catalogue(
        connections.warehouse(settings), connections.lake(settings), settings.flow_run_id, catalogue
    )


@task(name="recompute-kpis", **IO_RETRIES)
def recompute_kpis(settings: Settings) -> KpiUpdate:
    return loads.recompute_kpis(connections.warehouse(settings))
