"""Load subflow: catalogues, then each stream file in its own transaction, then KPIs."""

from __future__ import annotations

from prefect import flow, get_run_logger

from music_etl.models import KpiUpdate, LoadedFile, TransformedCatalogue, TransformedFile
from music_etl.settings import Settings
from tasks.load import load_catalogue, load_stream_file, recompute_kpis
from tasks.progress import RunProgress, StageProgress


@flow(name="load")
def load_flow(
    settings: Settings,
    catalogues: list[TransformedCatalogue],
    files: list[TransformedFile],
    progress: RunProgress | None = None,
) -> tuple[list[LoadedFile], KpiUpdate]:
    logger = get_run_logger()
    stage = StageProgress(progress, "load")
    loaded: list[LoadedFile] = []
    for catalogue in catalogues:
        loaded.extend(load_catalogue(settings, catalogue))
    # One writer at a time: files load in key order, each in its own transaction.
    for item in files:
        result = load_stream_file(settings, item)
        loaded.append(result)
        stage.advance(result.source.key, result.status, result.rows_loaded)
    kpis = recompute_kpis(settings)
    logger.info("KPIs recomputed for %d hour(s)", kpis.hours_recomputed)
    return loaded, kpis
