"""Transformation: the lake's validated rows -> typed, deduplicated, enriched Parquet in
`transformed/`, in the column order and types of the warehouse tables (`warehouse/tables.py`)."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from music_etl import lake
from music_etl.models import TransformedCatalogue, TransformedFile, ValidatedCatalogue, ValidatedFile
from music_etl.rules import transforms
from music_etl.storage import ObjectStore
from music_etl.warehouse.tables import SONG_ARTISTS, SONGS, STREAMS, USERS, Table


def _write(store: ObjectStore, key: str, rows: pd.DataFrame, table: Table) -> str:
    return lake.write_parquet(
        store, key, pa.Table.from_pandas(rows, schema=table.arrow_schema(), preserve_index=False)
    )


def transform_stream_file(store: ObjectStore, validated: ValidatedFile) -> TransformedFile:
    """UTC timestamps, hour and date buckets, in-file duplicates dropped (the load counts them
    with the cross-file ones)."""
    if validated.status != "valid" or validated.validated_key is None:
        return TransformedFile(validated=validated, events_key=None)
    valid = lake.read_parquet(store, validated.validated_key).to_pandas()
    events, _ = transforms.stream_events(valid, validated.source.key)
    key = _write(store, lake.transformed_key(validated.source), events, STREAMS)
    return TransformedFile(validated=validated, events_key=key)


def transform_catalogue(store: ObjectStore, validated: ValidatedCatalogue) -> TransformedCatalogue:
    """Typed dimension rows; for songs also one row per (track, artist)."""
    if validated.validated_key is None:
        return TransformedCatalogue(validated=validated, rows_key=None)
    snapshot = validated.snapshot
    kept = lake.read_parquet(store, validated.validated_key).to_pandas()
    artists_key = None
    if snapshot.dataset == "songs":
        rows, table = transforms.typed_songs(kept), SONGS
        artists_key = _write(
            store,
            lake.snapshot_key("transformed", snapshot, "song_artists"),
            transforms.song_artist_pairs(rows),
            SONG_ARTISTS,
        )
    else:
        rows, table = transforms.typed_users(kept), USERS
    rows_key = _write(store, lake.snapshot_key("transformed", snapshot), rows, table)
    return TransformedCatalogue(validated=validated, rows_key=rows_key, artists_key=artists_key)
