"""Extraction: decide what is new in the landing zone and copy it, unchanged, into the lake."""

from __future__ import annotations

from prefect import get_run_logger, task

from tasks import lake
from tasks import warehouse_sql as sql
from tasks.policies import IO_RETRIES, PER_RUN_CACHE
from tasks.models import CatalogueSnapshot, RunSettings, SourceFile
from tasks.storage import Listing, ObjectInfo, ObjectMissing, SkippedEntry, open_store
from tasks.warehouse import warehouse_for

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


@task(name="list-landing", **IO_RETRIES)
def list_landing(settings: RunSettings, prefix: str) -> tuple[list[ObjectInfo], list[SkippedEntry]]:
    """The prefix's CSV files, and the entries not read (links, hidden, not CSV) with why."""
    return readable_files(open_store(settings.landing).scan(prefix))


@task(name="read-ledger", **IO_RETRIES)
def ledger_versions(settings: RunSettings, dataset: str) -> set[tuple[str, str]]:
    rows = warehouse_for(settings.warehouse, settings.schema).query(sql.LEDGER_VERSIONS, {"dataset": dataset})
    return {(key, etag) for key, etag in rows}


@task(name="latest-snapshot", **IO_RETRIES)
def latest_snapshot(settings: RunSettings, dataset: str) -> str | None:
    rows = warehouse_for(settings.warehouse, settings.schema).query(sql.LATEST_SNAPSHOT, {"dataset": dataset})
    return rows[0][0] if rows else None


@task(
    name="copy-to-lake",
    cache_policy=PER_RUN_CACHE,
    persist_result=True,
    task_run_name="copy {info.key}",
    **IO_RETRIES,
)
def copy_to_lake(settings: RunSettings, info: ObjectInfo, dataset: str) -> SourceFile:
    """Keep the exact bytes that were ingested: later stages read the lake, not the landing.

    A file deleted since the listing comes back without a raw copy (raw_key ""), and is then
    rejected with that reason instead of failing the run."""
    source = SourceFile(key=info.key, etag=info.etag, size=info.size, dataset=dataset)
    target = lake.raw_key(source)
    destination = open_store(settings.lake, create=True)
    if not destination.exists(target):
        try:
            destination.copy_from(open_store(settings.landing), info.key, target)
        except ObjectMissing:
            get_run_logger().warning("%s vanished from the landing zone after listing", info.key)
            return source
    return SourceFile(info.key, info.etag, info.size, dataset, raw_key=target)


def catalogue_snapshot(dataset: str, listing: list[ObjectInfo]) -> CatalogueSnapshot:
    files = tuple(
        SourceFile(key=i.key, etag=i.etag, size=i.size, dataset=dataset)
        for i in sorted(listing)
        if is_csv_file(i.key)
    )
    return CatalogueSnapshot(dataset=dataset, files=files)
