"""Replay tasks: find the quarantines of loaded files, re-validate their unknown_track rows,
and load the rows that now pass."""

from __future__ import annotations

from prefect import task

from music_etl import replay
from music_etl.models import QuarantineFile, ReplayedFile, RevalidatedFile
from music_etl.quality.lookups import known_ids
from music_etl.settings import Settings
from music_etl.warehouse import loads
from tasks import connections
from tasks.policies import IO_RETRIES


@task(name="find-quarantined-stream-files", **IO_RETRIES)
def find_quarantined_stream_files(settings: Settings) -> list[QuarantineFile]:
    return replay.find_quarantined_stream_files(
        connections.warehouse(settings), connections.lake(settings)
    )


@task(name="revalidate-quarantine", task_run_name="revalidate {quarantine.key}")
def revalidate_quarantine(
    settings: Settings, quarantine: QuarantineFile, tracks_key: str, users_key: str
) -> RevalidatedFile:
    lake = connections.lake(settings)
    return replay.revalidate_quarantine(
        lake,
        connections.warehouse(settings),
        settings,
        quarantine,
        known_ids(lake, tracks_key),
        known_ids(lake, users_key),
    )


@task(
    name="load-replayed-rows",
    task_run_name="load replay of {revalidated.quarantine.key}",
    **IO_RETRIES,  # safe: one transaction, and the replay records make a repeat a no-op
)
def load_replayed_rows(settings: Settings, revalidated: RevalidatedFile) -> ReplayedFile:
    return loads.load_replayed_rows(
        connections.warehouse(settings), connections.lake(settings), settings.flow_run_id, revalidated
    )
