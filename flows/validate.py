"""Validate subflow: GX suites over changed catalogues, then every new stream file."""

from __future__ import annotations

from prefect import flow, get_run_logger, unmapped

from tasks.concurrency import per_file_runner
from tasks.models import ExtractResult, RunSettings, ValidatedCatalogue, ValidatedFile
from tasks.quality import build_data_docs, validate_catalogue, validate_stream_file, write_lookups


@flow(name="validate", task_runner=per_file_runner())
def validate_flow(
    settings: RunSettings, extracted: ExtractResult
) -> tuple[list[ValidatedCatalogue], list[ValidatedFile], str]:
    """Returns validated catalogues, validated stream files and the Data Docs index URL."""
    logger = get_run_logger()
    catalogues = [validate_catalogue(settings, snapshot) for snapshot in extracted.catalogues]
    lookups = write_lookups(settings, catalogues)
    files = []
    if extracted.stream_files:
        files = validate_stream_file.map(
            unmapped(settings),
            extracted.stream_files,
            unmapped(lookups["tracks"]),
            unmapped(lookups["users"]),
        ).result()
    for item in files:
        if item.status != "valid":
            logger.warning("%s: %s (%s)", item.source.key, item.status, item.reason)
    ran_validation = bool(catalogues or any(f.docs_url for f in files))
    docs = build_data_docs(settings) if ran_validation else ""
    return catalogues, files, docs
