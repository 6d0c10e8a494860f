"""Create or update everything the deployments need, from environment variables; idempotent.

    .venv/bin/python -m deployments.bootstrap          # blocks + the ECS work pool
    .venv/bin/python -m deployments.bootstrap --check  # only say what is missing

Blocks (overwritten with the current values on every call): AwsCredentials `music-etl-aws`,
S3Bucket `music-etl-landing`, `music-etl-lake`, `music-etl-results`, the warehouse block
`music-etl-warehouse`, and, when a webhook is given, SlackWebhook `music-etl-alerts`. The work
pool `music-etl-ecs` (type ecs) gets deployments/ecs-base-job-template.json. Secrets are read
from the environment and stored only in blocks' secret fields.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

TEMPLATE_PATH = Path(__file__).with_name("ecs-base-job-template.json")

# Our defaults on top of prefect-aws's ECS template; test_deployment checks the committed JSON
# is exactly prefect-aws's template with these applied.
TEMPLATE_DEFAULTS: dict[str, Any] = {
    "cpu": 2048,
    "memory": 8192,
    "launch_type": "FARGATE",
    "family": "music-etl",
    "configure_cloudwatch_logs": True,
    "cloudwatch_logs_prefix": "music-etl",
    "container_name": "music-etl",
}

REQUIRED = [
    "MUSIC_ETL_LANDING_BUCKET",
    "MUSIC_ETL_LAKE_BUCKET",
    "MUSIC_ETL_RESULTS_BUCKET",
    "MUSIC_ETL_WAREHOUSE_HOST",
    "MUSIC_ETL_WAREHOUSE_USER",
    "MUSIC_ETL_WAREHOUSE_PASSWORD",
]


def ecs_base_job_template() -> dict[str, Any]:
    """prefect-aws's default ECS base job template with this project's defaults."""
    from prefect_aws.workers.ecs_worker import ECSWorker

    template = ECSWorker.get_default_base_job_template()
    properties = template["variables"]["properties"]
    for name, value in TEMPLATE_DEFAULTS.items():
        properties[name]["default"] = value
    return template


def missing_settings(env: dict[str, str]) -> list[str]:
    return [name for name in REQUIRED if not env.get(name)]


def save_blocks(env: dict[str, str]) -> list[str]:
    from prefect.blocks.notifications import SlackWebhook
    from prefect_aws import AwsCredentials, S3Bucket
    from prefect_aws.client_parameters import AwsClientParameters

    from tasks.blocks import WarehouseCredentials

    saved = []
    # On ECS the task role supplies AWS credentials; keys are only for running elsewhere.
    credentials = AwsCredentials(
        aws_access_key_id=env.get("AWS_ACCESS_KEY_ID") or None,
        aws_secret_access_key=env.get("AWS_SECRET_ACCESS_KEY") or None,
        region_name=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None,
        aws_client_parameters=AwsClientParameters(endpoint_url=env.get("AWS_ENDPOINT_URL") or None),
    )
    credentials.save("music-etl-aws", overwrite=True)
    saved.append("aws-credentials/music-etl-aws")
    for role in ("landing", "lake", "results"):
        S3Bucket(
            bucket_name=env[f"MUSIC_ETL_{role.upper()}_BUCKET"],
            bucket_folder=env.get(f"MUSIC_ETL_{role.upper()}_PREFIX", ""),
            credentials=credentials,
        ).save(f"music-etl-{role}", overwrite=True)
        saved.append(f"s3-bucket/music-etl-{role}")
    WarehouseCredentials(
        dialect=env.get("MUSIC_ETL_WAREHOUSE_DIALECT", "redshift+psycopg2"),
        host=env["MUSIC_ETL_WAREHOUSE_HOST"],
        port=int(env.get("MUSIC_ETL_WAREHOUSE_PORT", "5439")),
        database=env.get("MUSIC_ETL_WAREHOUSE_DATABASE", "dev"),
        username=env["MUSIC_ETL_WAREHOUSE_USER"],
        password=env["MUSIC_ETL_WAREHOUSE_PASSWORD"],
        iam_role=env.get("MUSIC_ETL_REDSHIFT_IAM_ROLE") or None,
    ).save("music-etl-warehouse", overwrite=True)
    saved.append("music-etl-warehouse/music-etl-warehouse")
    if env.get("MUSIC_ETL_SLACK_WEBHOOK_URL"):
        SlackWebhook(url=env["MUSIC_ETL_SLACK_WEBHOOK_URL"]).save("music-etl-alerts", overwrite=True)
        saved.append("slack-webhook/music-etl-alerts")
    return saved


async def ensure_work_pool(name: str, template: dict[str, Any]) -> str:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate, WorkPoolUpdate
    from prefect.exceptions import ObjectNotFound

    async with get_client() as client:
        try:
            await client.read_work_pool(name)
        except ObjectNotFound:
            await client.create_work_pool(
                WorkPoolCreate(name=name, type="ecs", base_job_template=template)
            )
            return "created"
        await client.update_work_pool(name, WorkPoolUpdate(base_job_template=template))
        return "updated"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report missing settings")
    parser.add_argument("--work-pool", default=os.environ.get("MUSIC_ETL_WORK_POOL", "music-etl-ecs"))
    args = parser.parse_args(argv)
    env = dict(os.environ)
    missing = missing_settings(env)
    if missing:
        print(f"bootstrap: error: set {', '.join(missing)}", file=sys.stderr)
        return 2
    if args.check:
        print("bootstrap: all settings present")
        return 0
    for name in save_blocks(env):
        print(f"block {name}: saved")
    template = json.loads(TEMPLATE_PATH.read_text())
    print(f"work pool {args.work_pool}: {asyncio.run(ensure_work_pool(args.work_pool, template))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
