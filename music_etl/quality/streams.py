"""Validation of stream rows with the streams suite: a new file in a run, or quarantined rows in
a replay, go through the same checks, counts and Data Docs page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pandas as pd
import pyarrow as pa

from music_etl import lake
from music_etl.models import FileCounts, SourceFile, ValidatedFile
from music_etl.quality import data_docs
from music_etl.quality.checks import VANISHED, count_reasons, prepare_streams, quarantine_table
from music_etl.rules import parsing
from music_etl.rules.csv_input import EmptyFile, FileRejected, read_source
from music_etl.settings import Settings
from music_etl.storage import ObjectStore


@dataclass(frozen=True)
class StreamCheck:
    frame: pd.DataFrame  # the rows as the suite checked them (trimmed and parsed columns)
    reasons: pd.Series  # the first failing quarantine reason per row, None where valid
    counts: FileCounts
    docs_page: str  # lake key of the validation's published Data Docs page

    @property
    def valid_rows(self) -> pd.DataFrame:
        """The valid rows as the transformation takes them, labelled by row number."""
        valid = self.frame.loc[self.reasons.isna()]
        return pd.DataFrame(
            {
                "row_number": valid.index.to_numpy(),
                "user_id_int": valid["user_id_int"],
                "track_id_clean": valid["track_id"],
                "listen_time_utc": valid["listen_time_utc"],
            },
            index=valid.index,
        )


def future_cutoff(settings: Settings) -> pd.Timestamp:
    """future_listen_time: later than the run's start plus one day (SPEC §3)."""
    return pd.Timestamp(settings.started_at).tz_convert("UTC") + timedelta(days=1)


def check_stream_rows(
    raw: pd.DataFrame,
    store: ObjectStore,
    settings: Settings,
    run_name: str,
    known_tracks: pa.Array,
    known_users: pa.Array,
) -> StreamCheck:
    """Run the streams suite over raw rows (labelled by their row number in the source file,
    so the row labels Data Docs list are the quarantine's row numbers)."""
    frame = prepare_streams(raw, known_tracks)
    outcome = data_docs.runner(store).validate(
        "streams",
        frame,
        run_name=run_name,
        parameters={"max_listen_time": future_cutoff(settings)},
    )
    reasons = outcome.reasons
    valid = frame.loc[reasons.isna()]
    counts = FileCounts(
        rows_read=len(frame),
        rows_valid=len(valid),
        rows_quarantined=int(reasons.notna().sum()),
        rows_unknown_user=int((~parsing.is_in(valid["user_id_int"], known_users)).sum()),
        quarantine_by_reason=count_reasons(reasons),
    )
    page = data_docs.publish_page(store, outcome.docs_url)
    return StreamCheck(frame, reasons, counts, page)


def validate_stream_file(
    store: ObjectStore,
    settings: Settings,
    source: SourceFile,
    known_tracks: pa.Array,
    known_users: pa.Array,
) -> ValidatedFile:
    """Validate one stream file; write its valid rows and its quarantine to the lake."""
    if not source.raw_key:
        return ValidatedFile(source=source, status="rejected", reason=VANISHED)
    try:
        table = read_source(store, source, parsing.STREAM_COLUMNS, settings.max_file_bytes)
    except EmptyFile as exc:
        return ValidatedFile(source=source, status="empty", reason=str(exc))
    except FileRejected as exc:
        return ValidatedFile(source=source, status="rejected", reason=str(exc))

    raw = table.to_pandas(types_mapper=lambda _: pd.StringDtype())
    raw.index = pd.RangeIndex(1, len(raw) + 1)  # unnamed: GX then lists plain labels
    extra = tuple(name for name in raw.columns if name not in parsing.STREAM_COLUMNS)
    check = check_stream_rows(
        raw, store, settings, source.version_tag, known_tracks, known_users
    )
    counts = check.counts
    common = dict(source=source, counts=counts, extra_columns=extra, docs_page=check.docs_page)
    if counts.rows_quarantined > settings.max_invalid_fraction * counts.rows_read:
        reason = (
            f"{counts.rows_quarantined} of {counts.rows_read} rows failed validation "
            f"(more than max_invalid_fraction={settings.max_invalid_fraction})"
        )
        return ValidatedFile(status="rejected", reason=reason, **common)

    quarantine_key = None
    if counts.rows_quarantined:
        row_numbers = check.frame.index.to_series()
        sources = pd.Series(source.key, index=check.frame.index)
        quarantined = quarantine_table(raw, check.reasons, sources, row_numbers)
        quarantine_key = lake.write_parquet(store, lake.quarantine_key(source), quarantined)
    valid = pa.Table.from_pandas(check.valid_rows, preserve_index=False)
    validated_key = lake.write_parquet(store, lake.validated_key(source), valid)
    return ValidatedFile(
        status="valid", validated_key=validated_key, quarantine_key=quarantine_key, **common
    )
