"""Extract subflow: new stream file versions and changed catalogue snapshots, copied to the lake."""

from __future__ import annotations

from prefect import flow, get_run_logger, unmapped

from music_etl.extract import catalogue_snapshot, select_new_files
from music_etl.models import CatalogueSnapshot, ExtractResult
from music_etl.settings import Settings
from tasks.extract import copy_to_lake, latest_snapshot, ledger_versions, list_landing
from tasks.runners import copy_runner


@flow(name="extract")
def extract_flow(
    settings: Settings, max_files: int | None = None, file_keys: list[str] | None = None
) -> ExtractResult:
    logger = get_run_logger()
    listing, not_read = list_landing(settings, "streams")
    new, skipped = select_new_files(
        listing,
        ledger_versions(settings, "streams"),
        max_files,
        only_keys=file_keys,
        force=settings.force_reingest,
    )
    missing = sorted(set(file_keys or ()) - {info.key for info in listing})
    if missing:
        logger.warning("not in the landing zone, ignored: %s", ", ".join(missing))
    logger.info("%d new stream file version(s), %d already ingested", len(new), skipped)

    with copy_runner() as runner:
        catalogues: list[CatalogueSnapshot] = []
        for dataset in ("songs", "users"):
            files, catalogue_not_read = list_landing(settings, dataset)
            not_read += catalogue_not_read
            snapshot = catalogue_snapshot(dataset, files)
            if not snapshot.files:
                logger.warning("no %s catalogue files in the landing zone", dataset)
                continue
            if snapshot.fingerprint == latest_snapshot(settings, dataset):
                continue
            copies = _copy(runner, settings, snapshot.files, dataset)
            catalogues.append(CatalogueSnapshot(dataset=dataset, files=tuple(copies)))
            logger.info("%s catalogue changed: %d file(s) to reload", dataset, len(copies))
        for entry in not_read:
            logger.warning("not read: %s (%s)", entry.key, entry.reason)
        streams = _copy(runner, settings, new, "streams") if new else []
    return ExtractResult(
        stream_files=tuple(streams),
        catalogues=tuple(catalogues),
        skipped_files=skipped,
        skipped_entries=tuple(not_read),
    )


def _copy(runner, settings: Settings, files, dataset: str) -> list:
    parameters = {"settings": unmapped(settings), "info": list(files), "dataset": unmapped(dataset)}
    return runner.map(copy_to_lake, parameters).result()
