"""Warehouse connections behind one small interface: transactions, statements, staging tables.

`open_warehouse(url, schema)` maps a SQLAlchemy-style URL to a backend. The SQL itself lives in
`warehouse_sql.py` and is shared; a backend only knows how to connect, run a statement, bulk-load
an Arrow table into a staging table, and which collation gives code-point ordering.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
from pydantic import SecretStr

from tasks import warehouse_sql as sql
from tasks.lake import read_parquet
from tasks.secrets import reveal
from tasks.storage import ObjectStore

_log = logging.getLogger("music_etl.warehouse")
_PARAM = re.compile(r"(?<![:\w]):([a-z_][a-z0-9_]*)")
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def duckdb_lock_wait() -> float:
    """Seconds a run waits for another process to release a DuckDB file before giving up."""
    return float(os.environ.get("MUSIC_ETL_DUCKDB_LOCK_WAIT", "120"))


def connect_timeout() -> int:
    """Seconds to establish a PostgreSQL/Redshift connection (a server that accepts the TCP
    connection and never answers would otherwise hang the run forever)."""
    return int(os.environ.get("MUSIC_ETL_WAREHOUSE_CONNECT_TIMEOUT", "30"))


def statement_timeout() -> int:
    """Seconds any one PostgreSQL/Redshift statement may run (0: no limit)."""
    return int(os.environ.get("MUSIC_ETL_WAREHOUSE_STATEMENT_TIMEOUT", "1800"))


class WarehouseError(RuntimeError):
    """The warehouse cannot be reached or used; the message is shown to the user as is."""


class Session(ABC):
    """One open transaction on a driver connection."""

    placeholder: str  # how the driver spells the named parameter `\1` (from `:name`)

    def __init__(self, warehouse: "Warehouse", connection: Any):
        self.warehouse = warehouse
        self.connection = connection

    def _render(self, statement: str) -> str:
        return statement.format(s=self.warehouse.quoted_schema, c=self.warehouse.collate)

    def _prepare(self, statement: str) -> str:
        return _PARAM.sub(self.placeholder, self._render(statement))

    @staticmethod
    def _used(statement: str, params: dict[str, Any] | None) -> dict[str, Any]:
        """Only the parameters the statement names (drivers reject extra ones)."""
        names = set(_PARAM.findall(statement))
        return {name: value for name, value in (params or {}).items() if name in names}

    @abstractmethod
    def execute(self, statement: str, params: dict[str, Any] | None = None) -> int:
        """Run one statement; return the number of rows it changed (-1 when unknown)."""

    @abstractmethod
    def query(self, statement: str, params: dict[str, Any] | None = None) -> list[tuple]: ...

    def stage(self, name: str, store: ObjectStore, key: str) -> None:
        """Create temporary table `name` (see STAGING_COLUMNS) holding the rows of the lake's
        Parquet object `key`."""
        self.execute(sql.DROP_STAGING.format(name=name))
        self.execute(sql.staging_ddl(name, self.warehouse.temp_table_suffix))
        self._bulk_load(name, store, key, sql.staging_column_names(name))

    @abstractmethod
    def _bulk_load(self, name: str, store: ObjectStore, key: str, columns: list[str]) -> None: ...

    def lock_writers(self) -> None:
        """Wait for, then hold until this transaction ends, the schema's writer lock: loads,
        replays and KPI recomputation of concurrent runs take turns (sql.WRITER_LOCK)."""
        statement = sql.WRITER_LOCK.get(self.warehouse.dialect)
        if statement:
            self.execute(statement, {"lock_key": self.warehouse.lock_key})

    def run_all(self, statements: list[str], params: dict[str, Any] | None = None) -> None:
        for statement in statements:
            self.execute(statement, params)


class Warehouse(ABC):
    dialect: str
    collate: str = ""  # appended to ORDER BY on text so ties break in code-point order
    temp_table_suffix: str = ""

    def __init__(self, schema: str):
        if not _SCHEMA_NAME.match(schema):
            raise WarehouseError(f"schema name {schema!r} must be lower-case letters, digits, _")
        self.schema = schema
        self.quoted_schema = f'"{schema}"'
        # The advisory lock's id on PostgreSQL: one per schema, stable across processes.
        digest = hashlib.sha256(f"music-etl:{schema}".encode()).digest()
        self.lock_key = int.from_bytes(digest[:8], "big", signed=True)

    @abstractmethod
    @contextmanager
    def transaction(self) -> Iterator[Session]: ...

    @abstractmethod
    def close(self) -> None: ...

    def ensure_schema(self) -> None:
        """Create the schema, tables and KPI keys if missing; safe to run on every run, and by
        concurrent runs (on PostgreSQL the writer lock needs no table, so it is taken first)."""
        with self.transaction() as session:
            if self.dialect == "postgresql":
                session.lock_writers()
            session.run_all(sql.schema_ddl(self.dialect))
            present = sql.KPI_KEY_INDEXES_PRESENT.get(self.dialect)
            if not present or session.query(present, {"schema": self.schema})[0][0] == len(sql.KPI_KEYS):
                return
            session.run_all(sql.REPAIR_DUPLICATE_KPI_ROWS)
        # DuckDB builds an index only over committed deletes: a transaction of its own.
        with self.transaction() as session:
            session.lock_writers()
            session.run_all(sql.kpi_key_indexes())

    def query(self, statement: str, params: dict[str, Any] | None = None) -> list[tuple]:
        with self.transaction() as session:
            return session.query(statement, params)


class DuckDBSession(Session):
    placeholder = r"$\1"

    def execute(self, statement: str, params: dict[str, Any] | None = None) -> int:
        cursor = self.connection.execute(self._prepare(statement), self._used(statement, params))
        row = cursor.fetchone() if cursor.description else None
        return int(row[0]) if row and len(row) == 1 and isinstance(row[0], int) else -1

    def query(self, statement: str, params: dict[str, Any] | None = None) -> list[tuple]:
        prepared = self._prepare(statement)
        return self.connection.execute(prepared, self._used(statement, params)).fetchall()

    def _bulk_load(self, name: str, store: ObjectStore, key: str, columns: list[str]) -> None:
        table = read_parquet(store, key).select(columns)
        view = f"_arrow_{name}"
        self.connection.register(view, table)  # zero-copy scan of the Arrow table
        try:
            quoted = ", ".join(f'"{column}"' for column in columns)
            self.connection.execute(f"INSERT INTO {name} ({quoted}) SELECT {quoted} FROM {view}")
        finally:
            self.connection.unregister(view)


class DuckDBWarehouse(Warehouse):
    """A DuckDB file: the embedded default. One connection; DuckDB allows one writer process."""

    dialect = "duckdb"

    def __init__(self, path: str, schema: str):
        super().__init__(schema)
        import duckdb

        self.path = path
        try:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise WarehouseError(f"cannot open DuckDB warehouse {path}: {exc}") from exc
        # DuckDB's default limit is 80% of RAM; a cap keeps the run's peak memory flat in the
        # size of the history (joins and aggregates spill to <db>.tmp beyond it).
        limit = os.environ.get("MUSIC_ETL_DUCKDB_MEMORY_LIMIT", "512MB")
        deadline = None
        while True:
            try:
                self._connection = duckdb.connect(path, config={"memory_limit": limit})
                return
            except duckdb.IOException as exc:
                # Another process has the file (DuckDB allows one writer process): wait for it.
                if "lock" not in str(exc).lower():
                    raise WarehouseError(f"cannot open DuckDB warehouse {path}: {exc}") from exc
                if deadline is None:
                    deadline = time.monotonic() + duckdb_lock_wait()
                    _log.warning(
                        "DuckDB warehouse %s is in use by another process; waiting up to %d s "
                        "(MUSIC_ETL_DUCKDB_LOCK_WAIT)", path, duckdb_lock_wait(),
                    )  # fmt: skip
                elif time.monotonic() > deadline:
                    holder = re.search(r"PID \d+", str(exc))
                    raise WarehouseError(
                        f"DuckDB warehouse {path} is in use by another process"
                        f"{f' ({holder.group(0)})' if holder else ''} and was not released "
                        f"within {duckdb_lock_wait()} s: DuckDB allows one writer at a time, run "
                        "again when that run has finished"
                    ) from exc
                time.sleep(0.5)
            except (OSError, duckdb.Error) as exc:
                raise WarehouseError(f"cannot open DuckDB warehouse {path}: {exc}") from exc

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        connection = self._connection.cursor()  # a cursor per transaction: safe across threads
        connection.execute("BEGIN TRANSACTION")
        try:
            yield DuckDBSession(self, connection)
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        else:
            connection.execute("COMMIT")
        finally:
            connection.close()

    def close(self) -> None:
        self._connection.close()


class PostgresSession(Session):
    placeholder = r"%(\1)s"

    def execute(self, statement: str, params: dict[str, Any] | None = None) -> int:
        with self.connection.cursor() as cursor:
            # No parameters: no interpolation either, so a literal % stays a %.
            cursor.execute(self._prepare(statement), self._used(statement, params) or None)
            return cursor.rowcount

    def query(self, statement: str, params: dict[str, Any] | None = None) -> list[tuple]:
        with self.connection.cursor() as cursor:
            # No parameters: no interpolation either, so a literal % stays a %.
            cursor.execute(self._prepare(statement), self._used(statement, params) or None)
            return cursor.fetchall()

    def _bulk_load(self, name: str, store: ObjectStore, key: str, columns: list[str]) -> None:
        table = read_parquet(store, key).select(columns)
        # COPY FROM STDIN in CSV: unquoted empty fields are NULL, quoted "" an empty string,
        # which is exactly how Arrow writes nulls and empty strings.
        buffer = io.BytesIO()
        pacsv.write_csv(table, buffer, write_options=pacsv.WriteOptions(include_header=False))
        buffer.seek(0)
        quoted = ", ".join(f'"{column}"' for column in columns)
        with self.connection.cursor() as cursor:
            cursor.copy_expert(f"COPY {name} ({quoted}) FROM STDIN WITH (FORMAT csv)", buffer)


class PostgresWarehouse(Warehouse):
    """PostgreSQL (and the base of Redshift): SQLAlchemy engine, psycopg2 connections."""

    dialect = "postgresql"
    collate = 'COLLATE "C"'
    temp_table_suffix = " ON COMMIT DROP"
    session_class: type[PostgresSession] = PostgresSession

    def __init__(self, url: str, schema: str):
        super().__init__(schema)
        import sqlalchemy

        try:
            self.engine = sqlalchemy.create_engine(
                url, pool_pre_ping=True, connect_args=_connect_args(url)
            )
            sqlalchemy.event.listen(self.engine, "connect", _set_statement_timeout)
            with self.engine.connect():
                pass
        except Exception as exc:  # noqa: BLE001 - any driver error means "cannot connect"
            message = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
            raise WarehouseError(f"cannot connect to warehouse {_redact(url)}: {message}") from exc

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        connection = self.engine.raw_connection()
        try:
            yield self.session_class(self, connection)
        except BaseException:
            _rollback_or_discard(connection)
            raise
        else:
            connection.commit()
        finally:
            connection.close()

    def close(self) -> None:
        self.engine.dispose()


def _connect_args(url: str) -> dict[str, Any]:
    """libpq's connect timeout and TCP keepalives (a dead peer is noticed within about a
    minute); anything the URL's query string sets wins."""
    from sqlalchemy.engine import make_url

    defaults = {
        "connect_timeout": connect_timeout(),
        "keepalives": 1,
        "keepalives_idle": 30,
        "keepalives_interval": 10,
        "keepalives_count": 3,
    }
    given = make_url(url).query
    return {name: value for name, value in defaults.items() if name not in given}


