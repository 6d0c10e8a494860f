"""Every setting of the pipeline in one typed object.

`Settings` reads the `MUSIC_ETL_*` environment variables once; the CLI's flags and a flow's
parameters override them (`for_run`). The flow hands the result to every task, and the tasks
hand the values they need to the library: nothing else reads the environment. A warehouse URL
with a password stays a `SecretUrl`, so subflow parameters stored by the Prefect API and logs
show it masked.
"""

from __future__ import annotations

import os
import re
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, SecretStr, field_serializer, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from music_etl.secrets import hide_password, redact, reveal


def _default_digest_cache() -> Path:
    cache_home = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache_home) / "music-etl" / "md5.sqlite"


class Settings(BaseSettings):
    """Where things live, the run's knobs and the tuning; the same for every task of a run."""

    model_config = SettingsConfigDict(
        env_prefix="MUSIC_ETL_", frozen=True, extra="ignore", populate_by_name=True
    )

    # Locations (SPEC §6): a folder, s3://bucket/prefix or block:NAME; a SQLAlchemy URL.
    landing: str = "./data/landing"
    lake: str = "./data/lake"
    warehouse: str | SecretStr = "duckdb:///data/warehouse.duckdb"
    warehouse_schema: str = "music"
    redshift_iam_role: str | None = None  # for COPY from the lake (a warehouse block has its own)

    # One run's knobs (flow parameters).
    max_invalid_fraction: float = Field(default=0.5, ge=0, le=1)
    force_reingest: bool = False
    flow_run_id: str = "local"
    started_at: datetime | None = None  # future_listen_time is judged against it

    # Where per-file work runs (SPEC §7): threads, dask (a local cluster of worker processes)
    # or tcp://HOST:PORT of a running Dask scheduler.
    task_runner: str = "threads"

    # Tuning.
    file_workers: int | None = Field(default=None, ge=1)  # files validated/transformed at once
    max_file_bytes: int = 256 << 20  # largest file, decompressed
    duckdb_memory_limit: str = "512MB"
    duckdb_lock_wait: float = 120  # seconds to wait for another process's DuckDB file
    warehouse_connect_timeout: int = 30
    warehouse_statement_timeout: int = 1800  # 0: no limit
    s3_connect_timeout: float = 10
    s3_read_timeout: float = 30
    s3_max_attempts: int = Field(default=5, validation_alias="AWS_MAX_ATTEMPTS")
    s3_retry_mode: str | None = Field(default=None, validation_alias="AWS_RETRY_MODE")
    retry_delays: Annotated[tuple[float, ...], NoDecode] = (1, 5, 20)  # task retry backoff
    digest_cache: Path = Field(default_factory=_default_digest_cache)
    # Reports: where people open Data Docs and the dashboard (music_etl/quality/links.py).
    data_docs_url: str | None = None  # e.g. a CloudFront address serving the lake's data_docs/
    docs_port: int = Field(default=8765, ge=1, le=65535)  # `music-etl docs` on a local lake
    docs_link_expiry_days: float = Field(default=7, gt=0, le=7)  # presigned links; SigV4's max
    # The CLI reuses a Prefect server answering here instead of starting a temporary one
    # ("" never looks); PREFECT_API_URL, when set, wins.
    local_prefect_api: str = "http://127.0.0.1:4200/api"

    @field_validator("warehouse", mode="after")
    @classmethod
    def _hide_password(cls, value: str | SecretStr) -> str | SecretStr:
        return hide_password(value)

    @field_serializer("warehouse", when_used="json")
    def _masked(self, value: str | SecretStr) -> str:
        return redact(reveal(value))

    @field_validator("task_runner", mode="before")
    @classmethod
    def _known_runner(cls, value: Any) -> Any:
        return parse_task_runner(value) if isinstance(value, str) else value

    @field_validator("retry_delays", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        return tuple(float(part) for part in value.split(",")) if isinstance(value, str) else value

    @property
    def warehouse_url(self) -> str:
        """The warehouse URL with its password, for connecting only."""
        return reveal(self.warehouse)

    @property
    def workers(self) -> int:
        """Files held in memory at once: the CPUs, at least 2 (one parses while one validates)."""
        return self.file_workers or max(2, os.cpu_count() or 1)

    def with_overrides(self, **values: Any) -> Settings:
        """These settings with the values that are given (None means "keep"); the environment
        is not read again."""
        data = self.model_dump()
        data.update({name: value for name, value in values.items() if value is not None})
        return type(self).model_validate(data)


TASK_RUNNERS = "threads, dask or tcp://HOST:PORT"
_SCHEDULER = re.compile(r"(tcp|tls)://[^\s/:]+:\d{1,5}")


def parse_task_runner(value: str) -> str:
    """threads | dask | a Dask scheduler's address (tcp:// or tls://, host and port)."""
    value = value.strip()
    if value.lower() in ("", "threads", "dask"):
        return value.lower() or "threads"
    if not _SCHEDULER.fullmatch(value):
        raise ValueError(f"task runner {value!r} is not one of {TASK_RUNNERS}")
    return value


_process_settings: Settings | None = None


def load_settings() -> Settings:
    """The process's settings: those the CLI configured, else the environment's (read once)."""
    global _process_settings
    if _process_settings is None:
        _process_settings = Settings()
    return _process_settings


def configure(settings: Settings | None) -> None:
    """Make these the process's settings (the CLI does, from its flags); None: the
    environment's again."""
    global _process_settings
    _process_settings = settings
