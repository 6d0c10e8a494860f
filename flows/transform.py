"""Transform subflow: typed, deduplicated, enriched Parquet in the lake's transformed/."""

from __future__ import annotations

from prefect import flow, unmapped

from music_etl.models import TransformedCatalogue, TransformedFile, ValidatedCatalogue, ValidatedFile
from music_etl.settings import Settings
from tasks.runners import per_file_runner
from tasks.transform import transform_catalogue, transform_stream_file


@flow(name="transform")
def transform_flow(
    settings: Settings, catalogues: list[ValidatedCatalogue], files: list[ValidatedFile]
) -> tuple[list[TransformedCatalogue], list[TransformedFile]]:
    transformed_catalogues = [transform_catalogue(settings, c) for c in catalogues]
    if not files:
        return transformed_catalogues, []
    with per_file_runner(settings) as runner:
        parameters = {"settings": unmapped(settings), "validated": list(files)}
        return transformed_catalogues, runner.map(transform_stream_file, parameters).result()
