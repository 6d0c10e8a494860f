"""Progress while a run works: one Prefect progress artifact on the parent flow run, advanced
as files finish validation, transformation and load (the UI shows it live), and a log line per
file with files done out of total and rows per second (the CLI prints logs on its terminal)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar
from uuid import UUID

from prefect import get_run_logger
from prefect.artifacts import create_progress_artifact, update_progress_artifact
from prefect.futures import PrefectFuture, as_completed

STAGES = ("validate", "transform", "load")
# Each artifact update is an API call on the flow's thread (tens of ms): once per file, that was
# about a second of a 10M-event run's load. The bar moves at most once a second, and at the end
# of each stage.
ARTIFACT_INTERVAL = 1.0
R = TypeVar("R")


@dataclass(frozen=True)
class RunProgress:
    """Handed to the subflows: the artifact to advance and how many stream files the run has."""

    artifact_id: UUID | None
    files: int


def start(files: int) -> RunProgress:
    artifact_id = None
    if files:
        artifact_id = create_progress_artifact(
            0.0,
            key="run-progress",
            description=f"Stream files through validate, transform and load ({files} files)",
        )
    return RunProgress(artifact_id, files)


class StageProgress:
    def __init__(self, run: RunProgress | None, stage: str):
        self.run, self.stage = run, stage
        self.done = self.rows = 0
        self.started = time.monotonic()
        self._updated = float("-inf")  # when the artifact last moved
        self._logger = get_run_logger()

    def advance(self, key: str, status: str, rows: int) -> None:
        self.done += 1
        self.rows += rows
        total = self.run.files if self.run else self.done
        rate = self.rows / max(time.monotonic() - self.started, 1e-3)
        self._logger.info(
            "%s %d/%d: %s %s (%s rows/s)", self.stage, self.done, total, key, status, f"{rate:,.0f}"
        )
        if self.run and self.run.artifact_id and self.run.files:
            now = time.monotonic()
            if self.done < self.run.files and now - self._updated < ARTIFACT_INTERVAL:
                return
            self._updated = now
            finished = STAGES.index(self.stage) * self.run.files + self.done
            try:
                update_progress_artifact(
                    self.run.artifact_id, 100.0 * finished / (len(STAGES) * self.run.files)
                )
            except Exception as exc:  # noqa: BLE001 - a progress bar must never fail a run
                self._logger.debug("progress not updated: %s", exc)


def collect(
    futures: Iterable[PrefectFuture[R]],
    progress: StageProgress,
    describe: Callable[[R], tuple[str, str, int]],
) -> list[R]:
    """The futures' results in submission order, advancing progress as each one finishes
    (`describe(result)`: key, status, rows)."""
    futures = list(futures)
    for future in as_completed(futures):
        progress.advance(*describe(future.result()))
    return [future.result() for future in futures]
