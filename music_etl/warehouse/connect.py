"""Open the warehouse a URL names."""

from __future__ import annotations

from typing import TYPE_CHECKING

from music_etl.warehouse.base import Warehouse, WarehouseError

if TYPE_CHECKING:
    from music_etl.settings import Settings


def open_warehouse(
    url: str, schema: str, settings: Settings, iam_role: str | None = None
) -> Warehouse:
    """Connect to the warehouse named by a SQLAlchemy-style URL (`block:NAME` warehouses are
    Prefect blocks: the tasks' connections resolve them to a URL first)."""
    if url.startswith("duckdb:///"):
        from music_etl.warehouse.duckdb_file import DuckDBWarehouse

        return DuckDBWarehouse(url.removeprefix("duckdb:///"), schema, settings)
    scheme = url.split(":", 1)[0]
    from music_etl.warehouse.postgres import PostgresWarehouse, RedshiftWarehouse

    if scheme in {"postgresql", "postgresql+psycopg2", "postgres"}:
        return PostgresWarehouse(url.replace("postgres://", "postgresql://", 1), schema, settings)
    if scheme in {"redshift", "redshift+psycopg2"}:
        url = url.replace("redshift://", "redshift+psycopg2://", 1)
        return RedshiftWarehouse(url, schema, settings, iam_role or settings.redshift_iam_role)
    raise WarehouseError(
        f"warehouse URL scheme {scheme!r} is not supported; use duckdb:///path, "
        "postgresql://..., redshift+psycopg2://... or block:NAME"
    )
