"""Small, hashable references that flows pass between stages (never DataFrames).

They are what Prefect persists as task results, so a retried run resumes from the lake.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import SecretStr

from tasks.secrets import hide_password
from tasks.storage import SkippedEntry


_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
REASON_LIMIT = 1000  # characters: at most 4000 UTF-8 bytes, inside the ledger's VARCHAR(4096)


def printable(text: str | None, limit: int = REASON_LIMIT) -> str | None:
    """Text as every warehouse and the Prefect API can store it: control characters and lone
    surrogates escaped as \\xNN (PostgreSQL refuses a NUL outright), at most `limit` characters.
    For reasons and names taken from file contents; the raw bytes stay in the lake."""
    if text is None:
        return None
    escaped = _UNSAFE.sub(lambda match: f"\\x{ord(match.group()):02x}", text)
    return escaped if len(escaped) <= limit else escaped[: limit - 1] + "…"


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
    skipped_entries: tuple[SkippedEntry, ...] = ()  # landing entries not read, with why


@dataclass(frozen=True)
class FileCounts:
    rows_read: int = 0
    rows_valid: int = 0
    rows_quarantined: int = 0
    rows_unknown_user: int = 0
    quarantine_by_reason: tuple[tuple[str, int], ...] = ()
    warnings: tuple[tuple[str, int], ...] = ()  # kept rows with an unreadable optional value


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

    def __post_init__(self) -> None:
        # Reasons quote file contents (a parser's message, a header): keep them storable.
        object.__setattr__(self, "reason", printable(self.reason))
        object.__setattr__(self, "extra_columns", tuple(printable(c, 200) for c in self.extra_columns))


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

    def __post_init__(self) -> None:
        object.__setattr__(self, "reason", printable(self.reason))
