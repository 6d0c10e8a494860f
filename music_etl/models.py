"""Small, hashable references that flows pass between stages (never DataFrames).

They are what Prefect persists as task results, so a retried run resumes from the lake.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date, datetime

from music_etl.storage import SkippedEntry

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
    docs_page: str | None = None  # lake key of its Data Docs page (links are made per report)

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
    docs_page: str | None


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


@dataclass(frozen=True)
class KpiUpdate:
    """What a KPI recomputation wrote, and what the run's reports show of it."""

    hours_recomputed: int = 0
    hourly_rows: int = 0
    genre_rows: int = 0
    # (listen_hour, total_streams, unique_listeners, top_artist), latest first, at most a week
    hours: tuple[tuple[datetime, int, int, str | None], ...] = ()
    # (listen_date, track_genre, listen_count): the top three genres of each recomputed day
    top_genres: tuple[tuple[date, str, int], ...] = ()


@dataclass(frozen=True)
class KpiHistory:
    """The warehouse's recent KPIs, for the dashboard: hours (latest two weeks) and the top
    five genres of each of the latest fourteen days."""

    hours: tuple[tuple[datetime, int, int], ...] = ()  # (listen_hour, streams, listeners)
    top_genres: tuple[tuple[date, str, int], ...] = ()  # (listen_date, genre, listen_count)


# --- a replay of quarantined stream rows (replay-quarantine) ---


@dataclass(frozen=True, order=True)
class QuarantineFile:
    """The quarantine of one loaded stream file version."""

    key: str  # quarantine/streams/<landing key>@<etag>.parquet
    source_key: str  # the landing file the rows came from
    source_etag: str

    @property
    def version_tag(self) -> str:
        return f"{self.source_key}@{self.source_etag}"


@dataclass(frozen=True)
class RevalidatedFile:
    quarantine: QuarantineFile
    rows_revalidated: int = 0  # unknown_track rows not replayed before
    rows_passed: int = 0
    rows_unknown_user: int = 0
    still_quarantined: tuple[tuple[str, int], ...] = ()  # (reason, rows) of rows that still fail
    events_key: str | None = None  # lake Parquet of the passing rows' events (stage_events)
    row_numbers_key: str | None = None  # lake Parquet of the passing rows' row numbers
    docs_page: str | None = None

    @property
    def rows_still_quarantined(self) -> int:
        return sum(n for _, n in self.still_quarantined)


@dataclass(frozen=True)
class ReplayedFile:
    revalidated: RevalidatedFile
    rows_loaded: int = 0
    rows_duplicate: int = 0  # passed, but the event was already in the warehouse or in the file
