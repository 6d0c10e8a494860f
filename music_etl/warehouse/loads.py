"""Loads, each one transaction under the schema's writer lock: a stream file (its new events,
their pending hours and its ledger row), a catalogue snapshot (upsert by key), replayed rows,
and the KPI recomputation of exactly the pending hours and their dates."""

from __future__ import annotations

from datetime import UTC, datetime

from music_etl.models import (
    KpiHistory,
    KpiUpdate,
    LoadedFile,
    ReplayedFile,
    RevalidatedFile,
    TransformedCatalogue,
    TransformedFile,
    ValidatedFile,
)
from music_etl.settings import Settings
from music_etl.storage import ObjectStore
from music_etl.warehouse import sql
from music_etl.warehouse.base import Session, Warehouse


def utc_now() -> datetime:
    """Now, as the warehouse's TIMESTAMP columns hold it: naive UTC."""
    return datetime.now(UTC).replace(tzinfo=None)


def _ledger_row(run_id: str, loaded: LoadedFile, processed_at: datetime) -> dict[str, object]:
    source = loaded.source
    return {
        "source_key": source.key,
        "etag": source.etag,
        "size_bytes": source.size,
        "dataset": source.dataset,
        "status": loaded.status,
        "rows_read": loaded.rows_read,
        "rows_loaded": loaded.rows_loaded,
        "rows_quarantined": loaded.rows_quarantined,
        "rows_duplicate": loaded.rows_duplicate,
        "reason": loaded.reason,
        "flow_run_id": run_id,
        "processed_at": processed_at,
    }


def _unloaded(validated: ValidatedFile, status: str) -> LoadedFile:
    counts = validated.counts
    return LoadedFile(
        source=validated.source,
        status=status,
        rows_read=counts.rows_read,
        rows_loaded=0,
        rows_quarantined=counts.rows_quarantined,
        rows_duplicate=0,
        reason=validated.reason,
    )


def load_stream_file(
    warehouse: Warehouse, lake: ObjectStore, settings: Settings, transformed: TransformedFile
) -> LoadedFile:
    """Insert the file's new events, mark their hours for KPI recomputation and write its
    ledger row, all in one transaction. A version already in the ledger is left alone, so a
    repeated or concurrent run never loads a file twice."""
    validated = transformed.validated
    source = validated.source
    with warehouse.transaction() as session:
        session.lock_writers()
        identity = {"source_key": source.key, "etag": source.etag}
        if session.query(sql.LEDGER_HAS_VERSION, identity):
            if not settings.force_reingest:
                return _unloaded(validated, "skipped")
            session.execute(sql.LEDGER_DELETE_VERSION, identity)  # replaced below
        if transformed.events_key is None:
            status = "loaded" if validated.status == "valid" else validated.status
            loaded = _unloaded(validated, status)
        else:
            now = utc_now()
            session.stage("stage_events", lake, transformed.events_key)
            inserted = session.execute(sql.INSERT_NEW_EVENTS, {"loaded_at": now})
            session.execute(sql.MARK_EVENT_HOURS_PENDING)
            counts = validated.counts
            loaded = LoadedFile(
                source=source,
                status="loaded",
                rows_read=counts.rows_read,
                rows_loaded=inserted,
                rows_quarantined=counts.rows_quarantined,
                rows_duplicate=counts.rows_valid - inserted,
            )
        session.execute(sql.LEDGER_INSERT, _ledger_row(settings.flow_run_id, loaded, utc_now()))
        return loaded


def _stage_catalogue(session: Session, store: ObjectStore, catalogue: TransformedCatalogue) -> None:
    dataset = catalogue.validated.snapshot.dataset
    session.stage(f"stage_{dataset}", store, catalogue.rows_key)
    if dataset == "songs":
        session.stage("stage_song_artists", store, catalogue.artists_key)


