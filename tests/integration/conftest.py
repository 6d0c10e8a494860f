"""Integration fixtures: one temporary Prefect API for the session, fresh stores per test."""

from __future__ import annotations

import pytest
from prefect.testing.utilities import prefect_test_harness

from tests.integration.helpers import Stores


@pytest.fixture(scope="session", autouse=True)
def prefect_api():
    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def stores(tmp_path) -> Stores:
    return Stores.fresh(tmp_path)
