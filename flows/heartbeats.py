"""Flow-run heartbeats: the parent flow run's only.

A heartbeat lets a Prefect server mark a flow run Crashed when its process dies. The subflows
of a run live in their parent's process, so the parent's heartbeat already says whether that
process is alive. Each flow run's exit waits up to a second for its heartbeat thread (Prefect
3.9's thread sleeps in one-second steps): with four subflows that was four seconds of every
run, most of a run with nothing new. Subflows started inside `subflows_without_heartbeats()`
send none.
"""

from __future__ import annotations

from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings


def subflows_without_heartbeats():
    """Flow runs started in this context (the caller's own run is already beating) send no
    heartbeats."""
    return temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None})