def _set_statement_timeout(connection: Any, _record: Any) -> None:
    """SET works on PostgreSQL and Redshift alike (Redshift takes no startup options); it is
    committed so that a later rollback does not undo it."""
    milliseconds = statement_timeout() * 1000
    with connection.cursor() as cursor:
        cursor.execute(f"SET statement_timeout TO {milliseconds:d}")
    connection.commit()


def _rollback_or_discard(connection: Any) -> None:
    """Roll back; when the connection itself broke (server gone, backend terminated), drop it
    from the pool instead, so a retry gets a new one and the original error is what is raised."""
    try:
        connection.rollback()
    except Exception:  # noqa: BLE001 - the error that ended the transaction matters, not this
        connection.invalidate()


class RedshiftSession(PostgresSession):
    def _bulk_load(self, name: str, store: ObjectStore, key: str, columns: list[str]) -> None:
        # Redshift reads the lake's Parquet itself: nothing streams through this process.
        if not hasattr(store, "url"):
            raise WarehouseError("Redshift loads from the lake's S3 bucket: use an s3:// or block: lake")
        statement = sql.copy_from_parquet(name, store.url(key), self.warehouse.iam_role)
        with self.connection.cursor() as cursor:
            cursor.execute(statement)


class RedshiftWarehouse(PostgresWarehouse):
    """Amazon Redshift through sqlalchemy-redshift; bulk loads are COPY ... FORMAT AS PARQUET."""

    dialect = "redshift"
    collate = ""  # Redshift orders text by binary UTF-8, which is code-point order
    temp_table_suffix = ""  # no ON COMMIT DROP; staging tables are dropped before reuse
    session_class = RedshiftSession

    def __init__(self, url: str, schema: str, iam_role: str | None):
        if not iam_role:
            raise WarehouseError(
                "Redshift needs an IAM role for COPY from S3: set it in the warehouse block or "
                "MUSIC_ETL_REDSHIFT_IAM_ROLE"
            )
        self.iam_role = iam_role
        super().__init__(url, schema)


