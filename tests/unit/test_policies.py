"""Which failures a task retries: transient I/O only, never bad input or programming errors."""

from __future__ import annotations

import duckdb
import psycopg2
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

from tasks.policies import IO_RETRIES, is_transient, retry_delays
from tasks.storage import ObjectMissing, StorageError


def _s3_error(status: int, code: str) -> ClientError:
    response = {"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}
    return ClientError(response, "GetObject")


@pytest.mark.parametrize(
    "error",
    [
        _s3_error(500, "InternalError"),
        _s3_error(503, "ServiceUnavailable"),
        _s3_error(503, "SlowDown"),
        _s3_error(400, "ThrottlingException"),
        _s3_error(429, "TooManyRequests"),
        EndpointConnectionError(endpoint_url="http://s3"),
        ReadTimeoutError(endpoint_url="http://s3"),
        psycopg2.OperationalError("server closed the connection unexpectedly"),
        psycopg2.InterfaceError("connection already closed"),
    ],
    ids=repr,
)
def test_transient_failures_are_retried(error):
    assert is_transient(error)


@pytest.mark.parametrize(
    "error",
    [
        _s3_error(403, "AccessDenied"),
        _s3_error(404, "NoSuchBucket"),
        StorageError("s3://lake: reading x failed: AccessDenied"),
        ObjectMissing("x vanished"),
        psycopg2.errors.NotNullViolation("null value in column"),
        psycopg2.ProgrammingError("syntax error"),
        duckdb.ConstraintException("NOT NULL constraint failed"),
        ValueError("bad input"),
        KeyError("bug"),
        ConnectionError("a test's stand-in for a crash, not a driver error"),
    ],
    ids=repr,
)
def test_permanent_failures_are_not_retried(error):
    assert not is_transient(error)


def test_backoff_is_configurable(monkeypatch):
    monkeypatch.delenv("MUSIC_ETL_RETRY_DELAYS", raising=False)
    assert retry_delays() == [1, 5, 20]  # production default: grows between attempts
    monkeypatch.setenv("MUSIC_ETL_RETRY_DELAYS", "0.5,2")
    assert retry_delays() == [0.5, 2]
    assert IO_RETRIES["retries"] == 3


@pytest.mark.parametrize(
    "error, its_fault",
    [
        (ValueError("year 0 is out of range"), True),
        (TypeError("unsupported operand"), True),
        (OverflowError("int too large"), True),
        (__import__("pyarrow").ArrowInvalid("CSV parse error"), True),
        (StorageError("bucket gone"), False),
        (ObjectMissing("raw copy gone"), False),
        (OSError(28, "No space left on device"), False),
        (_s3_error(503, "SlowDown"), False),
        (RuntimeError("a bug, or a library in a bad state"), False),
        (IndexError("string index out of range"), False),
    ],
    ids=repr,
)
def test_only_data_errors_are_a_files_own_fault(error, its_fault):
    from tasks.policies import is_the_files_fault

    assert is_the_files_fault(error) is its_fault
