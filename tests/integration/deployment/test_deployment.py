"""`prefect deploy` as users ship the pipeline, against a real `prefect server` on 127.0.0.1.

The ECS pool cannot run anything here (no AWS); what can be proven is: the project, Dockerfile and
prefect.yaml agree; bootstrap creates the blocks and the ECS pool idempotently; the real
deployments register with typed, described parameters; and the same flow, deployed to a process
pool, runs the way the UI starts it (flow run through the API, a `prefect worker` picks it up),
publishes its artifacts, and resumes from cache when retried the way the UI's Retry button does.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
import yaml

from tests.integration.helpers import Stores, Warehouse, streams_csv
from tests.integration.scenarios import DAY_2, EXPECTED_HOURLY, HOUR_10, HOUR_11
from tests.integration.servers import prefect_server_process

ROOT = Path(__file__).resolve().parents[3]
PREFECT = str(Path(sys.executable).with_name("prefect"))
ROLE = "arn:aws:iam::123456789012:role/music-etl-{}"


def _prefect_yaml() -> dict:
    return yaml.safe_load((ROOT / "prefect.yaml").read_text())


# --- the project, the Dockerfile and prefect.yaml agree (no server, no Docker engine) ---------


def test_dockerfile_installs_the_locked_project_and_runs_as_non_root():
    dockerfile = (ROOT / "Dockerfile").read_text()
    copies = re.findall(r"^COPY (?!--from)(.+) \S+$", dockerfile, flags=re.MULTILINE)
    sources = [source for line in copies for source in line.split()]
    assert {"pyproject.toml", "uv.lock"} <= set(sources)
    for source in sources:
        assert (ROOT / source).exists(), f"Dockerfile copies {source}, which does not exist"
    installs = re.findall(r"^RUN (.*(?:pip|uv) .*)$", dockerfile, flags=re.MULTILINE)
    assert installs
    # exactly the lock's runtime dependencies: frozen, without the dev and deploy groups
    assert all("uv sync --frozen --no-default-groups" in line or "uv==" in line for line in installs)
    assert re.search(r"^ARG BASE_IMAGE=python:3.11-slim$", dockerfile, flags=re.MULTILINE)
    assert re.search(r"^USER (?!root)\S+", dockerfile, flags=re.MULTILINE)
    workdir = re.search(r"^WORKDIR (\S+)", dockerfile, flags=re.MULTILINE).group(1)
    pull = _prefect_yaml()["pull"][0]["prefect.deployments.steps.set_working_directory"]
    assert pull["directory"] == workdir
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert not set(sources) & set(ignored)


def test_dockerfile_copies_every_package_the_project_installs():
    dockerfile = (ROOT / "Dockerfile").read_text()
    pyproject = (ROOT / "pyproject.toml").read_text()
    packages = re.search(r'packages = \[(.*?)\]', pyproject).group(1)
    for package in re.findall(r'"(\w+)"', packages):
        assert f"COPY {package}/ {package}/" in dockerfile
    assert "COPY expectations/ expectations/" in dockerfile  # suites are read at run time


def test_prefect_yaml_builds_for_amd64_with_the_image_settings_step_and_pushes():
    config = _prefect_yaml()
    steps = {name: body for step in config["build"] for name, body in step.items()}
    assert steps["music_etl.image_build.checked_image_settings"]["id"] == "image"
    build = steps["prefect_docker.deployments.steps.build_docker_image"]
    assert build["platform"] == "linux/amd64"
    assert build["tag"] == "{{ image.tag }}" and build["image_name"] == "{{ image.image_name }}"
    assert build["buildargs"] == "{{ image.buildargs }}"
    push = config["push"][0]["prefect_docker.deployments.steps.push_docker_image"]
    assert push["tag"] == "{{ build-image.tag }}"


def test_prefect_yaml_entrypoints_parameters_and_job_variables():
    from prefect.flows import load_flow_from_entrypoint

    config = _prefect_yaml()
    for deployment in config["deployments"]:
        flow = load_flow_from_entrypoint(str(ROOT / deployment["entrypoint"]))
        assert set(deployment["parameters"]) <= set(flow.parameters.properties)
        variables = deployment["work_pool"]["job_variables"]
        # cpu and memory come from the work pool's template only (one place: bootstrap.py)
        assert "cpu" not in variables and "memory" not in variables
        assert isinstance(variables["env"], dict)
        assert all(isinstance(v, str) for v in variables["env"].values())
        assert deployment["concurrency_limit"]["limit"] == 1
    text = yaml.safe_dump(config).lower()  # the values, not the comments
    for secret_looking in ("password", "secret_access", "aws_secret", "akia"):
        assert secret_looking not in text


def test_committed_ecs_template_is_prefect_aws_default_with_our_defaults():
    from deployments.bootstrap import TEMPLATE_PATH, ecs_base_job_template

    assert json.loads(TEMPLATE_PATH.read_text()) == ecs_base_job_template()


# --- a real Prefect server -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`prefect server start` on 127.0.0.1 with its own home and database; stopped afterwards."""
    with prefect_server_process(tmp_path_factory.mktemp("prefect-server-home"), ui=False) as api:
        yield api


