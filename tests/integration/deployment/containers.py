"""What the container tests stand on: a Docker engine, a local registry (ECR's stand-in), the
local Debian base image, a real `prefect server`, a moto S3 server and an own PostgreSQL
database. Every server a fixture starts listens on 127.0.0.1 and is stopped by its PID."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from tests.integration.servers import free_port, prefect_server_process  # noqa: F401 (used as c.*)

ROOT = Path(__file__).resolve().parents[3]
PREFECT = str(Path(sys.executable).with_name("prefect"))
REGISTRY = os.environ.get("MUSIC_ETL_REGISTRY_ADDR", "127.0.0.1:5000")
BASE_IMAGE = "local/debian-python:bookworm"
POSTGRES_ADMIN = os.environ.get("MUSIC_ETL_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test")
# Generous: two cores shared with other test runs; a deadline only turns a hang into a failure.
RUN_DEADLINE = 900


def _pids(state: Path) -> dict[str, int]:
    return {p.stem: int(p.read_text()) for p in state.glob("*.pid")}


@contextmanager
def container_engine(state: Path):
    """Yields None when the engine and registry run (started here when they were not: stopped
    again by PID at the end), or the reason they cannot run."""
    env = {**os.environ, "MUSIC_ETL_ENGINE_STATE": str(state), "MUSIC_ETL_REGISTRY_ADDR": REGISTRY}
    result = subprocess.run(
        ["bash", str(ROOT / "deployments/container-engine.sh"), "start"],
        env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    started = _pids(state)
    try:
        if result.returncode != 0:
            yield f"Docker engine or registry cannot start here: {result.stderr.strip()[-500:]}"
        else:
            yield None
    finally:
        for pid in started.values():
            try:
                os.kill(pid, 15)
            except ProcessLookupError:
                pass


def build_base_image() -> None:
    subprocess.run(
        ["bash", str(ROOT / "deployments/local-base-image.sh")], check=True, timeout=1800
    )


def wait_for(condition, what: str, deadline: float = RUN_DEADLINE, every: float = 1.0):
    end = time.monotonic() + deadline
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > end:
            raise TimeoutError(f"gave up waiting for {what} after {deadline} s")
        time.sleep(every)


@contextmanager
def own_database():
    """A PostgreSQL database of this module's own (the warehouse block points at it)."""
    import psycopg2

    name = f"music_etl_containers_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(POSTGRES_ADMIN)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def prefect_database_url(database: str) -> str:
    """Prefect's own connection URL for a database on the test PostgreSQL server."""
    from sqlalchemy.engine import make_url

    url = make_url(POSTGRES_ADMIN).set(drivername="postgresql+asyncpg", database=database)
    return url.render_as_string(hide_password=False)


def client_call(api: str, coroutine_fn):
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    async def call():
        async with get_client() as client:
            return await coroutine_fn(client)

    def in_own_thread():  # callable from inside a running loop too (Playwright's sync API)
        with temporary_settings({PREFECT_API_URL: api}):
            return asyncio.run(call())

    with ThreadPoolExecutor(max_workers=1) as executor:
        return executor.submit(in_own_thread).result()


def run(args: list[str], env: dict[str, str], timeout: float = 1800) -> subprocess.CompletedProcess:
    result = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{args} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return result


def registry_tags(repository: str) -> list[str]:
    with urllib.request.urlopen(f"http://{REGISTRY}/v2/{repository}/tags/list", timeout=10) as r:
        return json.load(r).get("tags") or []


def docker_work_pool_template() -> dict:
    """prefect-docker's template with host networking (no bridge on this machine) as default."""
    from prefect_docker.worker import DockerWorker

    template = DockerWorker.get_default_base_job_template()
    template["variables"]["properties"]["network_mode"]["default"] = "host"
    return template


@contextmanager
def background_worker(pool: str, kind: str, env: dict[str, str], log: Path):
    """`prefect worker start --type KIND` in the background; stopped by PID."""
    process = subprocess.Popen(
        [PREFECT, "worker", "start", "--pool", pool, "--type", kind],
        cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
