"""Pure pandas transformations: parsing, cleaning, deduplication and enrichment.

No I/O and no Prefect here, so every rule is unit-tested on small frames.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.compute  # noqa: F401  (registers pa.compute)

STREAM_COLUMNS = ["user_id", "track_id", "listen_time"]
SONG_COLUMNS = [
    "track_id", "artists", "album_name", "track_name", "popularity", "duration_ms", "explicit",
    "danceability", "energy", "key", "loudness", "mode", "speechiness", "acousticness",
    "instrumentalness", "liveness", "valence", "tempo", "time_signature", "track_genre",
]  # fmt: skip
SONG_REQUIRED = ["track_id", "track_name", "artists", "track_genre"]
SONG_FLOATS = [
    "danceability", "energy", "loudness", "speechiness", "acousticness", "instrumentalness",
    "liveness", "valence", "tempo",
]  # fmt: skip
SONG_SMALL_INTS = ["key", "mode", "time_signature"]
USER_COLUMNS = ["user_id", "user_name", "user_age", "user_country", "created_at"]

# `YYYY-MM-DD HH:MM:SS` or ISO 8601 with `T`, optional fraction, optional `Z` or `+HH:MM`.
# ASCII digits only: \d would also match other scripts' digits, which no parser here accepts.
_TIMESTAMP_PATTERN = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?(Z|[+-][0-9]{2}:?[0-9]{2})?$"
)
_INT_PATTERN = r"[+-]?[0-9]{1,18}"


def strip_text(values: pd.Series) -> pd.Series:
    """Trim surrounding whitespace; values that become empty are missing."""
    stripped = values.astype("str").str.strip()
    return stripped.where(stripped != "")


def parse_int(values: pd.Series) -> pd.Series:
    """Optionally signed integers of at most 18 digits (fits BIGINT); anything else is <NA>."""
    text = strip_text(values)
    digits = text.where(text.str.fullmatch(_INT_PATTERN).fillna(False).astype(bool))
    digits = digits.str.removeprefix("+")  # Arrow's integer parser accepts only '-'
    # Arrow's cast is exact for 64-bit integers (pandas would go through float64 with nulls).
    numbers = pa.compute.cast(pa.array(digits, type=pa.string(), from_pandas=True), pa.int64())
    # set_axis keeps positions; building a Series with index= would realign by label.
    return numbers.to_pandas(types_mapper=pd.ArrowDtype).astype("Int64").set_axis(values.index)


def parse_positive_int(values: pd.Series) -> pd.Series:
    """Integers > 0 written as digits only (no sign, fraction or exponent); else <NA>."""
    text = strip_text(values)
    parsed = parse_int(text.where(text.str.fullmatch(r"[0-9]+").fillna(False).astype(bool)))
    return parsed.where(parsed > 0)


def parse_listen_time(values: pd.Series) -> pd.Series:
    """Parse listen_time to tz-aware UTC; no zone means UTC; unparseable values become NaT."""
    text = strip_text(values)
    well_formed = text.str.fullmatch(_TIMESTAMP_PATTERN).fillna(False).astype(bool)
    parsed = pd.to_datetime(text.where(well_formed), format="ISO8601", utc=True, errors="coerce")
    return parsed.astype("datetime64[us, UTC]")


def is_in(values: pd.Series, known: pa.Array | pd.Index) -> pd.Series:
    """Which values are in `known` (missing values never are). Arrow's hash lookup: pandas'
    isin on Arrow strings builds a Python list of the value set on every call."""
    array = pa.array(values, from_pandas=True)
    value_set = known.cast(array.type) if isinstance(known, pa.Array) else pa.array(known, array.type)
    found = pa.compute.is_in(array, value_set=value_set, skip_nulls=True)
    return pd.Series(found.to_numpy(zero_copy_only=False), index=values.index, dtype=bool)


def split_artists(artists: str | None) -> list[str]:
    """`;`-separated names, each trimmed, empties dropped, each name once (first occurrence)."""
    if artists is None or pd.isna(artists):
        return []
    seen: dict[str, None] = {}
    for part in str(artists).split(";"):
        name = part.strip()
        if name:
            seen.setdefault(name, None)
    return list(seen)


def song_artist_pairs(songs: pd.DataFrame) -> pd.DataFrame:
    """One row per (track_id, artist) for the given songs."""
    pairs = [
        (track_id, artist)
        for track_id, artists in zip(songs["track_id"], songs["artists"], strict=True)
        for artist in split_artists(artists)
    ]
    return pd.DataFrame(pairs, columns=["track_id", "artist"], dtype="str")


def stream_events(valid: pd.DataFrame, source_file: str) -> tuple[pd.DataFrame, int]:
    """Typed events from validated rows: UTC time buckets, exact duplicates in the file dropped.

    `valid` has the parsed columns `user_id_int`, `track_id_clean` and `listen_time_utc`.
    Returns the events and the number of in-file duplicates removed.
    """
    listen_time = valid["listen_time_utc"].dt.tz_convert("UTC").dt.tz_localize(None)
    events = pd.DataFrame(
        {
            "user_id": valid["user_id_int"].astype("int64"),
            "track_id": valid["track_id_clean"].astype("str"),
            "listen_time": listen_time.astype("datetime64[us]"),
        }
    )
    deduped = events.drop_duplicates(subset=STREAM_COLUMNS, keep="first").reset_index(drop=True)
    deduped["listen_hour"] = deduped["listen_time"].dt.floor("h")
    deduped["listen_date"] = deduped["listen_time"].dt.date
    deduped["source_file"] = source_file
    return deduped, len(events) - len(deduped)


def first_row_per_key(frame: pd.DataFrame, key: str) -> tuple[pd.DataFrame, pd.Series]:
    """Keep the first row of each key (file order); also return the mask of later repeats."""
    repeated = frame.duplicated(subset=[key], keep="first")
    return frame[~repeated], repeated
