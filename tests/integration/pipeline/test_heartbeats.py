"""Subflows send no heartbeats of their own: each flow run's exit waits up to a second for its
heartbeat thread, four seconds of every pipeline run with its four subflows."""

from __future__ import annotations

from prefect import flow
from prefect.settings import (
    PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
    get_current_settings,
    temporary_settings,
)

from flows.heartbeats import subflows_without_heartbeats


@flow
def _child() -> int | None:
    return get_current_settings().flows.heartbeat_frequency


@flow
def _parent() -> tuple[int | None, int | None]:
    own = get_current_settings().flows.heartbeat_frequency
    with subflows_without_heartbeats():
        return own, _child()


def test_the_parent_beats_and_its_subflows_do_not():
    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: 30}):
        assert _parent() == (30, None)
