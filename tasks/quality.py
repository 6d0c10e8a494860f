"""Validation of stream files and catalogue snapshots: computed check columns, GX, quarantine.

The flow calls the @tasks; the `prepare_*` functions are pure and unit-tested.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from functools import lru_cache

import pandas as pd
import pyarrow as pa
import pyarrow.compute  # noqa: F401  (registers pa.compute)
from prefect import get_run_logger, task

from tasks import data_docs, lake, transforms
from tasks import warehouse_sql as sql
from tasks.policies import PER_RUN_CACHE, is_the_files_fault
from tasks.csv_input import EmptyFile, FileRejected, check_size, read_csv_text
from tasks.models import (
    CatalogueSnapshot,
    FileCounts,
    RunSettings,
    SourceFile,
    ValidatedCatalogue,
    ValidatedFile,
)
from tasks.storage import open_store
from tasks.warehouse import warehouse_for

CATALOGUE_REQUIRED = {
    "songs": [*transforms.SONG_REQUIRED, "popularity", "duration_ms"],
    "users": ["user_id"],
}
CATALOGUE_KEY = {"songs": "track_id", "users": "user_id_int"}
DUPLICATE_REASON = {"songs": "duplicate_track_id", "users": "duplicate_user_id"}


def prepare_streams(raw: pd.DataFrame, known_tracks: pa.Array | pd.Index) -> pd.DataFrame:
    """The frame the streams suite checks: trimmed inputs plus parsed/looked-up columns."""
    track_id = transforms.strip_text(raw["track_id"])
    return pd.DataFrame(
        {
            "user_id": transforms.strip_text(raw["user_id"]),
            "track_id": track_id,
            "listen_time": transforms.strip_text(raw["listen_time"]),
            "user_id_int": transforms.parse_positive_int(raw["user_id"]),
            "listen_time_utc": transforms.parse_listen_time(raw["listen_time"]),
            "known_track_id": track_id.where(transforms.is_in(track_id, known_tracks)),
        },
        index=raw.index,
    )


def _with_byte_lengths(frame: pd.DataFrame, staging_table: str) -> pd.DataFrame:
    """Add `<column>_utf8_bytes` for each text column the warehouse stores as VARCHAR(n):
    Redshift counts bytes, so a suite expectation checks these against n."""
    for column in sql.varchar_limits(staging_table):
        if column in frame:
            values = pa.array(frame[column], type=pa.string(), from_pandas=True)
            lengths = pa.compute.binary_length(values).to_pandas(types_mapper=pd.ArrowDtype)
            frame[f"{column}_utf8_bytes"] = lengths.astype("Int64").set_axis(frame.index)
    return frame


def _trimmed(raw: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """The catalogue's columns as trimmed text; an optional column absent from the file is null."""
    frame = pd.DataFrame(index=raw.index)
    for column in columns:
        values = raw[column] if column in raw else pd.Series(None, index=raw.index, dtype="str")
        frame[column] = transforms.strip_text(values)
    return frame


def prepare_songs(raw: pd.DataFrame) -> pd.DataFrame:
    frame = _trimmed(raw, transforms.SONG_COLUMNS)
    frame["popularity_int"] = transforms.parse_int(raw["popularity"])
    frame["duration_ms_int"] = transforms.parse_int(raw["duration_ms"])
    return _with_byte_lengths(frame, "stage_songs")


def prepare_users(raw: pd.DataFrame) -> pd.DataFrame:
    frame = _trimmed(raw, transforms.USER_COLUMNS)
    frame["user_id_int"] = transforms.parse_positive_int(raw["user_id"])
    # Not a quarantine rule: an unparseable created_at is stored as NULL and counted as a warning.
    frame["created_at_utc"] = transforms.parse_created_at(frame["created_at"])
    return _with_byte_lengths(frame, "stage_users")


def catalogue_warnings(dataset: str, rows: pd.DataFrame) -> tuple[tuple[str, int], ...]:
    """Kept rows with a value stored as NULL because it could not be read (SPEC §2)."""
    if dataset != "users":
        return ()
    unreadable = int((rows["created_at"].notna() & rows["created_at_utc"].isna()).sum())
    return (("invalid_created_at", unreadable),) if unreadable else ()


_QUARANTINE_META = ("source_file", "row_number", "reason")
VANISHED = "file vanished from the landing zone between listing and reading"


def quarantine_table(
    raw: pd.DataFrame, reasons: pd.Series, source_files: pd.Series, row_numbers: pd.Series
) -> pa.Table:
    """Quarantined rows with every raw value as read, where they came from, and why."""
    failed = reasons.notna()
    rows = raw.loc[failed].astype("str")
    # Raw columns that share a name with the metadata columns are kept as raw_<name>.
    rows = rows.rename(columns={c: f"raw_{c}" for c in _QUARANTINE_META if c in rows.columns})
    rows["source_file"] = source_files[failed].astype("str")
    rows["row_number"] = row_numbers[failed].astype("int64")
    rows["reason"] = reasons[failed].astype("str")
    return pa.Table.from_pandas(rows, preserve_index=False)


