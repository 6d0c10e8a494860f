"""Validation tasks: catalogue snapshots, stream files (each its own task, cached per file
version), the lookups they check against, and the Data Docs site."""

from __future__ import annotations

from prefect import get_run_logger, task

from music_etl.models import CatalogueSnapshot, SourceFile, ValidatedCatalogue, ValidatedFile
from music_etl.quality import catalogues, data_docs, lookups, streams
from music_etl.settings import Settings
from tasks import connections
from tasks.policies import PER_RUN_CACHE, own_failure


@task(
    name="validate-stream-file",
    cache_policy=PER_RUN_CACHE,
    persist_result=True,
    task_run_name="validate {source.key}",
)
def validate_stream_file(
    settings: Settings, source: SourceFile, tracks_key: str, users_key: str
) -> ValidatedFile:
    """Validate one stream file; a failure of the file's own work rejects it (the run goes on)."""
    logger = get_run_logger()
    lake = connections.lake(settings)
    try:
        validated = streams.validate_stream_file(
            lake, settings, source, lookups.known_ids(lake, tracks_key),
            lookups.known_ids(lake, users_key),
        )
    except Exception as exc:
        reason = own_failure(exc, "validation")
        logger.warning("%s rejected: %s", source.key, reason, exc_info=True)
        return ValidatedFile(source=source, status="rejected", reason=reason)
    if validated.extra_columns:
        logger.warning(
            "%s: extra columns ignored (schema drift): %s", source.key, validated.extra_columns
        )
    return validated


@task(name="validate-catalogue", cache_policy=PER_RUN_CACHE, persist_result=True)
def validate_catalogue(settings: Settings, snapshot: CatalogueSnapshot) -> ValidatedCatalogue:
    return catalogues.validate_catalogue(connections.lake(settings), settings, snapshot)


@task(name="write-lookups")
def write_lookups(settings: Settings, snapshots: list[ValidatedCatalogue]) -> dict[str, str]:
    """Known track and user ids for the stream checks, written to the lake so per-file tasks
    receive a key, not a large set."""
    return lookups.write_lookups(
        connections.warehouse(settings), connections.lake(settings), settings.flow_run_id, snapshots
    )


@task(name="build-data-docs")
def build_data_docs(settings: Settings) -> str:
    """Render and publish the Data Docs index (validation pages were published as they ran);
    return its lake key."""
    return data_docs.build_site(connections.lake(settings))
