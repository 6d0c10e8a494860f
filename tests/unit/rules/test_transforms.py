"""music_etl/rules/transforms.py: artists (SPEC 4), events (SPEC 3-4), first row per key."""

import datetime as dt

import pandas as pd
import pytest

from music_etl.rules.parsing import (
    parse_listen_time,
    parse_positive_int,
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
