"""Integration fixtures: one temporary Prefect API for the session, fresh stores per test."""

from __future__ import annotations

import pytest
from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
from prefect.testing.utilities import prefect_test_harness

from tests.integration.helpers import Stores


@pytest.fixture(scope="session", autouse=True)
def prefect_api():
    # Heartbeats only matter to a server watching for crashed runs; each flow run's exit
    # waits up to a second for the heartbeat thread, five flows per pipeline run.
    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        with prefect_test_harness(server_startup_timeout=120):
            yield


@pytest.fixture
def stores(tmp_path) -> Stores:
    return Stores.fresh(tmp_path)
