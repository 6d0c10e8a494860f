"""Property: however events are split into files and runs (duplicates, late data, repeated runs,
a run that dies inside a load and the run after it), the KPI tables equal a plain recomputation
written independently here, in Python."""

from __future__ import annotations

import tempfile
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from unittest.mock import patch

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from music_etl.warehouse import sql as warehouse_sql
from music_etl.warehouse.duckdb_file import DuckDBSession
from tests.integration.helpers import CATALOGUE, Stores, Warehouse, streams_csv

BASE = datetime(2026, 11, 26, 0, 0, tzinfo=UTC)
TRACKS = sorted(CATALOGUE)


def _artists(track_id: str) -> list[str]:
    names: list[str] = []
    for part in CATALOGUE[track_id][0].split(";"):
        if part.strip() and part.strip() not in names:
            names.append(part.strip())
    return names


def recompute(events: set[tuple[int, str, datetime]]) -> dict[str, list[tuple]]:
    """SPEC section 4 from scratch: plain Python over the distinct events."""
    by_hour: dict[datetime, list] = defaultdict(list)
    by_day_genre: dict[tuple[date, str], list] = defaultdict(list)
    for user, track, moment in events:
        by_hour[moment.replace(minute=0, second=0, microsecond=0)].append((user, track))
        by_day_genre[(moment.date(), CATALOGUE[track][4])].append((user, track))
    hourly = []
    for hour, plays in sorted(by_hour.items()):
        artist_plays = Counter(a for _, track in plays for a in _artists(track))
        top = min(artist_plays, key=lambda a: (-artist_plays[a], a)) if artist_plays else None
        tracks = {t for _, t in plays}
        hourly.append(
            (hour, len(plays), len({u for u, _ in plays}), len(tracks),
             len(tracks) / len(plays), top, artist_plays[top] if top else None)
        )  # fmt: skip
    genre = []
    for (day, name), plays in sorted(by_day_genre.items()):
        count = len(plays)
        avg_duration = sum(CATALOGUE[t][3] for _, t in plays) / count
        avg_popularity = sum(CATALOGUE[t][2] for _, t in plays) / count
        per_track = Counter(t for _, t in plays)
        best = min(per_track, key=lambda t: (-per_track[t], -CATALOGUE[t][2], t))
        genre.append(
            (day, name, count, len({u for u, _ in plays}), avg_duration, avg_popularity,
             count * avg_popularity / 100, best, CATALOGUE[best][1], per_track[best])
        )  # fmt: skip
    return {"hourly": hourly, "genre": genre}


def _written(moment: datetime, style: int) -> str:
    """The same instant in one of the formats SPEC accepts."""
    if style == 0:
        return moment.strftime("%Y-%m-%d %H:%M:%S")
    if style == 1:
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return moment.astimezone(timezone(timedelta(hours=2, minutes=30))).strftime(
        "%Y-%m-%dT%H:%M:%S+02:30"
    )


event = st.tuples(
    st.integers(min_value=1, max_value=6),
    st.sampled_from(TRACKS),
    st.integers(min_value=0, max_value=3 * 24 * 60 - 1),  # minute within three days
    st.integers(min_value=0, max_value=59),
)
scenario = st.lists(
    st.tuples(event, st.integers(0, 2), st.integers(0, 3)),  # (event, format, file index)
    min_size=1,
    max_size=40,
)


class InjectedCrash(RuntimeError):
    """Stands for the process dying mid-load (not transient: no task retry absorbs it)."""


def _crash_inside_the_first_load():
    """Fail the first file load of the run after its events were inserted, before the commit."""
    original = DuckDBSession.execute

    def execute(self, statement, params=None):
        if statement == warehouse_sql.LEDGER_INSERT and (params or {}).get("dataset") == "streams":
            raise InjectedCrash("injected crash inside a load")
        return original(self, statement, params)

    return patch.object(DuckDBSession, "execute", execute)


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    rows=scenario,
    runs=st.lists(st.integers(1, 4), min_size=1, max_size=3),
    repeat=st.booleans(),
    crash_in_run=st.one_of(st.none(), st.integers(0, 2)),
)
def test_kpis_equal_a_plain_recomputation_however_files_and_runs_fall(rows, runs, repeat, crash_in_run):
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        stores = Stores.fresh(root, Warehouse(f"duckdb:///{root / 'w.duckdb'}"))
        files: dict[int, list[tuple]] = defaultdict(list)
        distinct = set()
        for (user, track, minute, second), style, index in rows:
            moment = BASE + timedelta(minutes=minute, seconds=second)
            files[index].append((user, track, _written(moment, style)))
            distinct.add((user, track, moment.replace(tzinfo=None)))
        # Files arrive over several runs, in an order unrelated to their times (late data),
        # each file possibly repeated in a later batch under another key (duplicates).
        pending = sorted(files)
        for batch, size in enumerate(runs):
            for index in pending[:size]:
                stores.write(f"streams/batch{batch}/f{index}.csv", streams_csv(files[index]))
            pending = pending[size:] or sorted(files)[:1]
            if batch == crash_in_run:
                # The run dies inside a file's load, before its commit; the next run recovers.
                with _crash_inside_the_first_load():
                    crashed = stores.run(return_state=True)
                assert crashed.is_failed() and "injected crash" in crashed.message
            stores.run()
            if repeat:
                stores.run()
        for index in pending:
            stores.write(f"streams/last/f{index}.csv", streams_csv(files[index]))
        stores.run()

        assert stores.kpis() == recompute(distinct)
        assert stores.event_count() == len(distinct)
