"""The lake's layout and Parquet I/O.

landing -> raw/ -> validated/ (+ quarantine/) -> transformed/ -> warehouse. Every object written
for a file version carries `@<etag>` in its key, so a new version never overwrites an old one and
rewriting the same version is idempotent.
"""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq

from music_etl.models import CatalogueSnapshot, SourceFile
from music_etl.storage import ObjectStore


def raw_key(source: SourceFile) -> str:
    return f"raw/{source.version_tag}"


def validated_key(source: SourceFile) -> str:
    return f"validated/{source.version_tag}.parquet"


def transformed_key(source: SourceFile) -> str:
    return f"transformed/{source.version_tag}.parquet"


def quarantine_key(source: SourceFile) -> str:
    # SPEC: quarantine/<dataset>/...; the source key already starts with the dataset prefix.
    return f"quarantine/{source.version_tag}.parquet"


def snapshot_key(stage: str, snapshot: CatalogueSnapshot, table: str | None = None) -> str:
    return f"{stage}/{table or snapshot.dataset}/snapshot-{snapshot.fingerprint}.parquet"


def lookup_key(flow_run_id: str, name: str) -> str:
    return f"lookups/{flow_run_id}/{name}.parquet"


def write_parquet(store: ObjectStore, key: str, table: pa.Table) -> str:
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    store.write_bytes(key, buffer.getvalue())
    return key


def read_parquet(store: ObjectStore, key: str) -> pa.Table:
    path = store.local_path(key)
    if path is not None:
        return pq.read_table(path)
    return pq.read_table(io.BytesIO(store.read_bytes(key)))
