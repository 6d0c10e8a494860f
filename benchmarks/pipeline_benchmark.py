"""Benchmark: the full pipeline against one DuckDB SQL pass over the same CSV files.

    .venv/bin/python benchmarks/pipeline_benchmark.py --events 10000000      # the issue's size
    .venv/bin/python benchmarks/pipeline_benchmark.py --events 1000000 --hours 24

Steps, all on a fresh lake and warehouse under --workdir:
1. `music-etl generate` (no broken files) for hours+1 hourly files; the last hour is held back.
2. The reference: one DuckDB SQL pass (written independently of the pipeline) that applies SPEC's
   row rules to the CSVs and computes hourly_kpis and genre_kpis.
3. `music-etl run` over everything but the held-back hour: wall time, time per subflow and the
   peak RSS of the pipeline's process (Prefect's database is created beforehand, untimed).
4. The pipeline's KPI tables must equal the reference's, row for row.
5. Incremental: the held-back hour arrives; `music-etl run` again.
6. Nothing new: `music-etl run` again.
7. The held-back hour alone (`--file-key`) on an empty lake and warehouse, the incremental run's
   yardstick.
Times of the flow itself (from "Beginning flow run" to the parent's "Finished in state") are
printed beside wall times, which include Prefect's temporary server start. CPU seconds of the
lean pass and of the full run (with Prefect's temporary server) are printed too: spread over
every core they are a floor under the wall time no overlap of stages can go below.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
MUSIC_ETL = str(Path(sys.executable).with_name("music-etl"))
TIMESTAMP = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?(Z|[+-][0-9]{2}:?[0-9]{2})?$"


def _peak_rss_mb(pid: int) -> int:
    """The process's high-water mark of resident memory (VmHWM), in MB; 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) // 1024
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def _tree_rss_mb(pid: int) -> int:
    """Resident memory of a process and its descendants now (Dask worker processes, say), in
    MB, without Prefect's temporary server (`uvicorn`), whose memory is not the run's."""
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        try:
            with open(f"/proc/{current}/cmdline", "rb") as cmdline:
                command = cmdline.read()
            if b"uvicorn" in command or b"prefect.server" in command:
                continue
            with open(f"/proc/{current}/status") as status:
                total += next((int(l.split()[1]) for l in status if l.startswith("VmRSS:")), 0)
            # Children are listed per thread (Dask's nanny starts workers from its loop thread).
            for thread in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{thread}/children") as children:
                    pending.extend(int(child) for child in children.read().split())
        except (FileNotFoundError, ProcessLookupError, ValueError):
            continue
    return total // 1024


TREE_RSS: dict[int, int] = {}  # peak of _tree_rss_mb per measured command's pid


