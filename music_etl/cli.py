"""`music-etl`: run the pipeline once, replay quarantined rows, or write a sample landing zone.

Errors a user can cause end with one line on stderr and a non-zero exit; progress and the run
summary go to stdout.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2


def _quiet_prefect_defaults() -> None:
    """No telemetry, and Prefect's console logs on stdout so stderr carries only our error line."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_STREAM", "ext://sys.stdout")
    os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_FLOW_RUNS_STREAM", "ext://sys.stdout")
    os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_TASK_RUNS_STREAM", "ext://sys.stdout")


def _fail(message: str, code: int) -> int:
    print(f"music-etl: error: {message}", file=sys.stderr)
    return code


def _add_locations(command: argparse.ArgumentParser) -> None:
    command.add_argument("--landing", help="folder, s3://bucket/prefix or block:NAME")
    command.add_argument("--lake", help="folder, s3://bucket/prefix or block:NAME")
    command.add_argument("--warehouse", help="SQLAlchemy URL (duckdb:///path, ...) or block:NAME")
    command.add_argument("--schema", default="music", help="warehouse schema (default: music)")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="music-etl", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run the pipeline once (the Prefect parent flow)")
    _add_locations(run)
    run.add_argument("--max-files", type=int, help="ingest at most N new stream files")
    run.add_argument(
        "--max-invalid-fraction",
        type=float,
        default=0.5,
        help="reject a stream file when more than this fraction of rows is invalid (0.5)",
    )

    run.add_argument(
        "--file-key",
        action="append",
        dest="file_keys",
        metavar="KEY",
        help="backfill/replay: only this stream file key (repeatable)",
    )
    run.add_argument(
        "--force-reingest",
        action="store_true",
        help="process the selected files even if their version was already ingested",
    )

    replay = commands.add_parser(
        "replay-quarantine",
        help="load quarantined unknown_track stream rows whose tracks the catalogue now knows",
    )
    _add_locations(replay)

    generate = commands.add_parser("generate", help="write a realistic sample landing zone")
    generate.add_argument("--landing", help="target folder (default: $MUSIC_ETL_LANDING or ./data/landing)")
    generate.add_argument("--songs", type=int, default=5000)
    generate.add_argument("--users", type=int, default=2000)
    generate.add_argument("--events", type=int, default=100_000)
    generate.add_argument("--hours", type=int, default=24, help="hourly stream files to write")
    generate.add_argument("--start", help="UTC hour of the first file, e.g. 2026-11-27T00:00")
    generate.add_argument("--seed", type=int, default=7)
    generate.add_argument("--no-broken-files", action="store_true", help="skip streams/broken/")
    generate.add_argument(
        "--if-empty", action="store_true", help="do nothing when the folder already has files"
    )
    return parser


def _generate(args: argparse.Namespace) -> int:
    from flows.pipeline import DEFAULT_LANDING
    from music_etl.generate import generate_landing

    root = Path(args.landing or os.environ.get("MUSIC_ETL_LANDING") or DEFAULT_LANDING)
    if args.if_empty and root.is_dir() and any(root.rglob("*.csv*")):
        print(f"{root} already has files; not generating")
        return 0
    start = None
    if args.start:
        try:
            start = datetime.fromisoformat(args.start)
        except ValueError:
            return _fail(f"--start {args.start!r} is not an ISO date and time", EXIT_BAD_INPUT)
        # No zone means UTC, like listen_time; an offset is honoured.
        start = start.replace(tzinfo=UTC) if start.tzinfo is None else start.astimezone(UTC)
    summary = generate_landing(
        root,
        songs=args.songs,
        users=args.users,
        events=args.events,
        hours=args.hours,
        start=start,
        seed=args.seed,
        broken_files=not args.no_broken_files,
        progress=print,
    )
    print(
        f"wrote {summary.events} events in {summary.stream_files} stream files, "
        f"{summary.songs} songs, {summary.users} users, {len(summary.broken_files)} broken files "
        f"({summary.bytes_written / 1e6:.1f} MB) to {summary.root}"
    )
    return 0


