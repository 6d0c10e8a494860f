"""`music-etl docs`: serve a local lake's Data Docs site (GX pages, run pages, dashboards) over
HTTP on 127.0.0.1, where the links in the runs' artifacts and summaries point. Browsers refuse
file:// links from a web page such as the Prefect UI; an S3 lake needs no server (its links are
presigned)."""

from __future__ import annotations

import errno
import functools
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from music_etl.quality.data_docs import DOCS_PREFIX


class DocsError(RuntimeError):
    """The site cannot be served; the message is the one line the user sees."""


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base's name
        pass  # one line per page fetched would bury the address people need


def site_folder(lake: str) -> Path:
    if lake.startswith(("s3://", "block:")):
        raise DocsError(
            f"{lake} is not a local folder: an S3 lake's pages open from the presigned links "
            "in the run's artifacts and summary"
        )
    site = Path(lake) / DOCS_PREFIX
    if not (site / "index.html").is_file() and not (site / "runs").is_dir():
        raise DocsError(f"no Data Docs in {site} yet: `music-etl run` writes them")
    if not site.is_dir() or not _readable(site):
        raise DocsError(f"{site} cannot be read")
    return site


def _readable(folder: Path) -> bool:
    try:
        next(folder.iterdir(), None)
    except OSError:
        return False
    return True


def open_server(lake: str, port: int) -> ThreadingHTTPServer:
    """A server for the lake's site on 127.0.0.1:port (0: any free port)."""
    site = site_folder(lake)
    handler = functools.partial(_QuietHandler, directory=str(site))
    try:
        return ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise DocsError(
                f"port {port} is in use (another `music-etl docs`?): choose one with --port N "
                "or MUSIC_ETL_DOCS_PORT"
            ) from exc
        raise DocsError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror}") from exc


def serve(lake: str, port: int) -> None:
    server = open_server(lake, port)
    host, bound = server.server_address[:2]
    print(f"Serving the Data Docs of {lake} on http://{host}:{bound}/ (Ctrl+C stops)", flush=True)
    with server:
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
