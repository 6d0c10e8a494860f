"""Servers that accept a connection and never answer: the run fails within a minute with one
line instead of hanging, and succeeds once the server is back."""

from __future__ import annotations

import os
import selectors
import socket
import threading
import time
from contextlib import contextmanager
from urllib.parse import urlsplit

import pytest

from tests.integration.conftest import POSTGRES_URL
from tests.integration.helpers import Stores, Warehouse, cli, single_error_line


@contextmanager
def _listening() -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    try:
        yield sock
    finally:
        sock.close()


def _serve(sock: socket.socket, handle, stop: threading.Event) -> threading.Thread:
    def loop() -> None:
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                connection, _ = sock.accept()
            except (TimeoutError, OSError):
                continue
            threading.Thread(target=handle, args=(connection, stop), daemon=True).start()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    return thread


def _never_answer(connection: socket.socket, stop: threading.Event) -> None:
    with connection:
        stop.wait()


def _forward_to(target: tuple[str, int]):
    """A TCP relay to `target`: the server is back, on the same address."""

    def relay(connection: socket.socket, stop: threading.Event) -> None:
        with connection, socket.create_connection(target) as upstream:
            selector = selectors.DefaultSelector()
            selector.register(connection, selectors.EVENT_READ, upstream)
            selector.register(upstream, selectors.EVENT_READ, connection)
            while not stop.is_set():
                for key, _ in selector.select(timeout=0.2):
                    data = key.fileobj.recv(65536)
                    if not data:
                        return
                    key.data.sendall(data)

    return relay


@contextmanager
def _server(sock: socket.socket, handle):
    stop = threading.Event()
    thread = _serve(sock, handle, stop)
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


def _postgres_address() -> tuple[str, int]:
    parts = urlsplit(POSTGRES_URL)
    return parts.hostname, parts.port or 5432


@pytest.mark.parametrize("new_warehouse", ["postgresql"], indirect=True)
def test_a_warehouse_that_never_answers_fails_the_run_within_a_minute(stores, tmp_path):
    with _listening() as sock:
        port = sock.getsockname()[1]
        url = stores.warehouse.url.replace(":5432/", f":{port}/")
        assert url != stores.warehouse.url
        stuck = Stores(stores.landing, stores.lake, Warehouse(url, stores.warehouse.schema))
        args = ["run", f"--landing={stuck.landing}", f"--lake={stuck.lake}",
                f"--warehouse={url}", f"--schema={stuck.warehouse.schema}"]  # fmt: skip

        with _server(sock, _never_answer):
            started = time.monotonic()
            result = cli(*args, cwd=tmp_path / "stuck", timeout=120)
            elapsed = time.monotonic() - started

        assert result.returncode != 0
        assert "timeout" in single_error_line(result).lower()
        assert elapsed < 60, f"took {elapsed:.0f} s"

        with _server(sock, _forward_to(_postgres_address())):  # the server is back
            again = cli(*args, cwd=tmp_path / "back")

    assert again.returncode == 0, again.stderr
    assert stores.event_count() == 0 and stores.query("SELECT COUNT(*) FROM {s}.songs")[0][0] == 8


@pytest.mark.parametrize("new_warehouse", ["duckdb"], indirect=True)
def test_an_s3_endpoint_that_never_answers_fails_the_run_within_a_minute(stores, tmp_path):
    with _listening() as sock, _server(sock, _never_answer):
        env = {
            **os.environ,
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{sock.getsockname()[1]}",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        started = time.monotonic()
        result = cli(
            "run", "--landing=s3://landing/incoming", f"--lake={stores.lake}",
            f"--warehouse={stores.warehouse.url}", cwd=tmp_path, env=env, timeout=120,
        )  # fmt: skip
        elapsed = time.monotonic() - started

    assert result.returncode != 0
    line = single_error_line(result)
    assert "s3://landing/incoming" in line and "timeout" in line.lower(), line
    assert elapsed < 60, f"took {elapsed:.0f} s"
