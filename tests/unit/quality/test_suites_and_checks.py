"""The data-quality rules (SPEC 3): the GX suites in expectations/, the reason precedence of
music_etl/quality/suites.py and the frame builders of music_etl/quality/checks.py."""

import json
from pathlib import Path

import pandas as pd
import pytest

from music_etl.quality.checks import (
    prepare_songs,
    prepare_streams,
    prepare_users,
    quarantine_table,
)
from music_etl.quality.suites import first_reasons, quarantine_reasons, suite_definition

EXPECTATIONS = Path(__file__).resolve().parents[3] / "expectations"
SUITE_FILES = sorted(EXPECTATIONS.glob("*.json"))

# SPEC section 3, in SPEC's order.
STREAM_REASONS = [
    "missing_user_id",
    "missing_track_id",
    "missing_listen_time",
    "invalid_user_id",
    "invalid_listen_time",
    "future_listen_time",
    "unknown_track",
]


def values(series: pd.Series) -> list:
    return [None if pd.isna(value) else value for value in series.tolist()]


def text_frame(columns: dict[str, list]) -> pd.DataFrame:
    """A raw frame as read from CSV: every column a nullable string."""
    return pd.DataFrame(columns, dtype=pd.StringDtype())


def all_expectations():
    for path in SUITE_FILES:
        for position, item in enumerate(json.loads(path.read_text(encoding="utf-8"))["expectations"]):
            yield pytest.param(item, id=f"{path.stem}[{position}]-{item['type']}")


# --- suites --------------------------------------------------------------------------------------


def test_there_is_a_suite_per_dataset():
    assert [path.stem for path in SUITE_FILES] == ["songs", "streams", "users"]


@pytest.mark.parametrize("dataset", ["songs", "streams", "users"])
def test_suite_is_named_after_its_dataset(dataset):
    assert suite_definition(dataset)["name"] == dataset


def test_stream_reasons_are_specs_list_in_specs_order():
    assert quarantine_reasons("streams") == STREAM_REASONS


def test_song_reasons_in_precedence_order_each_once():
    assert quarantine_reasons("songs") == [
        "missing_track_id",
        "missing_track_name",
        "missing_artists",
        "missing_track_genre",
        "invalid_popularity",
        "invalid_duration_ms",
        "value_too_long",
    ]


def test_user_reasons_in_precedence_order():
    assert quarantine_reasons("users") == ["missing_user_id", "invalid_user_id", "value_too_long"]


def test_duplicate_reasons_are_not_suite_reasons():
    # duplicate_track_id / duplicate_user_id are decided by the loader (first row wins).
    assert "duplicate_track_id" not in quarantine_reasons("songs")
    assert "duplicate_user_id" not in quarantine_reasons("users")


@pytest.mark.parametrize("item", all_expectations())
def test_expectation_type_is_a_real_gx_class(item):
    import great_expectations.expectations as gxe

    class_name = "".join(part.capitalize() for part in item["type"].split("_"))
    expectation_class = getattr(gxe, class_name, None)
    assert expectation_class is not None, f"{item['type']} is not a GX expectation"
    expectation = expectation_class(**item["kwargs"], meta=item.get("meta"))
    assert expectation.column == item["kwargs"]["column"]


@pytest.mark.parametrize(
    ("dataset", "prepared"),
    [
        ("streams", lambda: prepare_streams(
            text_frame({"user_id": ["1"], "track_id": ["t"], "listen_time": ["x"]}), pd.Index([])
        )),
        ("songs", lambda: prepare_songs(text_frame(
            {"track_id": ["t"], "track_name": ["n"], "artists": ["a"], "track_genre": ["g"],
             "popularity": ["1"], "duration_ms": ["1"]}
        ))),
        ("users", lambda: prepare_users(text_frame({"user_id": ["1"]}))),
    ],
)  # fmt: skip
def test_every_column_a_suite_checks_is_prepared(dataset, prepared):
    checked = {item["kwargs"]["column"] for item in suite_definition(dataset)["expectations"]}
    assert checked <= set(prepared().columns)


def test_future_rule_takes_its_bound_from_the_run_parameter():
    (future,) = [
        item
        for item in suite_definition("streams")["expectations"]
        if item["meta"].get("quarantine_reason") == "future_listen_time"
    ]
    assert future["kwargs"]["column"] == "listen_time_utc"
    assert future["kwargs"]["max_value"] == {"$PARAMETER": "max_listen_time"}


# --- first_reasons -------------------------------------------------------------------------------


