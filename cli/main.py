"""`music-etl`: run the pipeline once, replay quarantined rows, or write a sample landing zone.

Errors a user can cause end with one line on stderr and a non-zero exit; progress and the run
summary go to stdout.
"""

from __future__ import annotations

import argparse
import os
import sys
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
# Seconds a temporary Prefect server may take to start. Its first start on a new PREFECT_HOME
# creates and migrates its database: 48-63 s measured with both cores of a 2-core machine busy
# (benchmarks/cold_start.py), where Prefect's own 20 s default timed out.
STARTUP_WAIT = 300


def _prefect_defaults() -> None:
    """Prefect reads its settings from the environment: these defaults are set once, when the
    command starts and before Prefect is imported. No telemetry; Prefect's console logs on
    stdout, so stderr carries only our error line. Without PREFECT_API_URL a run uses a
    temporary Prefect server that nobody watches and that lives as long as the command: it runs
    without the task-run recorder and the event persister. Their SQLite writes (a row per task
    state, every event) collided with the run's own requests: SQLite said busy, the server
    answered 503 and Prefect's client retried after 2 s, once or twice per run (after the 76
    copy tasks of a 10M-event run, say). Flow runs, states, logs and artifacts are still
    recorded. Nor does it register the block types of installed collections at start: only to
    see whether any changed since the last start, Prefect imported prefect-aws and prefect-dask
    (boto3, distributed) in the server's process, 1-2 s of every run's wait; a block this
    project saves registers its own type. A run against a real Prefect server (ECS,
    `prefect server start`) is unchanged."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    for handler in ("CONSOLE", "CONSOLE_FLOW_RUNS", "CONSOLE_TASK_RUNS"):
        os.environ.setdefault(f"PREFECT_LOGGING_HANDLERS_{handler}_STREAM", "ext://sys.stdout")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", str(STARTUP_WAIT))
    from prefect.settings import PREFECT_API_URL

    if not PREFECT_API_URL.value():
        os.environ.setdefault("PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_ENABLED", "false")
        os.environ.setdefault("PREFECT_SERVER_SERVICES_EVENT_PERSISTER_ENABLED", "false")
        os.environ.setdefault("PREFECT_API_BLOCKS_REGISTER_ON_START", "false")
        os.environ.setdefault("PREFECT_MEMOIZE_BLOCK_AUTO_REGISTRATION", "false")


@contextmanager
def _prefect_api(settings, *, landing: bool):
    """Where the run is recorded, for the duration of the block. PREFECT_API_URL (environment
    or profile) wins; else a Prefect server already answering at `settings.local_prefect_api`
    (where `prefect server start` listens by default) is reused, which saves starting a
    temporary one (seconds warm, a minute cold); else a temporary server is started, the user
    is told why the wait, and it stops when the block ends."""
    from urllib.request import urlopen

    from prefect.settings import PREFECT_API_URL, temporary_settings

    if PREFECT_API_URL.value():
        yield
        return
    if settings.local_prefect_api:
        try:
            with urlopen(f"{settings.local_prefect_api}/health", timeout=0.5) as answer:
                reuse = answer.status == 200
        except OSError:
            reuse = False  # none running: a temporary one it is
        if reuse:
            print(f"music-etl: using the Prefect server at {settings.local_prefect_api}")
            with temporary_settings(updates={PREFECT_API_URL: settings.local_prefect_api}):
                yield
            return
    print(
        "music-etl: starting a temporary Prefect server (no PREFECT_API_URL); its first start "
        f"creates its database and can take a minute or two (waiting up to {STARTUP_WAIT} s)",
        flush=True,
    )
    with _temporary_server(settings, landing=landing):
        yield


@contextmanager
def _temporary_server(settings, *, landing: bool):
    """Start a temporary server and, while it boots in its own process (seconds), import Great
    Expectations and make this process's GX context on the other core: the validate subflow
    would otherwise pay both (about 3 s) after the server is up. The main thread imports
    nothing while the other thread does: it only polls the server's health check."""
    import threading

    from prefect.settings import (
        PREFECT_API_URL,
        PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS,
        PREFECT_UI_URL,
        temporary_settings,
    )

    from cli.prefect_server import TemporaryPrefectServer

    server = TemporaryPrefectServer(PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value())
    server.launch()
    try:
        warming = threading.Thread(target=_warm_validation, args=(settings, landing), daemon=True)
        warming.start()
        server.wait_until_up()
        warming.join()
        # Nobody watches a temporary server for crashed runs (it stops with the command), so
        # the run sends no heartbeats, whose thread costs up to a second at the run's exit. It
        # serves no UI: no "View at" links to it.
        updates = {
            PREFECT_API_URL: server.api_url,
            PREFECT_UI_URL: "",
            PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None,
        }
        with temporary_settings(updates=updates):
            try:
                yield
            finally:
                _send_queued_logs_and_events()
    finally:
        server.stop()


