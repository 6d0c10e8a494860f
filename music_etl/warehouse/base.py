"""The warehouse interface: a transaction (`Session`) and a connection (`Warehouse`).

A backend only knows how to connect, run a statement, bulk-load the lake's Parquet into a
staging table, and which collation gives code-point ordering; the SQL is shared (`sql.py`,
`tables.py`). Backends: `duckdb_file.py`, `postgres.py` (PostgreSQL and Redshift).
"""

from __future__ import annotations

import hashlib
import re
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from music_etl.storage import ObjectStore
from music_etl.warehouse import sql, tables

_PARAM = re.compile(r"(?<![:\w]):([a-z_][a-z0-9_]*)")
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


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
        table = tables.STAGED[name]
        self.execute(sql.DROP_STAGING.format(name=name))
        self.execute(table.create_staging(self.warehouse.temp_table_suffix))
        self._bulk_load(name, store, key, [column.name for column in table.staged_columns])

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
            session.run_all(tables.schema_ddl(self.dialect))
            present = sql.KPI_KEY_INDEXES_PRESENT.get(self.dialect)
            indexes = tables.unique_indexes()
            if not present or session.query(present, {"schema": self.schema})[0][0] == len(indexes):
                return
            session.run_all(sql.REPAIR_DUPLICATE_KPI_ROWS)
        # DuckDB builds an index only over committed deletes: a transaction of its own.
        with self.transaction() as session:
            session.lock_writers()
            session.run_all(indexes)

    def query(self, statement: str, params: dict[str, Any] | None = None) -> list[tuple]:
        with self.transaction() as session:
            return session.query(statement, params)
