"""Small builders for landing zones and readers for warehouse tables, shared by flow tests."""

from __future__ import annotations

import csv
import gzip
import io
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from flows.pipeline import music_etl_pipeline
from music_etl.reports import RunSummary
from music_etl.settings import Settings
from music_etl.warehouse import connect
from music_etl.warehouse import sql as warehouse_sql
from music_etl.warehouse.duckdb_file import DuckDBSession
from music_etl.warehouse.postgres import PostgresSession

RUN_TIMEOUT = 300  # a full Prefect run, ephemeral API included
QUICK_TIMEOUT = 120  # commands that fail before Prefect starts

SONG_HEADER = [
    "id", "track_id", "artists", "album_name", "track_name", "popularity", "duration_ms",
    "explicit", "danceability", "energy", "key", "loudness", "mode", "speechiness",
    "acousticness", "instrumentalness", "liveness", "valence", "tempo", "time_signature",
    "track_genre",
]  # fmt: skip

# track_id: (artists, track_name, popularity, duration_ms, genre)
CATALOGUE = {
    "A1": ("Alpha;Beta", "Song A1", 50, 200000, "rock"),
    "A2": ("Beta", "Song A2", 70, 100000, "rock"),
    "B1": ("Gamma", "Song B1", 70, 300000, "jazz"),
    "B2": ("Delta, The", "Song B2", 70, 250000, "jazz"),
    "B3": ("Ωmega", "Song B3", 90, 100000, "jazz"),
    "C1": ("Zed", "Song C1", 10, 1000, "pop"),
    "C2": ("alpha", "Song C2", 10, 1000, "pop"),
    "C3": ("Émile", "Song C3", 10, 1000, "pop"),
}


def songs_csv(catalogue: dict[str, tuple] = CATALOGUE) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(SONG_HEADER)
    for position, (track_id, (artists, name, popularity, duration, genre)) in enumerate(
        catalogue.items()
    ):
        writer.writerow(
            [position, track_id, artists, "Album", name, popularity, duration, "False", 0.5, 0.5,
             5, -6.0, 1, 0.05, 0.1, 0.0, 0.1, 0.5, 120.0, 4, genre]  # fmt: skip
        )
    return buffer.getvalue()


def users_csv(user_ids: range = range(1, 10)) -> str:
    lines = ["user_id,user_name,user_age,user_country,created_at"]
    lines += [f"{u},User {u},30,SE,2024-01-01 00:00:00" for u in user_ids]
    return "\n".join(lines) + "\n"


def streams_csv(rows: list[tuple], header: str = "user_id,track_id,listen_time") -> str:
    return header + "\n" + "".join(",".join(str(v) for v in row) + "\n" for row in rows)


def open_warehouse(url: str, schema: str = "music"):
    """A connection of the test's own (the runs keep theirs in tasks.connections)."""
    return connect.open_warehouse(url, schema, Settings())


@dataclass
class Warehouse:
    """Where a test's warehouse lives: a URL and a schema of its own."""

    url: str
    schema: str = "music"


