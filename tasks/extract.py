"""Extraction tasks: list the landing zone, read the ledger, copy new file versions to the lake."""

from __future__ import annotations

from prefect import get_run_logger, task

from music_etl import extract
from music_etl.models import SourceFile
from music_etl.settings import Settings
from music_etl.storage import ObjectInfo, SkippedEntry
from tasks import connections
from tasks.policies import IO_RETRIES, PER_RUN_CACHE


@task(name="list-landing", **IO_RETRIES)
def list_landing(settings: Settings, prefix: str) -> tuple[list[ObjectInfo], list[SkippedEntry]]:
    """The prefix's CSV files, and the entries not read (links, hidden, not CSV) with why."""
    return extract.readable_files(connections.landing(settings).scan(prefix))


@task(name="read-ledger", **IO_RETRIES)
def ledger_versions(settings: Settings, dataset: str) -> set[tuple[str, str]]:
    return extract.ledger_versions(connections.warehouse(settings), dataset)


@task(name="latest-snapshot", **IO_RETRIES)
def latest_snapshot(settings: Settings, dataset: str) -> str | None:
    return extract.latest_snapshot(connections.warehouse(settings), dataset)


@task(
    name="copy-to-lake",
    cache_policy=PER_RUN_CACHE,
    persist_result=True,
    task_run_name="copy {info.key}",
    **IO_RETRIES,
)
def copy_to_lake(settings: Settings, info: ObjectInfo, dataset: str) -> SourceFile:
    copied = extract.copy_to_lake(
        connections.landing(settings), connections.lake(settings), info, dataset
    )
    if not copied.raw_key:
        get_run_logger().warning("%s vanished from the landing zone after listing", info.key)
    return copied
