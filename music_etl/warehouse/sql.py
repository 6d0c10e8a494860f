"""The warehouse's SQL: the ledger, idempotent upserts, the writer lock, KPI recomputation.

Written once for every dialect where they agree (DuckDB, PostgreSQL, Redshift). `{s}` is the
quoted schema name; `{c}` is the collation clause that makes text ordering code-point order.
Parameters use `:name` and are translated per driver. Column lists come from `tables`.
"""

from __future__ import annotations

from music_etl.warehouse.tables import FILE_LEDGER, SONG_ARTISTS, SONGS, STREAMS, USERS, Table


def copy_from_parquet(table: str, s3_url: str, iam_role: str) -> str:
    """Redshift bulk load of one lake Parquet file into a staging table."""
    return (
        f"COPY {table} FROM {_literal(s3_url)} IAM_ROLE {_literal(iam_role)} FORMAT AS PARQUET"
    )


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


DROP_STAGING = "DROP TABLE IF EXISTS {name}"


# Every writer (file and catalogue loads, replays, KPI recomputation, schema changes) takes one
# lock per schema, held to the end of its transaction, so runs started at the same time never load
# a file twice or write a KPI row twice. PostgreSQL: a transaction-level advisory lock (it needs no
# table, so it also covers creating the schema); Redshift: a table lock on the ledger; DuckDB
# allows one writer process per file (see DuckDBWarehouse).
WRITER_LOCK = {
    "postgresql": "SELECT pg_advisory_xact_lock(:lock_key)",
    "redshift": "LOCK {s}.etl_file_ledger",
}

# Whether the KPI tables' unique indexes (tables.unique_indexes) exist yet.
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


LEDGER_VERSIONS = "SELECT source_key, etag FROM {s}.etl_file_ledger WHERE dataset = :dataset"

LEDGER_HAS_VERSION = """
SELECT status FROM {s}.etl_file_ledger WHERE source_key = :source_key AND etag = :etag
"""

LEDGER_DELETE_VERSION = """
DELETE FROM {s}.etl_file_ledger WHERE source_key = :source_key AND etag = :etag
"""

LEDGER_INSERT = (
    f"INSERT INTO {{s}}.etl_file_ledger ({FILE_LEDGER.sql_names()}) "
    f"VALUES ({', '.join(':' + name for name in FILE_LEDGER.names)})"
)

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
INSERT_NEW_EVENTS = f"""
INSERT INTO {{s}}.streams ({STREAMS.sql_names()})
SELECT {", ".join(f"n.{c.name}" for c in STREAMS.staged_columns)}, :loaded_at
FROM stage_events n
WHERE NOT EXISTS (
    SELECT 1 FROM {{s}}.streams t
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



def _upsert(table: Table) -> list[str]:
    """Delete-then-insert by key from the table's staging table (rows absent from the staging
    table stay): the portable upsert of Redshift, PostgreSQL and DuckDB alike."""
    (key,) = table.key
    return [
        f"DELETE FROM {{s}}.{table.name} WHERE {key} IN (SELECT {key} FROM {table.staging})",
        f"INSERT INTO {{s}}.{table.name} ({table.sql_names()}) "
        f"SELECT {table.sql_names(staged=True)}, :loaded_at FROM {table.staging}",
    ]


UPSERT_SONGS = [
    *_upsert(SONGS),
    "DELETE FROM {s}.song_artists WHERE track_id IN (SELECT track_id FROM stage_songs)",
    f"INSERT INTO {{s}}.song_artists ({SONG_ARTISTS.sql_names()}) "
    f"SELECT {SONG_ARTISTS.sql_names()} FROM stage_song_artists",
]

UPSERT_USERS = _upsert(USERS)

KNOWN_TRACK_IDS = "SELECT track_id FROM {s}.songs"
KNOWN_USER_IDS = "SELECT user_id FROM {s}.users"

# KPI recomputation for exactly the pending hours (hourly) and their dates (genre, daily).
SNAPSHOT_PENDING = "CREATE TEMP TABLE kpi_hours AS SELECT DISTINCT listen_hour FROM {s}.etl_kpi_pending"

# The events of those hours and dates are joined to them: DuckDB ran `IN (SELECT ...)` as a
# slower plan (10M events, every hour pending: 4.8-6.0 s instead of 6.9-7.2 s; one hour
# pending: the same within noise, 0.5-0.6 s; `benchmarks/stage_steps.py`).
RECOMPUTE_KPIS = [
    "DELETE FROM {s}.hourly_kpis WHERE listen_hour IN (SELECT listen_hour FROM kpi_hours)",
    """INSERT INTO {s}.hourly_kpis (listen_hour, total_streams, unique_listeners, unique_tracks,
        track_diversity_index, top_artist, top_artist_streams)
    WITH events AS (
        SELECT e.listen_hour, e.user_id, e.track_id
        FROM {s}.streams e JOIN kpi_hours k ON k.listen_hour = e.listen_hour
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
        JOIN (SELECT DISTINCT CAST(listen_hour AS DATE) AS listen_date FROM kpi_hours) d
          ON d.listen_date = e.listen_date
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

# What a run's reports show of the KPIs (bounded: a year's backfill must not fill an artifact).
RECOMPUTED_HOURS = """
SELECT listen_hour, total_streams, unique_listeners, top_artist FROM {s}.hourly_kpis
WHERE listen_hour IN (SELECT listen_hour FROM kpi_hours) ORDER BY listen_hour DESC LIMIT 168"""

_TOP_GENRES = """
SELECT listen_date, track_genre, listen_count FROM (
  SELECT listen_date, track_genre, listen_count,
         ROW_NUMBER() OVER (PARTITION BY listen_date ORDER BY listen_count DESC, track_genre) AS r
  FROM {s}.genre_kpis WHERE %s) ranked
WHERE r <= %d ORDER BY listen_date DESC, r LIMIT %d"""

RECOMPUTED_TOP_GENRES = _TOP_GENRES % (
    "listen_date IN (SELECT DISTINCT CAST(listen_hour AS DATE) FROM kpi_hours)", 3, 93
)

HOURLY_HISTORY = """
SELECT listen_hour, total_streams, unique_listeners FROM {s}.hourly_kpis
ORDER BY listen_hour DESC LIMIT 336"""

GENRE_HISTORY = _TOP_GENRES % (
    "listen_date > (SELECT MAX(listen_date) - 14 FROM {s}.genre_kpis)", 5, 70
)
