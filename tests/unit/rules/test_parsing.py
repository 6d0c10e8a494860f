"""music_etl/rules/parsing.py: reading raw values (SPEC 2)."""


import pandas as pd
import pytest

from music_etl.rules.parsing import (
    parse_created_at,
    parse_int,
    parse_listen_time,
    parse_positive_int,
    strip_text,
)


def values(series: pd.Series) -> list:
    """Plain Python values, with every kind of missing value as None."""
    return [None if pd.isna(value) else value for value in series.tolist()]


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


# --- parse_positive_int --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("42", 42),
        (" 42 ", 42),
        ("\t42\n", 42),
        ("007", 7),
        ("1", 1),
        ("999999999999999999", 999999999999999999),  # 18 digits
        ("0", None),
        ("000", None),
        ("-5", None),
        ("+5", None),
        ("1.5", None),
        ("1.0", None),
        ("1e3", None),
        ("abc", None),
        ("12a", None),
        ("12 34", None),
        ("0x1F", None),
        ("", None),
        ("   ", None),
        (None, None),
        ("1234567890123456789", 1234567890123456789),  # 19 digits, fits BIGINT (SPEC §2)
        ("9223372036854775807", 9223372036854775807),  # the largest BIGINT
        ("9223372036854775808", None),  # one more
        ("00000000000000000000042", 42),  # leading zeros do not count as digits
        ("99999999999999999999", None),  # 20 digits, beyond BIGINT
    ],
)
def test_parse_positive_int(raw, expected):
    assert values(parse_positive_int(pd.Series([raw, "3"]))) == [expected, 3]


def test_parse_positive_int_returns_nullable_int64():
    assert str(parse_positive_int(pd.Series(["1", None])).dtype) == "Int64"


def test_parse_positive_int_accepts_pandas_string_dtype_with_na():
    series = pd.Series(["5", pd.NA, " 6"], dtype=pd.StringDtype())
    assert values(parse_positive_int(series)) == [5, None, 6]


def test_parse_positive_int_of_empty_series_is_empty():
    assert values(parse_positive_int(pd.Series([], dtype="str"))) == []


def test_parse_positive_int_keeps_values_on_their_own_index_labels():
    result = parse_positive_int(pd.Series(["5", "x", "7"], index=[10, 20, 30]))
    assert result.index.tolist() == [10, 20, 30]
    assert values(result) == [5, None, 7]


def test_parse_positive_int_of_non_ascii_digits_is_missing_not_a_crash():
    assert values(parse_positive_int(pd.Series(["１２", "٣", "3"]))) == [None, None, 3]


# --- parse_int -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("42", 42),
        (" -5 ", -5),
        ("+5", 5),
        ("0", 0),
        ("-0", 0),
        ("007", 7),
        ("-999999999999999999", -999999999999999999),
        ("1.5", None),
        ("85.0", None),
        ("1e3", None),
        ("--5", None),
        ("five", None),
        ("", None),
        (None, None),
        ("1234567890123456789", 1234567890123456789),
        ("-9223372036854775808", -9223372036854775808),
        ("-9223372036854775809", None),
        ("9" * 400, None),
    ],
)
def test_parse_int(raw, expected):
    assert values(parse_int(pd.Series([raw, "3"]))) == [expected, 3]


def test_parse_int_keeps_values_on_their_own_index_labels():
    result = parse_int(pd.Series(["5", "7"], index=[1, 0]))
    assert result.to_dict() == {1: 5, 0: 7}


# --- parse_listen_time ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-11-27 10:15:30", "2026-11-27 10:15:30"),
        (" 2026-11-27 10:15:30 ", "2026-11-27 10:15:30"),
        ("2026-11-27T10:15:30", "2026-11-27 10:15:30"),
        ("2026-11-27T10:15:30Z", "2026-11-27 10:15:30"),
        ("2026-11-27T10:15:30+01:00", "2026-11-27 09:15:30"),
        ("2026-11-27T00:30:00+01:00", "2026-11-26 23:30:00"),  # back over midnight
        ("2026-11-27T20:00:00-05:30", "2026-11-28 01:30:00"),  # forward over midnight
        ("2026-12-31T23:30:00-01:00", "2027-01-01 00:30:00"),  # and over a year
        ("2026-11-27 10:15:30.250", "2026-11-27 10:15:30.250"),
        ("2026-11-27T10:15:30.123456Z", "2026-11-27 10:15:30.123456"),
        ("2026-11-27T10:15:30.5+02:00", "2026-11-27 08:15:30.5"),
    ],
)
def test_parse_listen_time_gives_utc(raw, expected):
    assert parse_listen_time(pd.Series([raw])).tolist() == [utc(expected)]


@pytest.mark.parametrize(
    "raw",
    [
        "2026-11-27",
        "10:15:30",
        "garbage",
        "2026-13-01 00:00:00",
        "2026-02-30 00:00:00",
        "2026-11-27 25:00:00",
        "2026-11-27 10:61:00",
        "27/11/2026 10:15:30",
        "2026-11-27 10:15",
        "1764238530",
        "",
        "  ",
        None,
        "0000-01-01 00:00:00",  # year 0: no warehouse date holds it
        "1969-12-31T23:59:59Z",  # before the epoch (SPEC §2)
        "1970-01-01T00:30:00+01:00",  # the same, written with an offset
        "9999-12-31T23:00:00-05:00",  # year 10000 in UTC
    ],
)
def test_parse_listen_time_of_bad_value_is_nat(raw):
    assert values(parse_listen_time(pd.Series([raw, "2026-11-27 10:00:00"]))) == [
        None,
        utc("2026-11-27 10:00:00"),
    ]


def test_parse_listen_time_mixes_naive_zulu_and_offsets_in_one_column():
    series = pd.Series(
        ["2026-11-27 10:00:00", "2026-11-27T10:00:00Z", "2026-11-27T11:00:00+01:00", "bad"]
    )
    assert values(parse_listen_time(series)) == [
        utc("2026-11-27 10:00:00"),
        utc("2026-11-27 10:00:00"),
        utc("2026-11-27 10:00:00"),
        None,
    ]


def test_parse_listen_time_starts_at_the_epoch():
    assert values(parse_listen_time(pd.Series(["1970-01-01 00:00:00"]))) == [utc("1970-01-01")]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-03-01", "2024-03-01 00:00:00"),  # a date alone is midnight UTC
        ("2024-03-01 12:30:00", "2024-03-01 12:30:00"),
        ("2024-03-01T12:30:00+02:00", "2024-03-01 10:30:00"),
        ("1960-05-01", "1960-05-01 00:00:00"),  # no epoch rule for created_at
        ("yesterday", None),
        ("0000-01-01", None),
        ("2024-02-30", None),
        (None, None),
    ],
)
def test_parse_created_at(raw, expected):
    assert values(parse_created_at(pd.Series([raw]))) == [utc(expected) if expected else None]


def test_strip_text_drops_nul_characters():
    assert values(strip_text(pd.Series(["A\x001", "\x00", " B "]))) == ["A1", None, "B"]


def test_parse_listen_time_dtype_is_utc_microseconds():
    assert str(parse_listen_time(pd.Series(["2026-11-27 10:00:00"])).dtype) == "datetime64[us, UTC]"


def test_parse_listen_time_all_invalid_is_still_utc_typed():
    result = parse_listen_time(pd.Series(["bad", None]))
    assert str(result.dtype) == "datetime64[us, UTC]"
    assert values(result) == [None, None]
