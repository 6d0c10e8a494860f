"""Where Great Expectations works and where its Data Docs site is published.

GX keeps file stores that are not safe to share between processes: two runs on one lake used to
meet in one GX project and one of them failed (`CheckpointRelatedResourcesFreshnessError`). So
every process works in a GX project of its own, in a temporary folder, with the suites from
`expectations/`; only the rendered site is shared: each page is published to the lake's
`data_docs/` prefix as it is rendered (copied on a local lake, uploaded with its content type to
S3), and the index once per run. Links point at the published copies (on S3 at
`MUSIC_ETL_DATA_DOCS_URL` when set, e.g. a CloudFront address serving that prefix).
"""

from __future__ import annotations

import atexit
import hashlib
import mimetypes
import os
import shutil
import tempfile
import threading
from pathlib import Path
from urllib.parse import quote, unquote, urlparse

from tasks.storage import ObjectStore
from tasks.validation import SuiteRunner, suite_runner

DOCS_PREFIX = "data_docs"


def workspace(store: ObjectStore) -> tuple[Path, Path]:
    """(GX project folder, local Data Docs site folder) of this process for the lake."""
    root = _process_scratch() / hashlib.sha256(store.location.encode()).hexdigest()[:16]
    return root / "gx", root / DOCS_PREFIX


_scratch: list[Path] = []
_scratch_lock = threading.Lock()


def _process_scratch() -> Path:
    """A scratch folder of this process (a container's run), never shared with another; made
    once, under a lock: two threads making two would give the process two GX projects."""
    with _scratch_lock:
        if not _scratch:
            _scratch.append(Path(tempfile.mkdtemp(prefix="music-etl-gx-")))
            atexit.register(shutil.rmtree, _scratch[0], ignore_errors=True)
        return _scratch[0]


def runner(store: ObjectStore) -> SuiteRunner:
    return suite_runner(*workspace(store))


def _public_url(store: ObjectStore, relative: str) -> str:
    key = f"{DOCS_PREFIX}/{relative}"
    path = store.local_path(key)
    if path is not None:
        return path.as_uri()
    configured = os.environ.get("MUSIC_ETL_DATA_DOCS_URL")
    if configured:
        return f"{configured.rstrip('/')}/{quote(relative)}"
    return store.http_url(key)


def _publish(store: ObjectStore, docs_dir: Path, path: Path) -> str:
    relative = path.relative_to(docs_dir).as_posix()
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    store.write_file(f"{DOCS_PREFIX}/{relative}", path, content_type)
    return _public_url(store, relative)


def publish_page(store: ObjectStore, local_url: str) -> str:
    """Publish one rendered page to the lake and return the URL people should open."""
    if not local_url:
        return local_url
    _, docs_dir = workspace(store)
    return _publish(store, docs_dir, Path(unquote(urlparse(local_url).path)))


def publish_site(store: ObjectStore, index_url: str) -> str:
    """Publish the site this process rendered (index, suite pages, assets); return the index
    URL. Pages of other runs already in the lake stay; the index lists this run's validations."""
    if not index_url:
        return index_url
    _, docs_dir = workspace(store)
    validations = docs_dir / "validations"  # published one by one as they were rendered
    for path in sorted(p for p in docs_dir.rglob("*") if p.is_file()):
        if validations not in path.parents:
            _publish(store, docs_dir, path)
    return _public_url(store, "index.html")
