"""DuckDB files: the embedded warehouse. DuckDB lets one process write a file at a time."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from music_etl.lake import read_parquet
from music_etl.storage import ObjectStore
from music_etl.warehouse.base import Session, Warehouse, WarehouseError

if TYPE_CHECKING:
    from music_etl.settings import Settings

_log = logging.getLogger("music_etl.warehouse")


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

    def __init__(self, path: str, schema: str, settings: Settings):
        super().__init__(schema)
        import duckdb

        self.path = path
        try:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise WarehouseError(f"cannot open DuckDB warehouse {path}: {exc}") from exc
        # DuckDB's default limit is 80% of RAM; a cap keeps the run's peak memory flat in the
        # size of the history (joins and aggregates spill to <db>.tmp beyond it).
        limit, wait = settings.duckdb_memory_limit, settings.duckdb_lock_wait
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
                    deadline = time.monotonic() + wait
                    _log.warning(
                        "DuckDB warehouse %s is in use by another process; waiting up to %d s "
                        "(MUSIC_ETL_DUCKDB_LOCK_WAIT)", path, wait,
                    )  # fmt: skip
                elif time.monotonic() > deadline:
                    holder = re.search(r"PID \d+", str(exc))
                    raise WarehouseError(
                        f"DuckDB warehouse {path} is in use by another process"
                        f"{f' ({holder.group(0)})' if holder else ''} and was not released "
                        f"within {wait:.0f} s: DuckDB allows one writer at a time, run "
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
