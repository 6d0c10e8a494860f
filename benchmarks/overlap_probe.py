"""Would the load hide behind validation on this machine? Without Prefect, on what a 10M-event
`pipeline_benchmark.py --workdir DIR` left behind: (A) N stream files validated on two threads
as the pipeline does (GX one at a time), (B) the same number of transformed files loaded into a
copy of the warehouse, one transaction each (`load_transactions.load`), alone and at once.

    .venv/bin/python benchmarks/overlap_probe.py --workdir /tmp/b15 [--files 36] [--rounds 2]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from load_transactions import load
from stage_steps import FileValidator


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
    validator = FileValidator(landing)
    scratch = Path(tempfile.mkdtemp())

    def validate_all() -> None:
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(validator.validate, csvs))

    def load_all() -> None:
        copy = scratch / "warehouse.duckdb"
        shutil.copy(args.workdir / "warehouse.duckdb", copy)
        load(copy, parquets, 1, "16MB")
        copy.unlink()

    validator.validate(csvs[0])  # GX's import and first compilation are not what is measured
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
    validator.close()


if __name__ == "__main__":
    main()
