"""The shared warehouse SQL against Redshift's grammar, and the staging contract with the lake."""

from __future__ import annotations

import pandas as pd
import pytest
import sqlglot
from sqlalchemy import text
from sqlalchemy_redshift.dialect import RedshiftDialect_psycopg2
from sqlglot import exp

from music_etl.quality.checks import prepare_users
from music_etl.quality.suites import suite_definition
from music_etl.rules import parsing, transforms
from music_etl.rules.transforms import typed_songs, typed_users
from music_etl.settings import Settings
from music_etl.warehouse import sql, tables
from music_etl.warehouse.base import Session, WarehouseError
from music_etl.warehouse.connect import open_warehouse
from music_etl.warehouse.postgres import (
    PostgresSession,
    RedshiftSession,
    RedshiftWarehouse,
)


def _staged(name: str) -> list[str]:
    return [column.name for column in tables.STAGED[name].staged_columns]


def _render(statement: str, dialect: str) -> str:
    collate = 'COLLATE "C"' if dialect == "postgres" else ""
    return statement.format(s='"music"', c=collate)


def _parses(statement: str, dialect: str) -> exp.Expression:
    tree = sqlglot.parse_one(statement, read=dialect)
    assert not isinstance(tree, exp.Command), f"sqlglot fell back to a raw command: {statement}"
    return tree


SHARED = [
    sql.LEDGER_VERSIONS, sql.LEDGER_HAS_VERSION, sql.LEDGER_DELETE_VERSION, sql.LEDGER_INSERT,
    sql.LATEST_SNAPSHOT, sql.RECORD_SNAPSHOT, sql.INSERT_NEW_EVENTS, sql.MARK_EVENT_HOURS_PENDING,
    sql.MARK_CHANGED_SONG_HOURS_PENDING, *sql.UPSERT_SONGS, *sql.UPSERT_USERS,
    sql.SNAPSHOT_PENDING, *sql.RECOMPUTE_KPIS, sql.COUNT_KPI_ROWS_FOR_PENDING,
    sql.DROP_PENDING_SNAPSHOT,
]  # fmt: skip


@pytest.mark.parametrize("statement", SHARED)
@pytest.mark.parametrize("dialect", ["redshift", "postgres"])
def test_shared_statements_parse_in_redshift_and_postgres(statement, dialect):
    # Parameters are bound by the driver; compile them the way sqlalchemy-redshift does.
    compiled = str(text(_render(statement, dialect)).compile(dialect=RedshiftDialect_psycopg2()))
    _parses(compiled.replace("%(", ":").replace(")s", ""), dialect)


def test_redshift_ddl_parses_and_carries_distkey_and_sortkey():
    statements = [_render(s, "redshift") for s in tables.schema_ddl("redshift")]
    for statement in statements:
        _parses(statement, "redshift")
    streams = next(s for s in statements if '"music".streams (' in s)
    assert streams.rstrip().endswith("DISTKEY(user_id) COMPOUND SORTKEY(listen_hour, user_id)")
    songs = next(s for s in statements if '"music".songs (' in s)
    assert "DISTSTYLE ALL" in songs


def test_postgres_and_duckdb_ddl_have_no_redshift_options():
    assert not any("DISTKEY" in s or "SORTKEY" in s for s in tables.schema_ddl("postgresql"))
    assert not any("DISTKEY" in s for s in tables.schema_ddl("duckdb"))


def test_copy_statement_parses_and_quotes_its_literals():
    statement = sql.copy_from_parquet(
        "stage_events",
        "s3://lake/transformed/streams/it's.csv@abc.parquet",
        "arn:aws:iam::123456789012:role/music-etl-copy",
    )
    assert statement == (
        "COPY stage_events FROM 's3://lake/transformed/streams/it''s.csv@abc.parquet' "
        "IAM_ROLE 'arn:aws:iam::123456789012:role/music-etl-copy' FORMAT AS PARQUET"
    )
    _parses(statement, "redshift")


