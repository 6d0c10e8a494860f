"""The warehouse's SQL: schema, idempotent upserts and KPI recomputation.

Written once for every dialect where they agree (DuckDB, PostgreSQL, Redshift). `{s}` is the
quoted schema name; `{c}` is the collation clause that makes text ordering code-point order.
Parameters use `:name` and are translated per driver.
"""

from __future__ import annotations

import re

TABLES = (
    "streams", "songs", "song_artists", "users", "hourly_kpis", "genre_kpis",
    "etl_file_ledger", "etl_catalogue_snapshots", "etl_kpi_pending", "etl_quarantine_replays",
)  # fmt: skip

SCHEMA_DDL = [
    """CREATE TABLE IF NOT EXISTS {s}.streams (
        user_id BIGINT NOT NULL,
        track_id VARCHAR(64) NOT NULL,
        listen_time TIMESTAMP NOT NULL,
        listen_hour TIMESTAMP NOT NULL,
        listen_date DATE NOT NULL,
        source_file VARCHAR(1024) NOT NULL,
        loaded_at TIMESTAMP NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS {s}.songs (
        track_id VARCHAR(64) NOT NULL,
        artists VARCHAR(4096) NOT NULL,
        album_name VARCHAR(1024),
        track_name VARCHAR(1024) NOT NULL,
        popularity INTEGER NOT NULL,
        duration_ms BIGINT NOT NULL,
        explicit BOOLEAN,
        danceability DOUBLE PRECISION,
        energy DOUBLE PRECISION,
        "key" INTEGER,
        loudness DOUBLE PRECISION,
        "mode" INTEGER,
        speechiness DOUBLE PRECISION,
        acousticness DOUBLE PRECISION,
        instrumentalness DOUBLE PRECISION,
        liveness DOUBLE PRECISION,
        valence DOUBLE PRECISION,
        tempo DOUBLE PRECISION,
        time_signature INTEGER,
        track_genre VARCHAR(256) NOT NULL,
        source_file VARCHAR(1024) NOT NULL,
        loaded_at TIMESTAMP NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS {s}.song_artists (
        track_id VARCHAR(64) NOT NULL,
        artist VARCHAR(4096) NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS {s}.users (
        user_id BIGINT NOT NULL,
        user_name VARCHAR(1024),
        user_age INTEGER,
        user_country VARCHAR(64),
        created_at TIMESTAMP,
        source_file VARCHAR(1024) NOT NULL,
        loaded_at TIMESTAMP NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS {s}.hourly_kpis (
        listen_hour TIMESTAMP NOT NULL,
        total_streams BIGINT NOT NULL,
        unique_listeners BIGINT NOT NULL,
        unique_tracks BIGINT NOT NULL,
        track_diversity_index DOUBLE PRECISION NOT NULL,
        top_artist VARCHAR(4096),
        top_artist_streams BIGINT
    )""",
    """CREATE TABLE IF NOT EXISTS {s}.genre_kpis (
        listen_date DATE NOT NULL,
        track_genre VARCHAR(256) NOT NULL,
        listen_count BIGINT NOT NULL,
        unique_listeners BIGINT NOT NULL,
        avg_track_duration_ms DOUBLE PRECISION NOT NULL,
        avg_popularity DOUBLE PRECISION NOT NULL,
        popularity_index DOUBLE PRECISION NOT NULL,
        most_popular_track_id VARCHAR(64) NOT NULL,
        most_popular_track_name VARCHAR(1024) NOT NULL,
        most_popular_track_streams BIGINT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS {s}.etl_file_ledger (
        source_key VARCHAR(1024) NOT NULL,
        etag VARCHAR(128) NOT NULL,
        size_bytes BIGINT NOT NULL,
        dataset VARCHAR(32) NOT NULL,
        status VARCHAR(16) NOT NULL,
        rows_read BIGINT NOT NULL,
        rows_loaded BIGINT NOT NULL,
        rows_quarantined BIGINT NOT NULL,
        rows_duplicate BIGINT NOT NULL,
        reason VARCHAR(4096),
        flow_run_id VARCHAR(64),
        processed_at TIMESTAMP NOT NULL
    )""",
    # The catalogue snapshot last loaded per dataset: a new fingerprint means "reload".
    """CREATE TABLE IF NOT EXISTS {s}.etl_catalogue_snapshots (
        dataset VARCHAR(32) NOT NULL,
        fingerprint VARCHAR(64) NOT NULL,
        flow_run_id VARCHAR(64),
        loaded_at TIMESTAMP NOT NULL
    )""",
    # Hours whose KPI rows must be recomputed; written in the same transaction as the change
    # that caused it, so a crash between a load and the KPI step loses nothing.
    """CREATE TABLE IF NOT EXISTS {s}.etl_kpi_pending (
        listen_hour TIMESTAMP NOT NULL
    )""",
    # Quarantined stream rows that a replay has taken out of quarantine (loaded, or found to be
    # an event the warehouse already had); written with their events in one transaction.
    """CREATE TABLE IF NOT EXISTS {s}.etl_quarantine_replays (
        quarantine_key VARCHAR(1024) NOT NULL,
        row_number BIGINT NOT NULL,
        source_key VARCHAR(1024) NOT NULL,
        flow_run_id VARCHAR(64),
        replayed_at TIMESTAMP NOT NULL
    )""",
]

