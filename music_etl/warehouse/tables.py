"""Every warehouse table described once: its columns (name, type, size), key and layout.

The DDL for the three dialects, the staging tables the loads fill, the column lists of COPY and
INSERT, the VARCHAR sizes the quality suites check, and the Arrow schema of the transform's
Parquet are all derived from these descriptions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pyarrow as pa

_QUOTED = {"key", "mode"}  # reserved words used as column names
_ARROW = {
    "BIGINT": pa.int64(),
    "INTEGER": pa.int32(),
    "DOUBLE PRECISION": pa.float64(),
    "BOOLEAN": pa.bool_(),
    "TIMESTAMP": pa.timestamp("us"),
    "DATE": pa.date32(),
}


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # SQL type as every dialect here spells it: BIGINT, VARCHAR(64), TIMESTAMP, ...
    required: bool = False  # NOT NULL

    @property
    def sql_name(self) -> str:
        return f'"{self.name}"' if self.name in _QUOTED else self.name

    @property
    def varchar_size(self) -> int | None:
        """The VARCHAR size (bytes on Redshift), or None for other types."""
        match = re.fullmatch(r"VARCHAR\((\d+)\)", self.type)
        return int(match.group(1)) if match else None

    @property
    def arrow_type(self) -> pa.DataType:
        return pa.string() if self.varchar_size else _ARROW[self.type]


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    unique_key: bool = False  # enforce the key where the dialect does (PostgreSQL, DuckDB)
    redshift_layout: str = ""  # DISTKEY/DISTSTYLE and SORTKEY
    staging: str | None = None  # the temporary table a load fills from the lake's Parquet

    @property
    def names(self) -> list[str]:
        return [column.name for column in self.columns]

    def sql_names(self, *, staged: bool = False) -> str:
        return ", ".join(c.sql_name for c in (self.staged_columns if staged else self.columns))

    @property
    def staged_columns(self) -> tuple[Column, ...]:
        """What the lake's Parquet holds for this table: everything but the load time."""
        return tuple(c for c in self.columns if c.name != "loaded_at")

    def arrow_schema(self) -> pa.Schema:
        """The Parquet the transform writes for this table, in staging column order (Redshift's
        COPY … FORMAT AS PARQUET maps columns by position)."""
        return pa.schema([pa.field(c.name, c.arrow_type) for c in self.staged_columns])

    def varchar_sizes(self) -> dict[str, int]:
        """Text columns with their sizes, for the byte-length checks (source_file is ours)."""
        return {
            c.name: size
            for c in self.columns
            if (size := c.varchar_size) and c.name != "source_file"
        }

    def create(self, dialect: str) -> str:
        columns = ",\n    ".join(
            f"{c.sql_name} {c.type}{' NOT NULL' if c.required else ''}" for c in self.columns
        )
        layout = f" {self.redshift_layout}" if dialect == "redshift" and self.redshift_layout else ""
        return f"CREATE TABLE IF NOT EXISTS {{s}}.{self.name} (\n    {columns}\n){layout}"

    def create_staging(self, temporary_clause: str = "") -> str:
        columns = ", ".join(f"{c.sql_name} {c.type}" for c in self.staged_columns)
        return f"CREATE TEMP TABLE {self.staging} ({columns}){temporary_clause}"

    def unique_index(self) -> str:
        return (
            f"CREATE UNIQUE INDEX IF NOT EXISTS {self.name}_key "
            f"ON {{s}}.{self.name} ({', '.join(self.key)})"
        )


def _c(name: str, kind: str, required: bool = False) -> Column:
    return Column(name, kind, required)


SOURCE_FILE = _c("source_file", "VARCHAR(1024)", True)
LOADED_AT = _c("loaded_at", "TIMESTAMP", True)
DOUBLE = "DOUBLE PRECISION"

STREAMS = Table(
    "streams",
    (
        _c("user_id", "BIGINT", True), _c("track_id", "VARCHAR(64)", True),
        _c("listen_time", "TIMESTAMP", True), _c("listen_hour", "TIMESTAMP", True),
        _c("listen_date", "DATE", True), SOURCE_FILE, LOADED_AT,
    ),
    key=("user_id", "track_id", "listen_time"),
    # Events spread by user (distinct-listener counts stay local to a slice) and sorted by hour
    # (KPI recomputation and the duplicate check read hour ranges).
    redshift_layout="DISTKEY(user_id) COMPOUND SORTKEY(listen_hour, user_id)",
    staging="stage_events",
)  # fmt: skip

SONGS = Table(
    "songs",
    (
        _c("track_id", "VARCHAR(64)", True), _c("artists", "VARCHAR(4096)", True),
        _c("album_name", "VARCHAR(1024)"), _c("track_name", "VARCHAR(1024)", True),
        _c("popularity", "INTEGER", True), _c("duration_ms", "BIGINT", True),
        _c("explicit", "BOOLEAN"), _c("danceability", DOUBLE), _c("energy", DOUBLE),
        _c("key", "INTEGER"), _c("loudness", DOUBLE), _c("mode", "INTEGER"),
        _c("speechiness", DOUBLE), _c("acousticness", DOUBLE), _c("instrumentalness", DOUBLE),
        _c("liveness", DOUBLE), _c("valence", DOUBLE), _c("tempo", DOUBLE),
        _c("time_signature", "INTEGER"), _c("track_genre", "VARCHAR(256)", True),
        SOURCE_FILE, LOADED_AT,
    ),
    key=("track_id",),
    redshift_layout="DISTSTYLE ALL SORTKEY(track_id)",  # small dimensions: on every node
    staging="stage_songs",
)  # fmt: skip

