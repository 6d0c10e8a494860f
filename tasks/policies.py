"""Task policies: cache keys for per-file work, and retries for transient I/O errors.

Caching: a retried flow run should resume instead of redoing work.
A retried parent flow run keeps its id but gives every subflow a new one, so Prefect's default
policy (which includes the run id) would redo everything. Per-file work is keyed instead on the
task's source code, the root flow run, and the task's inputs minus the run's clock.
"""

from __future__ import annotations

import dataclasses
import os
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


# S3 error codes worth another attempt: server faults and throttling (HTTP 5xx, 429, or a
# throttling code on a 400). AccessDenied, NoSuchBucket and bad credentials are not among them.
_TRANSIENT_S3_CODES = {
    "InternalError", "ServiceUnavailable", "SlowDown", "Throttling", "ThrottlingException",
    "ThrottledException", "RequestThrottled", "RequestTimeout", "RequestLimitExceeded",
    "TooManyRequestsException", "500", "502", "503", "504",
}  # fmt: skip


def _is_transient_s3(exc: BaseException) -> bool:
    from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

    if isinstance(exc, (ConnectionError, HTTPClientError)):  # timeouts, resets, refused
        return True
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        code = str(exc.response.get("Error", {}).get("Code", ""))
        return code in _TRANSIENT_S3_CODES or status >= 500 or status == 429
    return False


def _is_dropped_connection(exc: BaseException) -> bool:
    """The warehouse connection broke (server restart, failover, network): a new one may work.
    Constraint violations, SQL errors and missing tables are not transient."""
    import psycopg2
    import sqlalchemy.exc

    return isinstance(
        exc,
        (
            psycopg2.OperationalError,
            psycopg2.InterfaceError,  # "connection already closed"
            sqlalchemy.exc.OperationalError,
            sqlalchemy.exc.InterfaceError,
            sqlalchemy.exc.DisconnectionError,
        ),
    )


def is_transient(exc: BaseException) -> bool:
    """True for failures another attempt may not meet: S3 server faults and throttling, network
    errors, a dropped warehouse connection. Bad input, missing locations, permissions and
    programming errors fail at once."""
    from tasks.storage import StorageError

    if isinstance(exc, StorageError):  # a wrong location, missing object, denied access
        return False
    return _is_transient_s3(exc) or _is_dropped_connection(exc)


def is_the_files_fault(exc: BaseException) -> bool:
    """A failure inside one file's own work (reading, checking, transforming its rows) that
    the other files would not meet: a data error (a value out of range, a type or encoding
    that does not fit). That file is rejected and the run goes on. Storage, warehouse,
    operating-system and transient failures belong to the run, and so does anything else (a
    bug or a broken library must fail the run loudly, not reject good files quietly)."""
    import pyarrow
    from tasks.storage import StorageError
    from tasks.warehouse import WarehouseError

    if isinstance(exc, (StorageError, WarehouseError, OSError)) or is_transient(exc):
        return False
    return isinstance(exc, (ValueError, TypeError, ArithmeticError, pyarrow.ArrowException))


def _is_transient(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect's retry_condition_fn: retry only what `is_transient` calls transient."""
    try:
        state.result()
    except Exception as exc:  # noqa: BLE001 - classified below
        return is_transient(exc)
    return False


def retry_delays(default: str = "1,5,20") -> list[float]:
    """Backoff between task attempts, in seconds: $MUSIC_ETL_RETRY_DELAYS (comma separated,
    read at import) or 1, 5, 20. Tests set it to near zero."""
    raw = os.environ.get("MUSIC_ETL_RETRY_DELAYS") or default
    return [float(part) for part in raw.split(",")]


IO_RETRIES: dict[str, Any] = dict(
    retries=3, retry_delay_seconds=retry_delays(), retry_condition_fn=_is_transient
)
"""For tasks that touch S3 or the warehouse. Loads are safe to retry: each file's load is one
transaction guarded by the ledger, and KPI recomputation is a delete-and-rebuild of pending hours."""
