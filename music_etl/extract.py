"""Extraction: what is new in the landing zone, and its unchanged copy in the lake."""

from __future__ import annotations

from music_etl import lake
from music_etl.models import CatalogueSnapshot, SourceFile
from music_etl.storage import Listing, ObjectInfo, ObjectMissing, ObjectStore, SkippedEntry
from music_etl.warehouse import sql
from music_etl.warehouse.base import Warehouse

STREAM_SUFFIXES = (".csv", ".csv.gz")
MAX_KEY_BYTES = 1024  # the ledger's source_key is VARCHAR(1024), counted in bytes on Redshift


def is_csv_file(key: str) -> bool:
    name = key.rsplit("/", 1)[-1]
    return key.lower().endswith(STREAM_SUFFIXES) and not name.startswith(".")


def readable_files(listing: Listing) -> tuple[list[ObjectInfo], list[SkippedEntry]]:
    """The CSV files of a landing listing, and every entry left out with why (SPEC §6: the
    summary says what was skipped, nothing is ignored silently)."""
    files, skipped = [], list(listing.skipped)
    for info in listing.objects:
        if not is_csv_file(info.key):
            skipped.append(SkippedEntry(info.key, "not a .csv or .csv.gz file"))
        elif len(info.key.encode()) > MAX_KEY_BYTES:
            skipped.append(SkippedEntry(info.key[:200] + "…", f"key longer than {MAX_KEY_BYTES} bytes"))
        else:
            files.append(info)
    return files, sorted(skipped)


def select_new_files(
    listing: list[ObjectInfo],
    seen: set[tuple[str, str]],
    max_files: int | None,
    *,
    only_keys: list[str] | None = None,
    force: bool = False,
) -> tuple[list[ObjectInfo], int]:
    """Versions (key, ETag) not yet in the ledger, oldest key first; and how many were seen.

    `only_keys` narrows the choice to those keys (a backfill or replay); `force` takes them even
    when the ledger has their version."""
    candidates = sorted(info for info in listing if is_csv_file(info.key))
    if only_keys:  # None or [] means every file
        wanted = set(only_keys)
        candidates = [info for info in candidates if info.key in wanted]
    fresh = [info for info in candidates if force or (info.key, info.etag) not in seen]
    skipped = len(candidates) - len(fresh)
    return (fresh if max_files is None else fresh[:max_files]), skipped


def ledger_versions(warehouse: Warehouse, dataset: str) -> set[tuple[str, str]]:
    """(key, ETag) of every file version the ledger records for the dataset."""
    rows = warehouse.query(sql.LEDGER_VERSIONS, {"dataset": dataset})
    return {(key, etag) for key, etag in rows}


def latest_snapshot(warehouse: Warehouse, dataset: str) -> str | None:
    """The fingerprint of the catalogue snapshot loaded last."""
    rows = warehouse.query(sql.LATEST_SNAPSHOT, {"dataset": dataset})
    return rows[0][0] if rows else None


def copy_to_lake(
    landing: ObjectStore, lake_store: ObjectStore, info: ObjectInfo, dataset: str
) -> SourceFile:
    """Keep the exact bytes that were ingested: later stages read the lake, not the landing.
    A file deleted since the listing comes back without a raw copy (raw_key ""), and is then
    rejected with that reason instead of failing the run."""
    source = SourceFile(key=info.key, etag=info.etag, size=info.size, dataset=dataset)
    target = lake.raw_key(source)
    if not lake_store.exists(target):
        try:
            lake_store.copy_from(landing, info.key, target)
        except ObjectMissing:
            return source
    return SourceFile(info.key, info.etag, info.size, dataset, raw_key=target)


def catalogue_snapshot(dataset: str, listing: list[ObjectInfo]) -> CatalogueSnapshot:
    files = tuple(
        SourceFile(key=i.key, etag=i.etag, size=i.size, dataset=dataset)
        for i in sorted(listing)
        if is_csv_file(i.key)
    )
    return CatalogueSnapshot(dataset=dataset, files=files)