def test_first_reasons_gives_each_row_its_highest_precedence_reason():
    failures = [
        ("unknown_track", [0, 1, 3]),
        ("missing_user_id", [1]),
        ("invalid_listen_time", [0]),
    ]
    reasons = first_reasons(pd.RangeIndex(4), failures, STREAM_REASONS)
    assert values(reasons) == ["invalid_listen_time", "missing_user_id", None, "unknown_track"]


def test_first_reasons_does_not_depend_on_the_order_of_failures():
    failures = [
        ("future_listen_time", [2]),
        ("missing_listen_time", [0, 2]),
        ("invalid_user_id", [0, 1]),
        ("missing_track_id", [1]),
    ]
    expected = ["missing_listen_time", "missing_track_id", "missing_listen_time"]
    assert values(first_reasons(pd.RangeIndex(3), failures, STREAM_REASONS)) == expected
    backwards = list(reversed(failures))
    assert values(first_reasons(pd.RangeIndex(3), backwards, STREAM_REASONS)) == expected


def test_first_reasons_uses_index_labels_not_positions():
    index = pd.Index([10, 20, 30])
    reasons = first_reasons(index, [("unknown_track", [30]), ("missing_user_id", [20])], STREAM_REASONS)
    assert reasons.index.tolist() == [10, 20, 30]
    assert values(reasons) == [None, "missing_user_id", "unknown_track"]


def test_first_reasons_same_reason_from_two_expectations():
    precedence = ["missing_track_id", "invalid_popularity", "invalid_duration_ms"]
    failures = [
        ("invalid_duration_ms", [0]),
        ("invalid_popularity", [1]),  # not an integer
        ("invalid_popularity", [0]),  # outside 0..100
    ]
    assert values(first_reasons(pd.RangeIndex(2), failures, precedence)) == [
        "invalid_popularity",
        "invalid_popularity",
    ]


def test_first_reasons_without_failures_is_all_none():
    reasons = first_reasons(pd.RangeIndex(2), [("unknown_track", []), ("missing_user_id", [])], STREAM_REASONS)
    assert values(reasons) == [None, None]


# --- prepare_streams -----------------------------------------------------------------------------


@pytest.fixture
def prepared_streams() -> pd.DataFrame:
    raw = text_frame(
        {
            "user_id": [" 12 ", None, "x", "0", "5", "6", " "],
            "track_id": ["t1", " t2 ", "t1", "t9", None, "T1", "t1"],
            "listen_time": [
                "2026-11-27 10:00:00",
                "2026-11-27T10:00:00Z",
                "bad",
                "2026-11-27T11:00:00+01:00",
                " ",
                "2026-11-27",
                "2026-11-27 10:00:00",
            ],
        }
    )
    return prepare_streams(raw, pd.Index(["t1", "t2"]))


def test_prepare_streams_trims_raw_text_and_blank_is_missing(prepared_streams):
    assert values(prepared_streams["user_id"]) == ["12", None, "x", "0", "5", "6", None]
    assert values(prepared_streams["track_id"]) == ["t1", "t2", "t1", "t9", None, "T1", "t1"]
    assert values(prepared_streams["listen_time"])[4] is None


def test_prepare_streams_user_id_int_is_null_where_not_a_positive_integer(prepared_streams):
    assert values(prepared_streams["user_id_int"]) == [12, None, None, None, 5, 6, None]


def test_prepare_streams_listen_time_utc_is_null_where_unparseable(prepared_streams):
    ten = pd.Timestamp("2026-11-27 10:00:00", tz="UTC")
    assert values(prepared_streams["listen_time_utc"]) == [ten, ten, None, ten, None, None, ten]


def test_prepare_streams_unknown_track_id_is_the_raw_value_not_in_catalogue(prepared_streams):
    # trimmed before the lookup; the lookup is case-sensitive; a missing id is not "unknown"
    assert values(prepared_streams["unknown_track_id"]) == [None, None, None, "t9", None, "T1", None]


def test_prepare_streams_shows_failing_values_raw_as_in_the_file(prepared_streams):
    # Data Docs list these: the value that was wrong, untrimmed; missing values are not listed
    assert values(prepared_streams["invalid_user_id"]) == [None, None, "x", "0", None, None, None]
    assert values(prepared_streams["invalid_listen_time"]) == [
        None, None, "bad", None, None, "2026-11-27", None,
    ]  # fmt: skip


def test_prepare_streams_keeps_the_raw_index():
    raw = text_frame({"user_id": ["1"], "track_id": ["t"], "listen_time": ["x"]})
    raw.index = [5]
    assert prepare_streams(raw, pd.Index(["t"])).index.tolist() == [5]


# --- prepare_songs / prepare_users ---------------------------------------------------------------


