"""Transformation tasks: validated rows -> typed, deduplicated Parquet in `transformed/`."""

from __future__ import annotations

from dataclasses import replace

from prefect import get_run_logger, task

from music_etl import transform
from music_etl.models import TransformedCatalogue, TransformedFile, ValidatedCatalogue, ValidatedFile
from music_etl.settings import Settings
from tasks import connections
from tasks.policies import PER_RUN_CACHE, own_failure


@task(
    name="transform-stream-file",
    cache_policy=PER_RUN_CACHE,
    persist_result=True,
    task_run_name="transform {validated.source.key}",
)
def transform_stream_file(settings: Settings, validated: ValidatedFile) -> TransformedFile:
    """One file's events; a failure of the file's own work rejects it (the run goes on)."""
    try:
        return transform.transform_stream_file(connections.lake(settings), validated)
    except Exception as exc:
        reason = own_failure(exc, "transformation")
        get_run_logger().warning("%s rejected: %s", validated.source.key, reason, exc_info=True)
        rejected = replace(validated, status="rejected", reason=reason)
        return TransformedFile(validated=rejected, events_key=None)


@task(name="transform-catalogue", cache_policy=PER_RUN_CACHE, persist_result=True)
def transform_catalogue(settings: Settings, validated: ValidatedCatalogue) -> TransformedCatalogue:
    return transform.transform_catalogue(connections.lake(settings), validated)
