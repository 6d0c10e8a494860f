"""Replay of quarantined `unknown_track` stream rows once the catalogue knows their tracks.

A replay re-validates the rows with the same streams check as a run (`quality/streams.py`),
turns the rows that now pass into events exactly as a run does, and loads them with the same
anti-join on the event key (`warehouse/loads.py`). Each quarantined row that leaves quarantine
(loaded, or found to be an event the warehouse already had) is recorded in
`etl_quarantine_replays` in the transaction that loads its events, so a second replay neither
loads nor counts it again. Rows that still fail stay candidates for the next replay.
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pyarrow as pa

from music_etl import lake
from music_etl.models import QuarantineFile, RevalidatedFile
from music_etl.quality.streams import check_stream_rows
from music_etl.rules import parsing, transforms
from music_etl.settings import Settings
from music_etl.storage import ObjectStore
from music_etl.warehouse import sql
from music_etl.warehouse.base import Warehouse
from music_etl.warehouse.tables import STREAMS

QUARANTINE_PREFIX = "quarantine/streams/"
REPLAYABLE_REASON = "unknown_track"


def source_of_quarantine_key(key: str) -> tuple[str, str] | None:
    """(landing key, etag) of a stream quarantine object written by `lake.quarantine_key`, or
    None for anything else under the prefix."""
    if not key.startswith(QUARANTINE_PREFIX) or not key.endswith(".parquet"):
        return None
    version_tag = key.removeprefix("quarantine/").removesuffix(".parquet")
    source_key, separator, etag = version_tag.rpartition("@")
    if not separator or not source_key or not etag:
        return None
    return source_key, etag


def replay_candidates(quarantined: pd.DataFrame, replayed: set[int]) -> pd.DataFrame:
    """The raw stream columns of the unknown_track rows not replayed before, labelled by their
    row number in the source file (as a normal run labels them, so Data Docs list row numbers)."""
    chosen = (quarantined["reason"] == REPLAYABLE_REASON) & ~quarantined["row_number"].isin(replayed)
    rows = quarantined.loc[chosen]
    raw = rows[parsing.STREAM_COLUMNS].astype(pd.StringDtype())
    raw.index = pd.Index(rows["row_number"].astype("int64").to_numpy())
    return raw


def _run_key(settings: Settings, quarantine: QuarantineFile, kind: str) -> str:
    return f"replay/{settings.flow_run_id}/{kind}/{quarantine.version_tag}.parquet"


def find_quarantined_stream_files(warehouse: Warehouse, store: ObjectStore) -> list[QuarantineFile]:
    """Stream quarantine files in the lake whose source version the ledger records as loaded.
    A file that was rejected (nothing of it loaded) or whose load never committed is left to
    the pipeline: replaying part of it would load rows of a file that is not in."""
    loaded = {tuple(row) for row in warehouse.query(sql.LOADED_STREAM_VERSIONS)}
    found = []
    for item in store.list(QUARANTINE_PREFIX):
        source = source_of_quarantine_key(item.key)
        if source is not None and source in loaded:
            found.append(QuarantineFile(item.key, *source))
    return sorted(found)


def revalidate_quarantine(
    store: ObjectStore,
    warehouse: Warehouse,
    settings: Settings,
    quarantine: QuarantineFile,
    known_tracks: pa.Array,
    known_users: pa.Array,
) -> RevalidatedFile:
    """The streams check again over the file's unknown_track rows not replayed before; the
    events of the rows that pass (and their row numbers) are written to the lake for the load."""
    replayed = warehouse.query(sql.REPLAYED_ROW_NUMBERS, {"quarantine_key": quarantine.key})
    quarantined = lake.read_parquet(store, quarantine.key).to_pandas()
    raw = replay_candidates(quarantined, {int(row[0]) for row in replayed})
    if raw.empty:
        return RevalidatedFile(quarantine)

    check = check_stream_rows(
        raw, store, settings, f"replay/{quarantine.version_tag}", known_tracks, known_users
    )
    counts = check.counts
    result = RevalidatedFile(
        quarantine,
        rows_revalidated=counts.rows_read,
        rows_passed=counts.rows_valid,
        rows_unknown_user=counts.rows_unknown_user,
        still_quarantined=counts.quarantine_by_reason,
        docs_page=check.docs_page,
    )
    if not counts.rows_valid:
        return result
    valid = check.valid_rows
    events, _ = transforms.stream_events(valid, quarantine.source_key)
    row_numbers = pa.table({"row_number": pa.array(valid["row_number"].to_numpy(), type=pa.int64())})
    return replace(
        result,
        events_key=lake.write_parquet(
            store,
            _run_key(settings, quarantine, "events"),
            pa.Table.from_pandas(events, schema=STREAMS.arrow_schema(), preserve_index=False),
        ),
        row_numbers_key=lake.write_parquet(
            store, _run_key(settings, quarantine, "rows"), row_numbers
        ),
    )
