"""Load subflow: catalogues, then each stream file in its own transaction, then KPIs."""

from __future__ import annotations

from prefect import flow, get_run_logger

from music_etl.models import KpiUpdate, LoadedFile, TransformedCatalogue, TransformedFile
from music_etl.settings import Settings
from tasks.load import load_catalogue, load_stream_file, recompute_kpis


@flow(name="load")
def load_flow(
    settings: Settings, catalogues: list[TransformedCatalogue], files: list[TransformedFile]
) -> tuple[list[LoadedFile], KpiUpdate]:
    logger = get_run_logger()
    loaded: list[LoadedFile] = []
    for catalogue in catalogues:
        loaded.extend(load_catalogue(settings, catalogue))
    # One writer at a time: files load in key order, each in its own transaction.
    for position, item in enumerate(files, start=1):
        result = load_stream_file(settings, item)
        loaded.append(result)
        logger.info(
            "[%d/%d] %s: %s, %d rows loaded", position, len(files), result.source.key,
            result.status, result.rows_loaded,
        )  # fmt: skip
    kpis = recompute_kpis(settings)
    logger.info("KPIs recomputed for %d hour(s)", kpis.hours_recomputed)
    return loaded, kpis
