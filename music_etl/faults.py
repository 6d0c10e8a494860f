"""Which failures are worth another attempt, and which are one file's own fault.

Transient: S3 server faults and throttling, network errors, a dropped warehouse connection (a
retry may not meet them). A file's own fault: a failure in reading, checking or transforming
its rows that no other file would meet (that file is rejected, the run goes on). Everything else
(a wrong location, denied access, a broken table, a bug outside one file's work) fails the run.
"""

from __future__ import annotations

from music_etl.storage import StorageError
from music_etl.warehouse.base import WarehouseError


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

    if isinstance(exc, (StorageError, WarehouseError, OSError)) or is_transient(exc):
        return False
    return isinstance(exc, (ValueError, TypeError, ArithmeticError, pyarrow.ArrowException))