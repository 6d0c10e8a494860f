"""Validate subflow: GX suites over changed catalogues, then every new stream file."""

from __future__ import annotations

from prefect import flow, get_run_logger, unmapped

from music_etl.models import ExtractResult, ValidatedCatalogue, ValidatedFile
from music_etl.settings import Settings
from tasks.progress import RunProgress, StageProgress, collect
from tasks.runners import per_file_runner
from tasks.validate import build_data_docs, validate_catalogue, validate_stream_file, write_lookups


@flow(name="validate")
def validate_flow(
    settings: Settings, extracted: ExtractResult, progress: RunProgress | None = None
) -> tuple[list[ValidatedCatalogue], list[ValidatedFile], str]:
    """Returns validated catalogues, validated stream files and the Data Docs index's key."""
    logger = get_run_logger()
    catalogues = [validate_catalogue(settings, snapshot) for snapshot in extracted.catalogues]
    lookups = write_lookups(settings, catalogues)
    files = []
    if extracted.stream_files:
        with per_file_runner(settings) as runner:
            parameters = {
                "settings": unmapped(settings),
                "source": list(extracted.stream_files),
                "tracks_key": unmapped(lookups["tracks"]),
                "users_key": unmapped(lookups["users"]),
            }
            files = collect(
                runner.map(validate_stream_file, parameters),
                StageProgress(progress, "validate"),
                lambda f: (f.source.key, f.status, f.counts.rows_read),
            )
    for item in files:
        if item.status != "valid":
            logger.warning("%s: %s (%s)", item.source.key, item.status, item.reason)
    ran_validation = bool(catalogues or any(f.docs_page for f in files))
    docs = build_data_docs(settings) if ran_validation else ""
    return catalogues, files, docs