@dataclass
class Stores:
    landing: Path
    lake: Path
    warehouse: Warehouse

    @classmethod
    def fresh(cls, root: Path, warehouse: Warehouse, *, catalogue: bool = True) -> Stores:
        stores = cls(root / "landing", root / "lake", warehouse)
        stores.landing.mkdir(parents=True)
        if catalogue:
            stores.write("songs/tracks.csv", songs_csv())
            stores.write("users/users.csv", users_csv())
        return stores

    @property
    def warehouse_url(self) -> str:
        return self.warehouse.url

    def write(self, key: str, content: str | bytes, *, gzipped: bool = False) -> None:
        data = content.encode("utf-8") if isinstance(content, str) else content
        path = self.landing / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(gzip.compress(data) if gzipped else data)

    def run(self, flow=music_etl_pipeline, **options) -> RunSummary:
        """One flow run over these stores; options override any parameter (landing=s3://...)."""
        parameters = dict(
            landing=str(self.landing),
            lake=str(self.lake),
            warehouse=self.warehouse.url,
            warehouse_schema=self.warehouse.schema,
        )
        return flow(**{**parameters, **options})

    def query(self, sql: str) -> list[tuple]:
        """Run SQL with `{s}` standing for the test's schema (as in tasks/warehouse_sql.py)."""
        warehouse = open_warehouse(self.warehouse.url, self.warehouse.schema)
        try:
            with warehouse.transaction() as session:
                return session.query(sql)
        finally:
            warehouse.close()

    def query_all(self, statements: list[str]) -> None:
        """Run statements (with `{s}`) in one transaction."""
        warehouse = open_warehouse(self.warehouse.url, self.warehouse.schema)
        try:
            with warehouse.transaction() as session:
                session.run_all(statements)
        finally:
            warehouse.close()

    def kpis(self) -> dict[str, list[tuple]]:
        return {
            "hourly": self.query("SELECT * FROM {s}.hourly_kpis ORDER BY listen_hour"),
            "genre": self.query("SELECT * FROM {s}.genre_kpis ORDER BY listen_date, track_genre"),
        }

    def ledger(self) -> dict[str, tuple]:
        rows = self.query(
            "SELECT source_key, status, rows_read, rows_loaded, rows_quarantined, rows_duplicate,"
            " reason FROM {s}.etl_file_ledger ORDER BY processed_at"
        )
        return {row[0]: row[1:] for row in rows}

    def event_count(self) -> int:
        return self.query("SELECT COUNT(*) FROM {s}.streams")[0][0]


def _cli_env(cwd: Path, env: dict[str, str] | None) -> dict[str, str]:
    env = dict(os.environ if env is None else env)
    env.pop("PREFECT_API_URL", None)
    for name in ("MUSIC_ETL_LANDING", "MUSIC_ETL_LAKE", "MUSIC_ETL_WAREHOUSE"):
        env.pop(name, None)
    home = cwd / "prefect-home"
    home.mkdir(parents=True, exist_ok=True)
    env["PREFECT_HOME"] = str(home)
    return env


def cli(
    *args: str, cwd: Path, timeout: float = RUN_TIMEOUT, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """Run `music-etl ARGS` in `cwd` with its own Prefect home and Prefect's ephemeral API."""
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        cwd=cwd,
        env=_cli_env(cwd, env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def start_cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    """`music-etl ARGS` started in the background (as `cli`); the caller waits for it."""
    return subprocess.Popen(
        [sys.executable, "-m", "cli.main", *args],
        cwd=cwd,
        env=_cli_env(cwd, env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def location_args(stores: Stores, lake: Path | None = None) -> list[str]:
    """The CLI flags that point a run at these stores (another lake when given)."""
    return [
        f"--landing={stores.landing}",
        f"--lake={lake or stores.lake}",
        f"--warehouse={stores.warehouse.url}",
        f"--schema={stores.warehouse.schema}",
    ]


def single_error_line(result: subprocess.CompletedProcess) -> str:
    """stderr must be exactly one `music-etl: error: ...` line; return it."""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, f"expected one stderr line, got:\n{result.stderr}"
    assert lines[0].startswith("music-etl: error:"), lines[0]
    return lines[0]


def upload_landing(client, stores: Stores, prefix: str) -> None:
    for path in sorted(p for p in stores.landing.rglob("*") if p.is_file()):
        key = f"{prefix}/{path.relative_to(stores.landing).as_posix()}"
        client.put_object(Bucket="landing-zone", Key=key, Body=path.read_bytes())


def bucket_keys(client, bucket: str) -> list[str]:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return sorted(item["Key"] for page in pages for item in page.get("Contents", []))


def fail_once_while_loading(monkeypatch, stores: Stores, key: str) -> list[str]:
    """Make the ledger write of `key` raise once, inside its load transaction."""
    session_class = DuckDBSession if stores.warehouse_url.startswith("duckdb") else PostgresSession
    original = session_class.execute
    raised: list[str] = []

    def execute(self, statement, params=None):
        if statement == warehouse_sql.LEDGER_INSERT and params["source_key"] == key and not raised:
            raised.append(key)
            raise ConnectionError("injected: warehouse connection dropped")
        return original(self, statement, params)

    monkeypatch.setattr(session_class, "execute", execute)
    return raised
