"""`music-etl` as a user runs it: a subprocess, its exit code, stdout and stderr (SPEC section 6)."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.request import Request, urlopen

import duckdb
import pytest

from tests.integration.helpers import QUICK_TIMEOUT, cli, single_error_line
from tests.integration.servers import free_port, prefect_server_process

FAST_FAIL_SECONDS = 30  # generous: only the imports happen before the error

GENERATE_SMALL = ["--songs", "200", "--users", "50", "--events", "3000", "--hours", "4"]
REJECTED_BROKEN = [
    "streams/broken/latin1.csv",
    "streams/broken/missing_column.csv",
    "streams/broken/mostly_invalid.csv",
    "streams/broken/bad_quotes.csv",
    "streams/broken/corrupt.csv.gz",
]
EMPTY_BROKEN = ["streams/broken/header_only.csv", "streams/broken/empty.csv"]


def file_snapshot(root: Path) -> dict[str, tuple[int, bytes]]:
    return {
        str(p.relative_to(root)): (p.stat().st_mtime_ns, p.read_bytes())
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def query(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        return connection.execute(sql).fetchall()


# --- run: errors a user can cause ----------------------------------------------------------


def test_run_with_missing_landing_fails_fast_with_one_line(tmp_path):
    missing = tmp_path / "no-such-landing"
    lake = tmp_path / "lake"
    started = time.monotonic()
    result = cli(
        "run", "--landing", str(missing), "--lake", str(lake),
        "--warehouse", f"duckdb:///{tmp_path / 'w.duckdb'}",
        cwd=tmp_path, timeout=QUICK_TIMEOUT,
    )  # fmt: skip
    elapsed = time.monotonic() - started

    assert result.returncode == 2
    assert "Traceback" not in result.stdout
    assert str(missing) in single_error_line(result)
    assert elapsed < FAST_FAIL_SECONDS
    assert "temporary server" not in result.stdout + result.stderr  # Prefect never started
    assert "Flow run" not in result.stdout
    assert not lake.exists()


def test_run_with_unsupported_warehouse_scheme_exits_2(tmp_path):
    (tmp_path / "landing").mkdir()
    result = cli(
        "run", "--landing", "landing", "--lake", "lake", "--warehouse", "mysql://x/y",
        cwd=tmp_path, timeout=QUICK_TIMEOUT,
    )  # fmt: skip

    assert result.returncode == 2
    assert "mysql" in single_error_line(result)
    assert "Flow run" not in result.stdout


def test_run_with_unopenable_warehouse_fails_with_one_line(tmp_path):
    (tmp_path / "landing").mkdir()
    result = cli(
        "run", "--landing", "landing", "--lake", "lake",
        "--warehouse", "duckdb:////proc/nonexistent/w.duckdb",
        cwd=tmp_path, timeout=QUICK_TIMEOUT,
    )  # fmt: skip

    assert result.returncode != 0
    assert "/proc/nonexistent" in single_error_line(result)


def test_run_with_unknown_task_runner_fails_with_one_line(tmp_path):
    (tmp_path / "landing").mkdir()
    result = cli(
        "run", "--landing", "landing", "--lake", "lake",
        "--warehouse", f"duckdb:///{tmp_path / 'w.duckdb'}", "--task-runner", "spark",
        cwd=tmp_path, timeout=QUICK_TIMEOUT,
    )  # fmt: skip

    assert result.returncode == 2
    line = single_error_line(result)
    assert "'spark'" in line and "threads, dask or tcp://HOST:PORT" in line
    assert "Flow run" not in result.stdout


def test_run_with_unreachable_dask_scheduler_fails_fast_with_one_line(tmp_path):
    with socket.socket() as probe:  # a port on which nothing listens
        probe.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{probe.getsockname()[1]}"
    (tmp_path / "landing").mkdir()
    result = cli(
        "run", "--landing", "landing", "--lake", "lake",
        "--warehouse", f"duckdb:///{tmp_path / 'w.duckdb'}",
        cwd=tmp_path, timeout=QUICK_TIMEOUT, env={**os.environ, "MUSIC_ETL_TASK_RUNNER": address},
    )  # fmt: skip

    assert result.returncode == 2
    assert f"no Dask scheduler answers at {address}" in single_error_line(result)
    assert "temporary server" not in result.stdout  # Prefect never started


def test_run_with_out_of_range_max_invalid_fraction_fails_with_one_line(tmp_path):
    (tmp_path / "landing").mkdir()
    result = cli(
        "run", "--landing", "landing", "--lake", "lake",
        "--warehouse", f"duckdb:///{tmp_path / 'w.duckdb'}", "--max-invalid-fraction", "2",
        cwd=tmp_path,
    )  # fmt: skip

    assert result.returncode != 0
    assert "max_invalid_fraction" in single_error_line(result)


# --- generate --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> tuple[Path, Path]:
    """(cwd, landing) after `generate --start 2026-11-27T00:00` with small sizes."""
    cwd = tmp_path_factory.mktemp("generate")
    result = cli(
        "generate", "--landing", "landing", *GENERATE_SMALL, "--start", "2026-11-27T00:00",
        cwd=cwd, timeout=QUICK_TIMEOUT,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return cwd, cwd / "landing"


def test_generate_writes_catalogues_streams_and_broken_files(generated):
    _, landing = generated
    for prefix in ("songs", "users", "streams", "streams/broken"):
        assert any(p.is_file() for p in (landing / prefix).rglob("*")), prefix

    hourly = sorted(
        str(p.relative_to(landing / "streams"))
        for p in (landing / "streams").rglob("*.csv*")
        if "broken" not in p.parts
    )
    assert len(hourly) == 4  # --hours 4
    assert all(key.startswith("2026/11/27/") for key in hourly), hourly  # --start honoured
    broken = {str(p.relative_to(landing)) for p in (landing / "streams/broken").iterdir()}
    assert set(REJECTED_BROKEN + EMPTY_BROKEN) <= broken


def test_generate_if_empty_leaves_existing_landing_unchanged(generated):
    cwd, landing = generated
    before = file_snapshot(landing)

    result = cli(
        "generate", "--landing", "landing", *GENERATE_SMALL, "--if-empty",
        cwd=cwd, timeout=QUICK_TIMEOUT,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert "not generating" in result.stdout
    assert file_snapshot(landing) == before


def test_generate_with_bad_start_exits_2(tmp_path):
    result = cli(
        "generate", "--landing", "landing", *GENERATE_SMALL, "--start", "not-a-date",
        cwd=tmp_path, timeout=QUICK_TIMEOUT,
    )  # fmt: skip

    assert result.returncode == 2
    assert "not-a-date" in single_error_line(result)
    assert not (tmp_path / "landing").exists()


# --- run: end to end, twice --------------------------------------------------------------------


class EndToEnd:
    def __init__(self, root: Path):
        self.root = root
        self.warehouse = root / "w.duckdb"
        self.first: subprocess.CompletedProcess
        self.second: subprocess.CompletedProcess
        self.streams_after_first: int
        self.stream_files_after_first: int

    def run(self) -> subprocess.CompletedProcess:
        return cli(
            "run", "--landing", "landing", "--lake", "lake",
            "--warehouse", f"duckdb:///{self.warehouse}",
            cwd=self.root,
        )  # fmt: skip

    def query(self, sql: str) -> list[tuple]:
        return query(self.warehouse, sql)


@pytest.fixture(scope="module")
def e2e(tmp_path_factory) -> EndToEnd:
    """Generate a recent sample, run the pipeline, look at the warehouse, run it again."""
    state = EndToEnd(tmp_path_factory.mktemp("e2e"))
    generated = cli("generate", "--landing", "landing", *GENERATE_SMALL, cwd=state.root)
    assert generated.returncode == 0, generated.stderr

    state.first = state.run()
    state.streams_after_first = state.query("SELECT COUNT(*) FROM music.streams")[0][0]
    state.stream_files_after_first = state.query(
        "SELECT COUNT(*) FROM music.etl_file_ledger WHERE dataset = 'streams'"
    )[0][0]
    state.second = state.run()
    return state


def test_run_completes_and_prints_summary(e2e):
    result = e2e.first
    assert result.returncode == 0, result.stderr
    assert not [line for line in result.stderr.splitlines() if "Traceback" in line]
    for text in (
        "music-etl run summary", "rows loaded:", "rows quarantined:", "duplicates:",
        "KPI rows written:",
    ):  # fmt: skip
        assert text in result.stdout, text

    docs = re.search(
        r"^Data Docs: http://127\.0\.0\.1:8765/(runs/\S+/index\.html) "
        r"\(served by `music-etl docs --lake lake`\)$",
        result.stdout,
        re.MULTILINE,
    )
    assert docs, "no Data Docs line"
    assert (e2e.root / "lake" / "data_docs" / docs.group(1)).is_file()
    assert "starting a temporary Prefect server" in result.stdout.splitlines()[0]


def test_docs_serves_the_run_page_the_summary_names(e2e):
    page = re.search(r"^Data Docs: http://127\.0\.0\.1:8765/(\S+)", e2e.first.stdout, re.MULTILINE)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "docs", "--lake", "lake", "--port", str(port)],
        cwd=e2e.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert f"http://127.0.0.1:{port}/" in server.stdout.readline()
        html = urlopen(f"http://127.0.0.1:{port}/{page.group(1)}", timeout=30).read().decode()
        assert "streams/broken/latin1.csv" in html and "KPI dashboard" in html
        # a second server on the same port: one line, exit 2
        taken = cli("docs", "--lake", "lake", "--port", str(port), cwd=e2e.root, timeout=QUICK_TIMEOUT)
        assert taken.returncode == 2 and f"port {port} is in use" in single_error_line(taken)
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.parametrize(
    ("lake", "message"),
    [("s3://bucket/lake", "is not a local folder"), ("nowhere", "no Data Docs in nowhere/data_docs yet")],
)
def test_docs_without_a_local_site_fails_with_one_line(tmp_path, lake, message):
    result = cli("docs", "--lake", lake, cwd=tmp_path, timeout=QUICK_TIMEOUT)
    assert result.returncode == 2
    assert message in single_error_line(result)


def test_run_records_broken_files_in_ledger(e2e):
    ledger = {
        key: (status, reason)
        for key, status, reason in e2e.query(
            "SELECT source_key, status, reason FROM music.etl_file_ledger"
        )
    }
    for key in REJECTED_BROKEN:
        assert key in ledger, key
        status, reason = ledger[key]
        assert status == "rejected", (key, status)
        assert reason and reason.strip(), key
    for key in EMPTY_BROKEN:
        assert ledger.get(key, (None,))[0] == "empty", key


def test_run_writes_hourly_kpis(e2e):
    assert e2e.query("SELECT COUNT(*) FROM music.hourly_kpis")[0][0] >= 4


def test_ledger_rows_loaded_match_streams_table(e2e):
    loaded = e2e.query(
        "SELECT SUM(rows_loaded) FROM music.etl_file_ledger WHERE dataset = 'streams'"
    )[0][0]
    assert loaded == e2e.streams_after_first > 0
    assert f"rows loaded: {loaded}\n" in e2e.first.stdout


def test_second_run_skips_already_ingested_files(e2e):
    result = e2e.second
    assert result.returncode == 0, result.stderr
    assert not [line for line in result.stderr.splitlines() if "Traceback" in line]
    assert f"{e2e.stream_files_after_first} already ingested" in result.stdout
    assert re.search(r"^rows loaded: 0$", result.stdout, re.MULTILINE)
    assert e2e.query("SELECT COUNT(*) FROM music.streams")[0][0] == e2e.streams_after_first


def test_run_reuses_a_prefect_server_that_is_already_running(e2e, tmp_path):
    """Local mode without PREFECT_API_URL: a server answering at MUSIC_ETL_LOCAL_PREFECT_API
    (default Prefect's own 127.0.0.1:4200) is used instead of a temporary one, and the run is
    recorded there."""
    with prefect_server_process(tmp_path, ui=False) as api:
        result = cli(
            "run", "--landing", "landing", "--lake", "lake",
            "--warehouse", f"duckdb:///{e2e.warehouse}",
            cwd=e2e.root, env={**os.environ, "MUSIC_ETL_LOCAL_PREFECT_API": api},
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert f"music-etl: using the Prefect server at {api}" in result.stdout
        assert "temporary" not in result.stdout + result.stderr
        request = Request(
            f"{api}/flow_runs/filter", data=b"{}", method="POST",
            headers={"Content-Type": "application/json"},
        )  # fmt: skip
        runs = json.loads(urlopen(request, timeout=30).read())
        assert [run["state_type"] for run in runs if run["parent_task_run_id"] is None] == ["COMPLETED"]
