"""Stream-file loads on DuckDB: one transaction per file (what the pipeline does) against several
files per transaction, and DuckDB's checkpoint threshold, counting the checkpoint at close.

Runs on the lake and warehouse a 10M-event `pipeline_benchmark.py --workdir DIR` left behind:
the warehouse is copied, its events deleted, and every transformed stream file loaded again with
the pipeline's own anti-join insert (`sql.INSERT_NEW_EVENTS`).

    .venv/bin/python benchmarks/load_transactions.py --workdir /tmp/b15
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from music_etl.warehouse import sql, tables

COLUMNS = [column.name for column in tables.STREAMS.staged_columns]


def _statement(text: str) -> str:
    return text.format(s="music", c="").replace(":loaded_at", "now()::TIMESTAMP")


def load(warehouse: Path, files: list[Path], per_transaction: int, checkpoint: str) -> dict:
    config = {"memory_limit": "512MB", "checkpoint_threshold": checkpoint}
    connection = duckdb.connect(str(warehouse), config=config)
    connection.execute("DELETE FROM music.streams")
    connection.execute("CHECKPOINT")
    seconds = {"statements": 0.0, "commits": 0.0}
    started = time.perf_counter()
    for first in range(0, len(files), per_transaction):
        cursor = connection.cursor()
        cursor.execute("BEGIN TRANSACTION")
        clock = time.perf_counter()
        for path in files[first : first + per_transaction]:
            cursor.execute("DROP TABLE IF EXISTS stage_events")
            cursor.execute(tables.STREAMS.create_staging())
            cursor.register("file_events", pq.read_table(path).select(COLUMNS))
            cursor.execute(f"INSERT INTO stage_events SELECT {', '.join(COLUMNS)} FROM file_events")
            cursor.unregister("file_events")
            cursor.execute(_statement(sql.INSERT_NEW_EVENTS))
            cursor.execute(_statement(sql.MARK_EVENT_HOURS_PENDING))
        seconds["statements"] += time.perf_counter() - clock
        clock = time.perf_counter()
        cursor.execute("COMMIT")
        seconds["commits"] += time.perf_counter() - clock
    events = connection.execute("SELECT COUNT(*) FROM music.streams").fetchone()[0]
    clock = time.perf_counter()
    connection.close()  # DuckDB checkpoints what its WAL still holds
    seconds["close"] = time.perf_counter() - clock
    seconds["all"] = time.perf_counter() - started
    return {"events": events, **{k: round(v, 2) for k, v in seconds.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    files = sorted((args.workdir / "lake" / "transformed" / "streams").rglob("*.parquet"))
    print(f"{len(files)} transformed stream files")
    variants = [(1, "16MB"), (8, "16MB"), (1, "1GB")]
    with tempfile.TemporaryDirectory() as scratch:
        for round_number in range(args.rounds):
            for per_transaction, checkpoint in variants:
                copy = Path(scratch) / "warehouse.duckdb"
                shutil.copy(args.workdir / "warehouse.duckdb", copy)
                result = load(copy, files, per_transaction, checkpoint)
                print(
                    f"round {round_number + 1}: {per_transaction} file(s) per transaction, "
                    f"checkpoint_threshold {checkpoint}: {result}"
                )
                copy.unlink()


if __name__ == "__main__":
    main()
