"""How many files a stage works on at once.

SPEC §7: memory is bounded by the largest file, not by the total. Prefect's ThreadPoolTaskRunner
has no limit by default (a thread per submitted task), so a run with 72 new files held all 72 in
memory at once (6 GB for 10M events). Per-file work that holds a file in memory runs on
`file_workers()` threads; Great Expectations runs one validation at a time anyway
(tasks/validation.py), so more threads than cores only add memory.
"""

from __future__ import annotations

import os

from prefect.task_runners import ThreadPoolTaskRunner

# Copies from landing to lake wait on the network, not the CPU, and hold at most one file each.
COPY_WORKERS = 8


def file_workers() -> int:
    """MUSIC_ETL_FILE_WORKERS, else the number of CPUs (at least 2: one parses while one validates)."""
    configured = os.environ.get("MUSIC_ETL_FILE_WORKERS")
    if configured:
        workers = int(configured)
        if workers < 1:
            raise ValueError(f"MUSIC_ETL_FILE_WORKERS must be at least 1, not {configured!r}")
        return workers
    return max(2, os.cpu_count() or 1)


def per_file_runner() -> ThreadPoolTaskRunner:
    return ThreadPoolTaskRunner(max_workers=file_workers())


def copy_runner() -> ThreadPoolTaskRunner:
    return ThreadPoolTaskRunner(max_workers=COPY_WORKERS)

