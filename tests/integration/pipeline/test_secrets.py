"""Planted secrets (a warehouse block's password, a password in a warehouse URL, an AWS secret
key in an S3 block's credentials) never reach an output: console, logs (local and the API's),
artifacts, Data Docs, lake objects, stored flow and task runs, persisted results, errors."""

from __future__ import annotations

import asyncio
import logging
import traceback
import uuid
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

import tasks.connections
from cli.main import main as music_etl_main
from flows.pipeline import music_etl_pipeline
from music_etl.quality.data_docs import workspace
from music_etl.settings import Settings, configure
from tasks.blocks import WarehouseCredentials
from tests.integration.conftest import POSTGRES_URL, prefect_server
from tests.integration.helpers import upload_landing
from tests.integration.scenarios import write_abc

RUN_ID = uuid.uuid4().hex[:8]
BLOCK_PASSWORD = f"blockpw-{RUN_ID}"
URL_PASSWORD = f"urlpw-{RUN_ID}"
AWS_SECRET = f"awssecret-{RUN_ID}"
SECRETS = (BLOCK_PASSWORD, URL_PASSWORD, AWS_SECRET)


def _url_with_password(port: int | None = None) -> str:
    url = make_url(POSTGRES_URL).set(password=URL_PASSWORD)  # trust auth ignores it
    return (url.set(port=port) if port else url).render_as_string(hide_password=False)


def _plant_blocks(s3_endpoint: str, suffix: str) -> None:
    from prefect_aws import AwsCredentials, S3Bucket
    from prefect_aws.client_parameters import AwsClientParameters

    server = make_url(POSTGRES_URL)
    WarehouseCredentials(
        dialect="postgresql+psycopg2", host=server.host, port=server.port or 5432,
        database=server.database, username=server.username, password=BLOCK_PASSWORD,
    ).save(f"secret-warehouse-{suffix}", overwrite=True)  # fmt: skip
    credentials = AwsCredentials(
        aws_access_key_id="testing", aws_secret_access_key=AWS_SECRET, region_name="us-east-1",
        aws_client_parameters=AwsClientParameters(endpoint_url=s3_endpoint),
    )  # fmt: skip
    S3Bucket(bucket_name="landing-zone", bucket_folder="in", credentials=credentials).save(
        f"secret-landing-{suffix}", overwrite=True
    )
    S3Bucket(bucket_name="data-lake", credentials=credentials).save(f"secret-lake-{suffix}", overwrite=True)


class _Everything(logging.Handler):
    """Every record of every logger, formatted with its traceback, as a console would show it."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(self.format(record))


@pytest.fixture(scope="module", autouse=True)
def prefect_api_recording_task_runs():
    """This test reads every task run back from the API: a server that records them."""
    with prefect_server(task_run_recorder=True):
        yield


@pytest.fixture
def all_logs():
    handler = _Everything()
    loggers = [logging.getLogger(), logging.getLogger("prefect")]
    for logger in loggers:
        logger.addHandler(handler)
    yield handler
    for logger in loggers:
        logger.removeHandler(handler)


async def _api_records(since) -> dict[str, str]:
    """Flow runs (with parameters and states), task runs, logs and artifacts stored by the API."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        FlowRunFilter,
        FlowRunFilterId,
        FlowRunFilterStartTime,
        LogFilter,
        LogFilterFlowRunId,
    )  # fmt: skip

    async with get_client() as client:
        runs = await client.read_flow_runs(
            flow_run_filter=FlowRunFilter(start_time=FlowRunFilterStartTime(after_=since)), limit=200
        )
        ids = [run.id for run in runs]
        task_runs = await client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=ids)), limit=200
        )
        logs = []
        while batch := await client.read_logs(
            LogFilter(flow_run_id=LogFilterFlowRunId(any_=ids)), limit=200, offset=len(logs)
        ):
            logs.extend(batch)
        artifacts = await client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=ids)), limit=200
        )
    # Two complete runs (parent + 4 subflows each) and the failed parent, at least.
    assert len(runs) >= 11 and task_runs and logs and artifacts
    return {
        "flow run parameters": "\n".join(repr(run.parameters) for run in runs),
        "flow run states": "\n".join(repr(run.state) for run in runs),
        "task runs": "\n".join(repr(task_run) for task_run in task_runs),
        "API logs": "\n".join(log.message for log in logs),
        "artifacts": "\n".join(repr(artifact.data) + repr(artifact.description) for artifact in artifacts),
    }


