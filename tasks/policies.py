"""Task policies: cache keys for per-file work, and retries for transient I/O errors.

Caching: a retried flow run should resume instead of redoing work.
A retried parent flow run keeps its id but gives every subflow a new one, so Prefect's default
policy (which includes the run id) would redo everything. Per-file work is keyed instead on the
task's source code, the root flow run, and the task's inputs minus the run's clock.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from prefect.cache_policies import TASK_SOURCE, CacheKeyFnPolicy
from prefect.context import TaskRunContext
from prefect.utilities.hashing import hash_objects


def _stable_inputs(context: TaskRunContext, parameters: dict[str, Any]) -> str | None:
    stable = {}
    for name, value in parameters.items():
        if name == "settings":
            # started_at differs between attempts of the same flow run; the file identity,
            # the flow run and the knobs are what decide the result.
            value = dataclasses.replace(value, started_at=None)
        stable[name] = value
    return hash_objects(context.task.name, stable)


PER_RUN_CACHE = CacheKeyFnPolicy(cache_key_fn=_stable_inputs) + TASK_SOURCE


def _is_transient(task: Any, task_run: Any, state: Any) -> bool:
    """Retry I/O failures, but not a location that is simply wrong (StorageError)."""
    from tasks.storage import StorageError

    try:
        state.result()
    except StorageError:
        return False
    except Exception:  # noqa: BLE001 - anything else may be a passing fault
        return True
    return False


IO_RETRIES: dict[str, Any] = dict(
    retries=3, retry_delay_seconds=[1, 5, 20], retry_condition_fn=_is_transient
)
