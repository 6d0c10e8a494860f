"""The frames the suites check, and what becomes of rows that fail (pure pandas, no I/O).

Raw text is trimmed and parsed into computed columns (`user_id_int`, `listen_time_utc`,
`*_utf8_bytes`, ...) and columns holding the raw values that failed (`invalid_user_id`,
`unknown_track_id`, ...) that the suites in `expectations/` check; failing rows are quarantined
with every raw value kept.
"""

from __future__ import annotations

from collections import Counter

import pandas as pd
import pyarrow as pa
import pyarrow.compute  # noqa: F401  (registers pa.compute)

from music_etl.rules import parsing
from music_etl.warehouse.tables import SONGS, USERS, Table

CATALOGUE_REQUIRED = {
    "songs": [*parsing.SONG_REQUIRED, "popularity", "duration_ms"],
    "users": ["user_id"],
}
CATALOGUE_KEY = {"songs": "track_id", "users": "user_id_int"}
DUPLICATE_REASON = {"songs": "duplicate_track_id", "users": "duplicate_user_id"}


def failing_raw(raw: pd.Series, given: pd.Series, accepted: pd.Series) -> pd.Series:
    """The raw value, as it was in the file, where one was given but not accepted; null
    elsewhere. A suite expects these columns to be null, so Data Docs list the raw values."""
    return raw.where(given.notna() & accepted.isna())


def prepare_streams(raw: pd.DataFrame, known_tracks: pa.Array | pd.Index) -> pd.DataFrame:
    """The frame the streams suite checks: trimmed inputs, parsed columns, and the raw values
    that failed to parse or to match the catalogue."""
    user_id = parsing.strip_text(raw["user_id"])
    track_id = parsing.strip_text(raw["track_id"])
    listen_time = parsing.strip_text(raw["listen_time"])
    user_id_int = parsing.positive_int_of_trimmed(user_id)
    listen_time_utc = parsing.listen_time_of_trimmed(listen_time)
    known_track_id = track_id.where(parsing.is_in(track_id, known_tracks))
    return pd.DataFrame(
        {
            "user_id": user_id,
            "track_id": track_id,
            "listen_time": listen_time,
            "user_id_int": user_id_int,
            "listen_time_utc": listen_time_utc,
            "invalid_user_id": failing_raw(raw["user_id"], user_id, user_id_int),
            "invalid_listen_time": failing_raw(raw["listen_time"], listen_time, listen_time_utc),
            "unknown_track_id": failing_raw(raw["track_id"], track_id, known_track_id),
        },
        index=raw.index,
    )


def _with_byte_lengths(frame: pd.DataFrame, table: Table) -> pd.DataFrame:
    """Add `<column>_utf8_bytes` for each text column the warehouse stores as VARCHAR(n):
    Redshift counts bytes, so a suite expectation checks these against n."""
    for column in table.varchar_sizes():
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
        frame[column] = parsing.strip_text(values)
    return frame


def prepare_songs(raw: pd.DataFrame) -> pd.DataFrame:
    frame = _trimmed(raw, parsing.SONG_COLUMNS)
    frame["popularity_int"] = parsing.parse_int(raw["popularity"])
    frame["duration_ms_int"] = parsing.parse_int(raw["duration_ms"])
    return _with_byte_lengths(frame, SONGS)


def prepare_users(raw: pd.DataFrame) -> pd.DataFrame:
    frame = _trimmed(raw, parsing.USER_COLUMNS)
    frame["user_id_int"] = parsing.parse_positive_int(raw["user_id"])
    frame["invalid_user_id"] = failing_raw(raw["user_id"], frame["user_id"], frame["user_id_int"])
    # Not a quarantine rule: an unparseable created_at is stored as NULL and counted as a warning.
    frame["created_at_utc"] = parsing.parse_created_at(frame["created_at"])
    return _with_byte_lengths(frame, USERS)


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
