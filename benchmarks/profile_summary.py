"""Where a run's CPU time goes, per stage, from a py-spy raw profile of `music-etl run`.

    .venv/bin/py-spy record --subprocesses --format raw -o /tmp/run.txt -- \\
        .venv/bin/music-etl run --landing ... --lake ... --warehouse duckdb:///...
    .venv/bin/python benchmarks/profile_summary.py /tmp/run.txt

py-spy samples only threads that are on the CPU (not idle ones), 100 times a second, in every
process of the run (Prefect's temporary server and Dask workers included). A sample belongs to
the stage whose task is on its stack; its function is the innermost frame.
"""

from __future__ import annotations

import re
import sys
from collections import Counter, defaultdict

# The first of these found on a stack, outermost first, names the sample's stage.
STAGES = [
    ("validate", ("validate_stream_file (", "validate_catalogue (", "revalidate_quarantine (")),
    ("validate: Data Docs index", ("build_data_docs (",)),
    ("transform", ("transform_stream_file (", "transform_catalogue (")),
    ("load", ("load_stream_file (", "load_catalogue (", "prepare_warehouse (")),
    ("load: KPI recomputation", ("recompute_kpis (",)),
    ("extract", ("copy_to_lake (", "list_landing (", "ledger_versions (", "latest_snapshot (")),
    ("reports", ("report (", "kpi_history (", "publish", "notify_data_quality (")),
    ("imports", ("_find_and_load (",)),
]
_FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^:]*)(:\d+)?\)$")


def stage_of(process: str, frames: list[str]) -> str:
    if "uvicorn" in process or "prefect.server" in process:
        return "Prefect server"
    for stage, markers in STAGES:
        if any(frame.startswith(markers) for frame in frames):
            return stage
    return "flow process: Prefect engine, other"


def short(frame: str) -> str:
    match = _FRAME.match(frame)
    if not match:
        return frame
    path = match["file"]
    for anchor in ("site-packages/", "/music_etl/", "/tasks/", "/flows/", "/cli/"):
        if anchor in path:
            path = path.split(anchor, 1)[1] if anchor == "site-packages/" else anchor.strip("/") + "/" + path.split(anchor, 1)[1]
            break
    return f"{match['function']} ({path})"


def main(path: str, top: int = 6) -> None:
    samples: dict[str, Counter] = defaultdict(Counter)
    ours: dict[str, Counter] = defaultdict(Counter)  # innermost frame of the library's code
    text = open(path, encoding="utf-8", errors="replace").read()
    # One record per distinct stack: "process P:\"cmdline\";...;frame;frame COUNT\n"; a
    # command line may hold newlines and semicolons, frames never do.
    for record in re.finditer(r"(.*?) (\d+)\n", text, re.S):
        parts = record[1].split(";")
        first = next((i for i, part in enumerate(parts) if _FRAME.match(part)), None)
        if first is None:
            continue
        process, frames = ";".join(parts[:first]), parts[first:]
        stage = stage_of(process, frames)
        samples[stage][short(frames[-1])] += int(record[2])
        own = next((f for f in reversed(frames) if "music_etl/" in f), None)
        if own:
            ours[stage][short(own)] += int(record[2])
    total = sum(sum(c.values()) for c in samples.values())
    print(f"{total} samples (~{total / 100:.0f} CPU-seconds at py-spy's 100 Hz)")
    for stage, counter in sorted(samples.items(), key=lambda item: -sum(item[1].values())):
        n = sum(counter.values())
        print(f"\n{stage}: {n / total:.0%} ({n / 100:.1f} CPU-s); innermost functions:")
        for function, count in counter.most_common(top):
            print(f"  {count / total:6.1%}  {function}")
        if ours[stage]:
            print("  library calls (innermost music_etl frame, inclusive):")
            for function, count in ours[stage].most_common(top):
                print(f"  {count / total:6.1%}  {function}")


if __name__ == "__main__":
    main(sys.argv[1])
