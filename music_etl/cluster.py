"""A Dask cluster for per-file work (SPEC §7), free of Prefect: where the scheduler is, whether it
answers, and a local cluster of worker processes when one is asked for by name."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

CONNECT_TIMEOUT = 5  # seconds: a scheduler that does not accept a connection by then is not there


class ClusterError(Exception):
    """A Dask scheduler that cannot be reached; the message is one line for the user."""


def is_address(task_runner: str) -> bool:
    return "://" in task_runner


def check_scheduler(address: str) -> None:
    """Fail fast, with one line, when nothing listens at a scheduler address (distributed itself
    retries for 30 s and then raises a multi-line error)."""
    parts = urlsplit(address)
    try:
        with socket.create_connection((parts.hostname, parts.port), timeout=CONNECT_TIMEOUT):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ClusterError(f"no Dask scheduler answers at {address} ({reason})") from exc


@contextmanager
def local_cluster(workers: int, env: dict[str, str] | None = None) -> Iterator[str]:
    """A cluster of `workers` worker processes, one thread each, on 127.0.0.1 only (no
    dashboard); yields the scheduler's address and stops everything on exit. One thread per
    process: a process holds one file in memory, as the thread runner's `workers` threads do."""
    from distributed import LocalCluster

    cluster = LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        env=env or {},
    )
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close()