def count_reasons(reasons: pd.Series) -> tuple[tuple[str, int], ...]:
    return tuple(sorted(Counter(reasons.dropna()).items()))


@lru_cache(maxsize=8)
def known_ids(lake_location: str, key: str) -> pa.Array:
    """The ids of a lookup written by `write_lookups` (cached: every file of a run reads it)."""
    return lake.read_parquet(open_store(lake_location), key).column(0).combine_chunks()


def future_cutoff(settings: RunSettings) -> pd.Timestamp:
    return pd.Timestamp(settings.started_at).tz_convert("UTC") + timedelta(days=1)


def _read_source(store, source: SourceFile, required: list[str]) -> pa.Table:
    check_size(source.size)  # a huge file is refused before it is read into memory
    return read_csv_text(store.read_bytes(source.raw_key), source.key, required)


@task(
    name="validate-stream-file",
    cache_policy=PER_RUN_CACHE,
    persist_result=True,
    task_run_name="validate {source.key}",
)
def validate_stream_file(
    settings: RunSettings, source: SourceFile, tracks_key: str, users_key: str
) -> ValidatedFile:
    """Validate one stream file with the streams suite; write valid rows and quarantine.
    A failure of this file's own work rejects the file; the run goes on with the others."""
    try:
        return _validate_stream_file(settings, source, tracks_key, users_key)
    except Exception as exc:
        if not is_the_files_fault(exc):
            raise
        reason = f"validation failed: {type(exc).__name__}: {exc}"
        get_run_logger().warning("%s rejected: %s", source.key, reason, exc_info=True)
        return ValidatedFile(source=source, status="rejected", reason=reason)


def _validate_stream_file(
    settings: RunSettings, source: SourceFile, tracks_key: str, users_key: str
) -> ValidatedFile:
    store = open_store(settings.lake)
    if not source.raw_key:
        return ValidatedFile(source=source, status="rejected", reason=VANISHED)
    try:
        table = _read_source(store, source, transforms.STREAM_COLUMNS)
    except EmptyFile as exc:
        return ValidatedFile(source=source, status="empty", reason=str(exc))
    except FileRejected as exc:
        return ValidatedFile(source=source, status="rejected", reason=str(exc))

    raw = table.to_pandas(types_mapper=lambda _: pd.StringDtype())
    # Label rows by their row number in the file, so the indexes Data Docs list for failing
    # rows are the quarantine's row_number values.
    raw.index = pd.RangeIndex(1, len(raw) + 1)  # unnamed: GX then lists plain labels
    extra = tuple(name for name in raw.columns if name not in transforms.STREAM_COLUMNS)
    frame = prepare_streams(raw, known_ids(settings.lake, tracks_key))
    outcome = data_docs.runner(store).validate(
        "streams",
        frame,
        run_name=source.version_tag,
        parameters={"max_listen_time": future_cutoff(settings)},
    )
    reasons = outcome.reasons
    quarantined = int(reasons.notna().sum())
    valid = frame.loc[reasons.isna()]
    known_users = transforms.is_in(valid["user_id_int"], known_ids(settings.lake, users_key))
    unknown_users = int((~known_users).sum())
    counts = FileCounts(
        rows_read=len(frame),
        rows_valid=len(valid),
        rows_quarantined=quarantined,
        rows_unknown_user=unknown_users,
        quarantine_by_reason=count_reasons(reasons),
    )
    page = data_docs.publish_page(store, outcome.docs_url)
    common = dict(source=source, counts=counts, extra_columns=extra, docs_url=page)
    if quarantined > settings.max_invalid_fraction * len(frame):
        reason = (
            f"{quarantined} of {len(frame)} rows failed validation "
            f"(more than max_invalid_fraction={settings.max_invalid_fraction})"
        )
        return ValidatedFile(status="rejected", reason=reason, **common)

    row_numbers = frame.index.to_series()
    quarantine_key = None
    if quarantined:
        sources = pd.Series(source.key, index=frame.index)
        quarantine_key = lake.write_parquet(
            store, lake.quarantine_key(source), quarantine_table(raw, reasons, sources, row_numbers)
        )
    valid_rows = pd.DataFrame(
        {
            "row_number": row_numbers[valid.index],
            "user_id_int": valid["user_id_int"],
            "track_id_clean": valid["track_id"],
            "listen_time_utc": valid["listen_time_utc"],
        }
    )
    validated_key = lake.write_parquet(
        store, lake.validated_key(source), pa.Table.from_pandas(valid_rows, preserve_index=False)
    )
    if extra:
        get_run_logger().warning("%s: extra columns ignored (schema drift): %s", source.key, extra)
    return ValidatedFile(
        status="valid", validated_key=validated_key, quarantine_key=quarantine_key, **common
    )


