"""Warehouse credentials in a Prefect block, and warehouses that cannot be reached."""

from __future__ import annotations

import pytest

from tasks.blocks import WarehouseCredentials
from tests.integration.conftest import POSTGRES_URL
from tests.integration.helpers import QUICK_TIMEOUT, cli, single_error_line, streams_csv
from tests.integration.scenarios import HOUR_11

SECRET = "pw-7d1f3c-never-shown"


# The block describes a server warehouse: PostgreSQL here (Redshift in production).
@pytest.mark.parametrize("new_warehouse", ["postgresql"], indirect=True)
def test_warehouse_from_a_credentials_block_keeps_the_password_out_of_sight(stores):
    from prefect.client.orchestration import get_client
    from sqlalchemy.engine import make_url

    server = make_url(POSTGRES_URL)
    WarehouseCredentials(
        dialect="postgresql+psycopg2",
        host=server.host,
        port=server.port or 5432,
        database=server.database,
        username=server.username,
        password=SECRET,  # trust authentication on the test server ignores it
    ).save("test-warehouse", overwrite=True)
    stores.write("streams/a.csv", streams_csv(HOUR_11))

    state = stores.run(warehouse="block:test-warehouse", return_state=True)

    assert state.is_completed() and state.result().rows_loaded == 2
    assert stores.event_count() == 2

    async def flow_run_parameters():
        async with get_client() as client:
            run = await client.read_flow_run(state.state_details.flow_run_id)
            return run.parameters

    import asyncio

    parameters = asyncio.run(flow_run_parameters())
    assert parameters["warehouse"] == "block:test-warehouse"
    assert SECRET not in repr(parameters)


def _run(warehouse: str, tmp_path):
    (tmp_path / "landing").mkdir(exist_ok=True)
    return cli(
        "run", "--landing", str(tmp_path / "landing"), "--lake", str(tmp_path / "lake"),
        "--warehouse", warehouse, cwd=tmp_path, timeout=QUICK_TIMEOUT,
    )  # fmt: skip


def test_unreachable_postgres_is_one_line_without_the_password(tmp_path):
    result = _run(f"postgresql+psycopg2://etl:{SECRET}@127.0.0.1:1/test", tmp_path)
    assert result.returncode == 2
    assert single_error_line(result).startswith("music-etl: error: cannot connect to warehouse")
    assert SECRET not in result.stderr + result.stdout
    assert not (tmp_path / "lake").exists()


def test_missing_warehouse_block_is_one_line(tmp_path):
    result = _run("block:no-such-warehouse", tmp_path)
    assert result.returncode == 2
    assert single_error_line(result) == (
        "music-etl: error: no warehouse block named 'no-such-warehouse'"
    )
