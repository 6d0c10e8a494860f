"""CPU seconds per thread of a command (and of Prefect's temporary server), read from
/proc/PID/task/*/stat every half second until it exits; Python thread names from one
`py-spy dump` taken --dump-after seconds in (threads that are not Python's stay unnamed).

    .venv/bin/python benchmarks/thread_cpu.py -- \\
        .venv/bin/music-etl run --landing /tmp/b15/landing --lake /tmp/t/lake --warehouse duckdb:////tmp/t/w.duckdb
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")
PY_SPY = str(Path(sys.executable).with_name("py-spy"))


def cpu_seconds(stat: Path) -> float:
    fields = stat.read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        path = task / "children"
        if path.exists():
            found += [int(child) for child in path.read_text().split()]
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dump-after", type=float, default=25.0)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    started = time.monotonic()
    threads: dict[int, float] = {}
    others: dict[str, float] = {}
    names: dict[int, str] = {}
    while process.poll() is None:
        try:
            for task in Path(f"/proc/{process.pid}/task").iterdir():
                threads[int(task.name)] = cpu_seconds(task / "stat")
            for child in children(process.pid):
                label = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ")[:60]
                others[f"child {child}: {label.decode(errors='replace')}"] = cpu_seconds(
                    Path(f"/proc/{child}/stat")
                )
        except (FileNotFoundError, ProcessLookupError, ValueError):
            pass  # a thread or child ended between listing and reading
        if not names and time.monotonic() - started > args.dump_after:
            dump = subprocess.run(
                [PY_SPY, "dump", "--pid", str(process.pid)], capture_output=True, text=True
            )
            found = re.findall(r'^Thread (\d+) \([^)]*\): "([^"]*)"', dump.stdout, re.M)
            names = {int(tid): name for tid, name in found}
        time.sleep(0.5)
    wall = time.monotonic() - started
    unnamed = "(not Python, or ended before the dump)"
    rows = [(cpu, f"thread {tid} {names.get(tid, unnamed)}") for tid, cpu in threads.items()]
    rows += [(seconds, label) for label, seconds in others.items()]
    total = sum(seconds for seconds, _ in rows)
    cores = total / wall
    print(f"wall {wall:.1f} s, CPU {total:.1f} s ({cores:.2f} cores on average)")
    print(f"exit status {process.returncode}")
    for seconds, label in sorted(rows, reverse=True):
        if seconds >= 0.1:
            print(f"{seconds:7.1f} s  {label}")


if __name__ == "__main__":
    main()
