"""Pure parts of the quarantine replay: keys, candidate rows, counts, and its SQL for Redshift."""

from __future__ import annotations

import pandas as pd
import pytest
import sqlglot
from sqlalchemy import text
from sqlalchemy_redshift.dialect import RedshiftDialect_psycopg2
from sqlglot import exp

from music_etl import lake
from music_etl.models import (
    CatalogueSnapshot,
    KpiUpdate,
    QuarantineFile,
    ReplayedFile,
    RevalidatedFile,
    SourceFile,
)
from music_etl.replay import replay_candidates, source_of_quarantine_key
from music_etl.reports import summarise_replay
from music_etl.warehouse import sql


@pytest.mark.parametrize(
    "key,etag",
    [
        ("streams/2026/11/27/10.csv", "5d41402abc4b2a76b9719d911017c592"),
        ("streams/odd@name.csv.gz", "abc-2"),  # '@' in the key; a multipart-style ETag
    ],
)
def test_quarantine_key_leads_back_to_its_source_version(key, etag):
    quarantine = lake.quarantine_key(SourceFile(key=key, etag=etag, size=1, dataset="streams"))
    assert source_of_quarantine_key(quarantine) == (key, etag)


@pytest.mark.parametrize(
    "key",
    [
        lake.snapshot_key("quarantine", CatalogueSnapshot("songs", ())),  # a catalogue's
        "quarantine/streams/10.csv.parquet",  # no version
        "quarantine/streams/10.csv@abc.parquet.tmp",
        "validated/streams/10.csv@abc.parquet",
    ],
)
def test_other_objects_are_not_stream_quarantines(key):
    assert source_of_quarantine_key(key) is None


def _quarantine() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "user_id": ["1", "", "3", "4"],
            "track_id": ["D1", "D1", "X9", "D2"],
            "listen_time": ["2026-11-27 10:00:00"] * 4,
            "extra": ["a", "b", "c", "d"],
            "source_file": ["streams/a.csv"] * 4,
            "row_number": [2, 5, 7, 9],
            "reason": ["unknown_track", "missing_user_id", "unknown_track", "unknown_track"],
        }
    )


def test_candidates_are_unknown_track_rows_not_replayed_before_labelled_by_row_number():
    raw = replay_candidates(_quarantine(), replayed={9})

    assert list(raw.index) == [2, 7]
    assert list(raw.columns) == ["user_id", "track_id", "listen_time"]
    assert list(raw["track_id"]) == ["D1", "X9"]
    assert all(isinstance(dtype, pd.StringDtype) for dtype in raw.dtypes)


def test_no_candidates_once_every_unknown_track_row_is_replayed():
    assert replay_candidates(_quarantine(), replayed={2, 7, 9}).empty


def test_summary_adds_up_files_and_keeps_reasons_apart():
    a = QuarantineFile("quarantine/streams/a.csv@1.parquet", "streams/a.csv", "1")
    b = QuarantineFile("quarantine/streams/b.csv@2.parquet", "streams/b.csv", "2")
    replayed = [
        ReplayedFile(
            RevalidatedFile(a, rows_revalidated=4, rows_passed=3, still_quarantined=(("unknown_track", 1),)),
            rows_loaded=2,
            rows_duplicate=1,
        ),
        ReplayedFile(RevalidatedFile(b)),  # every row replayed before: nothing to do
    ]
    kpis = KpiUpdate(hours_recomputed=2, hourly_rows=2, genre_rows=3)

    summary = summarise_replay(2, replayed, kpis, "file:///docs/index.html")

    assert summary.lines() == [
        "quarantine files: 1 with rows to replay (of 2 of loaded stream files)",
        "rows re-validated: 4",
        "rows loaded: 2",
        "duplicates: 1",
        "rows still quarantined: 1 (unknown_track=1)",
        "unknown users (kept, warning): 0",
        "KPI rows written: 2 hourly, 3 genre (2 hours recomputed)",
        "Data Docs: file:///docs/index.html",
    ]


@pytest.mark.parametrize(
    "statement", [sql.LOADED_STREAM_VERSIONS, sql.REPLAYED_ROW_NUMBERS, sql.RECORD_REPLAYED_ROWS]
)
@pytest.mark.parametrize("dialect", ["redshift", "postgres"])
def test_replay_statements_parse_in_redshift_and_postgres(statement, dialect):
    compiled = str(text(statement.format(s='"music"')).compile(dialect=RedshiftDialect_psycopg2()))
    tree = sqlglot.parse_one(compiled.replace("%(", ":").replace(")s", ""), read=dialect)
    assert not isinstance(tree, exp.Command)
