"""Task policies: cache keys for per-file work, retries for transient I/O errors, and what a
failure of one file's own work becomes.

Caching: a retried flow run should resume instead of redoing work. A retried parent flow run
keeps its id but gives every subflow a new one, so Prefect's default policy (which includes the
run id) would redo everything. Per-file work is keyed instead on the task's source code, the
root flow run, and the task's inputs minus the run's clock.
"""

from __future__ import annotations

from typing import Any

from prefect.cache_policies import TASK_SOURCE, CacheKeyFnPolicy
from prefect.context import TaskRunContext
from prefect.utilities.hashing import hash_objects

from music_etl.faults import is_the_files_fault, is_transient
from music_etl.settings import Settings, load_settings


def _stable_inputs(context: TaskRunContext, parameters: dict[str, Any]) -> str | None:
    stable = {}
    for name, value in parameters.items():
        if isinstance(value, Settings):
            # started_at differs between attempts of the same flow run, and where the work runs
            # (threads, a Dask cluster's address) does not change its result; the file
            # identity, the flow run and the knobs are what decide it.
            value = value.model_copy(update={"started_at": None, "task_runner": None})
        stable[name] = value
    return hash_objects(context.task.name, stable)


PER_RUN_CACHE = CacheKeyFnPolicy(cache_key_fn=_stable_inputs) + TASK_SOURCE


def _is_transient(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect's retry_condition_fn: retry only what `is_transient` calls transient."""
    try:
        state.result()
    except Exception as exc:  # noqa: BLE001 - classified below
        return is_transient(exc)
    return False


# Prefect fixes a task's retry delays when the task is defined, before a run's settings are
# passed down: this one setting is taken from the environment's settings at import.
IO_RETRIES: dict[str, Any] = dict(
    retries=3,
    retry_delay_seconds=list(load_settings().retry_delays),
    retry_condition_fn=_is_transient,
)
"""For tasks that touch S3 or the warehouse. Loads are safe to retry: each file's load is one
transaction guarded by the ledger, and KPI recomputation is a delete-and-rebuild of pending hours."""


def own_failure(exc: Exception, stage: str) -> str:
    """The rejection reason for a failure of one file's own work; anything else is raised
    again (it is the run's failure, not the file's)."""
    if not is_the_files_fault(exc):
        raise exc
    return f"{stage} failed: {type(exc).__name__}: {exc}"