def load_catalogue(
    warehouse: Warehouse, lake: ObjectStore, run_id: str, catalogue: TransformedCatalogue
) -> list[LoadedFile]:
    """Upsert a catalogue snapshot by key, mark hours whose KPIs it changes, record the files
    and the snapshot, in one transaction. Rows absent from the snapshot stay."""
    validated = catalogue.validated
    snapshot = validated.snapshot
    now = utc_now()
    results = []
    with warehouse.transaction() as session:
        session.lock_writers()
        if catalogue.rows_key is not None:
            _stage_catalogue(session, lake, catalogue)
            if snapshot.dataset == "songs":
                session.execute(sql.MARK_CHANGED_SONG_HOURS_PENDING)
                session.run_all(sql.UPSERT_SONGS, {"loaded_at": now})
            else:
                session.run_all(sql.UPSERT_USERS, {"loaded_at": now})
        for file in validated.files:
            counts = file.counts
            by_reason = dict(counts.quarantine_by_reason)
            duplicates = sum(n for r, n in by_reason.items() if r.startswith("duplicate_"))
            loaded = LoadedFile(
                source=file.source,
                status="loaded" if file.status == "valid" else file.status,
                rows_read=counts.rows_read,
                rows_loaded=counts.rows_valid,
                rows_quarantined=counts.rows_quarantined,
                rows_duplicate=duplicates,
                reason=file.reason,
            )
            identity = {"source_key": file.source.key, "etag": file.source.etag}
            session.execute(sql.LEDGER_DELETE_VERSION, identity)
            session.execute(sql.LEDGER_INSERT, _ledger_row(run_id, loaded, now))
            results.append(loaded)
        session.execute(
            sql.RECORD_SNAPSHOT,
            {
                "dataset": snapshot.dataset,
                "fingerprint": snapshot.fingerprint,
                "flow_run_id": run_id,
                "loaded_at": now,
            },
        )
    return results


def recompute_kpis(warehouse: Warehouse) -> KpiUpdate:
    """Delete and rebuild the KPI rows of every pending hour (and its date) in one transaction;
    return the counts and what the run's reports show of the new rows."""
    with warehouse.transaction() as session:
        # Under the writer lock: two runs recomputing the same hours at once each deleted the
        # rows the other had not committed yet, then both inserted theirs (every row twice).
        session.lock_writers()
        session.execute(sql.DROP_PENDING_SNAPSHOT)
        session.execute(sql.SNAPSHOT_PENDING)
        hours = session.query("SELECT COUNT(*) FROM kpi_hours")[0][0]
        session.run_all(sql.RECOMPUTE_KPIS)
        hourly, genre = session.query(sql.COUNT_KPI_ROWS_FOR_PENDING)[0]
        shown_hours = session.query(sql.RECOMPUTED_HOURS)
        shown_genres = session.query(sql.RECOMPUTED_TOP_GENRES)
        session.execute(sql.DROP_PENDING_SNAPSHOT)
    return KpiUpdate(
        hours_recomputed=int(hours),
        hourly_rows=int(hourly),
        genre_rows=int(genre),
        hours=tuple((h, int(s), int(u), a) for h, s, u, a in shown_hours),
        top_genres=tuple((d, g, int(n)) for d, g, n in shown_genres),
    )


def kpi_history(warehouse: Warehouse) -> KpiHistory:
    """The recent KPIs the dashboard draws."""
    hours = warehouse.query(sql.HOURLY_HISTORY)
    genres = warehouse.query(sql.GENRE_HISTORY)
    return KpiHistory(
        hours=tuple((h, int(s), int(u)) for h, s, u in reversed(hours)),
        top_genres=tuple((d, g, int(n)) for d, g, n in genres),
    )


def load_replayed_rows(
    warehouse: Warehouse, lake: ObjectStore, run_id: str, revalidated: RevalidatedFile
) -> ReplayedFile:
    """Insert the new events, mark their hours for KPI recomputation and record the rows as
    replayed, in one transaction under the writer lock (serialised with pipeline loads)."""
    if revalidated.events_key is None or revalidated.row_numbers_key is None:
        return ReplayedFile(revalidated)
    quarantine = revalidated.quarantine
    now = utc_now()
    with warehouse.transaction() as session:
        session.lock_writers()
        session.stage("stage_events", lake, revalidated.events_key)
        inserted = session.execute(sql.INSERT_NEW_EVENTS, {"loaded_at": now})
        session.execute(sql.MARK_EVENT_HOURS_PENDING)
        session.stage("stage_replayed_rows", lake, revalidated.row_numbers_key)
        session.execute(
            sql.RECORD_REPLAYED_ROWS,
            {
                "quarantine_key": quarantine.key,
                "source_key": quarantine.source_key,
                "flow_run_id": run_id,
                "replayed_at": now,
            },
        )
    return ReplayedFile(
        revalidated, rows_loaded=inserted, rows_duplicate=revalidated.rows_passed - inserted
    )