SONG_ARTISTS = Table(
    "song_artists",
    (_c("track_id", "VARCHAR(64)", True), _c("artist", "VARCHAR(4096)", True)),
    key=("track_id", "artist"),
    redshift_layout="DISTSTYLE ALL SORTKEY(track_id)",
    staging="stage_song_artists",
)

USERS = Table(
    "users",
    (
        _c("user_id", "BIGINT", True), _c("user_name", "VARCHAR(1024)"),
        _c("user_age", "INTEGER"), _c("user_country", "VARCHAR(64)"),
        _c("created_at", "TIMESTAMP"), SOURCE_FILE, LOADED_AT,
    ),
    key=("user_id",),
    redshift_layout="DISTSTYLE ALL SORTKEY(user_id)",
    staging="stage_users",
)  # fmt: skip

HOURLY_KPIS = Table(
    "hourly_kpis",
    (
        _c("listen_hour", "TIMESTAMP", True), _c("total_streams", "BIGINT", True),
        _c("unique_listeners", "BIGINT", True), _c("unique_tracks", "BIGINT", True),
        _c("track_diversity_index", DOUBLE, True), _c("top_artist", "VARCHAR(4096)"),
        _c("top_artist_streams", "BIGINT"),
    ),
    key=("listen_hour",),
    unique_key=True,
    redshift_layout="SORTKEY(listen_hour)",
)  # fmt: skip

GENRE_KPIS = Table(
    "genre_kpis",
    (
        _c("listen_date", "DATE", True), _c("track_genre", "VARCHAR(256)", True),
        _c("listen_count", "BIGINT", True), _c("unique_listeners", "BIGINT", True),
        _c("avg_track_duration_ms", DOUBLE, True), _c("avg_popularity", DOUBLE, True),
        _c("popularity_index", DOUBLE, True), _c("most_popular_track_id", "VARCHAR(64)", True),
        _c("most_popular_track_name", "VARCHAR(1024)", True),
        _c("most_popular_track_streams", "BIGINT", True),
    ),
    key=("listen_date", "track_genre"),
    unique_key=True,
    redshift_layout="SORTKEY(listen_date)",
)  # fmt: skip

FILE_LEDGER = Table(
    "etl_file_ledger",
    (
        _c("source_key", "VARCHAR(1024)", True), _c("etag", "VARCHAR(128)", True),
        _c("size_bytes", "BIGINT", True), _c("dataset", "VARCHAR(32)", True),
        _c("status", "VARCHAR(16)", True), _c("rows_read", "BIGINT", True),
        _c("rows_loaded", "BIGINT", True), _c("rows_quarantined", "BIGINT", True),
        _c("rows_duplicate", "BIGINT", True), _c("reason", "VARCHAR(4096)"),
        _c("flow_run_id", "VARCHAR(64)"), _c("processed_at", "TIMESTAMP", True),
    ),
    key=("source_key", "etag"),
)  # fmt: skip

# The catalogue snapshot last loaded per dataset: a new fingerprint means "reload".
CATALOGUE_SNAPSHOTS = Table(
    "etl_catalogue_snapshots",
    (
        _c("dataset", "VARCHAR(32)", True), _c("fingerprint", "VARCHAR(64)", True),
        _c("flow_run_id", "VARCHAR(64)"), _c("loaded_at", "TIMESTAMP", True),
    ),
)  # fmt: skip

# Hours whose KPI rows must be recomputed; written in the same transaction as the change that
# caused it, so a crash between a load and the KPI step loses nothing.
KPI_PENDING = Table("etl_kpi_pending", (_c("listen_hour", "TIMESTAMP", True),))

# Quarantined stream rows a replay has taken out of quarantine (loaded, or found to be an event
# the warehouse already had); written with their events in one transaction.
QUARANTINE_REPLAYS = Table(
    "etl_quarantine_replays",
    (
        _c("quarantine_key", "VARCHAR(1024)", True), _c("row_number", "BIGINT", True),
        _c("source_key", "VARCHAR(1024)", True), _c("flow_run_id", "VARCHAR(64)"),
        _c("replayed_at", "TIMESTAMP", True),
    ),
    key=("quarantine_key", "row_number"),
)  # fmt: skip

# The row numbers of a replay's passing rows, staged to record them (a staging table only).
REPLAYED_ROWS = Table("replayed_rows", (_c("row_number", "BIGINT"),), staging="stage_replayed_rows")

TABLES = (
    STREAMS, SONGS, SONG_ARTISTS, USERS, HOURLY_KPIS, GENRE_KPIS,
    FILE_LEDGER, CATALOGUE_SNAPSHOTS, KPI_PENDING, QUARANTINE_REPLAYS,
)  # fmt: skip
STAGED = {table.staging: table for table in (*TABLES, REPLAYED_ROWS) if table.staging}


def schema_ddl(dialect: str) -> list[str]:
    """CREATE statements for the schema and its tables, with Redshift's layout there."""
    return ["CREATE SCHEMA IF NOT EXISTS {s}", *(table.create(dialect) for table in TABLES)]


def unique_indexes() -> list[str]:
    return [table.unique_index() for table in TABLES if table.unique_key]
