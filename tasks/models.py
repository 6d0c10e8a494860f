"""Small, hashable references that flows pass between stages (never DataFrames).

They are what Prefect persists as task results, so a retried run resumes from the lake.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import SecretStr

from tasks.secrets import hide_password


@dataclass(frozen=True)
class RunSettings:
    """Where things live and the run's knobs; the same for every task of one flow run."""

    landing: str
    lake: str
    warehouse: str | SecretStr  # a URL with a password is kept as a SecretUrl
    schema: str
    max_invalid_fraction: float
    flow_run_id: str
    started_at: datetime  # the future_listen_time rule is relative to this
    force_reingest: bool = False  # load selected files even when the ledger has their version

    def __post_init__(self) -> None:
        # Subflow parameters are stored by the Prefect API: never with a password in them.
        object.__setattr__(self, "warehouse", hide_password(self.warehouse))


@dataclass(frozen=True, order=True)
class SourceFile:
    """One version of one landing file, and its raw copy in the lake."""

    key: str
    etag: str
    size: int
    dataset: str  # streams | songs | users
    raw_key: str = ""

    @property
    def version_tag(self) -> str:
        return f"{self.key}@{self.etag}"


@dataclass(frozen=True)
class CatalogueSnapshot:
    """All files of one catalogue prefix; they are validated and loaded together."""

    dataset: str  # songs | users
    files: tuple[SourceFile, ...]

    @property
    def fingerprint(self) -> str:
        digest = hashlib.sha256("\n".join(f.version_tag for f in sorted(self.files)).encode())
        return digest.hexdigest()[:32]


@dataclass(frozen=True)
class ExtractResult:
    stream_files: tuple[SourceFile, ...]
    catalogues: tuple[CatalogueSnapshot, ...]  # only those that changed since the last load
    skipped_files: int  # stream files already in the ledger


@dataclass(frozen=True)
class FileCounts:
    rows_read: int = 0
    rows_valid: int = 0
    rows_quarantined: int = 0
    rows_unknown_user: int = 0
    quarantine_by_reason: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class ValidatedFile:
    """A stream file after validation. status: valid | empty | rejected."""

    source: SourceFile
    status: str
    counts: FileCounts = field(default_factory=FileCounts)
    reason: str | None = None
    extra_columns: tuple[str, ...] = ()
    validated_key: str | None = None  # lake Parquet of valid rows with parsed columns
    quarantine_key: str | None = None
    docs_url: str | None = None


@dataclass(frozen=True)
class ValidatedCatalogue:
    snapshot: CatalogueSnapshot
    files: tuple[ValidatedFile, ...]  # per-file status and counts
    validated_key: str | None  # lake Parquet of the kept rows (None when nothing is usable)
    rows_duplicate: int
    docs_url: str | None


@dataclass(frozen=True)
class TransformedFile:
    validated: ValidatedFile
    events_key: str | None  # lake Parquet of typed, in-file-deduplicated events


@dataclass(frozen=True)
class TransformedCatalogue:
    validated: ValidatedCatalogue
    rows_key: str | None  # typed dimension rows
    artists_key: str | None = None  # songs only: (track_id, artist)


@dataclass(frozen=True)
class LoadedFile:
    source: SourceFile
    status: str  # loaded | empty | rejected | skipped (another run had it already)
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    rows_duplicate: int
    reason: str | None = None
