"""How many files a stage works on at once.

SPEC §7: memory is bounded by the largest file, not by the total. Prefect's ThreadPoolTaskRunner
has no limit by default (a thread per submitted task), so a run with 72 new files held all 72 in
memory at once (6 GB for 10M events). Per-file work that holds a file in memory runs on
`settings.workers` threads; Great Expectations runs one validation at a time anyway, so more
threads than cores only add memory. Subflows open these runners for their per-file maps.
"""

from __future__ import annotations

from prefect.task_runners import ThreadPoolTaskRunner

from music_etl.settings import Settings

# Copies from landing to lake wait on the network, not the CPU, and hold at most one file each.
COPY_WORKERS = 8


def per_file_runner(settings: Settings) -> ThreadPoolTaskRunner:
    return ThreadPoolTaskRunner(max_workers=settings.workers)


def copy_runner() -> ThreadPoolTaskRunner:
    return ThreadPoolTaskRunner(max_workers=COPY_WORKERS)
