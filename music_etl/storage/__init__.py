"""Object stores for the landing zone and the lake.

Every stage talks to a store through the small `ObjectStore` interface, so the same flow code runs
on local folders (embedded default, tests) and on S3 (production). Keys always use `/` and are
relative to the store's root, e.g. `streams/2026/11/28/10.csv`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from music_etl.settings import Settings


class StorageError(RuntimeError):
    """A location cannot be used (missing folder, bad credentials, missing bucket)."""


class ObjectMissing(StorageError):
    """One object is not there (any more): deleted between listing and reading, say."""


@dataclass(frozen=True, order=True)
class ObjectInfo:
    """One object version: its key, ETag (content hash) and size in bytes."""

    key: str
    etag: str
    size: int


@dataclass(frozen=True, order=True)
class SkippedEntry:
    """Something under a prefix that is deliberately not read, and why."""

    key: str
    reason: str


SYMLINK = "symbolic link, not followed (it could lead outside the landing zone)"
HIDDEN = "hidden (name starts with a dot)"
NOT_REGULAR = "not a regular file (device, pipe or socket)"


@dataclass(frozen=True)
class Listing:
    objects: list[ObjectInfo]
    skipped: list[SkippedEntry]


class ObjectStore(Protocol):
    location: str

    def scan(self, prefix: str) -> Listing:
        """Objects under the prefix (sorted by key, as S3 lists), and the entries not read."""

    def list(self, prefix: str) -> list[ObjectInfo]: ...

    def read_bytes(self, key: str) -> bytes: ...

    def write_bytes(self, key: str, data: bytes, content_type: str | None = None) -> None:
        """Store the bytes under key; readers never see a half-written object (content type
        for browsers, where it applies)."""

    def write_file(self, key: str, path: Path, content_type: str | None = None) -> None:
        """Store a local file's bytes under key (content type for browsers, where it applies)."""

    def copy_from(self, source: ObjectStore, key: str, dest_key: str) -> None: ...

    def exists(self, key: str) -> bool: ...

    def local_path(self, key: str) -> Path | None:
        """A filesystem path for the key when the store is a local folder, else None."""

    def url(self, key: str) -> str:
        """Where the object is, as a reader outside this process names it (s3://… or a path)."""

    def share_url(self, key: str, expires_in: int) -> str | None:
        """An HTTPS address anyone holding it can open for `expires_in` seconds (a presigned
        S3 URL), or None where the store has none (a local folder: `music-etl docs` serves it).
        Raises StorageError when the address cannot be signed (no credentials)."""


def open_store(location: str, settings: Settings, *, create: bool = False) -> ObjectStore:
    """The store of a location: a folder, or `s3://bucket/prefix` with the standard AWS
    credential chain (`AWS_ENDPOINT_URL` honoured). `block:NAME` locations are Prefect blocks:
    the tasks' connections resolve them."""
    if location.startswith("s3://"):
        from music_etl.storage.s3 import S3Store

        return S3Store.from_url(location, settings)
    if location.startswith("block:"):
        raise StorageError(f"{location}: a block is resolved by Prefect, not by the library")
    from music_etl.storage.local import LocalStore

    return LocalStore(location, digest_cache=settings.digest_cache, create=create)
