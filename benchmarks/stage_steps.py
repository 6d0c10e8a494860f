"""Where one stream file's validation spends its time, step by step, and what the KPI
recomputation costs, without Prefect, on what a 10M-event `pipeline_benchmark.py --workdir DIR`
left behind (its landing zone and its warehouse).

    .venv/bin/python benchmarks/stage_steps.py --workdir /tmp/b15 [--files 12] [--rounds 3]

Validation: the library's own steps (read the CSV, prepare the frame the suite checks, Great
Expectations' checkpoint and page, the quarantine and the valid rows to Parquet), in one thread,
in ms per file. KPIs: the warehouse is copied and the recomputation's statements run with every
hour pending, and with one, in seconds. Run it on two checkouts to compare them.
"""

from __future__ import annotations

import argparse
import io
import shutil
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from music_etl.quality import suites
from music_etl.quality.checks import prepare_streams, quarantine_table
from music_etl.quality.streams import StreamCheck
from music_etl.rules import parsing
from music_etl.rules.csv_input import read_csv_text
from music_etl.warehouse import sql


def known_tracks(landing: Path) -> pa.Array:
    ids: set[str] = set()
    for path in sorted((landing / "songs").glob("*.csv")):
        table = read_csv_text(path.read_bytes(), str(path), ["track_id"])
        ids.update(parsing.strip_text(table.column("track_id").to_pandas()).dropna())
    return pa.array(sorted(ids))


class FileValidator:
    """The library's steps for one stream file, as `validate_stream_file` runs them, minus the
    lake: a GX project in a scratch folder, outputs written to memory."""

    def __init__(self, landing: Path):
        self.tracks = known_tracks(landing)
        self.scratch = Path(tempfile.mkdtemp())
        self.runner = suites.SuiteRunner(self.scratch / "gx", self.scratch / "docs")
        self.cutoff = pd.Timestamp.now(tz="UTC") + pd.Timedelta(days=1)

    def validate(self, path: Path, step: Callable[[str], None] = lambda name: None) -> None:
        """Validate one file; `step(name)` is called as each step ends."""
        table = read_csv_text(path.read_bytes(), str(path), parsing.STREAM_COLUMNS)
        raw = table.to_pandas(types_mapper=lambda _: pd.StringDtype())
        raw.index = pd.RangeIndex(1, len(raw) + 1)
        step("read the CSV")
        frame = prepare_streams(raw, self.tracks)
        step("prepare the frame (parse, trim, look up)")
        outcome = self.runner.validate(
            "streams", frame, run_name=path.name, parameters={"max_listen_time": self.cutoff}
        )
        step("GX checkpoint and page")
        sources = pd.Series(path.name, index=frame.index)
        quarantined = quarantine_table(raw, outcome.reasons, sources, frame.index.to_series())
        pq.write_table(quarantined, io.BytesIO(), compression="zstd")
        step("quarantine to Parquet")
        check = StreamCheck(frame, outcome.reasons, None, "")  # type: ignore[arg-type]
        valid = pa.Table.from_pandas(check.valid_rows, preserve_index=False)
        pq.write_table(valid, io.BytesIO(), compression="zstd")
        step("valid rows to Parquet")

    def close(self) -> None:
        shutil.rmtree(self.scratch, ignore_errors=True)


def validation_steps(landing: Path, files: int) -> dict[str, float]:
    paths = sorted((landing / "streams").rglob("*.csv"))[:files]
    validator = FileValidator(landing)
    seconds: dict[str, float] = defaultdict(float)
    for path in paths:
        clock = time.perf_counter()

        def step(name: str) -> None:
            nonlocal clock
            now = time.perf_counter()
            seconds[name] += now - clock
            clock = now

        validator.validate(path, step)
    validator.close()
    return {name: 1000 * total / len(paths) for name, total in seconds.items()}


def kpi_recompute(warehouse: Path, pending: str) -> float:
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "w.duckdb"
        shutil.copy(warehouse, copy)
        connection = duckdb.connect(str(copy), config={"memory_limit": "512MB"})
        statement = lambda text: text.format(s="music", c="")  # noqa: E731
        connection.execute(statement(f"INSERT INTO {{s}}.etl_kpi_pending {pending}"))
        connection.execute("BEGIN TRANSACTION")
        connection.execute(statement(sql.SNAPSHOT_PENDING))
        started = time.perf_counter()
        for text in sql.RECOMPUTE_KPIS:
            connection.execute(statement(text))
        elapsed = time.perf_counter() - started
        connection.execute("ROLLBACK")
        connection.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--files", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rounds = [validation_steps(args.workdir / "landing", args.files) for _ in range(args.rounds)]
    rounds_of = f"median of {args.rounds} rounds of {args.files} files"
    print(f"one stream file's validation, ms per file ({rounds_of}):")
    for name in rounds[0]:
        print(f"  {name}: {statistics.median(r[name] for r in rounds):.0f}")
    print(f"  all: {statistics.median(sum(r.values()) for r in rounds):.0f}")
    every_hour = "SELECT DISTINCT listen_hour FROM {s}.streams"
    one_hour = "SELECT MAX(listen_hour) FROM {s}.streams"
    for label, pending in (("every hour pending", every_hour), ("one hour pending", one_hour)):
        warehouse = args.workdir / "warehouse.duckdb"
        times = [kpi_recompute(warehouse, pending) for _ in range(args.rounds)]
        each = ", ".join(f"{t:.2f}" for t in times)
        print(f"KPI recomputation, {label}: median {statistics.median(times):.2f} s ({each})")


if __name__ == "__main__":
    main()
