"""The ids stream rows are checked against: the warehouse's tracks and users plus this run's
new catalogue snapshots, written once to the lake so per-file work receives a key."""

from __future__ import annotations

from functools import lru_cache

import pyarrow as pa

from music_etl import lake
from music_etl.models import ValidatedCatalogue
from music_etl.storage import ObjectStore
from music_etl.warehouse import sql
from music_etl.warehouse.base import Warehouse


def write_lookups(
    warehouse: Warehouse, store: ObjectStore, run_id: str, catalogues: list[ValidatedCatalogue]
) -> dict[str, str]:
    """Known track and user ids; returns the lake key of each lookup."""
    known = {
        "tracks": {row[0] for row in warehouse.query(sql.KNOWN_TRACK_IDS)},
        "users": {row[0] for row in warehouse.query(sql.KNOWN_USER_IDS)},
    }
    for catalogue in catalogues:
        if catalogue.validated_key is None:
            continue
        rows = lake.read_parquet(store, catalogue.validated_key)
        if catalogue.snapshot.dataset == "songs":
            known["tracks"].update(rows.column("track_id").to_pylist())
        else:
            known["users"].update(rows.column("user_id_int").to_pylist())
    keys = {}
    for name, values in known.items():
        array = pa.array(sorted(values), type=pa.string() if name == "tracks" else pa.int64())
        keys[name] = lake.write_parquet(store, lake.lookup_key(run_id, name), pa.table({name: array}))
    return keys


@lru_cache(maxsize=8)
def known_ids(store: ObjectStore, key: str) -> pa.Array:
    """The ids of a lookup (cached: every file of a run reads it)."""
    return lake.read_parquet(store, key).column(0).combine_chunks()
