"""Reading raw text values: trimming, integers, timestamps, catalogue lookups (SPEC §2).

No I/O here, so every rule is unit-tested on small frames.
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
_DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
# listen_time must be a real instant the warehouse can hold, from the Unix epoch on (SPEC §2).
_EPOCH = pd.Timestamp("1970-01-01", tz="UTC")
_FIRST_TIMESTAMP = pd.Timestamp("0001-01-01", tz="UTC")  # the warehouses' TIMESTAMP range
_LAST_TIMESTAMP = pd.Timestamp("9999-12-31 23:59:59.999999", tz="UTC")


def strip_text(values: pd.Series) -> pd.Series:
    """Trim surrounding whitespace; values that become empty are missing. NUL characters go:
    no warehouse can store them (PostgreSQL refuses them outright); quarantine keeps raw values."""
    text = values.astype("str")
    if text.str.contains("\x00", regex=False).any():  # rare: no extra copy otherwise
        text = text.str.replace("\x00", "", regex=False)
    stripped = text.str.strip()
    return stripped.where(stripped != "")


def parse_int(values: pd.Series) -> pd.Series:
    """Optionally signed integers that fit BIGINT (signed 64-bit); anything else is <NA>."""
    return _int_of_trimmed(strip_text(values), signed=True)


def _int_of_trimmed(text: pd.Series, *, signed: bool) -> pd.Series:
    """Integers written as digits (with one optional sign when `signed`) in trimmed text.

    Arrow's kernels do the work: its regex match, and its cast, which is exact for 64-bit
    integers (pandas would go through float64 with nulls) and accepts only '-' as a sign.
    """
    sign = "[+-]?" if signed else ""
    array = pa.array(text, type=pa.string(), from_pandas=True)
    short = pa.compute.match_substring_regex(array, f"^{sign}[0-9]{{1,18}}$")  # fits int64
    digits = pa.compute.utf8_ltrim(pa.compute.if_else(short, array, None), "+")
    numbers = pa.compute.cast(digits, pa.int64())
    mask = numbers.is_null().to_numpy(zero_copy_only=False)
    data = pa.compute.fill_null(numbers, 0).to_numpy(zero_copy_only=False)
    # index= keeps the labels as they are (positions match: nothing is realigned).
    parsed = pd.Series(pd.arrays.IntegerArray(data, mask), index=text.index)
    # 19 digits and more (or leading zeros) are rare: checked exactly, one by one.
    long = pa.compute.match_substring_regex(array, f"^{sign}[0-9]+$")
    long = pa.compute.and_(long, pa.compute.invert(short)).fill_null(False)
    long = long.to_numpy(zero_copy_only=False)
    if long.any():
        parsed[long] = [_int64_or_na(value) for value in text[long]]
    return parsed


def _int64_or_na(text: str) -> object:
    if len(text.lstrip("+-0")) > 19:
        return pd.NA
    number = int(text)
    return number if _INT64_MIN <= number <= _INT64_MAX else pd.NA


def parse_positive_int(values: pd.Series) -> pd.Series:
    """Integers > 0 written as digits only (no sign, fraction or exponent) that fit a signed
    64-bit integer (at most 9223372036854775807); else <NA>."""
    return positive_int_of_trimmed(strip_text(values))


def positive_int_of_trimmed(text: pd.Series) -> pd.Series:
    """parse_positive_int of text that strip_text has already trimmed."""
    parsed = _int_of_trimmed(text, signed=False)
    return parsed.where(parsed > 0)


def _parse_timestamp(text: pd.Series) -> pd.Series:
    well_formed = text.str.fullmatch(_TIMESTAMP_PATTERN).fillna(False).astype(bool)
    parsed = pd.to_datetime(text.where(well_formed), format="ISO8601", utc=True, errors="coerce")
    return parsed.astype("datetime64[us, UTC]")


def parse_listen_time(values: pd.Series) -> pd.Series:
    """Parse listen_time to tz-aware UTC; no zone means UTC. Values that do not parse, or fall
    before 1970-01-01T00:00:00Z or beyond year 9999 (no warehouse date), become NaT."""
    return listen_time_of_trimmed(strip_text(values))


def listen_time_of_trimmed(text: pd.Series) -> pd.Series:
    """parse_listen_time of text that strip_text has already trimmed."""
    parsed = _parse_timestamp(text)
    return parsed.where((parsed >= _EPOCH) & (parsed <= _LAST_TIMESTAMP))


def parse_created_at(values: pd.Series) -> pd.Series:
    """users.created_at: the listen_time formats, or a date alone (midnight UTC); NaT for
    anything else or outside the warehouses' TIMESTAMP range (years 1 to 9999)."""
    text = strip_text(values)
    date_only = text.str.fullmatch(_DATE_PATTERN).fillna(False).astype(bool)
    parsed = _parse_timestamp(text.where(~date_only, text + " 00:00:00"))
    return parsed.where((parsed >= _FIRST_TIMESTAMP) & (parsed <= _LAST_TIMESTAMP))


def is_in(values: pd.Series, known: pa.Array | pd.Index) -> pd.Series:
    """Which values are in `known` (missing values never are). Arrow's hash lookup: pandas'
    isin on Arrow strings builds a Python list of the value set on every call."""
    array = pa.array(values, from_pandas=True)
    value_set = known.cast(array.type) if isinstance(known, pa.Array) else pa.array(known, array.type)
    found = pa.compute.is_in(array, value_set=value_set, skip_nulls=True)
    return pd.Series(found.to_numpy(zero_copy_only=False), index=values.index, dtype=bool)