# Redshift physical design: events spread by user (distinct-listener counts stay local to a
# slice) and sorted by hour (KPI recomputation and the duplicate check read hour ranges); the
# small dimensions are copied to every node.
REDSHIFT_TABLE_OPTIONS = {
    "streams": " DISTKEY(user_id) COMPOUND SORTKEY(listen_hour, user_id)",
    "songs": " DISTSTYLE ALL SORTKEY(track_id)",
    "song_artists": " DISTSTYLE ALL SORTKEY(track_id)",
    "users": " DISTSTYLE ALL SORTKEY(user_id)",
    "hourly_kpis": " SORTKEY(listen_hour)",
    "genre_kpis": " SORTKEY(listen_date)",
}
_TABLE_NAME = re.compile(r"CREATE TABLE IF NOT EXISTS \{s\}\.(\w+)")


def schema_ddl(dialect: str) -> list[str]:
    """CREATE statements for the schema and tables, with Redshift's DISTKEY/SORTKEY there."""
    statements = ["CREATE SCHEMA IF NOT EXISTS {s}"]
    for ddl in SCHEMA_DDL:
        table = _TABLE_NAME.search(ddl).group(1)
        options = REDSHIFT_TABLE_OPTIONS.get(table, "") if dialect == "redshift" else ""
        statements.append(ddl + options)
    return statements


def copy_from_parquet(table: str, s3_url: str, iam_role: str) -> str:
    """Redshift bulk load of one lake Parquet file into a staging table."""
    return (
        f"COPY {table} FROM {_literal(s3_url)} IAM_ROLE {_literal(iam_role)} FORMAT AS PARQUET"
    )


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


# Staging tables: the columns of the lake's transformed Parquet files, in file order (Redshift's
# COPY ... FORMAT AS PARQUET maps columns by position).
STAGING_COLUMNS: dict[str, list[tuple[str, str]]] = {
    "stage_events": [
        ("user_id", "BIGINT"), ("track_id", "VARCHAR(64)"), ("listen_time", "TIMESTAMP"),
        ("listen_hour", "TIMESTAMP"), ("listen_date", "DATE"), ("source_file", "VARCHAR(1024)"),
    ],
    "stage_songs": [
        ("track_id", "VARCHAR(64)"), ("artists", "VARCHAR(4096)"), ("album_name", "VARCHAR(1024)"),
        ("track_name", "VARCHAR(1024)"), ("popularity", "INTEGER"), ("duration_ms", "BIGINT"),
        ("explicit", "BOOLEAN"), ("danceability", "DOUBLE PRECISION"),
        ("energy", "DOUBLE PRECISION"), ("loudness", "DOUBLE PRECISION"),
        ("speechiness", "DOUBLE PRECISION"), ("acousticness", "DOUBLE PRECISION"),
        ("instrumentalness", "DOUBLE PRECISION"), ("liveness", "DOUBLE PRECISION"),
        ("valence", "DOUBLE PRECISION"), ("tempo", "DOUBLE PRECISION"), ('"key"', "INTEGER"),
        ('"mode"', "INTEGER"), ("time_signature", "INTEGER"), ("track_genre", "VARCHAR(256)"),
        ("source_file", "VARCHAR(1024)"),
    ],
    "stage_song_artists": [("track_id", "VARCHAR(64)"), ("artist", "VARCHAR(4096)")],
    "stage_replayed_rows": [("row_number", "BIGINT")],
    "stage_users": [
        ("user_id", "BIGINT"), ("user_name", "VARCHAR(1024)"), ("user_age", "INTEGER"),
        ("user_country", "VARCHAR(64)"), ("created_at", "TIMESTAMP"),
        ("source_file", "VARCHAR(1024)"),
    ],
}  # fmt: skip


