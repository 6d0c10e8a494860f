"""A folder on the local filesystem as an object store (the embedded default, tests)."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import threading
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

from music_etl.storage import (
    HIDDEN,
    NOT_REGULAR,
    SYMLINK,
    Listing,
    ObjectInfo,
    ObjectMissing,
    ObjectStore,
    SkippedEntry,
    StorageError,
)


def _md5_of(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _stamp(path: Path) -> tuple[str, int] | None:
    """What changes whenever the file's content can have changed, and its size; None if gone."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    return f"{info.st_ino}:{info.st_size}:{info.st_mtime_ns}:{info.st_ctime_ns}", info.st_size


def _listed(root: Path, paths: list[Path], cache_path: Path | None) -> list[tuple[Path, str, int]]:
    """(path, MD5, size) of each file still there; MD5s are remembered across runs by stamp.

    Listing a local landing zone would otherwise re-read every byte of every file on every run
    (a second per 450 MB), though only new files matter. Every write changes the stamp (ours
    replace the file, so even the inode changes). Without a usable cache, files are hashed.
    """
    stamps = {path: stamp for path in paths if (stamp := _stamp(path)) is not None}
    known: dict[str, tuple[str, str]] = {}
    connection = None
    try:
        if cache_path is None:
            raise OSError("no digest cache")
        cache_path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(cache_path, timeout=30)
        connection.execute(
            "CREATE TABLE IF NOT EXISTS md5 (path TEXT PRIMARY KEY, stamp TEXT, digest TEXT)"
        )
        # Everything under root/ ('0' is the character after '/').
        rows = connection.execute(
            "SELECT path, stamp, digest FROM md5 WHERE path > ? AND path < ?",
            (f"{root}/", f"{root}0"),
        )
        known = {path: (stamp, digest) for path, stamp, digest in rows}
    except (OSError, sqlite3.Error):
        if connection is not None:
            connection.close()
        connection = None  # no cache: hash everything
    listed, fresh = [], []
    for path, (stamp, size) in stamps.items():
        cached_stamp, digest = known.get(str(path), (None, None))
        if cached_stamp != stamp:
            try:
                digest = _md5_of(path)
            except FileNotFoundError:
                continue  # deleted since the listing: not there any more
            fresh.append((str(path), stamp, digest))
        listed.append((path, digest, size))
    if connection is not None:
        with closing(connection), connection:
            connection.executemany("INSERT OR REPLACE INTO md5 VALUES (?, ?, ?)", fresh)
    return listed


class LocalStore:
    """A folder on the local filesystem. ETags are MD5 digests, like S3's for single-part uploads."""

    def __init__(self, root: str | Path, *, digest_cache: Path | None = None, create: bool = False):
        self.digest_cache = digest_cache  # where listings remember MD5s (None: hash every time)
        self.root = Path(root).expanduser().resolve()
        self.location = str(self.root)
        if create:
            self.root.mkdir(parents=True, exist_ok=True)
        elif not self.root.is_dir():
            raise StorageError(f"folder {self.root} does not exist")

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root not in path.parents and path != self.root:
            raise StorageError(f"key {key!r} points outside {self.root}")
        return path

    def scan(self, prefix: str) -> Listing:
        """Regular files under the prefix. Symbolic links are never followed (a link could lead
        anywhere on the machine), nor are hidden entries or devices, pipes and sockets read (a
        pipe would block the run): they are reported as skipped."""
        base = self.root / prefix
        if prefix and base.is_symlink():
            return Listing([], [SkippedEntry(prefix.rstrip("/"), SYMLINK)])
        self._path(prefix)  # refuses a prefix outside the root
        skipped: list[SkippedEntry] = []
        paths: list[Path] = []
        pending = [base] if base.exists() or base.is_symlink() else []
        while pending:
            entry = pending.pop()
            key = entry.relative_to(self.root).as_posix()
            if entry.is_symlink():
                skipped.append(SkippedEntry(key, SYMLINK))
            elif entry != base and entry.name.startswith("."):
                skipped.append(SkippedEntry(key, HIDDEN))
            elif entry.is_dir():
                pending.extend(entry.iterdir())
            elif entry.is_file():
                paths.append(entry)
            else:
                skipped.append(SkippedEntry(key, NOT_REGULAR))
        found = [
            ObjectInfo(key=path.relative_to(self.root).as_posix(), etag=digest, size=size)
            for path, digest, size in _listed(self.root, paths, self.digest_cache)
        ]
        return Listing(sorted(found), sorted(skipped))  # by key string, as S3 lists

    def list(self, prefix: str) -> list[ObjectInfo]:
        return self.scan(prefix).objects

    def read_bytes(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError as exc:
            raise ObjectMissing(f"{key} is missing from {self.root}") from exc

    def write_bytes(self, key: str, data: bytes, content_type: str | None = None) -> None:
        self._replace(key, lambda tmp: tmp.write_bytes(data))

    def write_file(self, key: str, path: Path, content_type: str | None = None) -> None:
        self._replace(key, lambda tmp: shutil.copyfile(path, tmp))

    def copy_from(self, source: ObjectStore, key: str, dest_key: str) -> None:
        src_path = source.local_path(key)
        if src_path is None:
            self.write_bytes(dest_key, source.read_bytes(key))
            return
        try:
            self._replace(dest_key, lambda tmp: shutil.copyfile(src_path, tmp))
        except FileNotFoundError as exc:
            raise ObjectMissing(f"{key} vanished from {source.location}") from exc

    def _replace(self, key: str, write: Callable[[Path], object]) -> None:
        """Write a temporary file beside the object, then rename it over the object: readers
        never see a half-written object, and a crash leaves none behind."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        write(tmp)
        tmp.replace(path)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def local_path(self, key: str) -> Path | None:
        return self._path(key)

    def url(self, key: str) -> str:
        return str(self._path(key))

    def share_url(self, key: str, expires_in: int) -> None:
        return None