def _preflight(landing: str, lake: str, warehouse_url: str, schema: str) -> None:
    """Fail fast, before any Prefect run exists, on locations that cannot work."""
    from tasks.storage import open_store
    from tasks.warehouse import open_warehouse

    open_store(landing)
    open_warehouse(warehouse_url, schema).close()
    open_store(lake, create=True)


def _replay_preflight(landing: str, lake: str, warehouse_url: str, schema: str) -> None:
    """A replay reads only the lake (the quarantine lives there) and the warehouse."""
    from tasks.storage import open_store
    from tasks.warehouse import open_warehouse

    open_store(lake)
    open_warehouse(warehouse_url, schema).close()


def _local_run_settings():
    """Settings for a run on Prefect's temporary server (no PREFECT_API_URL), which nobody
    watches and which lives only as long as the command:
    - no flow heartbeats: each of the five flow runs would wait up to a second for its
      heartbeat thread at exit;
    - no task-run recorder on that server: its writes to the server's SQLite database stalled
      the creation of subflow runs by about two seconds, once or twice per run (a run with
      nothing new took 3.3 s instead of 1.3 s). Flow runs, their states, logs and artifacts are
      still recorded; only the per-task rows of that throwaway server are not.
    A run against a real Prefect server (ECS, `prefect server start`) changes nothing here."""
    from contextlib import nullcontext

    from prefect.settings import (
        PREFECT_API_URL,
        PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
        temporary_settings,
    )

    if PREFECT_API_URL.value():
        return nullcontext()
    # Read by the temporary server, which inherits this process's environment when it starts.
    os.environ.setdefault("PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_ENABLED", "false")
    return temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None})


def _run_flow(flow, title: str, args: argparse.Namespace, preflight, **parameters) -> int:
    """Resolve the locations, fail fast (exit 2) on ones that cannot work, run the flow with
    the local settings and report: exit 1 with one line if it failed, else its summary."""
    from flows.pipeline import resolve_locations
    from tasks.secrets import warehouse_parameter
    from tasks.storage import StorageError
    from tasks.warehouse import WarehouseError

    landing, lake, warehouse = resolve_locations(args.landing, args.lake, args.warehouse)
    try:
        preflight(landing, lake, warehouse, args.schema)
    except (StorageError, WarehouseError) as exc:
        return _fail(str(exc), EXIT_BAD_INPUT)

    with _local_run_settings():
        state = flow(
            landing=landing,
            lake=lake,
            warehouse=warehouse_parameter(warehouse),  # a password never becomes a parameter
            warehouse_schema=args.schema,
            return_state=True,
            **parameters,
        )
    if not state.is_completed():
        try:
            state.result()
        except Exception as exc:  # noqa: BLE001 - one clear line instead of a traceback
            message = f"{type(exc).__name__}: {exc}".splitlines()[0]
            return _fail(f"run failed: {message}", EXIT_FAILED)
        return _fail(f"run ended {state.name}", EXIT_FAILED)
    print("\n".join(["", title, *state.result().lines()]))
    return 0


def _run(args: argparse.Namespace) -> int:
    from flows.pipeline import music_etl_pipeline

    return _run_flow(
        music_etl_pipeline,
        "music-etl run summary",
        args,
        _preflight,
        max_files=args.max_files,
        max_invalid_fraction=args.max_invalid_fraction,
        file_keys=args.file_keys,
        force_reingest=args.force_reingest,
    )


def _replay(args: argparse.Namespace) -> int:
    from flows.replay import replay_quarantine_flow

    return _run_flow(
        replay_quarantine_flow, "music-etl replay-quarantine summary", args, _replay_preflight
    )


def main(argv: list[str] | None = None) -> int:
    _quiet_prefect_defaults()
    args = _parser().parse_args(argv)
    if args.command == "generate":
        return _generate(args)
    if args.command == "replay-quarantine":
        return _replay(args)
    return _run(args)


if __name__ == "__main__":
    sys.exit(main())
