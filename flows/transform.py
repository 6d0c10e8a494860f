"""Transform subflow: typed, deduplicated, enriched Parquet in the lake's transformed/."""

from __future__ import annotations

from prefect import flow, unmapped

from tasks.concurrency import per_file_runner
from tasks.models import RunSettings, TransformedCatalogue, TransformedFile, ValidatedCatalogue, ValidatedFile
from tasks.transform import transform_catalogue, transform_stream_file


@flow(name="transform", task_runner=per_file_runner())
def transform_flow(
    settings: RunSettings, catalogues: list[ValidatedCatalogue], files: list[ValidatedFile]
) -> tuple[list[TransformedCatalogue], list[TransformedFile]]:
    transformed_catalogues = [transform_catalogue(settings, c) for c in catalogues]
    transformed_files = (
        transform_stream_file.map(unmapped(settings), files).result() if files else []
    )
    return transformed_catalogues, transformed_files
