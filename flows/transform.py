"""Transform subflow: typed, deduplicated, enriched Parquet in the lake's transformed/."""

from __future__ import annotations

from prefect import flow, unmapped

from music_etl.models import (
    TransformedCatalogue,
    TransformedFile,
    ValidatedCatalogue,
    ValidatedFile,
)
from music_etl.settings import Settings
from tasks.progress import RunProgress, StageProgress, collect
from tasks.runners import per_file_runner
from tasks.transform import transform_catalogue, transform_stream_file


@flow(name="transform")
def transform_flow(
    settings: Settings,
    catalogues: list[ValidatedCatalogue],
    files: list[ValidatedFile],
    progress: RunProgress | None = None,
) -> tuple[list[TransformedCatalogue], list[TransformedFile]]:
    transformed_catalogues = [transform_catalogue(settings, c) for c in catalogues]
    if not files:
        return transformed_catalogues, []
    with per_file_runner(settings) as runner:
        parameters = {"settings": unmapped(settings), "validated": list(files)}
        transformed = collect(
            runner.map(transform_stream_file, parameters),
            StageProgress(progress, "transform"),
            lambda f: (f.validated.source.key, f.validated.status, f.validated.counts.rows_valid),
        )
    return transformed_catalogues, transformed
