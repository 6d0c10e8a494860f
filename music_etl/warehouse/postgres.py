"""PostgreSQL (COPY FROM STDIN) and Redshift (COPY from the lake's Parquet on S3), through
SQLAlchemy engines and psycopg2 connections, with connect and statement timeouts."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pyarrow.csv as pacsv

from music_etl.lake import read_parquet
from music_etl.secrets import redact
from music_etl.storage import ObjectStore
from music_etl.warehouse import sql
from music_etl.warehouse.base import Session, Warehouse, WarehouseError

if TYPE_CHECKING:
    from music_etl.settings import Settings


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

    def __init__(self, url: str, schema: str, settings: Settings):
        super().__init__(schema)
        import sqlalchemy

        try:
            self.engine = sqlalchemy.create_engine(
                url, pool_pre_ping=True, connect_args=_connect_args(url, settings)
            )
            milliseconds = settings.warehouse_statement_timeout * 1000
            sqlalchemy.event.listen(
                self.engine, "connect", lambda connection, _: _set_statement_timeout(connection, milliseconds)
            )
            with self.engine.connect():
                pass
        except Exception as exc:  # noqa: BLE001 - any driver error means "cannot connect"
            message = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
            raise WarehouseError(f"cannot connect to warehouse {redact(url)}: {message}") from exc

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


def _connect_args(url: str, settings: Settings) -> dict[str, Any]:
    """libpq's connect timeout (a server that accepts the connection and never answers would
    hang the run) and TCP keepalives (a dead peer is noticed within about a minute); anything
    the URL's query string sets wins."""
    from sqlalchemy.engine import make_url

    defaults = {
        "connect_timeout": settings.warehouse_connect_timeout,
        "keepalives": 1,
        "keepalives_idle": 30,
        "keepalives_interval": 10,
        "keepalives_count": 3,
    }
    given = make_url(url).query
    return {name: value for name, value in defaults.items() if name not in given}


def _set_statement_timeout(connection: Any, milliseconds: int) -> None:
    """SET works on PostgreSQL and Redshift alike (Redshift takes no startup options); it is
    committed so that a later rollback does not undo it."""
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
        if not store.url(key).startswith("s3://"):
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

    def __init__(self, url: str, schema: str, settings: Settings, iam_role: str | None):
        if not iam_role:
            raise WarehouseError(
                "Redshift needs an IAM role for COPY from S3: set it in the warehouse block or "
                "MUSIC_ETL_REDSHIFT_IAM_ROLE"
            )
        self.iam_role = iam_role
        super().__init__(url, schema, settings)