def _read_snapshot(
    store, snapshot: CatalogueSnapshot
) -> tuple[list[pd.DataFrame], dict[SourceFile, ValidatedFile]]:
    """Read every file of a snapshot; unusable files are settled (rejected/empty) right away."""
    frames, settled = [], {}
    required = CATALOGUE_REQUIRED[snapshot.dataset]
    for source in sorted(snapshot.files):
        if not source.raw_key:
            settled[source] = ValidatedFile(source=source, status="rejected", reason=VANISHED)
            continue
        try:
            table = _read_source(store, source, required)
        except EmptyFile as exc:
            settled[source] = ValidatedFile(source=source, status="empty", reason=str(exc))
            continue
        except FileRejected as exc:
            settled[source] = ValidatedFile(source=source, status="rejected", reason=str(exc))
            continue
        frame = table.to_pandas(types_mapper=lambda _: pd.StringDtype())
        frame["_source_file"] = source.key
        frame["_row_number"] = range(1, len(frame) + 1)
        frames.append(frame)
    return frames, settled


@task(name="validate-catalogue", cache_policy=PER_RUN_CACHE, persist_result=True)
def validate_catalogue(settings: RunSettings, snapshot: CatalogueSnapshot) -> ValidatedCatalogue:
    """Validate a catalogue snapshot as one batch; keep the first valid row of each key."""
    store = open_store(settings.lake)
    dataset = snapshot.dataset
    frames, settled = _read_snapshot(store, snapshot)
    if not frames:
        return ValidatedCatalogue(snapshot, tuple(settled.values()), None, 0, None)

    raw = pd.concat(frames, ignore_index=True)
    source_files, row_numbers = raw.pop("_source_file"), raw.pop("_row_number")
    frame = prepare_songs(raw) if dataset == "songs" else prepare_users(raw)
    outcome = data_docs.runner(store).validate(
        dataset, frame, run_name=f"{dataset}/snapshot-{snapshot.fingerprint}"
    )
    page = data_docs.publish_page(store, outcome.docs_url)
    reasons = outcome.reasons.copy()
    passed = frame[reasons.isna()]
    _, repeated = transforms.first_row_per_key(passed, CATALOGUE_KEY[dataset])
    reasons.loc[repeated[repeated].index] = DUPLICATE_REASON[dataset]
    kept = frame[reasons.isna()].copy()
    kept["source_file"] = source_files[kept.index]

    if reasons.notna().any():
        lake.write_parquet(
            store,
            lake.snapshot_key("quarantine", snapshot),
            quarantine_table(raw, reasons, source_files, row_numbers),
        )
    validated_key = lake.write_parquet(
        store,
        lake.snapshot_key("validated", snapshot),
        pa.Table.from_pandas(kept, preserve_index=False),
    )
    per_file = []
    for source in sorted(snapshot.files):
        if source in settled:
            per_file.append(settled[source])
            continue
        mine = source_files == source.key
        file_reasons = reasons[mine]
        duplicates = int((file_reasons == DUPLICATE_REASON[dataset]).sum())
        failed = int(file_reasons.notna().sum()) - duplicates
        counts = FileCounts(
            rows_read=int(mine.sum()),
            rows_valid=int(mine.sum()) - failed - duplicates,
            rows_quarantined=failed,
            quarantine_by_reason=count_reasons(file_reasons),
            warnings=catalogue_warnings(dataset, frame[mine & reasons.isna()]),
        )
        per_file.append(
            ValidatedFile(source=source, status="valid", counts=counts, docs_url=page)
        )
    return ValidatedCatalogue(
        snapshot=snapshot,
        files=tuple(per_file),
        validated_key=validated_key,
        rows_duplicate=int((reasons == DUPLICATE_REASON[dataset]).sum()),
        docs_url=page,
    )


@task(name="build-data-docs")
def build_data_docs(settings: RunSettings) -> str:
    """Render the Data Docs index (validation pages are rendered as they run); return its URL."""
    store = open_store(settings.lake)
    return data_docs.publish_site(store, data_docs.runner(store).build_docs())


@task(name="write-lookups")
def write_lookups(settings: RunSettings, catalogues: list[ValidatedCatalogue]) -> dict[str, str]:
    """Known track and user ids (warehouse plus this run's new snapshots) for the stream checks,
    written to the lake so per-file tasks receive a key, not a large set."""
    warehouse = warehouse_for(settings.warehouse, settings.schema)
    store = open_store(settings.lake, create=True)
    known = {
        "tracks": {row[0] for row in warehouse.query(sql.KNOWN_TRACK_IDS)},
        "users": {row[0] for row in warehouse.query(sql.KNOWN_USER_IDS)},
    }
    for catalogue in catalogues:
        if catalogue.validated_key is None:
            continue
        rows = lake.read_parquet(store, catalogue.validated_key)
        if catalogue.snapshot.dataset == "songs":
            known["tracks"].update(rows.column("track_id").to_pylist())
        else:
            known["users"].update(rows.column("user_id_int").to_pylist())
    keys = {}
    for name, values in known.items():
        array = pa.array(sorted(values), type=pa.string() if name == "tracks" else pa.int64())
        keys[name] = lake.write_parquet(
            store, lake.lookup_key(settings.flow_run_id, name), pa.table({name: array})
        )
    return keys
