"""An S3 prefix as an object store. Keys passed in and out are relative to the prefix.

The store takes a boto3 session: the standard credential chain for `s3://bucket/prefix`, or
the session of a Prefect S3Bucket block's credentials (resolved by the tasks' connections).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from music_etl.storage import (
    HIDDEN,
    Listing,
    ObjectInfo,
    ObjectMissing,
    ObjectStore,
    SkippedEntry,
    StorageError,
)

if TYPE_CHECKING:
    from music_etl.settings import Settings

_MISSING = {"NoSuchKey", "404", "NotFound"}
_PERMANENT = {
    "NoSuchBucket", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch",
    "AllAccessDisabled", "InvalidBucketName", "ExpiredToken",
}  # fmt: skip


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def s3_client(
    session: Any,
    settings: Settings,
    client_kwargs: dict[str, Any] | None = None,
    *,
    max_attempts: int | None = None,
    read_timeout: float | None = None,
) -> Any:
    """An S3 client of a boto3 session, retrying 5xx, throttling and network errors with
    botocore's standard mode (exponential backoff with jitter, 5 attempts) unless the given
    client config or AWS_RETRY_MODE say otherwise. Per request is the right level: a task that
    copied 99 objects does not start over because the 100th was throttled."""
    from botocore.config import Config

    kwargs = dict(client_kwargs or {})
    config = kwargs.get("config")
    # Timeouts per request: an endpoint that accepts connections and never answers must not
    # hang the run (botocore waits 60 s per attempt by default). A given config wins.
    ours = Config(
        signature_version="s3v4",  # presigned links: SigV4 is what every region accepts
        connect_timeout=settings.s3_connect_timeout,
        read_timeout=read_timeout or settings.s3_read_timeout,
    )
    if not (config and config.retries) and not settings.s3_retry_mode:
        attempts = max_attempts or settings.s3_max_attempts
        ours = ours.merge(Config(retries={"mode": "standard", "total_max_attempts": attempts}))
    kwargs["config"] = ours.merge(config) if config else ours
    return session.client("s3", **kwargs)


class S3Store:
    """An S3 prefix. ETags are S3's own; listing is by key, as S3 returns it."""

    def __init__(
        self,
        location: str,
        *,
        bucket: str,
        prefix: str,
        session: Any,
        settings: Settings,
        client_kwargs: dict[str, Any] | None = None,
    ):
        self.location = location
        self.bucket_name = bucket
        self.prefix = prefix.strip("/")
        self._client = s3_client(session, settings, client_kwargs)
        # A small request, two attempts: a location that does not answer fails the run at its
        # start within half a minute; requests during the run get the full retry budget.
        self._check_bucket(s3_client(session, settings, client_kwargs, max_attempts=2, read_timeout=10))

    @classmethod
    def from_url(cls, location: str, settings: Settings) -> S3Store:
        """`s3://bucket/prefix` with the standard AWS credential chain (environment, profile,
        instance or task role); boto3 honours `AWS_ENDPOINT_URL`."""
        import boto3

        bucket, _, prefix = location.removeprefix("s3://").partition("/")
        if not bucket:
            raise StorageError(f"{location}: expected s3://bucket/prefix")
        return cls(location, bucket=bucket, prefix=prefix, session=boto3.Session(), settings=settings)

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def url(self, key: str) -> str:
        return f"s3://{self.bucket_name}/{self._key(key)}"

    def share_url(self, key: str, expires_in: int) -> str:
        """A presigned GET (SigV4): a private bucket answers it without other credentials
        until it expires, or until the signing credentials do (an ECS task role's last hours)."""
        from botocore.exceptions import BotoCoreError

        try:
            return self._client.generate_presigned_url(
                "get_object",
                Params={"Bucket": self.bucket_name, "Key": self._key(key)},
                ExpiresIn=expires_in,
            )
        except BotoCoreError as exc:  # NoCredentialsError and the like: one line for the user
            raise StorageError(f"{self.url(key)}: cannot presign a link: {exc}") from exc

    def _translate(self, exc: Exception, what: str) -> Exception:
        code = _error_code(exc)
        if code in _PERMANENT or "credentials" in type(exc).__name__.lower():
            return StorageError(f"{self.location}: {what} failed: {code or type(exc).__name__}")
        if code in _MISSING:
            return ObjectMissing(f"{what}: not found in {self.location}")
        return exc  # transient (throttling, 5xx, network): let the task retry it

    def _check_bucket(self, check: Any) -> None:
        from botocore.exceptions import ConnectionError as BotoConnectionError
        from botocore.exceptions import HTTPClientError

        try:
            check.head_bucket(Bucket=self.bucket_name)
        except Exception as exc:  # noqa: BLE001 - translated below
            code = _error_code(exc)
            if code in {"404", "NoSuchBucket", "NotFound"}:
                raise StorageError(f"bucket {self.bucket_name!r} does not exist") from exc
            if isinstance(exc, (BotoConnectionError, HTTPClientError)):  # refused, timed out
                raise StorageError(f"{self.location}: cannot reach S3: {exc}") from exc
            raise self._translate(exc, f"opening bucket {self.bucket_name!r}") from exc

    def scan(self, prefix: str) -> Listing:
        """Objects under the prefix (a folder: `streams` does not match `streams-old/`); keys
        with a hidden segment (a name starting with a dot) are skipped, folder markers ignored."""
        paginator = self._client.get_paginator("list_objects_v2")
        found, skipped = [], []
        base = f"{self.prefix}/" if self.prefix else ""
        folder = prefix if not prefix or prefix.endswith("/") else f"{prefix}/"
        try:
            for page in paginator.paginate(Bucket=self.bucket_name, Prefix=self._key(folder)):
                for item in page.get("Contents", []):
                    key = item["Key"].removeprefix(base)
                    if key.endswith("/"):
                        continue
                    if any(part.startswith(".") for part in key.removeprefix(folder).split("/")):
                        skipped.append(SkippedEntry(key, HIDDEN))
                        continue
                    etag, size = item["ETag"].strip('"'), int(item["Size"])
                    found.append(ObjectInfo(key=key, etag=etag, size=size))
        except Exception as exc:  # noqa: BLE001 - translated or re-raised
            raise self._translate(exc, f"listing {prefix}") from exc
        return Listing(sorted(found), sorted(skipped))

    def list(self, prefix: str) -> list[ObjectInfo]:
        return self.scan(prefix).objects

    def read_bytes(self, key: str) -> bytes:
        try:
            response = self._client.get_object(Bucket=self.bucket_name, Key=self._key(key))
            return response["Body"].read()
        except Exception as exc:  # noqa: BLE001
            raise self._translate(exc, f"reading {key}") from exc

    def write_bytes(self, key: str, data: bytes, content_type: str | None = None) -> None:
        extra = {"ContentType": content_type} if content_type else {}
        try:
            self._client.put_object(Bucket=self.bucket_name, Key=self._key(key), Body=data, **extra)
        except Exception as exc:  # noqa: BLE001
            raise self._translate(exc, f"writing {key}") from exc

    def write_file(self, key: str, path: Path, content_type: str | None = None) -> None:
        extra = {"ContentType": content_type} if content_type else {}
        try:
            self._client.upload_file(str(path), self.bucket_name, self._key(key), ExtraArgs=extra)
        except Exception as exc:  # noqa: BLE001
            raise self._translate(exc, f"uploading {key}") from exc

    def copy_from(self, source: ObjectStore, key: str, dest_key: str) -> None:
        if isinstance(source, S3Store):
            try:
                self._client.copy_object(
                    Bucket=self.bucket_name,
                    Key=self._key(dest_key),
                    CopySource={"Bucket": source.bucket_name, "Key": source._key(key)},
                )
                return
            except Exception as exc:  # noqa: BLE001
                raise self._translate(exc, f"copying {key}") from exc
        self.write_bytes(dest_key, source.read_bytes(key))

    def exists(self, key: str) -> bool:
        try:
            self._client.head_object(Bucket=self.bucket_name, Key=self._key(key))
            return True
        except Exception as exc:  # noqa: BLE001
            if _error_code(exc) in _MISSING:
                return False
            raise self._translate(exc, f"checking {key}") from exc

    def local_path(self, key: str) -> Path | None:
        return None
