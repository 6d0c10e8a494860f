"""Where per-file work runs: the task-runner setting, the runner it picks, and a scheduler that
is not there."""

from __future__ import annotations

import socket

import pytest
from prefect.task_runners import ThreadPoolTaskRunner
from prefect_dask import DaskTaskRunner
from pydantic import ValidationError

from music_etl.cluster import ClusterError, check_scheduler
from music_etl.settings import Settings
from tasks.runners import per_file_runner


@pytest.mark.parametrize(
    "value, expected",
    [
        ("threads", "threads"),
        ("Dask", "dask"),
        (" tcp://10.0.0.5:8786 ", "tcp://10.0.0.5:8786"),
        ("tls://scheduler.internal:8786", "tls://scheduler.internal:8786"),
    ],
)
def test_task_runner_values(value, expected):
    assert Settings(task_runner=value).task_runner == expected


@pytest.mark.parametrize("value", ["spark", "tcp://no-port", "http://host:8786", "tcp://h:1/x"])
def test_unknown_task_runner_is_one_clear_error(value):
    with pytest.raises(ValidationError) as raised:
        Settings(task_runner=value)
    message = raised.value.errors()[0]["msg"]
    assert "threads, dask or tcp://HOST:PORT" in message and "\n" not in message


def test_environment_sets_the_default(monkeypatch):
    monkeypatch.setenv("MUSIC_ETL_TASK_RUNNER", "dask")
    assert Settings().task_runner == "dask"
    assert Settings().with_overrides(task_runner=None).task_runner == "dask"  # no flag: keep
    assert Settings().with_overrides(task_runner="threads").task_runner == "threads"


def test_threads_runner_is_bounded_by_the_workers_setting():
    runner = per_file_runner(Settings(file_workers=3))
    assert isinstance(runner, ThreadPoolTaskRunner) and runner._max_workers == 3


def test_an_address_connects_to_that_scheduler():
    runner = per_file_runner(Settings(task_runner="tcp://10.0.0.5:8786"))
    assert isinstance(runner, DaskTaskRunner) and runner.address == "tcp://10.0.0.5:8786"


def test_dask_alone_starts_a_local_cluster_of_worker_processes():
    runner = per_file_runner(Settings(task_runner="dask", file_workers=2))
    assert isinstance(runner, DaskTaskRunner) and runner.address is None
    assert runner.cluster_kwargs["n_workers"] == 2
    assert runner.cluster_kwargs["processes"] is True
    assert runner.cluster_kwargs["host"] == "127.0.0.1"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_unreachable_scheduler_is_one_line_naming_it():
    address = f"tcp://127.0.0.1:{_free_port()}"
    with pytest.raises(ClusterError) as raised:
        check_scheduler(address)
    assert address in str(raised.value) and "\n" not in str(raised.value)


def test_listening_scheduler_passes_the_check():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        check_scheduler(f"tcp://127.0.0.1:{server.getsockname()[1]}")
