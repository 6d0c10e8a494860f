"""Unit tests of tasks/transforms.py: parsing rules (SPEC 2), artists (SPEC 4), events (SPEC 3-4)."""

import datetime as dt

import pandas as pd
import pytest

from music_etl.rules.parsing import (
    parse_created_at,
    parse_int,
    parse_listen_time,
    parse_positive_int,
    strip_text,
)
from music_etl.rules.transforms import (
    first_row_per_key,
    song_artist_pairs,
    split_artists,
    stream_events,
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


# --- split_artists / song_artist_pairs -----------------------------------------------------------


def test_split_artists_trims_each_name():
    assert split_artists(" Adele ;  Drake") == ["Adele", "Drake"]


def test_split_artists_drops_empty_names():
    assert split_artists(";Adele;; ;Drake;") == ["Adele", "Drake"]


def test_split_artists_keeps_each_name_once_in_first_seen_order():
    assert split_artists("Drake;Adele;Drake; Adele ;Zedd") == ["Drake", "Adele", "Zedd"]


def test_split_artists_keeps_commas_quotes_and_unicode_inside_names():
    assert split_artists('Earth, Wind & Fire;Beyoncé;宇多田ヒカル;The "Band"') == [
        "Earth, Wind & Fire",
        "Beyoncé",
        "宇多田ヒカル",
        'The "Band"',
    ]


def test_split_artists_is_case_sensitive():
    assert split_artists("ABBA;abba") == ["ABBA", "abba"]


@pytest.mark.parametrize("missing", [None, pd.NA, float("nan"), "", " ; "])
def test_split_artists_of_missing_or_blank_is_empty(missing):
    assert split_artists(missing) == []


def test_song_artist_pairs_gives_one_row_per_track_and_artist():
    songs = pd.DataFrame(
        {"track_id": ["t1", "t2", "t3"], "artists": ["A; B;A", "Earth, Wind & Fire", None]}
    )
    pairs = song_artist_pairs(songs)
    assert pairs.to_dict("records") == [
        {"track_id": "t1", "artist": "A"},
        {"track_id": "t1", "artist": "B"},
        {"track_id": "t2", "artist": "Earth, Wind & Fire"},
    ]


def test_song_artist_pairs_of_no_artists_has_the_columns():
    pairs = song_artist_pairs(pd.DataFrame({"track_id": ["t1"], "artists": [""]}))
    assert list(pairs.columns) == ["track_id", "artist"]
    assert len(pairs) == 0


# --- stream_events -------------------------------------------------------------------------------


def valid_rows(*rows: tuple[int, str, str]) -> pd.DataFrame:
    """Rows as the validation stage writes them: parsed user id, clean track id, UTC time."""
    return pd.DataFrame(
        {
            "user_id_int": pd.array([row[0] for row in rows], dtype="Int64"),
            "track_id_clean": [row[1] for row in rows],
            "listen_time_utc": pd.Series(
                [utc(row[2]) for row in rows], dtype="datetime64[us, UTC]"
            ),
        }
    )


def test_stream_events_buckets_hour_and_date():
    events, _ = stream_events(valid_rows((7, "t1", "2026-11-27 23:59:59.5")), "streams/a.csv")
    assert events.to_dict("records") == [
        {
            "user_id": 7,
            "track_id": "t1",
            "listen_time": pd.Timestamp("2026-11-27 23:59:59.5"),
            "listen_hour": pd.Timestamp("2026-11-27 23:00:00"),
            "listen_date": dt.date(2026, 11, 27),
            "source_file": "streams/a.csv",
        }
    ]


def test_stream_events_times_are_naive_utc():
    events, _ = stream_events(valid_rows((7, "t1", "2026-11-28 00:10:00")), "a.csv")
    assert str(events["listen_time"].dtype) == "datetime64[us]"
    assert events.loc[0, "listen_date"] == dt.date(2026, 11, 28)


def test_stream_events_exact_hour_is_its_own_bucket():
    events, _ = stream_events(valid_rows((7, "t1", "2026-11-27 10:00:00")), "a.csv")
    assert events.loc[0, "listen_hour"] == pd.Timestamp("2026-11-27 10:00:00")


def test_stream_events_drops_and_counts_exact_duplicates_keeping_first():
    events, duplicates = stream_events(
        valid_rows(
            (7, "t1", "2026-11-27 10:00:00"),
            (8, "t1", "2026-11-27 10:00:00"),
            (7, "t1", "2026-11-27 10:00:00"),
            (7, "t1", "2026-11-27 10:00:00"),
        ),
        "a.csv",
    )
    assert duplicates == 2
    assert events["user_id"].tolist() == [7, 8]


def test_stream_events_rows_differing_in_one_key_column_are_not_duplicates():
    events, duplicates = stream_events(
        valid_rows(
            (7, "t1", "2026-11-27 10:00:00"),
            (8, "t1", "2026-11-27 10:00:00"),
            (7, "t2", "2026-11-27 10:00:00"),
            (7, "t1", "2026-11-27 10:00:01"),
            (7, "t1", "2026-11-27 10:00:00.001"),
        ),
        "a.csv",
    )
    assert duplicates == 0
    assert len(events) == 5


def test_stream_events_compares_duplicates_after_parsing_time():
    valid = pd.DataFrame(
        {
            "user_id_int": pd.array([7, 7, 7, 7], dtype="Int64"),
            "track_id_clean": ["t1", "t1", "t1", "t1"],
            "listen_time_utc": parse_listen_time(
                pd.Series(
                    [
                        "2026-11-27T10:00:00Z",
                        "2026-11-27 10:00:00",
                        "2026-11-27T11:00:00+01:00",
                        "2026-11-27T10:00:00.000",
                    ]
                )
            ),
        }
    )
    events, duplicates = stream_events(valid, "a.csv")
    assert duplicates == 3
    assert events["listen_time"].tolist() == [pd.Timestamp("2026-11-27 10:00:00")]


def test_stream_events_compares_duplicates_after_parsing_user_id():
    valid = pd.DataFrame(
        {
            "user_id_int": parse_positive_int(pd.Series(["7", "007", " 7 "])),
            "track_id_clean": ["t1", "t1", "t1"],
            "listen_time_utc": pd.Series([utc("2026-11-27 10:00:00")] * 3),
        }
    )
    events, duplicates = stream_events(valid, "a.csv")
    assert (len(events), duplicates) == (1, 2)


def test_stream_events_of_no_rows_is_empty():
    events, duplicates = stream_events(valid_rows(), "a.csv")
    assert (len(events), duplicates) == (0, 0)


# --- first_row_per_key ---------------------------------------------------------------------------


def test_first_row_per_key_keeps_first_in_file_order():
    frame = pd.DataFrame({"track_id": ["b", "a", "b", "c", "a"], "n": [1, 2, 3, 4, 5]})
    kept, repeated = first_row_per_key(frame, "track_id")
    assert kept["n"].tolist() == [1, 2, 4]
    assert repeated.tolist() == [False, False, True, False, True]


def test_first_row_per_key_repeated_mask_uses_the_frame_index():
    frame = pd.DataFrame({"track_id": ["x", "x"], "n": [1, 2]}, index=[10, 20])
    kept, repeated = first_row_per_key(frame, "track_id")
    assert kept.index.tolist() == [10]
    assert repeated[repeated].index.tolist() == [20]


def test_first_row_per_key_without_repeats_keeps_all():
    frame = pd.DataFrame({"user_id_int": [3, 1, 2]})
    kept, repeated = first_row_per_key(frame, "user_id_int")
    assert kept["user_id_int"].tolist() == [3, 1, 2]
    assert not repeated.any()
