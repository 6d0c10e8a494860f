"""Replay of quarantined `unknown_track` stream rows once the catalogue knows their tracks.

A replay re-validates the rows with the same streams suite as a normal run, turns the rows that
now pass into events exactly as a normal run does, and loads them with the same anti-join on the
event key. Each quarantined row that leaves quarantine (loaded, or found to be an event the
warehouse already had) is recorded in `etl_quarantine_replays` in the transaction that loads its
events, so a second replay neither loads nor counts it again. Rows that still fail stay
candidates for the next replay.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import pandas as pd
import pyarrow as pa
from prefect import task

from tasks import data_docs, lake, transforms
from tasks import warehouse_sql as sql
from tasks.models import RunSettings
from tasks.quality import future_cutoff, known_ids, prepare_streams
from tasks.storage import open_store
from tasks.warehouse import warehouse_for

QUARANTINE_PREFIX = "quarantine/streams/"
REPLAYABLE_REASON = "unknown_track"


@dataclass(frozen=True, order=True)
class QuarantineFile:
    """The quarantine of one loaded stream file version."""

    key: str  # quarantine/streams/<landing key>@<etag>.parquet
    source_key: str  # the landing file the rows came from
    source_etag: str

    @property
    def version_tag(self) -> str:
        return f"{self.source_key}@{self.source_etag}"


@dataclass(frozen=True)
class RevalidatedFile:
    quarantine: QuarantineFile
    rows_revalidated: int = 0  # unknown_track rows not replayed before
    rows_passed: int = 0
    rows_unknown_user: int = 0
    still_quarantined: tuple[tuple[str, int], ...] = ()  # (reason, rows) of rows that still fail
    events_key: str | None = None  # lake Parquet of the passing rows' events (stage_events)
    row_numbers_key: str | None = None  # lake Parquet of the passing rows' row numbers
    docs_url: str | None = None

    @property
    def rows_still_quarantined(self) -> int:
        return sum(n for _, n in self.still_quarantined)


@dataclass(frozen=True)
class ReplayedFile:
    revalidated: RevalidatedFile
    rows_loaded: int = 0
    rows_duplicate: int = 0  # passed, but the event was already in the warehouse or in the file


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
    raw = rows[transforms.STREAM_COLUMNS].astype(pd.StringDtype())
    raw.index = pd.Index(rows["row_number"].astype("int64").to_numpy())
    return raw


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)  # warehouse TIMESTAMPs are naive UTC


def _run_key(settings: RunSettings, quarantine: QuarantineFile, kind: str) -> str:
    return f"replay/{settings.flow_run_id}/{kind}/{quarantine.version_tag}.parquet"


@task(name="find-quarantined-stream-files")
def find_quarantined_stream_files(settings: RunSettings) -> list[QuarantineFile]:
    """Stream quarantine files in the lake whose source version the ledger records as loaded.
    A file that was rejected (nothing of it loaded) or whose load never committed is left to
    the pipeline: replaying part of it would load rows of a file that is not in."""
    warehouse = warehouse_for(settings.warehouse, settings.schema)
    loaded = {tuple(row) for row in warehouse.query(sql.LOADED_STREAM_VERSIONS)}
    found = []
    for item in open_store(settings.lake).list(QUARANTINE_PREFIX):
        source = source_of_quarantine_key(item.key)
        if source is not None and source in loaded:
            found.append(QuarantineFile(item.key, *source))
    return sorted(found)


@task(name="revalidate-quarantine", task_run_name="revalidate {quarantine.key}")
def revalidate_quarantine(
    settings: RunSettings, quarantine: QuarantineFile, tracks_key: str, users_key: str
) -> RevalidatedFile:
    """Run the streams suite again over the file's unknown_track rows not replayed before; write
    the events of the rows that pass (and their row numbers) to the lake for the load."""
    store = open_store(settings.lake)
    warehouse = warehouse_for(settings.warehouse, settings.schema)
    replayed = warehouse.query(sql.REPLAYED_ROW_NUMBERS, {"quarantine_key": quarantine.key})
    quarantined = lake.read_parquet(store, quarantine.key).to_pandas()
    raw = replay_candidates(quarantined, {int(row[0]) for row in replayed})
    if raw.empty:
        return RevalidatedFile(quarantine)

    frame = prepare_streams(raw, known_ids(settings.lake, tracks_key))
    outcome = data_docs.runner(store).validate(
        "streams",
        frame,
        run_name=f"replay/{quarantine.version_tag}",
        parameters={"max_listen_time": future_cutoff(settings)},
    )
    reasons = outcome.reasons
    passed = frame.loc[reasons.isna()]
    result = RevalidatedFile(
        quarantine,
        rows_revalidated=len(frame),
        rows_passed=len(passed),
        rows_unknown_user=int(
            (~transforms.is_in(passed["user_id_int"], known_ids(settings.lake, users_key))).sum()
        ),
        still_quarantined=tuple(sorted(Counter(reasons.dropna()).items())),
        docs_url=data_docs.publish_page(store, outcome.docs_url),
    )
    if passed.empty:
        return result

    # The same columns a normal run's validated Parquet has, so the events are built alike.
    valid = pd.DataFrame(
        {
            "user_id_int": passed["user_id_int"],
            "track_id_clean": passed["track_id"],
            "listen_time_utc": passed["listen_time_utc"],
        }
    )
    events, _ = transforms.stream_events(valid, quarantine.source_key)
    row_numbers = pa.table({"row_number": pa.array(passed.index.to_numpy(), type=pa.int64())})
    return replace(
        result,
        events_key=lake.write_parquet(
            store,
            _run_key(settings, quarantine, "events"),
            pa.Table.from_pandas(events, preserve_index=False),
        ),
        row_numbers_key=lake.write_parquet(
            store, _run_key(settings, quarantine, "rows"), row_numbers
        ),
    )


@task(name="load-replayed-rows", task_run_name="load replay of {revalidated.quarantine.key}")
def load_replayed_rows(settings: RunSettings, revalidated: RevalidatedFile) -> ReplayedFile:
    """Insert the new events, mark their hours for KPI recomputation and record the rows as
    replayed, in one transaction under the ledger lock (serialised with pipeline loads)."""
    if revalidated.events_key is None or revalidated.row_numbers_key is None:
        return ReplayedFile(revalidated)
    quarantine = revalidated.quarantine
    store = open_store(settings.lake)
    warehouse = warehouse_for(settings.warehouse, settings.schema)
    now = _now()
    with warehouse.transaction() as session:
        session.lock_writers()
        session.stage("stage_events", store, revalidated.events_key)
        inserted = session.execute(sql.INSERT_NEW_EVENTS, {"loaded_at": now})
        session.execute(sql.MARK_EVENT_HOURS_PENDING)
        session.stage("stage_replayed_rows", store, revalidated.row_numbers_key)
        session.execute(
            sql.RECORD_REPLAYED_ROWS,
            {
                "quarantine_key": quarantine.key,
                "source_key": quarantine.source_key,
                "flow_run_id": settings.flow_run_id,
                "replayed_at": now,
            },
        )
    return ReplayedFile(
        revalidated, rows_loaded=inserted, rows_duplicate=revalidated.rows_passed - inserted
    )


@dataclass(frozen=True)
class ReplaySummary:
    quarantine_files: int  # stream quarantine files of loaded file versions
    files_with_candidates: int
    rows_revalidated: int
    rows_loaded: int
    rows_duplicate: int
    still_quarantined: tuple[tuple[str, int], ...]
    rows_unknown_user: int
    kpi_hours_recomputed: int
    hourly_kpi_rows: int
    genre_kpi_rows: int
    data_docs: str

    @property
    def rows_still_quarantined(self) -> int:
        return sum(n for _, n in self.still_quarantined)

    def lines(self) -> list[str]:
        reasons = ", ".join(f"{reason}={n}" for reason, n in self.still_quarantined)
        return [
            f"quarantine files: {self.files_with_candidates} with rows to replay "
            f"(of {self.quarantine_files} of loaded stream files)",
            f"rows re-validated: {self.rows_revalidated}",
            f"rows loaded: {self.rows_loaded}",
            f"duplicates: {self.rows_duplicate}",
            f"rows still quarantined: {self.rows_still_quarantined}"
            + (f" ({reasons})" if reasons else ""),
            f"unknown users (kept, warning): {self.rows_unknown_user}",
            f"KPI rows written: {self.hourly_kpi_rows} hourly, {self.genre_kpi_rows} genre "
            f"({self.kpi_hours_recomputed} hours recomputed)",
            f"Data Docs: {self.data_docs or 'no validation this run'}",
        ]


def summarise_replay(
    quarantine_files: int, replayed: list[ReplayedFile], kpis: dict[str, int], data_docs: str
) -> ReplaySummary:
    revalidated = [r.revalidated for r in replayed]
    still: Counter[str] = Counter()
    for item in revalidated:
        still.update(dict(item.still_quarantined))
    return ReplaySummary(
        quarantine_files=quarantine_files,
        files_with_candidates=sum(1 for r in revalidated if r.rows_revalidated),
        rows_revalidated=sum(r.rows_revalidated for r in revalidated),
        rows_loaded=sum(r.rows_loaded for r in replayed),
        rows_duplicate=sum(r.rows_duplicate for r in replayed),
        still_quarantined=tuple(sorted(still.items())),
        rows_unknown_user=sum(r.rows_unknown_user for r in revalidated),
        kpi_hours_recomputed=kpis.get("hours_recomputed", 0),
        hourly_kpi_rows=kpis.get("hourly_rows", 0),
        genre_kpi_rows=kpis.get("genre_rows", 0),
        data_docs=data_docs,
    )


def replay_rows(replayed: list[ReplayedFile]) -> list[dict[str, object]]:
    """One row per quarantine file that had rows to replay, for the counts table artifact."""
    return [
        {
            "quarantine": r.revalidated.quarantine.key,
            "source_file": r.revalidated.quarantine.source_key,
            "rows_revalidated": r.revalidated.rows_revalidated,
            "rows_loaded": r.rows_loaded,
            "rows_duplicate": r.rows_duplicate,
            "rows_still_quarantined": r.revalidated.rows_still_quarantined,
            "still_quarantined_reasons": ", ".join(
                f"{reason}={n}" for reason, n in r.revalidated.still_quarantined
            ),
            "data_docs": r.revalidated.docs_url or "",
        }
        for r in replayed
        if r.revalidated.rows_revalidated
    ]