def _redact(url: str) -> str:
    """The URL without its password, for messages."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


_open: dict[tuple[str, str], Warehouse] = {}
_open_lock = threading.Lock()


def warehouse_for(url: str | SecretStr, schema: str) -> Warehouse:
    """The process-wide connection for a URL (DuckDB allows one writer process per file)."""
    url = reveal(url)  # RunSettings keeps a URL with a password as a SecretUrl
    with _open_lock:
        if (url, schema) not in _open:
            _open[(url, schema)] = open_warehouse(url, schema)
        return _open[(url, schema)]


def close_warehouses() -> None:
    with _open_lock:
        for warehouse in _open.values():
            warehouse.close()
        _open.clear()


def open_warehouse(url: str, schema: str = "music") -> Warehouse:
    """Connect to the warehouse named by a SQLAlchemy-style URL."""
    if url.startswith("duckdb:///"):
        return DuckDBWarehouse(url.removeprefix("duckdb:///") or ":memory:", schema)
    if url == "duckdb://" or url == "duckdb:///:memory:":
        return DuckDBWarehouse(":memory:", schema)
    if url.startswith("block:"):
        from tasks.blocks import WarehouseCredentials

        block = WarehouseCredentials.load_named(url.removeprefix("block:"))
        url, iam_role = block.sqlalchemy_url(), block.iam_role
    else:
        iam_role = os.environ.get("MUSIC_ETL_REDSHIFT_IAM_ROLE")
    scheme = url.split(":", 1)[0]
    if scheme in {"postgresql", "postgresql+psycopg2", "postgres"}:
        return PostgresWarehouse(url.replace("postgres://", "postgresql://", 1), schema)
    if scheme in {"redshift", "redshift+psycopg2"}:
        return RedshiftWarehouse(url.replace("redshift://", "redshift+psycopg2://", 1), schema, iam_role)
    raise WarehouseError(
        f"warehouse URL scheme {scheme!r} is not supported; use duckdb:///path, "
        "postgresql://..., redshift+psycopg2://... or block:NAME"
    )
