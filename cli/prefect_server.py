"""The temporary Prefect server of a local run (no PREFECT_API_URL and no server to reuse).

It is the server Prefect would start by itself (its `SubprocessASGIServer`: uvicorn serving
`prefect.server.api.server:create_app` in a child process, UI off, only the services meant for
a temporary server), and the run then talks to it at its address like to any other server. It
is started here because Prefect's own starter lives in the server's API module: importing that
into the command's process (958 modules, 2.6-3.2 s of CPU on the 2-core machine) only to learn
a command line sat on every local run's critical path, before the server process even began.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from urllib.request import urlopen

# uvicorn's exit code when it cannot bind: another process took the port between our choice
# and its bind. Prefect's starter picks another port then, and so does this one.
PORT_IN_USE = 3


class ServerStartError(RuntimeError):
    """The temporary server did not come up."""


class TemporaryPrefectServer:
    """`launch()` starts the server process and returns at once (it boots while the command
    goes on); `wait_until_up()` waits for its health check; `stop()` ends it."""

    def __init__(self, startup_wait: float):
        self.startup_wait = startup_wait
        self.port: int | None = None
        self.process: subprocess.Popen | None = None

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def launch(self) -> None:
        self.port = _free_port()
        self.process = subprocess.Popen(_command(self.port), env=_environment())

    def wait_until_up(self) -> None:
        assert self.process is not None, "launch() first"
        deadline = time.monotonic() + self.startup_wait
        while time.monotonic() < deadline:
            code = self.process.poll()
            if code == PORT_IN_USE:
                self.launch()
                continue
            if code is not None:
                raise ServerStartError(
                    f"the temporary Prefect server exited with code {code} while starting "
                    "(its own messages are above)"
                )
            try:
                with urlopen(f"{self.api_url}/health", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                pass  # not listening yet
            time.sleep(0.1)
        raise ServerStartError(
            f"the temporary Prefect server did not answer within {self.startup_wait:.0f} s "
            "(PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS)"
        )

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _command(port: int) -> list[str]:
    """The command line of Prefect 3.9's `SubprocessASGIServer._run_uvicorn_command`."""
    import prefect

    return [
        sys.executable, "-m", "uvicorn",
        "--app-dir", str(prefect.__module_path__.parent),
        "--factory", "prefect.server.api.server:create_app",
        "--host", "127.0.0.1", "--port", str(port),
        "--log-level", "error", "--lifespan", "on",
    ]  # fmt: skip


def _environment() -> dict[str, str]:
    """Prefect's environment for the server process: the UI off, the server told it is a
    temporary one (it runs the services meant for that), and the settings of this process."""
    from prefect.settings import get_current_settings

    return {
        **os.environ,
        "PREFECT_UI_ENABLED": "0",
        "PREFECT__SERVER_EPHEMERAL": "1",
        "PREFECT__SERVER_FINAL": "1",
        **get_current_settings().to_environment_variables(exclude_unset=True),
    }