def staging_ddl(name: str, temporary_clause: str = "") -> str:
    columns = ", ".join(f"{column} {kind}" for column, kind in STAGING_COLUMNS[name])
    return f"CREATE TEMP TABLE {name} ({columns}){temporary_clause}"


DROP_STAGING = "DROP TABLE IF EXISTS {name}"


def varchar_limits(name: str) -> dict[str, int]:
    """Text columns of a staging table and their VARCHAR sizes (bytes on Redshift)."""
    limits = {}
    for column, kind in STAGING_COLUMNS[name]:
        match = re.fullmatch(r"VARCHAR\((\d+)\)", kind)
        if match and column != "source_file":
            limits[column.strip('"')] = int(match.group(1))
    return limits


def staging_column_names(name: str) -> list[str]:
    return [column.strip('"') for column, _ in STAGING_COLUMNS[name]]


# Every writer (file and catalogue loads, replays, KPI recomputation, schema changes) takes one
# lock per schema, held to the end of its transaction, so runs started at the same time never load
# a file twice or write a KPI row twice. PostgreSQL: a transaction-level advisory lock (it needs no
# table, so it also covers creating the schema); Redshift: a table lock on the ledger; DuckDB
# allows one writer process per file (see DuckDBWarehouse).
WRITER_LOCK = {
    "postgresql": "SELECT pg_advisory_xact_lock(:lock_key)",
    "redshift": "LOCK {s}.etl_file_ledger",
}

# One row per key in the KPI tables, enforced where the dialect enforces unique indexes
# (PostgreSQL, DuckDB); Redshift does not enforce keys, the writer lock is what guards it there.
KPI_KEYS = {"hourly_kpis": "listen_hour", "genre_kpis": "listen_date, track_genre"}

KPI_KEY_INDEXES_PRESENT = {
    "postgresql": """SELECT COUNT(*) FROM pg_indexes
        WHERE schemaname = :schema AND indexname IN ('hourly_kpis_key', 'genre_kpis_key')""",
    "duckdb": """SELECT COUNT(*) FROM duckdb_indexes()
        WHERE schema_name = :schema AND index_name IN ('hourly_kpis_key', 'genre_kpis_key')""",
}

# Before the unique indexes exist, concurrent runs of older versions may have written a KPI row
# twice: such hours and dates are marked pending and their rows deleted; this run recomputes them.
REPAIR_DUPLICATE_KPI_ROWS = [
    """INSERT INTO {s}.etl_kpi_pending (listen_hour)
    SELECT listen_hour FROM {s}.hourly_kpis GROUP BY listen_hour HAVING COUNT(*) > 1""",
    """INSERT INTO {s}.etl_kpi_pending (listen_hour)
    SELECT CAST(listen_date AS TIMESTAMP) FROM {s}.genre_kpis
    GROUP BY listen_date, track_genre HAVING COUNT(*) > 1""",
    "DELETE FROM {s}.hourly_kpis WHERE listen_hour IN (SELECT listen_hour FROM {s}.etl_kpi_pending)",
    """DELETE FROM {s}.genre_kpis
    WHERE listen_date IN (SELECT CAST(listen_hour AS DATE) FROM {s}.etl_kpi_pending)""",
]


def kpi_key_indexes() -> list[str]:
    return [
        f"CREATE UNIQUE INDEX IF NOT EXISTS {table}_key ON {{s}}.{table} ({columns})"
        for table, columns in KPI_KEYS.items()
    ]


LEDGER_VERSIONS = "SELECT source_key, etag FROM {s}.etl_file_ledger WHERE dataset = :dataset"

LEDGER_HAS_VERSION = """
SELECT status FROM {s}.etl_file_ledger WHERE source_key = :source_key AND etag = :etag
"""

LEDGER_DELETE_VERSION = """
DELETE FROM {s}.etl_file_ledger WHERE source_key = :source_key AND etag = :etag
"""

LEDGER_INSERT = """
INSERT INTO {s}.etl_file_ledger (source_key, etag, size_bytes, dataset, status, rows_read,
    rows_loaded, rows_quarantined, rows_duplicate, reason, flow_run_id, processed_at)
VALUES (:source_key, :etag, :size_bytes, :dataset, :status, :rows_read, :rows_loaded,
    :rows_quarantined, :rows_duplicate, :reason, :flow_run_id, :processed_at)
"""

LOADED_STREAM_VERSIONS = """
SELECT source_key, etag FROM {s}.etl_file_ledger WHERE dataset = 'streams' AND status = 'loaded'
"""

REPLAYED_ROW_NUMBERS = """
SELECT row_number FROM {s}.etl_quarantine_replays WHERE quarantine_key = :quarantine_key
"""

