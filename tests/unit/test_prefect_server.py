"""The CLI's temporary Prefect server: a server that cannot come up ends in one clear error, and
no process is left behind (the real start is exercised by the CLI tests and `make run`)."""

from __future__ import annotations

import sys

import pytest

from cli import prefect_server
from cli.prefect_server import ServerStartError, TemporaryPrefectServer


def _serve_with(monkeypatch, code: str) -> TemporaryPrefectServer:
    monkeypatch.setattr(prefect_server, "_command", lambda port: [sys.executable, "-c", code])
    return TemporaryPrefectServer(startup_wait=5)


def test_a_server_that_exits_while_starting_is_reported_with_its_exit_code(monkeypatch):
    server = _serve_with(monkeypatch, "raise SystemExit(7)")
    server.launch()
    with pytest.raises(ServerStartError, match="exited with code 7 while starting"):
        server.wait_until_up()
    server.stop()
    assert server.process is None


def test_a_server_that_never_answers_is_given_up_and_stopped(monkeypatch):
    server = _serve_with(monkeypatch, "import time; time.sleep(60)")
    server.startup_wait = 0.5
    server.launch()
    process = server.process
    with pytest.raises(ServerStartError, match="did not answer within 0 s"):
        server.wait_until_up()
    server.stop()
    assert process.poll() is not None  # terminated, not left running


def test_a_port_taken_before_the_server_binds_means_another_port(monkeypatch):
    launches = []
    exits = iter([prefect_server.PORT_IN_USE, 7])
    monkeypatch.setattr(
        prefect_server, "_command", lambda port: launches.append(port) or
        [sys.executable, "-c", f"raise SystemExit({next(exits)})"],
    )  # fmt: skip
    server = TemporaryPrefectServer(startup_wait=10)
    server.launch()
    with pytest.raises(ServerStartError, match="code 7"):
        server.wait_until_up()
    assert len(launches) == 2  # relaunched once after "port in use", then its real failure
