"""Prefect blocks of this project: warehouse credentials, kept out of parameters and logs."""

from __future__ import annotations

from typing import Literal

from prefect.blocks.core import Block
from pydantic import Field, SecretStr

from music_etl.warehouse.base import WarehouseError


class WarehouseCredentials(Block):
    """Connection to the warehouse (Redshift, or PostgreSQL). The password is a secret field:
    the UI masks it and it never appears in flow parameters; use `block:NAME` as the warehouse."""

    _block_type_name = "Music ETL Warehouse"
    _block_type_slug = "music-etl-warehouse"

    dialect: Literal["redshift+psycopg2", "postgresql+psycopg2"] = Field(
        default="redshift+psycopg2", description="SQLAlchemy dialect and driver"
    )
    host: str = Field(description="Cluster or workgroup endpoint host name")
    port: int = Field(default=5439, description="5439 for Redshift, 5432 for PostgreSQL")
    database: str = Field(default="dev")
    username: str
    password: SecretStr
    iam_role: str | None = Field(
        default=None,
        description="ARN of the IAM role Redshift assumes to COPY the lake's Parquet from S3",
    )

    def sqlalchemy_url(self) -> str:
        from sqlalchemy.engine import URL

        url = URL.create(
            self.dialect,
            username=self.username,
            password=self.password.get_secret_value(),
            host=self.host,
            port=self.port,
            database=self.database,
        )
        return url.render_as_string(hide_password=False)

    @classmethod
    def load_named(cls, name: str) -> "WarehouseCredentials":
        try:
            return cls.load(name)
        except ValueError as exc:
            raise WarehouseError(f"no warehouse block named {name!r}") from exc
