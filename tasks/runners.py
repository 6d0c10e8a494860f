"""Where and how many files a stage works on at once.

SPEC §7: memory is bounded by the largest file, not by the total. Prefect's ThreadPoolTaskRunner
has no limit by default (a thread per submitted task), so a run with 72 new files held all 72 in
memory at once (6 GB for 10M events). Per-file work that holds a file in memory runs on
`settings.workers` threads; Great Expectations runs one validation at a time anyway, so more
threads than cores only add memory. Subflows open these runners for their per-file maps.

With `task_runner` dask the same per-file tasks run in Dask worker processes (prefect-dask): the
parent flow starts one local cluster for the whole run (`run_cluster`) and hands its address to
the subflows, which connect to it as to any `tcp://` scheduler. Tasks receive lake keys and
settings, never DataFrames, and read and write the lake themselves.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from prefect.context import FlowRunContext
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from music_etl.cluster import check_scheduler, is_address, local_cluster
from music_etl.settings import Settings

# Copies from landing to lake wait on the network, not the CPU, and hold at most one file each.
COPY_WORKERS = 8


def per_file_runner(settings: Settings) -> TaskRunner:
    if settings.task_runner == "threads":
        return ThreadPoolTaskRunner(max_workers=settings.workers)
    from prefect_dask import DaskTaskRunner

    if is_address(settings.task_runner):
        return DaskTaskRunner(address=settings.task_runner)
    # A subflow run on its own with "dask": a cluster for this map only.
    return DaskTaskRunner(cluster_kwargs=_local_cluster_kwargs(settings))


def copy_runner() -> ThreadPoolTaskRunner:
    return ThreadPoolTaskRunner(max_workers=COPY_WORKERS)


@contextmanager
def run_cluster(settings: Settings) -> Iterator[Settings]:
    """The settings the run's subflows get: with `dask`, a local cluster started here for the
    whole run (one start instead of one per stage) and its address in their place; with an
    address, that scheduler once it answers; otherwise the settings as they are."""
    if is_address(settings.task_runner):
        check_scheduler(settings.task_runner)
    if settings.task_runner != "dask":
        yield settings
        return
    with local_cluster(settings.workers, worker_env()) as address:
        yield settings.with_overrides(task_runner=address)


def worker_env() -> dict[str, str]:
    """Worker processes report task runs to this flow's Prefect API: without it each would start
    a temporary server of its own (the CLI's default is a temporary server nobody else knows)."""
    context = FlowRunContext.get()
    return {"PREFECT_API_URL": str(context.client.api_url)} if context else {}


def _local_cluster_kwargs(settings: Settings) -> dict:
    return dict(
        n_workers=settings.workers,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        env=worker_env(),
    )