def _env(api: str, home: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, "PREFECT_API_URL": api, "PREFECT_HOME": str(home), **extra}
    return env


def _run(args: list[str], env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess:
    result = subprocess.run(
        args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, f"{args} failed:\n{result.stdout}\n{result.stderr}"
    return result


def _client_call(api: str, coroutine_fn):
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    async def call():
        async with get_client() as client:
            return await coroutine_fn(client)

    with temporary_settings({PREFECT_API_URL: api}):
        return asyncio.run(call())


BOOTSTRAP_ENV = {
    "MUSIC_ETL_LANDING_BUCKET": "acme-landing",
    "MUSIC_ETL_LAKE_BUCKET": "acme-lake",
    "MUSIC_ETL_LAKE_PREFIX": "music",
    "MUSIC_ETL_RESULTS_BUCKET": "acme-prefect-results",
    "MUSIC_ETL_WAREHOUSE_HOST": "music.abc123.eu-west-1.redshift.amazonaws.com",
    "MUSIC_ETL_WAREHOUSE_USER": "etl",
    "MUSIC_ETL_WAREHOUSE_PASSWORD": "bootstrap-secret-9f2",
    "MUSIC_ETL_REDSHIFT_IAM_ROLE": ROLE.format("redshift-copy"),
    "MUSIC_ETL_SLACK_WEBHOOK_URL": "https://hooks.slack.example/T000/B000/XXX",
    "AWS_DEFAULT_REGION": "eu-west-1",
}


@pytest.fixture(scope="module")
def bootstrapped(server, tmp_path_factory):
    """The ECS work pool and the blocks, created by the bootstrap command (run twice)."""
    env = _env(server, tmp_path_factory.mktemp("bootstrap-home"), **BOOTSTRAP_ENV)
    first = _run([sys.executable, "-m", "deployments.bootstrap"], env)
    second = _run([sys.executable, "-m", "deployments.bootstrap"], env)
    return first.stdout, second.stdout


def test_bootstrap_creates_blocks_and_the_ecs_pool_idempotently(server, bootstrapped):
    first, second = bootstrapped
    assert "work pool music-etl-ecs: created" in first
    assert "work pool music-etl-ecs: updated" in second
    assert first.count(": saved") == second.count(": saved") == 6

    async def read(client):
        pool = await client.read_work_pool("music-etl-ecs")
        names = {
            f"{b.block_type.slug}/{b.name}" for b in await client.read_block_documents()
        }
        return pool, names

    pool, names = _client_call(server, read)
    assert pool.type == "ecs"
    assert pool.base_job_template["variables"]["properties"]["cpu"]["default"] == 2048
    assert {
        "aws-credentials/music-etl-aws", "s3-bucket/music-etl-landing", "s3-bucket/music-etl-lake",
        "s3-bucket/music-etl-results", "music-etl-warehouse/music-etl-warehouse",
        "slack-webhook/music-etl-alerts",
    } <= names  # fmt: skip
    assert BOOTSTRAP_ENV["MUSIC_ETL_WAREHOUSE_PASSWORD"] not in first + second


def _test_prefect_file(tmp_path: Path, image: str) -> Path:
    """The real prefect.yaml without its build and push sections (no Docker engine here) and
    with the image those would have produced; everything else is the file users deploy."""
    config = _prefect_yaml()
    config.pop("build")
    config.pop("push")
    for deployment in config["deployments"]:
        deployment["work_pool"]["job_variables"] = {
            **deployment["work_pool"]["job_variables"], "image": image
        }
    path = tmp_path / "prefect.test.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def test_prefect_deploy_all_registers_the_ecs_deployments(server, bootstrapped, tmp_path):
    image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/music-etl:0123456789ab"
    env = _env(
        server, tmp_path,
        MUSIC_ETL_TASK_ROLE_ARN=ROLE.format("task"),
        MUSIC_ETL_EXECUTION_ROLE_ARN=ROLE.format("execution"),
    )  # fmt: skip
    prefect_file = _test_prefect_file(tmp_path, image)

    _run([PREFECT, "--no-prompt", "deploy", "--all", "--prefect-file", str(prefect_file)], env)

    async def read(client):
        return {
            name: await client.read_deployment_by_name(f"music-etl/{name}")
            for name in ("hourly", "backfill")
        }

    deployments = _client_call(server, read)
    hourly, backfill = deployments["hourly"], deployments["backfill"]
    for deployment in deployments.values():
        variables = deployment.job_variables
        assert deployment.work_pool_name == "music-etl-ecs"
        assert variables["image"] == image
        assert "cpu" not in variables  # the pool's template gives 2048 / 8192
        assert variables["task_role_arn"] == ROLE.format("task")
        assert variables["execution_role_arn"] == ROLE.format("execution")
        assert variables["env"]["PREFECT_RESULTS_DEFAULT_STORAGE_BLOCK"] == (
            "s3-bucket/music-etl-results"
        )
        assert deployment.global_concurrency_limit.limit == 1
        assert deployment.concurrency_options.collision_strategy == "ENQUEUE"
        assert deployment.parameters["warehouse"] == "block:music-etl-warehouse"
        schema = deployment.parameter_openapi_schema["properties"]
        for name, field in schema.items():
            assert field.get("description"), f"{name} has no description"
            assert "default" in field, f"{name} has no default"
            assert field.get("type") or field.get("anyOf"), f"{name} has no type"
    assert schema["max_invalid_fraction"]["type"] == "number"
    assert schema["force_reingest"]["type"] == "boolean"
    assert [s.schedule.cron for s in hourly.schedules] == ["5 * * * *"]
    assert backfill.schedules == []
    assert backfill.parameters["force_reingest"] is False

    replay = _client_call(
        server, lambda client: client.read_deployment_by_name("replay-quarantine/replay-quarantine")
    )
    assert replay.schedules == [] and replay.global_concurrency_limit.limit == 1
    assert replay.parameters["lake"] == "block:music-etl-lake"
    replay_schema = replay.parameter_openapi_schema["properties"]
    assert set(replay_schema) == {"lake", "warehouse", "warehouse_schema", "task_runner"}
    assert all(field.get("description") for field in replay_schema.values())


# --- the same flow run the way the UI runs it: process pool, API-created run, a real worker ------


def _process_deployment(tmp_path: Path, stores: Stores) -> Path:
    config = {
        "name": "music-etl",
        "prefect-version": "3.9.1",
        "pull": [{"prefect.deployments.steps.set_working_directory": {"directory": str(ROOT)}}],
        "deployments": [
            {
                "name": "local",
                "entrypoint": "flows/pipeline.py:music_etl_pipeline",
                "work_pool": {"name": "test-process"},
                "parameters": {
                    "landing": str(stores.landing),
                    "lake": str(stores.lake),
                    "warehouse": stores.warehouse_url,
                },
            }
        ],
    }
    path = tmp_path / "prefect.process.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _flow_run(api: str, flow_run_id):
    return _client_call(api, lambda client: client.read_flow_run(flow_run_id))


def _work(api: str, env: dict[str, str]) -> None:
    """One polling round of a real worker: it picks up the scheduled run and runs it."""
    _run([PREFECT, "worker", "start", "--pool", "test-process", "--run-once"], env, timeout=600)


def _break_streams_table(path: Path) -> None:
    """An operator mistake: a NOT NULL column the loader does not know, so loads fail."""
    with duckdb.connect(str(path)) as connection:
        connection.execute("CREATE SCHEMA IF NOT EXISTS music")
        connection.execute(
            "CREATE TABLE music.streams (user_id BIGINT NOT NULL, track_id VARCHAR NOT NULL,"
            " listen_time TIMESTAMP NOT NULL, listen_hour TIMESTAMP NOT NULL,"
            " listen_date DATE NOT NULL, source_file VARCHAR NOT NULL,"
            " loaded_at TIMESTAMP NOT NULL, region VARCHAR NOT NULL)"
        )


def test_a_deployed_run_started_like_the_ui_fails_then_resumes_on_retry(server, tmp_path):
    from prefect.client.schemas.objects import StateType
    from prefect.states import State

    warehouse_file = tmp_path / "w.duckdb"
    stores = Stores.fresh(tmp_path / "stores", Warehouse(f"duckdb:///{warehouse_file}"))
    stores.write("streams/2026/11/27/10.csv", streams_csv(HOUR_10))
    stores.write("streams/2026/11/27/11.csv", streams_csv(HOUR_11))
    stores.write("streams/2026/11/28/09.csv", streams_csv(DAY_2))
    _break_streams_table(warehouse_file)
    env = _env(server, tmp_path / "worker-home")
    (tmp_path / "worker-home").mkdir()
    _run([PREFECT, "work-pool", "create", "test-process", "--type", "process", "--overwrite"], env)
    _run([PREFECT, "--no-prompt", "deploy", "--all", "--prefect-file",
          str(_process_deployment(tmp_path, stores))], env)  # fmt: skip

    async def start(client):
        deployment = await client.read_deployment_by_name("music-etl/local")
        return (await client.create_flow_run_from_deployment(deployment.id)).id

    flow_run_id = _client_call(server, start)
    _work(server, env)
    assert _flow_run(server, flow_run_id).state.type == StateType.FAILED

    # The operator repairs the table and presses Retry, which sends exactly this state.
    with duckdb.connect(str(warehouse_file)) as connection:
        connection.execute("ALTER TABLE music.streams DROP COLUMN region")
    retry = State(type=StateType.SCHEDULED, name="AwaitingRetry", message="Retry from the UI")
    _client_call(server, lambda c: c.set_flow_run_state(flow_run_id, retry, force=False))
    _work(server, env)

    run = _flow_run(server, flow_run_id)
    assert run.state.type == StateType.COMPLETED and run.run_count == 2
    assert stores.kpis()["hourly"] == EXPECTED_HOURLY

    async def tasks_and_artifacts(client):
        from prefect.client.schemas.filters import (
            ArtifactFilter,
            ArtifactFilterFlowRunId,
            FlowRunFilter,
            FlowRunFilterId,
            FlowRunFilterParentFlowRunId,
        )  # fmt: skip

        subflows = await client.read_flow_runs(
            flow_run_filter=FlowRunFilter(parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[flow_run_id]))
        )
        task_runs = await client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[s.id for s in subflows]))
        )
        artifacts = await client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
        )
        return task_runs, artifacts

    task_runs, artifacts = _client_call(server, tasks_and_artifacts)
    validations = [t for t in task_runs if t.name.startswith("validate ")]
    # Each file was validated once, in the first attempt; the retry took all three from the cache.
    assert sorted(t.state.name for t in validations) == ["Cached"] * 3 + ["Completed"] * 3
    keys = {a.key for a in artifacts if a.key}
    assert {"file-counts", "data-docs", "kpi-dashboard", "kpis", "run-summary"} <= keys
    data_docs = next(a for a in artifacts if a.key == "data-docs")
    assert "/runs/" in str(data_docs.data) and "file://" not in str(data_docs.data)