@pytest.mark.parametrize("name", list(tables.STAGED))
def test_staging_ddl_parses_in_redshift(name):
    # (PostgreSQL's variant, with ON COMMIT DROP, runs against the real server in integration.)
    _parses(tables.STAGED[name].create_staging(), "redshift")


def _songs_frame() -> pd.DataFrame:
    row = {column: "1" for column in parsing.SONG_COLUMNS}
    row.update(explicit="True", artists="A;B", source_file="songs/a.csv")
    frame = pd.DataFrame([row], dtype="str")
    frame["popularity_int"] = pd.array([50], dtype="Int64")
    frame["duration_ms_int"] = pd.array([1000], dtype="Int64")
    return frame


def test_transformed_parquet_columns_are_the_staging_columns_in_order():
    # Redshift's COPY ... FORMAT AS PARQUET maps columns by position.
    songs = typed_songs(_songs_frame())
    assert list(songs.columns) == _staged("stage_songs")
    assert list(transforms.song_artist_pairs(songs).columns) == _staged(
        "stage_song_artists"
    )
    users = prepare_users(pd.DataFrame(
        [{"user_id": "1", "user_name": "A", "user_age": "3", "user_country": "SE",
          "created_at": "2024-01-01 00:00:00"}], dtype="str",
    ))  # fmt: skip
    users["source_file"] = "users/u.csv"
    assert list(typed_users(users).columns) == _staged("stage_users")
    valid = pd.DataFrame(
        {
            "user_id_int": pd.array([1], dtype="Int64"),
            "track_id_clean": ["t"],
            "listen_time_utc": pd.to_datetime(["2026-11-27 10:00:00"], utc=True),
        }
    )
    events, _ = transforms.stream_events(valid, "streams/a.csv")
    assert list(events.columns) == _staged("stage_events")


@pytest.mark.parametrize("dataset,table", [("songs", "stage_songs"), ("users", "stage_users")])
def test_suites_check_every_varchar_limit_in_bytes(dataset, table):
    checked = {
        e["kwargs"]["column"].removesuffix("_utf8_bytes"): e["kwargs"]["max_value"]
        for e in suite_definition(dataset)["expectations"]
        if e["kwargs"].get("column", "").endswith("_utf8_bytes")
    }
    assert checked == tables.STAGED[table].varchar_sizes()


class _Cursor:
    rowcount = -1

    def __init__(self, log):
        self.log = log

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def execute(self, statement, params=None):
        self.log.append(statement)


class _Connection:
    def __init__(self):
        self.log: list[str] = []

    def cursor(self):
        return _Cursor(self.log)


class _S3Lake:
    def url(self, key):
        return f"s3://lake-bucket/lake/{key}"


def test_redshift_staging_is_a_copy_from_the_lakes_parquet():
    warehouse = object.__new__(RedshiftWarehouse)  # no cluster here: only the SQL it sends
    warehouse.dialect, warehouse.collate, warehouse.temp_table_suffix = "redshift", "", ""
    warehouse.quoted_schema, warehouse.iam_role = '"music"', "arn:aws:iam::1:role/copy"
    connection = _Connection()
    session = RedshiftSession(warehouse, connection)

    session.stage("stage_events", _S3Lake(), "transformed/streams/a.csv@e1.parquet")

    assert connection.log == [
        "DROP TABLE IF EXISTS stage_events",
        tables.STREAMS.create_staging(),
        "COPY stage_events FROM 's3://lake-bucket/lake/transformed/streams/a.csv@e1.parquet' "
        "IAM_ROLE 'arn:aws:iam::1:role/copy' FORMAT AS PARQUET",
    ]
    assert issubclass(RedshiftSession, PostgresSession) and issubclass(RedshiftSession, Session)


def test_redshift_without_an_iam_role_is_a_clear_error():
    with pytest.raises(WarehouseError, match="IAM role"):
        open_warehouse(
            "redshift+psycopg2://user:pw@example.invalid:5439/dev", "music", Settings(redshift_iam_role=None)
        )
