"""Servers the integration tests start as processes: each listens on 127.0.0.1 on a free port
and is stopped by its PID when the test is done."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

PREFECT = str(Path(sys.executable).with_name("prefect"))
START_WAIT = 300  # a Prefect server's first start creates its database: long on a busy machine


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def wait_until_answers(url: str, process: subprocess.Popen, log: Path, seconds: float = START_WAIT) -> None:
    """Until `url` answers 200; fails with the process's log if it exits or time runs out."""
    deadline = time.monotonic() + seconds
    while not answers(url):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not answer:\n{log.read_text()[-3000:]}")
        time.sleep(0.5)


@contextmanager
def prefect_server_process(home: Path, *, ui: bool = True, database_url: str | None = None):
    """`prefect server start` with its own home, telemetry off; yields its API URL. Its database
    is SQLite in that home, or `database_url` (postgresql+asyncpg://...)."""
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_UI_ENABLED": str(ui).lower(),
        "PREFECT_UI_API_URL": api,  # the UI's own default is :4200
    }
    env.pop("PREFECT_API_URL", None)
    if database_url:
        env["PREFECT_API_DATABASE_CONNECTION_URL"] = database_url
    log = home / "server.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        wait_until_answers(f"{api}/health", process, log)
        yield api
    finally:
        process.terminate()
        process.wait(timeout=60)


@contextmanager
def moto_server():
    """A moto server (S3, ECS, ...) on 127.0.0.1 in this process; yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()
