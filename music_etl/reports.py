"""What a run or a replay tells people: its summary (CLI, logs, artifacts), the per-file
table, and the data-quality message. Plain data: the tasks publish it through Prefect."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from music_etl.models import (
    ExtractResult,
    KpiUpdate,
    LoadedFile,
    ReplayedFile,
    ValidatedCatalogue,
    ValidatedFile,
)


@dataclass(frozen=True)
class RunSummary:
    """What a run did, in numbers each found in the lake or the ledger."""

    kind: str  # "run" (music-etl) or "replay" (replay-quarantine)
    rows_loaded: int
    rows_duplicate: int
    rows_unknown_user: int
    kpi_hours_recomputed: int
    hourly_kpi_rows: int
    genre_kpi_rows: int
    data_docs: str
    # a run
    files_by_status: dict[str, int] = field(default_factory=dict)
    rows_quarantined: int = 0  # rows of loaded files, as written to quarantine/streams/
    files_skipped: int = 0
    catalogues: dict[str, str] = field(default_factory=dict)  # dataset -> what happened
    rows_in_rejected_files: int = 0  # nothing of a rejected file is loaded or quarantined
    skipped_entries: tuple[tuple[str, str], ...] = ()  # (key, why) not read from the landing
    warnings: dict[str, int] = field(default_factory=dict)  # catalogue values stored as NULL
    # a replay
    quarantine_files: int = 0  # stream quarantine files of loaded file versions
    files_with_candidates: int = 0
    rows_revalidated: int = 0
    still_quarantined: tuple[tuple[str, int], ...] = ()

    @property
    def rows_still_quarantined(self) -> int:
        return sum(n for _, n in self.still_quarantined)

    def lines(self) -> list[str]:
        head = self._replay_lines() if self.kind == "replay" else self._run_lines()
        return [
            *head,
            f"unknown users (kept, warning): {self.rows_unknown_user}",
            *(f"{name} (stored as NULL, warning): {n}" for name, n in sorted(self.warnings.items())),
            f"KPI rows written: {self.hourly_kpi_rows} hourly, {self.genre_kpi_rows} genre "
            f"({self.kpi_hours_recomputed} hours recomputed)",
            *(f"{dataset} catalogue: {what}" for dataset, what in sorted(self.catalogues.items())),
            f"Data Docs: {self.data_docs or 'no validation this run'}",
        ]

    def _run_lines(self) -> list[str]:
        statuses = ", ".join(f"{n} {s}" for s, n in sorted(self.files_by_status.items())) or "none"
        lines = [f"stream files: {statuses} ({self.files_skipped} already ingested, skipped)"]
        if self.skipped_entries:
            shown = "; ".join(f"{key}: {why}" for key, why in self.skipped_entries[:10])
            more = len(self.skipped_entries) - 10
            lines.append(
                f"entries not read: {len(self.skipped_entries)} ({shown}"
                + (f"; and {more} more" if more > 0 else "") + ")"
            )
        return [
            *lines,
            f"rows loaded: {self.rows_loaded}",
            f"rows quarantined: {self.rows_quarantined} (in the lake's quarantine/streams/)",
            f"rows in rejected files: {self.rows_in_rejected_files}",
            f"duplicates: {self.rows_duplicate}",
        ]

    def _replay_lines(self) -> list[str]:
        reasons = ", ".join(f"{reason}={n}" for reason, n in self.still_quarantined)
        return [
            f"quarantine files: {self.files_with_candidates} with rows to replay "
            f"(of {self.quarantine_files} of loaded stream files)",
            f"rows re-validated: {self.rows_revalidated}",
            f"rows loaded: {self.rows_loaded}",
            f"duplicates: {self.rows_duplicate}",
            f"rows still quarantined: {self.rows_still_quarantined}"
            + (f" ({reasons})" if reasons else ""),
        ]


def _kpi_counts(kpis: KpiUpdate) -> dict[str, int]:
    return {
        "kpi_hours_recomputed": kpis.hours_recomputed,
        "hourly_kpi_rows": kpis.hourly_rows,
        "genre_kpi_rows": kpis.genre_rows,
    }


def summarise(
    loaded: list[LoadedFile],
    validated: list[ValidatedFile],
    catalogues: list[ValidatedCatalogue],
    kpis: KpiUpdate,
    data_docs: str,
    extracted: ExtractResult,
) -> RunSummary:
    streams = [f for f in loaded if f.source.dataset == "streams"]
    warnings: Counter[str] = Counter()
    for catalogue in catalogues:
        for file in catalogue.files:
            warnings.update(dict(file.counts.warnings))
    return RunSummary(
        kind="run",
        files_by_status=dict(Counter(f.status for f in streams)),
        rows_loaded=sum(f.rows_loaded for f in streams),
        rows_quarantined=sum(f.rows_quarantined for f in streams if f.status == "loaded"),
        rows_in_rejected_files=sum(f.rows_read for f in streams if f.status == "rejected"),
        rows_duplicate=sum(f.rows_duplicate for f in streams),
        rows_unknown_user=sum(v.counts.rows_unknown_user for v in validated if v.status == "valid"),
        **_kpi_counts(kpis),
        data_docs=data_docs,
        files_skipped=extracted.skipped_files,
        skipped_entries=tuple((entry.key, entry.reason) for entry in extracted.skipped_entries),
        warnings=dict(warnings),
        catalogues={
            c.snapshot.dataset: (
                f"reloaded {len(c.snapshot.files)} file(s), "
                f"{sum(f.counts.rows_valid for f in c.files)} rows kept, "
                f"{sum(f.counts.rows_quarantined for f in c.files)} quarantined, "
                f"{c.rows_duplicate} duplicate keys"
            )
            for c in catalogues
        },
    )


def file_rows(validated: list[ValidatedFile], loaded: list[LoadedFile]) -> list[dict[str, object]]:
    """One row per file for the counts table artifact."""
    by_version = {(f.source.key, f.source.etag): f for f in loaded}
    rows = []
    for item in validated:
        done = by_version.get((item.source.key, item.source.etag))
        counts = item.counts
        rows.append(
            {
                "file": item.source.key,
                "dataset": item.source.dataset,
                "status": done.status if done else item.status,
                "rows_read": counts.rows_read,
                "rows_loaded": done.rows_loaded if done else 0,
                "rows_quarantined": counts.rows_quarantined,
                "rows_duplicate": done.rows_duplicate if done else 0,
                "unknown_users": counts.rows_unknown_user,
                "quarantine_reasons": ", ".join(f"{r}={n}" for r, n in counts.quarantine_by_reason),
                "schema_drift": ", ".join(item.extra_columns),
                "reason": item.reason or "",
                "data_docs": item.docs_page or "",
            }
        )
    return rows


def summarise_replay(
    quarantine_files: int, replayed: list[ReplayedFile], kpis: KpiUpdate, data_docs: str
) -> RunSummary:
    revalidated = [r.revalidated for r in replayed]
    still: Counter[str] = Counter()
    for item in revalidated:
        still.update(dict(item.still_quarantined))
    return RunSummary(
        kind="replay",
        quarantine_files=quarantine_files,
        files_with_candidates=sum(1 for r in revalidated if r.rows_revalidated),
        rows_revalidated=sum(r.rows_revalidated for r in revalidated),
        rows_loaded=sum(r.rows_loaded for r in replayed),
        rows_duplicate=sum(r.rows_duplicate for r in replayed),
        still_quarantined=tuple(sorted(still.items())),
        rows_unknown_user=sum(r.rows_unknown_user for r in revalidated),
        **_kpi_counts(kpis),
        data_docs=data_docs,
    )


def replay_rows(replayed: list[ReplayedFile]) -> list[dict[str, object]]:
    """One row per quarantine file that had rows to replay, for the counts table artifact."""
    return [
        {
            "quarantine": r.revalidated.quarantine.key,
            "source_file": r.revalidated.quarantine.source_key,
            "rows_revalidated": r.revalidated.rows_revalidated,
            "rows_loaded": r.rows_loaded,
            "rows_duplicate": r.rows_duplicate,
            "rows_still_quarantined": r.revalidated.rows_still_quarantined,
            "still_quarantined_reasons": ", ".join(
                f"{reason}={n}" for reason, n in r.revalidated.still_quarantined
            ),
            "data_docs": r.revalidated.docs_page or "",
        }
        for r in replayed
        if r.revalidated.rows_revalidated
    ]


def quality_message(rows: list[dict[str, object]], summary: RunSummary, run_url: str) -> tuple[str, str] | None:
    """(subject, body) telling what was wrong with this run's files, or None if nothing was."""
    rejected = [row for row in rows if row["status"] == "rejected"]
    quarantined = sum(int(row["rows_quarantined"]) for row in rows)
    if not rejected and not quarantined:
        return None
    subject = f"music-etl: {len(rejected)} file(s) rejected, {quarantined} row(s) quarantined"
    lines = [subject + "."]
    lines += [f"- rejected {row['file']}: {row['reason']}" for row in rejected]
    lines += [
        f"- {row['file']}: {row['rows_quarantined']} quarantined ({row['quarantine_reasons']})"
        for row in rows
        if row["status"] != "rejected" and int(row["rows_quarantined"])
    ]
    lines.append(f"Data Docs: {summary.data_docs}")
    if run_url:
        lines.append(f"Flow run: {run_url}")
    return subject, "\n".join(lines)
