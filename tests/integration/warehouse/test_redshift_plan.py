"""Redshift at scale by contract (SPEC §7): the Redshift path's statements for a run, taken on a
real history (PostgreSQL runs them; COPY from S3 is recorded and replaced by COPY FROM STDIN),
are the same on a small and on a large history, and the KPI recomputation reads only the
hours and days the run touches."""

from __future__ import annotations

from datetime import datetime, timedelta

import pyarrow as pa
import pytest

from music_etl.lake import write_parquet
from music_etl.models import FileCounts, SourceFile, TransformedFile, ValidatedFile
from music_etl.settings import Settings
from music_etl.storage import open_store
from music_etl.warehouse import loads
from music_etl.warehouse.connect import open_warehouse
from music_etl.warehouse.plan import RedshiftPlan, redshift_syntax_problems
from music_etl.warehouse.tables import STREAMS

FIRST_HOUR = datetime(2026, 11, 1)
EVENTS_PER_HOUR = 50


def _hourly_file(lake, hour: datetime, tag: str) -> TransformedFile:
    """One hour's events as the transform stage writes them (typed, staged columns)."""
    key = f"streams/{hour:%Y/%m/%d/%H}.csv"
    times = [hour + timedelta(seconds=37 * n) for n in range(EVENTS_PER_HOUR)]
    columns = {
        "user_id": [1 + n % 7 for n in range(EVENTS_PER_HOUR)],
        "track_id": [f"T{n % 5}" for n in range(EVENTS_PER_HOUR)],
        "listen_time": times,
        "listen_hour": [hour] * EVENTS_PER_HOUR,
        "listen_date": [hour.date()] * EVENTS_PER_HOUR,
        "source_file": [key] * EVENTS_PER_HOUR,
    }
    schema = STREAMS.arrow_schema()
    events_key = write_parquet(lake, f"transformed/{key}@{tag}.parquet", pa.table(columns, schema))
    source = SourceFile(key, tag, 1000, "streams")
    counts = FileCounts(rows_read=EVENTS_PER_HOUR, rows_valid=EVENTS_PER_HOUR)
    return TransformedFile(ValidatedFile(source, "valid", counts), events_key)


def _run(plan: RedshiftPlan, lake, files: list[TransformedFile]):
    for file in files:
        loads.load_stream_file(plan, lake, Settings(), file)
    return loads.recompute_kpis(plan)


@pytest.mark.parametrize("new_warehouse", ["postgresql"], indirect=True)
def test_a_runs_redshift_statements_do_not_grow_with_history(tmp_path, new_warehouse):
    lake = open_store(str(tmp_path / "lake"), Settings(), create=True)
    new_hours = [FIRST_HOUR + timedelta(days=20, hours=h) for h in (0, 1)]
    late_hour = FIRST_HOUR + timedelta(hours=3)  # late data for an hour the history has
    plans, kpis, events = {}, {}, {}
    for history_hours in (2, 120):
        target = new_warehouse()
        backend = open_warehouse(target.url, target.schema, Settings())
        backend.ensure_schema()
        plan = RedshiftPlan(target.schema, execute_on=backend)
        history = [FIRST_HOUR + timedelta(hours=h) for h in range(history_hours)]
        _run(plan, lake, [_hourly_file(lake, hour, "v1") for hour in history])
        plan.transactions.clear()

        this_run = [_hourly_file(lake, hour, "v1") for hour in new_hours]
        this_run.append(_hourly_file(lake, late_hour, "v2"))  # a new version of an old file
        kpis[history_hours] = _run(plan, lake, this_run)
        assert redshift_syntax_problems(plan.statements) == []
        plans[history_hours] = [s.replace(target.schema, "SCHEMA") for s in plan.statements]
        events[history_hours] = backend.query(f'SELECT COUNT(*) FROM "{target.schema}".streams')
        plan.close()

    assert events[2] != events[120]  # the histories differ: 2 and 120 hours of events
    assert plans[2] == plans[120]
    copies = [s for s in plans[120] if s.startswith("COPY ")]
    assert len(copies) == 3 and all(" IAM_ROLE " in s and s.endswith("FORMAT AS PARQUET") for s in copies)
    # Only the touched hours (and their days) are recomputed, however long the history.
    assert kpis[2].hours_recomputed == kpis[120].hours_recomputed == 3
    assert {h for h, *_ in kpis[120].hours} == {*new_hours, late_hour}
