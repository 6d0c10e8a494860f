"""Where Great Expectations works and where its Data Docs site is published.

GX needs local folders. On a local lake they live inside it (`gx/`, `data_docs/`), so the site is
the lake's own. On an S3 lake GX works in a local temporary folder and every rendered page is
uploaded to the lake's `data_docs/` prefix with its content type; links then point there (or to
`MUSIC_ETL_DATA_DOCS_URL`, e.g. a CloudFront or S3 website address serving that prefix).
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
import tempfile
from functools import cache
from pathlib import Path
from urllib.parse import quote, unquote, urlparse

from tasks.storage import ObjectStore
from tasks.validation import SuiteRunner, suite_runner

DOCS_PREFIX = "data_docs"


def workspace(store: ObjectStore) -> tuple[Path, Path]:
    """(GX project folder, Data Docs site folder), both local."""
    root = store.local_path("")
    if root is None:
        digest = hashlib.sha256(store.location.encode()).hexdigest()[:16]
        root = _process_scratch() / digest
    return root / "gx", root / DOCS_PREFIX


@cache
def _process_scratch() -> Path:
    """A scratch folder of this process (a container's run), never shared with another."""
    return Path(tempfile.mkdtemp(prefix="music-etl-gx-"))


def runner(store: ObjectStore) -> SuiteRunner:
    return suite_runner(*workspace(store))


def _public_base(store: ObjectStore) -> str:
    configured = os.environ.get("MUSIC_ETL_DATA_DOCS_URL")
    if configured:
        return configured.rstrip("/")
    return store.http_url(DOCS_PREFIX)


def _upload(store: ObjectStore, docs_dir: Path, path: Path) -> str:
    relative = path.relative_to(docs_dir).as_posix()
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    store.write_file(f"{DOCS_PREFIX}/{relative}", path, content_type)
    return f"{_public_base(store)}/{quote(relative)}"


def publish_page(store: ObjectStore, local_url: str) -> str:
    """Upload one rendered page (remote lakes) and return the URL people should open."""
    if not local_url or store.local_path("") is not None:
        return local_url
    _, docs_dir = workspace(store)
    return _upload(store, docs_dir, Path(unquote(urlparse(local_url).path)))


def publish_site(store: ObjectStore, index_url: str) -> str:
    """Upload the whole local site (index, suite pages, assets) and return the index URL."""
    if not index_url or store.local_path("") is not None:
        return index_url
    _, docs_dir = workspace(store)
    for path in sorted(p for p in docs_dir.rglob("*") if p.is_file()):
        _upload(store, docs_dir, path)
    return f"{_public_base(store)}/index.html"
