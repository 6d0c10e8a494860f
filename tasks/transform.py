"""Transformation tasks: validated rows -> typed, deduplicated, enriched Parquet in `transformed/`."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pyarrow as pa
from prefect import get_run_logger, task

from tasks import lake, transforms
from tasks.policies import PER_RUN_CACHE, is_the_files_fault
from tasks.models import RunSettings, TransformedCatalogue, TransformedFile, ValidatedCatalogue, ValidatedFile
from tasks.storage import open_store

_TRUE = {"true", "1", "yes", "t"}
_FALSE = {"false", "0", "no", "f"}


def typed_songs(kept: pd.DataFrame) -> pd.DataFrame:
    """Warehouse-typed song rows from the validated (trimmed text + parsed) frame."""
    songs = pd.DataFrame(
        {
            "track_id": kept["track_id"].astype("str"),
            "artists": kept["artists"].astype("str"),
            "album_name": kept["album_name"],
            "track_name": kept["track_name"].astype("str"),
            "popularity": kept["popularity_int"].astype("int32"),
            "duration_ms": kept["duration_ms_int"].astype("int64"),
            "explicit": kept["explicit"].str.lower().map(
                lambda v: True if v in _TRUE else False if v in _FALSE else None
            ).astype("boolean"),
        }
    )
    for column in transforms.SONG_FLOATS:
        songs[column] = pd.to_numeric(kept[column], errors="coerce").astype("float64")
    for column in transforms.SONG_SMALL_INTS:
        songs[column] = transforms.parse_int(kept[column]).astype("Int32")
    songs["track_genre"] = kept["track_genre"].astype("str")
    songs["source_file"] = kept["source_file"].astype("str")
    return songs


def typed_users(kept: pd.DataFrame) -> pd.DataFrame:
    created = kept["created_at_utc"].dt.tz_localize(None)
    return pd.DataFrame(
        {
            "user_id": kept["user_id_int"].astype("int64"),
            "user_name": kept["user_name"],
            "user_age": transforms.parse_int(kept["user_age"]).astype("Int32"),
            "user_country": kept["user_country"],
            "created_at": created.astype("datetime64[us]"),
            "source_file": kept["source_file"].astype("str"),
        }
    )


@task(
    name="transform-stream-file",
    cache_policy=PER_RUN_CACHE,
    persist_result=True,
    task_run_name="transform {validated.source.key}",
)
def transform_stream_file(settings: RunSettings, validated: ValidatedFile) -> TransformedFile:
    """Parse, normalise to UTC, bucket by hour and date, drop in-file duplicates. A failure of
    this file's own work rejects the file; the run goes on with the others."""
    if validated.status != "valid" or validated.validated_key is None:
        return TransformedFile(validated=validated, events_key=None)
    try:
        return _transform_stream_file(settings, validated)
    except Exception as exc:
        if not is_the_files_fault(exc):
            raise
        reason = f"transformation failed: {type(exc).__name__}: {exc}"
        get_run_logger().warning("%s rejected: %s", validated.source.key, reason, exc_info=True)
        rejected = replace(validated, status="rejected", reason=reason)
        return TransformedFile(validated=rejected, events_key=None)


def _transform_stream_file(settings: RunSettings, validated: ValidatedFile) -> TransformedFile:
    store = open_store(settings.lake)
    valid = lake.read_parquet(store, validated.validated_key).to_pandas()
    # In-file duplicates are dropped here; the load counts them with the cross-file ones.
    events, _ = transforms.stream_events(valid, validated.source.key)
    key = lake.write_parquet(
        store,
        lake.transformed_key(validated.source),
        pa.Table.from_pandas(events, preserve_index=False),
    )
    return TransformedFile(validated=validated, events_key=key)


@task(name="transform-catalogue", cache_policy=PER_RUN_CACHE, persist_result=True)
def transform_catalogue(settings: RunSettings, validated: ValidatedCatalogue) -> TransformedCatalogue:
    if validated.validated_key is None:
        return TransformedCatalogue(validated=validated, rows_key=None)
    store = open_store(settings.lake)
    snapshot = validated.snapshot
    kept = lake.read_parquet(store, validated.validated_key).to_pandas()
    if snapshot.dataset == "songs":
        rows = typed_songs(kept)
        artists_key = lake.write_parquet(
            store,
            lake.snapshot_key("transformed", snapshot, "song_artists"),
            pa.Table.from_pandas(transforms.song_artist_pairs(rows), preserve_index=False),
        )
    else:
        rows, artists_key = typed_users(kept), None
    rows_key = lake.write_parquet(
        store, lake.snapshot_key("transformed", snapshot), pa.Table.from_pandas(rows, preserve_index=False)
    )
    return TransformedCatalogue(validated=validated, rows_key=rows_key, artists_key=artists_key)
