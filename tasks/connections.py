"""The stores and the warehouse of a run's settings, opened once per process.

`block:NAME` locations are Prefect blocks, loaded here: an S3Bucket block (with its
AwsCredentials) for a landing zone or lake, a `Music ETL Warehouse` block for the warehouse.
Folders, `s3://` locations and warehouse URLs go straight to the library.
"""

from __future__ import annotations

import threading

from music_etl import storage
from music_etl.settings import Settings
from music_etl.storage import ObjectStore, StorageError
from music_etl.storage.s3 import S3Store
from music_etl.warehouse import connect
from music_etl.warehouse.base import Warehouse
from tasks.blocks import WarehouseCredentials

_stores: dict[tuple[str, bool], ObjectStore] = {}
_warehouses: dict[tuple[str, str], Warehouse] = {}
_lock = threading.Lock()


def landing(settings: Settings) -> ObjectStore:
    return open_store(settings.landing, settings)


def lake(settings: Settings) -> ObjectStore:
    return open_store(settings.lake, settings, create=True)


def open_store(location: str, settings: Settings, *, create: bool = False) -> ObjectStore:
    """The store of a location, opened once per process (tasks open stores often, and each S3
    store checks its bucket when opened)."""
    with _lock:
        if (location, create) not in _stores:
            _stores[(location, create)] = (
                _block_store(location, settings)
                if location.startswith("block:")
                else storage.open_store(location, settings, create=create)
            )
        return _stores[(location, create)]


def forget_stores() -> None:
    """Open stores afresh from now on (a test's S3 endpoint changed, say)."""
    with _lock:
        _stores.clear()


def _block_store(location: str, settings: Settings) -> ObjectStore:
    from prefect_aws import S3Bucket

    name = location.removeprefix("block:")
    try:
        block = S3Bucket.load(name)
    except ValueError as exc:
        raise StorageError(f"no S3Bucket block named {name!r}: {exc}") from exc
    credentials = block.credentials
    client_kwargs = credentials.aws_client_parameters.get_params_override()
    if getattr(credentials, "region_name", None):
        client_kwargs["region_name"] = credentials.region_name
    return S3Store(
        location,
        bucket=block.bucket_name,
        prefix=block.bucket_folder,
        session=credentials.get_boto3_session(),
        settings=settings,
        client_kwargs=client_kwargs,
    )


def warehouse(settings: Settings) -> Warehouse:
    """The process's connection to the run's warehouse (DuckDB allows one writer process)."""
    url, schema = settings.warehouse_url, settings.warehouse_schema
    with _lock:
        if (url, schema) not in _warehouses:
            _warehouses[(url, schema)] = open_warehouse(url, schema, settings)
        return _warehouses[(url, schema)]


def open_warehouse(url: str, schema: str, settings: Settings) -> Warehouse:
    """A new connection; `block:NAME` is a warehouse block holding the URL and IAM role."""
    iam_role = None
    if url.startswith("block:"):
        block = WarehouseCredentials.load_named(url.removeprefix("block:"))
        url, iam_role = block.sqlalchemy_url(), block.iam_role
    return connect.open_warehouse(url, schema, settings, iam_role)


def close_warehouses() -> None:
    with _lock:
        for each in _warehouses.values():
            each.close()
        _warehouses.clear()
