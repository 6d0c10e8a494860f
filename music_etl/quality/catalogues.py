"""Validation of a catalogue snapshot (songs or users): all its files as one batch, the first
valid row of each key kept, later ones reported as duplicates (SPEC §3)."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from music_etl import lake
from music_etl.models import (
    CatalogueSnapshot,
    FileCounts,
    SourceFile,
    ValidatedCatalogue,
    ValidatedFile,
)
from music_etl.quality import data_docs
from music_etl.quality.checks import (
    CATALOGUE_KEY,
    CATALOGUE_REQUIRED,
    DUPLICATE_REASON,
    VANISHED,
    catalogue_warnings,
    count_reasons,
    prepare_songs,
    prepare_users,
    quarantine_table,
)
from music_etl.rules.csv_input import EmptyFile, FileRejected, read_source
from music_etl.rules.transforms import first_row_per_key
from music_etl.settings import Settings
from music_etl.storage import ObjectStore


def _read_snapshot(
    store: ObjectStore, snapshot: CatalogueSnapshot, limit: int
) -> tuple[list[pd.DataFrame], dict[SourceFile, ValidatedFile]]:
    """Read every file of a snapshot; unusable files are settled (rejected/empty) right away."""
    frames, settled = [], {}
    required = CATALOGUE_REQUIRED[snapshot.dataset]
    for source in sorted(snapshot.files):
        if not source.raw_key:
            settled[source] = ValidatedFile(source=source, status="rejected", reason=VANISHED)
            continue
        try:
            table = read_source(store, source, required, limit)
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


def validate_catalogue(
    store: ObjectStore, settings: Settings, snapshot: CatalogueSnapshot
) -> ValidatedCatalogue:
    """Validate a catalogue snapshot as one batch; keep the first valid row of each key."""
    dataset = snapshot.dataset
    frames, settled = _read_snapshot(store, snapshot, settings.max_file_bytes)
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
    _, repeated = first_row_per_key(passed, CATALOGUE_KEY[dataset])
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
            ValidatedFile(source=source, status="valid", counts=counts, docs_page=page)
        )
    return ValidatedCatalogue(
        snapshot=snapshot,
        files=tuple(per_file),
        validated_key=validated_key,
        rows_duplicate=int((reasons == DUPLICATE_REASON[dataset]).sum()),
        docs_page=page,
    )