# The anti-join keeps one record per quarantined row even if two replays race.
RECORD_REPLAYED_ROWS = """
INSERT INTO {s}.etl_quarantine_replays (quarantine_key, row_number, source_key, flow_run_id,
    replayed_at)
SELECT :quarantine_key, r.row_number, :source_key, :flow_run_id, :replayed_at
FROM stage_replayed_rows r
WHERE NOT EXISTS (
    SELECT 1 FROM {s}.etl_quarantine_replays x
    WHERE x.quarantine_key = :quarantine_key AND x.row_number = r.row_number
)
"""

LATEST_SNAPSHOT = """
SELECT fingerprint FROM {s}.etl_catalogue_snapshots WHERE dataset = :dataset
ORDER BY loaded_at DESC LIMIT 1
"""

RECORD_SNAPSHOT = """
INSERT INTO {s}.etl_catalogue_snapshots (dataset, fingerprint, flow_run_id, loaded_at)
VALUES (:dataset, :fingerprint, :flow_run_id, :loaded_at)
"""

# Events new to the warehouse. The anti-join only reads the hours the file touches (the IN
# term, which Redshift's sort key and DuckDB's zone maps prune on): without it every file's load
# scanned the whole history (0.4 s per file at 10M events, growing with each file).
INSERT_NEW_EVENTS = """
INSERT INTO {s}.streams (user_id, track_id, listen_time, listen_hour, listen_date, source_file,
    loaded_at)
SELECT n.user_id, n.track_id, n.listen_time, n.listen_hour, n.listen_date, n.source_file,
    :loaded_at
FROM stage_events n
WHERE NOT EXISTS (
    SELECT 1 FROM {s}.streams t
    WHERE t.listen_hour IN (SELECT DISTINCT listen_hour FROM stage_events)
      AND t.listen_hour = n.listen_hour AND t.user_id = n.user_id
      AND t.track_id = n.track_id AND t.listen_time = n.listen_time
)
"""

MARK_EVENT_HOURS_PENDING = """
INSERT INTO {s}.etl_kpi_pending (listen_hour)
SELECT DISTINCT n.listen_hour FROM stage_events n
"""

# Hours holding events of tracks whose KPI-relevant attributes change with this snapshot.
MARK_CHANGED_SONG_HOURS_PENDING = """
INSERT INTO {s}.etl_kpi_pending (listen_hour)
SELECT DISTINCT e.listen_hour
FROM {s}.streams e
JOIN {s}.songs o ON o.track_id = e.track_id
JOIN stage_songs n ON n.track_id = o.track_id
WHERE o.artists <> n.artists OR o.track_name <> n.track_name OR o.popularity <> n.popularity
   OR o.duration_ms <> n.duration_ms OR o.track_genre <> n.track_genre
"""

UPSERT_SONGS = [
    "DELETE FROM {s}.songs WHERE track_id IN (SELECT track_id FROM stage_songs)",
    """INSERT INTO {s}.songs (track_id, artists, album_name, track_name, popularity, duration_ms,
        explicit, danceability, energy, "key", loudness, "mode", speechiness, acousticness,
        instrumentalness, liveness, valence, tempo, time_signature, track_genre, source_file,
        loaded_at)
    SELECT track_id, artists, album_name, track_name, popularity, duration_ms, explicit,
        danceability, energy, "key", loudness, "mode", speechiness, acousticness,
        instrumentalness, liveness, valence, tempo, time_signature, track_genre, source_file,
        :loaded_at
    FROM stage_songs""",
    "DELETE FROM {s}.song_artists WHERE track_id IN (SELECT track_id FROM stage_songs)",
    "INSERT INTO {s}.song_artists (track_id, artist) SELECT track_id, artist FROM stage_song_artists",
]

UPSERT_USERS = [
    "DELETE FROM {s}.users WHERE user_id IN (SELECT user_id FROM stage_users)",
    """INSERT INTO {s}.users (user_id, user_name, user_age, user_country, created_at, source_file,
        loaded_at)
    SELECT user_id, user_name, user_age, user_country, created_at, source_file, :loaded_at
    FROM stage_users""",
]

KNOWN_TRACK_IDS = "SELECT track_id FROM {s}.songs"
KNOWN_USER_IDS = "SELECT user_id FROM {s}.users"

# KPI recomputation for exactly the pending hours (hourly) and their dates (genre, daily).
SNAPSHOT_PENDING = "CREATE TEMP TABLE kpi_hours AS SELECT DISTINCT listen_hour FROM {s}.etl_kpi_pending"