CPU_SECONDS: dict[int, float] = {}  # user + system CPU seconds per measured command's pid


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_measured(args: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Run a command; return wall seconds, the peak RSS of its own process in MB, and stdout.

    Its CPU seconds (user + system, of every thread and of every process it waited for, so
    Prefect's temporary server too) are kept in CPU_SECONDS.

    The peak is the process's VmHWM, read until it exits; Prefect's temporary server (a child
    process with its own memory) is not counted in it. The peak of the whole process tree
    (without the server) is kept in TREE_RSS, sampled every 0.05 s.
    """
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started, cpu_before = time.perf_counter(), _children_cpu_seconds()
        process = subprocess.Popen(args, env=env, stdout=out, stderr=err, text=True)
        peak = tree = 0
        while process.poll() is None:
            peak = max(peak, _peak_rss_mb(process.pid))
            tree = max(tree, _tree_rss_mb(process.pid))
            time.sleep(0.05)
        TREE_RSS[process.pid] = max(tree, peak)
        CPU_SECONDS[process.pid] = _children_cpu_seconds() - cpu_before
        wall = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{stderr[-3000:]}")
    return wall, peak, stdout


_LOG_LINE = re.compile(r"^(\d\d):(\d\d):(\d\d\.\d{3}) \| \w+\s+\| Flow run '([^']+)' - (.*)$", re.M)


def flow_times(stdout: str) -> dict[str, float]:
    """Seconds per flow run from Prefect's logs (first log line to final state): the parent
    flow as "flow" and each subflow by its flow name (extract, validate, transform, load)."""
    first: dict[str, float] = {}
    last: dict[str, float] = {}
    names: dict[str, str] = {}
    for h, m, sec, run, text in _LOG_LINE.findall(stdout):
        at = int(h) * 3600 + int(m) * 60 + float(sec)
        first.setdefault(run, at)
        last[run] = at
        started = re.match(r"Beginning (sub)?flow run '[^']+' for flow '([^']+)'", text)
        if started:
            names[run] = "flow" if not started.group(1) else started.group(2)
    return {names.get(run, run): last[run] - first[run] for run in first}


def flow_seconds(stdout: str) -> float | None:
    """Seconds the parent flow ran: the run without Prefect's start-up and shutdown."""
    return flow_times(stdout).get("flow")


def stage_breakdown(stdout: str) -> str:
    times = flow_times(stdout)
    return ", ".join(
        f"{stage} {times[stage]:.1f} s" for stage in ("extract", "validate", "transform", "load")
        if stage in times
    )


# The catalogue is small (114k songs): both passes read it with the same rules.
CATALOGUE_SQL = """
SET TimeZone = 'UTC';
CREATE TEMP TABLE raw_songs AS
  SELECT *, row_number() OVER () AS file_row
  FROM read_csv({songs}, all_varchar = true, header = true, union_by_name = true, filename = true);
CREATE TEMP TABLE songs AS
  WITH typed AS (
    SELECT trim(track_id) AS track_id, trim(artists) AS artists, trim(track_name) AS track_name,
           trim(track_genre) AS track_genre, trim(album_name) AS album_name,
           CASE WHEN regexp_full_match(trim(popularity), '[+-]?[0-9]{{1,18}}')
                THEN TRY_CAST(trim(popularity) AS BIGINT) END AS popularity,
           CASE WHEN regexp_full_match(trim(duration_ms), '[+-]?[0-9]{{1,18}}')
                THEN TRY_CAST(trim(duration_ms) AS BIGINT) END AS duration_ms,
           filename, file_row
    FROM raw_songs
  ),
  valid AS (
    SELECT * FROM typed
    WHERE nullif(track_id, '') IS NOT NULL AND nullif(track_name, '') IS NOT NULL
      AND nullif(artists, '') IS NOT NULL AND nullif(track_genre, '') IS NOT NULL
      AND popularity BETWEEN 0 AND 100 AND duration_ms >= 1
      AND octet_length(encode(track_id)) <= 64 AND octet_length(encode(artists)) <= 4096
      AND octet_length(encode(coalesce(album_name, ''))) <= 1024
      AND octet_length(encode(track_name)) <= 1024 AND octet_length(encode(track_genre)) <= 256
  )
  SELECT * FROM valid
  QUALIFY row_number() OVER (PARTITION BY track_id ORDER BY filename, file_row) = 1;
CREATE TEMP TABLE artists AS
  SELECT DISTINCT track_id, trim(name) AS artist
  FROM (SELECT track_id, unnest(string_split(artists, ';')) AS name FROM songs)
  WHERE trim(name) <> '';
"""

# The reference's row rules: all-varchar columns checked with the same patterns as SPEC §2.
REFERENCE_EVENTS_SQL = """
CREATE TEMP TABLE events AS
  WITH raw AS (
    SELECT trim(user_id) AS u, trim(track_id) AS t, trim(listen_time) AS lt
    FROM read_csv({streams}, all_varchar = true, header = true, union_by_name = true)
  ),
  parsed AS (
    SELECT TRY_CAST(u AS BIGINT) AS user_id, t AS track_id,
           CAST(TRY_CAST(lt AS TIMESTAMPTZ) AS TIMESTAMP) AS listen_time
    FROM raw
    WHERE regexp_full_match(u, '[0-9]{{1,18}}') AND TRY_CAST(u AS BIGINT) > 0
      AND nullif(t, '') IS NOT NULL AND regexp_full_match(lt, '{timestamp}')
      AND t IN (SELECT track_id FROM songs)
  )
  SELECT DISTINCT user_id, track_id, listen_time,
         date_trunc('hour', listen_time) AS listen_hour, CAST(listen_time AS DATE) AS listen_date
  FROM parsed WHERE listen_time IS NOT NULL AND listen_time <= TIMESTAMP '{cutoff}';
"""

# The lean pass: what a hand-written script would do. One typed, multithreaded read_csv; rows
# whose values do not parse as their types are skipped by the reader (ignore_errors), the rest
# are filtered on what types cannot say (positive ids, known tracks, not in the future).
LEAN_EVENTS_SQL = """
CREATE TEMP TABLE events AS
  SELECT DISTINCT user_id, track_id, listen_time,
         date_trunc('hour', listen_time) AS listen_hour, CAST(listen_time AS DATE) AS listen_date
  FROM (
    SELECT TRY_CAST(user_id AS BIGINT) AS user_id, track_id,
           CAST(listen_time AS TIMESTAMP) AS listen_time
    FROM read_csv({streams}, header = true, union_by_name = true, ignore_errors = true,
                  types = {{'user_id': 'VARCHAR', 'track_id': 'VARCHAR',
                           'listen_time': 'TIMESTAMPTZ'}})
    WHERE NOT contains(user_id, '.')  -- a cast to BIGINT would round 12.5
  )
  WHERE user_id > 0 AND track_id IN (SELECT track_id FROM songs)
    AND listen_time <= TIMESTAMP '{cutoff}';
"""

KPI_SQL = """
CREATE TABLE hourly AS
  WITH totals AS (
    SELECT listen_hour, count(*) AS n, count(DISTINCT user_id) AS listeners,
           count(DISTINCT track_id) AS tracks
    FROM events GROUP BY listen_hour
  ),
  plays AS (
    SELECT e.listen_hour, a.artist, count(*) AS plays
    FROM events e JOIN artists a USING (track_id) GROUP BY ALL
  ),
  best AS (
    SELECT * FROM plays
    QUALIFY row_number() OVER (PARTITION BY listen_hour ORDER BY plays DESC, artist) = 1
  )
  SELECT t.listen_hour, t.n, t.listeners, t.tracks, t.tracks::DOUBLE / t.n::DOUBLE,
         b.artist, b.plays
  FROM totals t LEFT JOIN best b USING (listen_hour);
CREATE TABLE genre AS
  WITH joined AS (
    SELECT e.listen_date, e.user_id, s.track_id, s.track_genre, s.duration_ms, s.popularity,
           s.track_name
    FROM events e JOIN songs s USING (track_id)
  ),
  totals AS (
    SELECT listen_date, track_genre, count(*) AS n, count(DISTINCT user_id) AS listeners,
           sum(duration_ms)::DOUBLE / count(*)::DOUBLE AS avg_duration,
           sum(popularity)::DOUBLE / count(*)::DOUBLE AS avg_popularity
    FROM joined GROUP BY ALL
  ),
  tracks AS (
    SELECT listen_date, track_genre, track_id, any_value(track_name) AS track_name,
           any_value(popularity) AS popularity, count(*) AS plays
    FROM joined GROUP BY listen_date, track_genre, track_id
  ),
  best AS (
    SELECT * FROM tracks
    QUALIFY row_number() OVER (PARTITION BY listen_date, track_genre
                               ORDER BY plays DESC, popularity DESC, track_id) = 1
  )
  SELECT t.listen_date, t.track_genre, t.n, t.listeners, t.avg_duration, t.avg_popularity,
         t.n::DOUBLE * t.avg_popularity / 100.0, b.track_id, b.track_name, b.plays
  FROM totals t JOIN best b USING (listen_date, track_genre);
"""


def reference_pass(
    landing: Path, out: Path, cutoff: datetime, events_sql: str
) -> tuple[float, float]:
    """Compute the KPI tables with one DuckDB SQL script straight from the CSV files; return
    wall and CPU seconds (DuckDB's threads run in this process)."""
    songs = sorted(str(p) for p in (landing / "songs").glob("*.csv"))
    streams = sorted(str(p) for p in (landing / "streams").rglob("*.csv*"))
    script = (CATALOGUE_SQL + events_sql + KPI_SQL).format(
        songs=songs, streams=streams, timestamp=TIMESTAMP, cutoff=cutoff.strftime("%Y-%m-%d %H:%M:%S")
    )
    started, cpu_before = time.perf_counter(), time.process_time()
    with duckdb.connect(str(out)) as connection:
        connection.execute(script)
    return time.perf_counter() - started, time.process_time() - cpu_before


def tables(path: Path, hourly: str, genre: str) -> tuple[list, list]:
    with duckdb.connect(str(path), read_only=True) as connection:
        return (
            connection.execute(f"SELECT * FROM {hourly} ORDER BY 1").fetchall(),
            connection.execute(f"SELECT * FROM {genre} ORDER BY 1, 2").fetchall(),
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--hours", type=int, default=72)
    parser.add_argument("--songs", type=int, default=114_000)
    parser.add_argument("--users", type=int, default=50_000)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/music-etl-benchmark"))
    parser.add_argument("--reuse-data", action="store_true", help="keep an existing landing zone")
    parser.add_argument(
        "--task-runner", default="threads", help="music-etl run --task-runner: threads, dask or tcp://HOST:PORT"
    )
    parser.add_argument(
        "--file-workers", type=int, help="MUSIC_ETL_FILE_WORKERS: threads, or Dask worker processes"
    )
    args = parser.parse_args()

    work = args.workdir
    landing, held = work / "landing", work / "held_back"
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"}
    env["PREFECT_HOME"] = str(work / "prefect-home")
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=args.hours + 2)
    if not (args.reuse_data and landing.exists()):
        shutil.rmtree(work, ignore_errors=True)
        per_hour = args.events // args.hours
        generate = [MUSIC_ETL, "generate", "--landing", str(landing), "--songs", str(args.songs),
                    "--users", str(args.users), "--events", str(args.events + per_hour),
                    "--hours", str(args.hours + 1), "--start", start.strftime("%Y-%m-%dT%H:%M"),
                    "--no-broken-files"]  # fmt: skip
        wall, _, _ = run_measured(generate, env)
        print(f"generate: {wall:.1f} s")
        last = sorted((landing / "streams").rglob("*.csv*"))[-1]
        held.mkdir(parents=True)
        shutil.move(last, held / last.name)
        (held / "key").write_text(str(last.relative_to(landing)))
    # A reused landing zone still holds the hour the last benchmark's incremental run added.
    (landing / (held / "key").read_text()).unlink(missing_ok=True)
    for stale in ("lake", "prefect-home"):
        shutil.rmtree(work / stale, ignore_errors=True)
    for stale in ("warehouse.duckdb", "reference.duckdb", "lean.duckdb"):
        (work / stale).unlink(missing_ok=True)
    csv_bytes = sum(p.stat().st_size for p in (landing / "streams").rglob("*.csv*"))
    cutoff = datetime.now(UTC) + timedelta(days=1)

    # Prefect's database is created before timing: a user's PREFECT_HOME exists after their
    # first run (the migrations take ~9 s once), and on ECS the API is a server elsewhere.
    prefect = str(Path(sys.executable).with_name("prefect"))
    wall, _, _ = run_measured([prefect, "server", "database", "upgrade", "-y"], env)
    print(f"Prefect database created (not timed): {wall:.1f} s")

    reference_seconds, _ = reference_pass(landing, work / "reference.duckdb", cutoff, REFERENCE_EVENTS_SQL)
    lean_seconds, lean_cpu = reference_pass(landing, work / "lean.duckdb", cutoff, LEAN_EVENTS_SQL)
    run = [MUSIC_ETL, "run", "--landing", str(landing), "--lake", str(work / "lake"),
           "--warehouse", f"duckdb:///{work / 'warehouse.duckdb'}",
           "--task-runner", args.task_runner]  # fmt: skip
    if args.file_workers:
        env["MUSIC_ETL_FILE_WORKERS"] = str(args.file_workers)
    full_wall, full_rss, full_out = run_measured(run, env)
    full_tree_rss = list(TREE_RSS.values())[-1]
    full_cpu = list(CPU_SECONDS.values())[-1]
    full_flow = flow_seconds(full_out)
    pipeline = tables(work / "warehouse.duckdb", "music.hourly_kpis", "music.genre_kpis")
    reference = tables(work / "reference.duckdb", "hourly", "genre")
    lean = tables(work / "lean.duckdb", "hourly", "genre")
    same = pipeline == reference == lean

    key = (held / "key").read_text()
    (landing / key).parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(held / Path(key).name, landing / key)
    incremental_wall, _, incremental_out = run_measured(run, env)
    idle_wall, _, idle_out = run_measured(run, env)
    # The same hourly file alone, on an empty lake and warehouse: what the incremental run
    # costs on top of 10M events of history is judged against this.
    shutil.rmtree(work / "lake-alone", ignore_errors=True)
    for stale in ("warehouse-alone.duckdb", "warehouse-alone.duckdb.wal"):
        (work / stale).unlink(missing_ok=True)
    alone = [MUSIC_ETL, "run", "--landing", str(landing), "--lake", str(work / "lake-alone"),
             "--warehouse", f"duckdb:///{work / 'warehouse-alone.duckdb'}",
             "--task-runner", args.task_runner, "--file-key", key]  # fmt: skip
    alone_wall, _, alone_out = run_measured(alone, env)
    events = pipeline[0] and sum(row[1] for row in pipeline[0])

    print(f"stream CSV: {csv_bytes / 1e6:.0f} MB, {events:,} valid distinct events in the warehouse")
    print(f"task runner: {args.task_runner}, file workers: {args.file_workers or 'default (CPUs, at least 2)'}")
    print(f"lean DuckDB pass (one typed read_csv): {lean_seconds:.1f} s")
    print(f"reference DuckDB SQL pass (row rules over varchar): {reference_seconds:.1f} s")
    print(f"full run: wall {full_wall:.1f} s (flow {full_flow:.1f} s), peak RSS {full_rss:.0f} MB "
          f"(all processes but Prefect's server together: {full_tree_rss:.0f} MB), "
          f"{events / full_wall:,.0f} events/s")  # fmt: skip
    print(f"  subflows: {stage_breakdown(full_out)}")
    # No run can take less wall time than its CPU seconds spread over every core.
    cores = os.cpu_count() or 1
    print(f"CPU seconds (user + system): lean {lean_cpu:.1f} ({lean_cpu / lean_seconds:.2f} cores busy), "
          f"full run {full_cpu:.1f} with Prefect's server ({full_cpu / full_wall:.2f} cores busy); "
          f"on {cores} cores the full run's CPU alone needs {full_cpu / cores:.1f} s, "
          f"{full_cpu / cores / lean_seconds:.2f}x the lean pass")  # fmt: skip
    print(f"ratio full run / lean: {full_wall / lean_seconds:.2f} (flow only {full_flow / lean_seconds:.2f})")
    print(f"ratio full run / reference: {full_wall / reference_seconds:.2f} (flow only {full_flow / reference_seconds:.2f})")
    print(f"incremental run (+1 hourly file): wall {incremental_wall:.1f} s (flow {flow_seconds(incremental_out):.1f} s)")
    print(f"the same hourly file alone on an empty warehouse: wall {alone_wall:.1f} s (flow {flow_seconds(alone_out):.1f} s); "
          f"incremental / alone: {incremental_wall / alone_wall:.2f} (flow only {flow_seconds(incremental_out) / flow_seconds(alone_out):.2f})")  # fmt: skip
    print(f"nothing new: wall {idle_wall:.1f} s (flow {flow_seconds(idle_out):.1f} s)")
    print(f"KPI tables equal to the reference and the lean pass: {same} ({len(pipeline[0])} hourly, {len(pipeline[1])} genre rows)")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