def _lake_objects(s3) -> str:
    """Every object in the lake bucket, Data Docs pages included, as text."""
    texts = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket="data-lake"):
        for item in page.get("Contents", []):
            body = s3.get_object(Bucket="data-lake", Key=item["Key"])["Body"].read()
            texts.append(item["Key"] + "\n" + body.decode("utf-8", "replace"))
    return "\n".join(texts)


def _files_under(*folders: Path) -> str:
    return "\n".join(
        path.read_bytes().decode("utf-8", "replace")
        for folder in folders if folder.exists()
        for path in folder.rglob("*") if path.is_file()
    )  # fmt: skip


def _failure_text(state) -> str:
    try:
        state.result()
    except Exception as exc:  # noqa: BLE001 - the message is what is checked
        return "\n".join([state.message or "", str(exc), *traceback.format_exception(exc)])
    raise AssertionError("the run was expected to fail")


@pytest.mark.parametrize("new_warehouse", ["postgresql"], indirect=True)
def test_planted_secrets_appear_in_no_output(
    stores, s3, s3_endpoint, capsys, caplog, all_logs, monkeypatch, restored_environ
):
    from datetime import UTC, datetime, timedelta

    from prefect.logging.handlers import APILogHandler
    from prefect.settings import PREFECT_LOCAL_STORAGE_PATH

    since = datetime.now(UTC) - timedelta(seconds=1)
    monkeypatch.setattr(tasks.connections, "_stores", {})
    caplog.set_level(logging.INFO)
    _plant_blocks(s3_endpoint, RUN_ID)
    write_abc(stores)
    upload_landing(s3, stores, "in")
    schema = stores.warehouse.schema
    blocks = [f"--landing=block:secret-landing-{RUN_ID}", f"--lake=block:secret-lake-{RUN_ID}"]

    # 1. Everything from blocks: the passwords live only in secret fields.
    first = music_etl_main(["run", *blocks, f"--warehouse=block:secret-warehouse-{RUN_ID}", f"--schema={schema}"])
    # 2. A password in the warehouse URL given on the command line.
    stores.write("streams/d.csv", "user_id,track_id,listen_time\n5,C1,2026-11-29 08:00:00\n")
    upload_landing(s3, stores, "in")
    second = music_etl_main(["run", *blocks, f"--warehouse={_url_with_password()}", f"--schema={schema}"])
    # 3. A failing run: $MUSIC_ETL_WAREHOUSE holds a password URL to a server that is not there.
    monkeypatch.setenv("MUSIC_ETL_WAREHOUSE", _url_with_password(port=1))
    configure(None)  # as a process started with that environment (the CLI configured its own)
    failed = music_etl_pipeline(
        landing=f"block:secret-landing-{RUN_ID}", lake=f"block:secret-lake-{RUN_ID}",
        warehouse_schema=schema, return_state=True,
    )  # fmt: skip

    # 4. The same URL on the command line: refused before any run, in one line.
    refused = music_etl_main(["run", *blocks, f"--warehouse={_url_with_password(port=1)}", f"--schema={schema}"])

    assert (first, second, refused) == (0, 0, 2) and failed.is_failed()
    assert stores.event_count() == 6  # the runs really used the planted credentials
    APILogHandler().flush()
    console = capsys.readouterr()
    outputs = {
        "CLI stdout": console.out,
        "CLI stderr": console.err,  # the refused run's error line
        "caplog": caplog.text,
        "every logger": "\n".join(all_logs.lines),
        **asyncio.run(_api_records(since)),
        "lake objects and Data Docs": _lake_objects(s3),
        "local Data Docs and GX workspace": _files_under(*workspace(tasks.connections.open_store(f"block:secret-lake-{RUN_ID}", Settings()))),
        "persisted task results": _files_under(Path(PREFECT_LOCAL_STORAGE_PATH.value())),
        "failed run's error": _failure_text(failed),
    }
    for name, text in outputs.items():
        assert text.strip(), f"{name}: nothing captured, so nothing was checked"
        for secret in SECRETS:
            assert secret not in text, f"{name} shows a planted secret"
    assert "cannot connect to warehouse" in outputs["failed run's error"]
    assert "***" in outputs["flow run parameters"] or "**********" in outputs["flow run parameters"]
