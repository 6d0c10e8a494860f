"""How long the first `music-etl run` on a fresh PREFECT_HOME waits for its temporary Prefect
server (which creates its database on that first start), with CPU-bound loops competing.

    .venv/bin/python benchmarks/cold_start.py [--busy 2] [--repeat 3]

Prints, per attempt, seconds until the server answered (the first flow-run log line) and until
the run finished. cli/main.py's STARTUP_WAIT is chosen from these numbers.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def attempt(work: Path) -> tuple[float, float, int]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "MUSIC_ETL_"))}
    env["PREFECT_HOME"] = str(work / "prefect-home")
    command = [
        sys.executable, "-m", "cli.main", "run", "--landing", str(work / "landing"),
        "--lake", str(work / "lake"), "--warehouse", f"duckdb:///{work / 'w.duckdb'}",
    ]  # fmt: skip
    started = time.monotonic()
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    server_up = None
    for line in process.stdout:
        if server_up is None and "Beginning flow run" in line:
            server_up = time.monotonic() - started
    code = process.wait()
    return server_up or float("nan"), time.monotonic() - started, code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--busy", type=int, default=2, help="CPU-bound loops running meanwhile")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.busy)]
    try:
        for number in range(1, args.repeat + 1):
            with tempfile.TemporaryDirectory(prefix="cold-start-") as folder:
                work = Path(folder)
                subprocess.run(
                    [sys.executable, "-m", "cli.main", "generate", "--landing", str(work / "landing"),
                     "--events", "2000", "--hours", "2", "--songs", "200", "--users", "50"],
                    cwd=ROOT, check=True, capture_output=True,
                )  # fmt: skip
                server_up, total, code = attempt(work)
                print(
                    f"attempt {number}: server answered after {server_up:.1f} s, run finished after "
                    f"{total:.1f} s (exit {code}), {args.busy} busy loops, load average "
                    f"{os.getloadavg()[0]:.1f}",
                    flush=True,
                )
    finally:
        for loop in busy:
            loop.kill()


if __name__ == "__main__":
    main()
