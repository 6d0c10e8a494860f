"""Addresses people open for the pages of a lake's Data Docs site (GX pages, run pages,
dashboards), made when a run reports.

- S3 lake: a presigned HTTPS link (every real bucket is private), valid for
  `docs_link_expiry_days`, beside the stable s3:// location.
- Local lake: `music-etl docs` serves the site on http://127.0.0.1:<docs_port>/; browsers refuse
  file:// links from a web page such as the Prefect UI.
- `MUSIC_ETL_DATA_DOCS_URL` set (e.g. CloudFront in front of the lake's data_docs/): that address.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from music_etl.quality.data_docs import DOCS_PREFIX
from music_etl.settings import Settings
from music_etl.storage import ObjectStore, StorageError


@dataclass(frozen=True)
class DocLink:
    url: str  # what a browser opens; "" when none could be made (note says why)
    location: str  # where the page stays: s3://… or a path in the lake folder
    note: str  # how long the link works, or what serves it

    def describe(self) -> str:
        """One line for a summary, a log or a message."""
        if not self.url:
            return f"{self.location} ({self.note})"
        return f"{self.url} ({self.note})" if self.note else self.url


def _site_path(key: str) -> str:
    return key.removeprefix(f"{DOCS_PREFIX}/")


def serve_command(settings: Settings) -> str:
    port = "" if settings.docs_port == 8765 else f" --port {settings.docs_port}"
    return f"music-etl docs --lake {settings.lake}{port}"


def doc_link(store: ObjectStore, key: str, settings: Settings) -> DocLink:
    """The link to one page of the site (`key`: its lake key, under data_docs/)."""
    location = store.url(key)
    if settings.data_docs_url:
        base = settings.data_docs_url.rstrip("/")
        return DocLink(f"{base}/{quote(_site_path(key))}", location, "")
    if store.local_path(key) is not None:
        url = f"http://127.0.0.1:{settings.docs_port}/{quote(_site_path(key))}"
        return DocLink(url, location, f"served by `{serve_command(settings)}`")
    expires_in = int(timedelta(days=settings.docs_link_expiry_days).total_seconds())
    try:
        url = store.share_url(key, expires_in) or ""
    except StorageError as exc:
        return DocLink("", location, f"no link: {exc}")
    until = datetime.now(UTC) + timedelta(seconds=expires_in)
    note = f"presigned, expires {until:%Y-%m-%d %H:%M} UTC; stays at {location}"
    return DocLink(url, location, note)


def href_from(page_key: str, target_key: str, store: ObjectStore, settings: Settings) -> str:
    """What a page of the site links to: a relative path where the site is served as a whole
    (HTTP locally, CloudFront), a presigned URL on S3 (a relative link would be refused)."""
    if settings.data_docs_url or store.local_path(target_key) is not None:
        return quote(posixpath.relpath(target_key, posixpath.dirname(page_key)))
    return doc_link(store, target_key, settings).url