def _send_queued_logs_and_events() -> None:
    """Prefect sends logs and events from background queues; the last ones (the parent's
    "Finished in state") would otherwise reach a server that has already stopped."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=5)
    EventsWorker.drain_all(timeout=5)


def _warm_validation(settings, landing: bool) -> None:
    try:
        from music_etl.quality import data_docs
        from tasks import connections

        # The lake as _check_locations opened it: cached, so no I/O here (no block is loaded).
        data_docs.runner(connections.open_store(settings.lake, settings, create=landing))
    except Exception:  # noqa: BLE001 - the validate subflow meets the same error and reports it
        pass


def _fail(message: str, code: int) -> int:
    print(f"music-etl: error: {message}", file=sys.stderr)
    return code


def _add_locations(command: argparse.ArgumentParser, *, landing: bool = True) -> None:
    if landing:
        command.add_argument("--landing", help="folder, s3://bucket/prefix or block:NAME")
    command.add_argument("--lake", help="folder, s3://bucket/prefix or block:NAME")
    command.add_argument("--warehouse", help="SQLAlchemy URL (duckdb:///path, ...) or block:NAME")
    command.add_argument(
        "--schema", dest="warehouse_schema", help="warehouse schema (default: music)"
    )


def _add_task_runner(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--task-runner",
        help="where per-file work runs: threads (default), dask (a local Dask cluster of worker "
        "processes) or tcp://HOST:PORT of a running Dask scheduler ($MUSIC_ETL_TASK_RUNNER)",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="music-etl", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run the pipeline once (the Prefect parent flow)")
    _add_locations(run)
    _add_task_runner(run)
    run.add_argument("--max-files", type=int, help="ingest at most N new stream files")
    run.add_argument(
        "--max-invalid-fraction",
        type=float,
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
    _add_locations(replay, landing=False)
    _add_task_runner(replay)

    docs = commands.add_parser(
        "docs", help="serve a local lake's Data Docs and dashboards on http://127.0.0.1:PORT/"
    )
    docs.add_argument("--lake", help="lake folder (default: $MUSIC_ETL_LAKE or ./data/lake)")
    docs.add_argument("--port", type=int, help="port (default: $MUSIC_ETL_DOCS_PORT or 8765)")

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


def _settings(args: argparse.Namespace):
    """The environment's settings with the command's flags on top."""
    from music_etl.settings import Settings

    flags = (
        "landing", "lake", "warehouse", "warehouse_schema", "max_invalid_fraction", "task_runner"
    )
    if getattr(args, "port", None) is not None:
        flags += ("docs_port",)
        args.docs_port = args.port
    return Settings(**{n: v for n in flags if (v := getattr(args, n, None)) is not None})


def _generate(args: argparse.Namespace) -> int:
    from music_etl.generate import generate_landing

    root = Path(_settings(args).landing)
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


def _check_locations(settings, *, landing: bool) -> None:
    """Fail fast, before any Prefect run exists, on locations that cannot work (a replay reads
    only the lake, where the quarantine lives, and the warehouse)."""
    from music_etl.cluster import check_scheduler, is_address
    from tasks import connections

    if is_address(settings.task_runner):
        check_scheduler(settings.task_runner)
    if landing:
        connections.landing(settings)
    connections.open_warehouse(settings.warehouse_url, settings.warehouse_schema, settings).close()
    connections.open_store(settings.lake, settings, create=landing)


def _run_flow(flow, title: str, args: argparse.Namespace, run_parameters=None) -> int:
    """Build the settings from the environment and the flags, fail fast (exit 2) on ones that
    cannot work, run the flow and report: exit 1 with one line if it failed, else its summary.
    `run_parameters(settings)`: the pipeline's own parameters (a replay has none)."""
    from pydantic import ValidationError

    from cli.prefect_server import ServerStartError
    from music_etl.cluster import ClusterError
    from music_etl.secrets import has_password
    from music_etl.settings import configure
    from music_etl.storage import StorageError
    from music_etl.warehouse.base import WarehouseError

    try:
        settings = _settings(args)
        _check_locations(settings, landing=run_parameters is not None)
    except ValidationError as exc:
        error = exc.errors()[0]
        return _fail(f"{'.'.join(map(str, error['loc']))}: {error['msg']}", EXIT_BAD_INPUT)
    except (StorageError, WarehouseError, ClusterError) as exc:
        return _fail(str(exc), EXIT_BAD_INPUT)
    configure(settings)  # the flow's settings: a password never becomes a flow parameter
    url = settings.warehouse_url
    try:
        with _prefect_api(settings, landing=run_parameters is not None):
            state = flow(
                lake=settings.lake,
                warehouse=None if has_password(url) else url,
                warehouse_schema=settings.warehouse_schema,
                task_runner=settings.task_runner,
                return_state=True,
                **(run_parameters(settings) if run_parameters else {}),
            )
            return _report(state, title)  # while the API is up: a result may be read from it
    except ServerStartError as exc:
        return _fail(str(exc), EXIT_FAILED)


def _report(state, title: str) -> int:
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
        lambda settings: dict(
            landing=settings.landing,
            max_files=args.max_files,
            max_invalid_fraction=settings.max_invalid_fraction,
            file_keys=args.file_keys,
            force_reingest=args.force_reingest,
        ),
    )


def _replay(args: argparse.Namespace) -> int:
    from flows.replay import replay_quarantine_flow

    return _run_flow(replay_quarantine_flow, "music-etl replay-quarantine summary", args)


def _docs(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from cli.docs import DocsError, serve

    try:
        settings = _settings(args)
        serve(settings.lake, settings.docs_port)
    except ValidationError as exc:
        error = exc.errors()[0]
        return _fail(f"{'.'.join(map(str, error['loc']))}: {error['msg']}", EXIT_BAD_INPUT)
    except DocsError as exc:
        return _fail(str(exc), EXIT_BAD_INPUT)
    return 0


def main(argv: list[str] | None = None) -> int:
    _prefect_defaults()
    args = _parser().parse_args(argv)
    if args.command == "generate":
        return _generate(args)
    if args.command == "docs":
        return _docs(args)
    if args.command == "replay-quarantine":
        return _replay(args)
    return _run(args)


if __name__ == "__main__":
    sys.exit(main())
