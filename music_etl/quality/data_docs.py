"""Where Great Expectations works and where its Data Docs site is published.

GX keeps file stores that are not safe to share between processes: two runs on one lake used to
meet in one GX project and one of them failed (`CheckpointRelatedResourcesFreshnessError`). So
every process works in a GX project of its own, in a temporary folder, with the suites from
`expectations/`; only the rendered site is shared: each page is published to the lake's
`data_docs/` prefix as it is rendered (copied on a local lake, uploaded with its content type to
S3), and the index once per run. Functions here return lake keys; `links` turns them into
addresses a browser can open.
"""

from __future__ import annotations

import atexit
import hashlib
import mimetypes
import shutil
import tempfile
import threading
from pathlib import Path
from urllib.parse import unquote, urlparse

from music_etl.quality.suites import SuiteRunner, suite_runner
from music_etl.storage import ObjectStore

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


def _publish(store: ObjectStore, docs_dir: Path, path: Path) -> str:
    key = f"{DOCS_PREFIX}/{path.relative_to(docs_dir).as_posix()}"
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    store.write_file(key, path, content_type)
    return key


def publish_page(store: ObjectStore, local_url: str) -> str:
    """Publish one rendered page to the lake; return its lake key (links to it are made when
    the run reports: a presigned link must not be older than the report that carries it)."""
    if not local_url:
        return local_url
    _, docs_dir = workspace(store)
    return _publish(store, docs_dir, Path(unquote(urlparse(local_url).path)))


def build_site(store: ObjectStore) -> str:
    """Render the index and suite pages (validation pages were rendered and published as they
    ran), publish them with the assets, and return the index's lake key. Pages of other runs
    already in the lake stay; GX's index lists this process's validations, the run page
    (`run_page`) every validation of the run."""
    index_url = runner(store).build_docs()
    if not index_url:
        return index_url
    _, docs_dir = workspace(store)
    validations = docs_dir / "validations"
    for path in sorted(p for p in docs_dir.rglob("*") if p.is_file()):
        if validations not in path.parents:
            _publish(store, docs_dir, path)
    return f"{DOCS_PREFIX}/index.html"


_BANNER_START = "<!-- music-etl outcome -->"
_BANNER_END = "<!-- /music-etl outcome -->"


def annotate_page(store: ObjectStore, key: str, banner_html: str) -> None:
    """Put what happened to the file at the top of its GX validation page (GX says "Failed"
    whenever a quarantine expectation found rows, which is the design working). Replaces an
    earlier banner, so a retried or replayed report says it once."""
    page = store.read_bytes(key).decode("utf-8")
    if _BANNER_START in page:
        head, _, rest = page.partition(_BANNER_START)
        page = head + rest.partition(_BANNER_END)[2]
    body = page.find("<body")
    insert_at = page.index(">", body) + 1 if body >= 0 else 0
    page = page[:insert_at] + _BANNER_START + banner_html + _BANNER_END + page[insert_at:]
    store.write_bytes(key, page.encode("utf-8"), content_type="text/html")
