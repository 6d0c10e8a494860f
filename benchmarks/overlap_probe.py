"""Would the load hide behind validation on this machine? Without Prefect, on what a 10M-event
`pipeline_benchmark.py --workdir DIR` left behind: (A) N stream files validated on two threads
as the pipeline does (GX one at a time), (B) the same number of transformed files loaded into a
copy of the warehouse, one transaction each (`load_transactions.load`), alone and at once.

    .venv/bin/python benchmarks/overlap_probe.py --workdir /tmp/b15 [--files 36] [--rounds 2]
"""

from __future__ import annotations

import argparse
import io
import shutil
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from load_transactions import load
from stage_steps import known_tracks

from music_etl.quality import suites
from music_etl.quality.checks import prepare_streams, quarantine_table
from music_etl.quality.streams import StreamCheck
from music_etl.rules import parsing
from music_etl.rules.csv_input import read_csv_text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--files", type=int, default=36)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    landing = args.workdir / "landing"
    csvs = sorted((landing / "streams").rglob("*.csv"))[: args.files]
    parquets = sorted((args.workdir / "lake" / "transformed" / "streams").rglob("*.parquet"))
    parquets = parquets[: args.files]
    tracks = known_tracks(landing)
    scratch = Path(tempfile.mkdtemp())
    runner = suites.SuiteRunner(scratch / "gx", scratch / "docs")
    cutoff = pd.Timestamp.now(tz="UTC") + pd.Timedelta(days=1)

    def validate(path: Path) -> None:
        table = read_csv_text(path.read_bytes(), str(path), parsing.STREAM_COLUMNS)
        raw = table.to_pandas(types_mapper=lambda _: pd.StringDtype())
        raw.index = pd.RangeIndex(1, len(raw) + 1)
        frame = prepare_streams(raw, tracks)
        outcome = runner.validate(
            "streams", frame, run_name=path.name, parameters={"max_listen_time": cutoff}
        )
        sources = pd.Series(path.name, index=frame.index)
        rows = quarantine_table(raw, outcome.reasons, sources, frame.index.to_series())
        pq.write_table(rows, io.BytesIO(), compression="zstd")
        valid = StreamCheck(frame, outcome.reasons, None, "").valid_rows  # type: ignore[arg-type]
        pq.write_table(pa.Table.from_pandas(valid, preserve_index=False), io.BytesIO())

    def validate_all() -> None:
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(validate, csvs))

    def load_all() -> None:
        copy = scratch / "warehouse.duckdb"
        shutil.copy(args.workdir / "warehouse.duckdb", copy)
        load(copy, parquets, 1, "16MB")
        copy.unlink()

    validate(csvs[0])  # GX's import and first compilation are not what is measured
    print(f"{len(csvs)} stream files, {len(parquets)} transformed files")
    plan = [("validation alone", [validate_all]), ("load alone", [load_all])]
    plan += [("both at once", [validate_all, load_all])]
    for round_number in range(args.rounds):
        for label, work in plan:
            started = time.perf_counter()
            threads = [threading.Thread(target=function) for function in work]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            print(f"round {round_number + 1}: {label}: {time.perf_counter() - started:.1f} s")
    shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