def test_prepare_songs_parses_popularity_and_duration():
    raw = text_frame(
        {
            "track_id": [" t1 ", "t2", "t3", "t4"],
            "track_name": ["a", "b", "c", "d"],
            "artists": ["A", "B", "C", "D"],
            "track_genre": ["pop", "pop", "pop", "pop"],
            "popularity": ["85", " -3 ", "85.0", None],
            "duration_ms": ["210000", "1e5", "0", "abc"],
        }
    )
    songs = prepare_songs(raw)
    assert values(songs["track_id"]) == ["t1", "t2", "t3", "t4"]
    assert values(songs["popularity_int"]) == [85, -3, None, None]
    assert values(songs["duration_ms_int"]) == [210000, None, 0, None]


def test_prepare_songs_absent_optional_columns_are_null():
    raw = text_frame(
        {"track_id": ["t1"], "track_name": ["a"], "artists": ["A"], "track_genre": ["pop"],
         "popularity": ["1"], "duration_ms": ["1"]}
    )  # fmt: skip
    songs = prepare_songs(raw)
    assert values(songs["album_name"]) == [None]
    assert values(songs["tempo"]) == [None]


def test_prepare_users_user_id_int_is_positive_integer_or_null():
    users = prepare_users(text_frame({"user_id": [" 007 ", "-1", "0", "1.0", None]}))
    assert values(users["user_id_int"]) == [7, None, None, None, None]
    assert values(users["user_id"]) == ["007", "-1", "0", "1.0", None]


# --- quarantine_table ----------------------------------------------------------------------------


def test_quarantine_table_keeps_raw_values_source_row_number_and_reason():
    raw = text_frame(
        {
            "user_id": [" 7 ", None, "x", "8"],
            "track_id": ["t1", "t1", " t2 ", "zz"],
            "listen_time": ["2026-11-27 10:00:00", "2026-11-27 10:00:00", "bad", "2026-11-27T10:00:00Z"],
        }
    )
    reasons = pd.Series([None, "missing_user_id", "invalid_user_id", "unknown_track"])
    table = quarantine_table(
        raw, reasons, pd.Series(["streams/a.csv"] * 4), pd.Series([1, 2, 3, 4])
    )
    assert table.to_pylist() == [
        {"user_id": None, "track_id": "t1", "listen_time": "2026-11-27 10:00:00",
         "source_file": "streams/a.csv", "row_number": 2, "reason": "missing_user_id"},
        {"user_id": "x", "track_id": " t2 ", "listen_time": "bad",
         "source_file": "streams/a.csv", "row_number": 3, "reason": "invalid_user_id"},
        {"user_id": "8", "track_id": "zz", "listen_time": "2026-11-27T10:00:00Z",
         "source_file": "streams/a.csv", "row_number": 4, "reason": "unknown_track"},
    ]  # fmt: skip


def test_quarantine_table_row_number_and_source_come_from_each_row():
    raw = text_frame({"user_id": ["1", "2"]})
    table = quarantine_table(
        raw,
        pd.Series(["invalid_user_id", "invalid_user_id"]),
        pd.Series(["users/a.csv", "users/b.csv"]),
        pd.Series([17, 3]),
    )
    assert table.column("source_file").to_pylist() == ["users/a.csv", "users/b.csv"]
    assert table.column("row_number").to_pylist() == [17, 3]
    assert str(table.schema.field("row_number").type) == "int64"


def test_quarantine_table_keeps_extra_columns():
    raw = text_frame({"user_id": [None], "track_id": ["t"], "listen_time": ["x"], "device": ["tv"]})
    table = quarantine_table(raw, pd.Series(["missing_user_id"]), pd.Series(["a.csv"]), pd.Series([1]))
    assert table.to_pylist()[0]["device"] == "tv"


def test_quarantine_table_of_no_failures_has_no_rows():
    raw = text_frame({"user_id": ["1"]})
    table = quarantine_table(raw, pd.Series([None], dtype="object"), pd.Series(["a.csv"]), pd.Series([1]))
    assert table.num_rows == 0


def test_quarantine_table_does_not_overwrite_a_raw_column_named_like_its_metadata():
    raw = text_frame(
        {"user_id": [None], "track_id": ["t"], "listen_time": ["x"], "source_file": ["export-17.csv"]}
    )
    table = quarantine_table(
        raw, pd.Series(["missing_user_id"]), pd.Series(["streams/a.csv"]), pd.Series([1])
    )
    row_values = set(table.to_pylist()[0].values())
    assert {"export-17.csv", "streams/a.csv", "missing_user_id"} <= row_values