RECOMPUTE_KPIS = [
    "DELETE FROM {s}.hourly_kpis WHERE listen_hour IN (SELECT listen_hour FROM kpi_hours)",
    """INSERT INTO {s}.hourly_kpis (listen_hour, total_streams, unique_listeners, unique_tracks,
        track_diversity_index, top_artist, top_artist_streams)
    WITH events AS (
        SELECT e.listen_hour, e.user_id, e.track_id
        FROM {s}.streams e
        WHERE e.listen_hour IN (SELECT listen_hour FROM kpi_hours)
    ),
    totals AS (
        SELECT listen_hour, COUNT(*) AS total_streams, COUNT(DISTINCT user_id) AS unique_listeners,
            COUNT(DISTINCT track_id) AS unique_tracks
        FROM events GROUP BY listen_hour
    ),
    artist_plays AS (
        SELECT ev.listen_hour, a.artist, COUNT(*) AS plays
        FROM events ev JOIN {s}.song_artists a ON a.track_id = ev.track_id
        GROUP BY ev.listen_hour, a.artist
    ),
    ranked AS (
        SELECT listen_hour, artist, plays,
            ROW_NUMBER() OVER (PARTITION BY listen_hour ORDER BY plays DESC, artist {c} ASC) AS rank
        FROM artist_plays
    )
    SELECT t.listen_hour, t.total_streams, t.unique_listeners, t.unique_tracks,
        CAST(t.unique_tracks AS DOUBLE PRECISION) / CAST(t.total_streams AS DOUBLE PRECISION),
        r.artist, r.plays
    FROM totals t LEFT JOIN ranked r ON r.listen_hour = t.listen_hour AND r.rank = 1""",
    """DELETE FROM {s}.genre_kpis
    WHERE listen_date IN (SELECT DISTINCT CAST(listen_hour AS DATE) FROM kpi_hours)""",
    """INSERT INTO {s}.genre_kpis (listen_date, track_genre, listen_count, unique_listeners,
        avg_track_duration_ms, avg_popularity, popularity_index, most_popular_track_id,
        most_popular_track_name, most_popular_track_streams)
    WITH events AS (
        SELECT e.listen_date, e.user_id, e.track_id, g.track_genre, g.duration_ms, g.popularity,
            g.track_name
        FROM {s}.streams e JOIN {s}.songs g ON g.track_id = e.track_id
        WHERE e.listen_date IN (SELECT DISTINCT CAST(listen_hour AS DATE) FROM kpi_hours)
    ),
    totals AS (
        SELECT listen_date, track_genre, COUNT(*) AS listen_count,
            COUNT(DISTINCT user_id) AS unique_listeners,
            CAST(SUM(duration_ms) AS DOUBLE PRECISION) / CAST(COUNT(*) AS DOUBLE PRECISION)
                AS avg_track_duration_ms,
            CAST(SUM(popularity) AS DOUBLE PRECISION) / CAST(COUNT(*) AS DOUBLE PRECISION)
                AS avg_popularity
        FROM events GROUP BY listen_date, track_genre
    ),
    track_plays AS (
        SELECT listen_date, track_genre, track_id, MAX(track_name) AS track_name,
            MAX(popularity) AS popularity, COUNT(*) AS plays
        FROM events GROUP BY listen_date, track_genre, track_id
    ),
    ranked AS (
        SELECT listen_date, track_genre, track_id, track_name, plays,
            ROW_NUMBER() OVER (PARTITION BY listen_date, track_genre
                ORDER BY plays DESC, popularity DESC, track_id {c} ASC) AS rank
        FROM track_plays
    )
    SELECT t.listen_date, t.track_genre, t.listen_count, t.unique_listeners,
        t.avg_track_duration_ms, t.avg_popularity,
        CAST(t.listen_count AS DOUBLE PRECISION) * t.avg_popularity / 100.0,
        r.track_id, r.track_name, r.plays
    FROM totals t JOIN ranked r
      ON r.listen_date = t.listen_date AND r.track_genre = t.track_genre AND r.rank = 1""",
    "DELETE FROM {s}.etl_kpi_pending WHERE listen_hour IN (SELECT listen_hour FROM kpi_hours)",
]

COUNT_KPI_ROWS_FOR_PENDING = """
SELECT
  (SELECT COUNT(*) FROM {s}.hourly_kpis WHERE listen_hour IN (SELECT listen_hour FROM kpi_hours)),
  (SELECT COUNT(*) FROM {s}.genre_kpis
     WHERE listen_date IN (SELECT DISTINCT CAST(listen_hour AS DATE) FROM kpi_hours))
"""

DROP_PENDING_SNAPSHOT = "DROP TABLE IF EXISTS kpi_hours"
