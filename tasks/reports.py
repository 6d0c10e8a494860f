"""What a run tells people: Prefect artifacts on the flow run and the CLI summary."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from prefect import task
from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact

from tasks.models import ExtractResult, LoadedFile, ValidatedCatalogue, ValidatedFile


@dataclass(frozen=True)
class RunSummary:
    """What a run did, in numbers each found in the lake or the ledger."""

    files_by_status: dict[str, int]
    rows_loaded: int
    rows_quarantined: int  # rows of loaded files, as written to quarantine/streams/
    rows_duplicate: int
    rows_unknown_user: int
    kpi_hours_recomputed: int
    hourly_kpi_rows: int
    genre_kpi_rows: int
    data_docs: str
    files_skipped: int = 0
    catalogues: dict[str, str] = field(default_factory=dict)  # dataset -> what happened
    rows_in_rejected_files: int = 0  # nothing of a rejected file is loaded or quarantined
    skipped_entries: tuple[tuple[str, str], ...] = ()  # (key, why) not read from the landing
    warnings: dict[str, int] = field(default_factory=dict)  # catalogue values stored as NULL

    def lines(self) -> list[str]:
        statuses = ", ".join(f"{n} {s}" for s, n in sorted(self.files_by_status.items())) or "none"
        lines = [f"stream files: {statuses} ({self.files_skipped} already ingested, skipped)"]
        if self.skipped_entries:
            shown = "; ".join(f"{key}: {why}" for key, why in self.skipped_entries[:10])
            more = len(self.skipped_entries) - 10
            lines.append(
                f"entries not read: {len(self.skipped_entries)} ({shown}"
                + (f"; and {more} more" if more > 0 else "") + ")"
            )
        lines += [
            f"rows loaded: {self.rows_loaded}",
            f"rows quarantined: {self.rows_quarantined} (in the lake's quarantine/streams/)",
            f"rows in rejected files: {self.rows_in_rejected_files}",
            f"duplicates: {self.rows_duplicate}",
            f"unknown users (kept, warning): {self.rows_unknown_user}",
        ]
        for warning, rows in sorted(self.warnings.items()):
            lines.append(f"{warning} (stored as NULL, warning): {rows}")
        lines.append(
            f"KPI rows written: {self.hourly_kpi_rows} hourly, {self.genre_kpi_rows} genre "
            f"({self.kpi_hours_recomputed} hours recomputed)"
        )
        for dataset, what in sorted(self.catalogues.items()):
            lines.append(f"{dataset} catalogue: {what}")
        lines.append(f"Data Docs: {self.data_docs or 'no validation this run'}")
        return lines


def summarise(
    loaded: list[LoadedFile],
    validated: list[ValidatedFile],
    catalogues: list[ValidatedCatalogue],
    kpis: dict[str, int],
    data_docs: str,
    extracted: ExtractResult,
) -> RunSummary:
    streams = [f for f in loaded if f.source.dataset == "streams"]
    warnings: Counter[str] = Counter()
    for catalogue in catalogues:
        for file in catalogue.files:
            warnings.update(dict(file.counts.warnings))
    return RunSummary(
        files_by_status=dict(Counter(f.status for f in streams)),
        rows_loaded=sum(f.rows_loaded for f in streams),
        rows_quarantined=sum(f.rows_quarantined for f in streams if f.status == "loaded"),
        rows_in_rejected_files=sum(f.rows_read for f in streams if f.status == "rejected"),
        rows_duplicate=sum(f.rows_duplicate for f in streams),
        rows_unknown_user=sum(v.counts.rows_unknown_user for v in validated if v.status == "valid"),
        kpi_hours_recomputed=kpis.get("hours_recomputed", 0),
        hourly_kpi_rows=kpis.get("hourly_rows", 0),
        genre_kpi_rows=kpis.get("genre_rows", 0),
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
                "data_docs": item.docs_url or "",
            }
        )
    return rows


def publish_artifacts(rows: list[dict[str, object]], summary: RunSummary) -> None:
    """Counts table, a link per validation page, and the summary, on the current flow run."""
    if rows:
        create_table_artifact(
            rows, key="file-counts", description="Per-file counts of this run (streams and catalogues)"
        )
    for row in rows:
        if row["data_docs"]:
            create_link_artifact(
                link=str(row["data_docs"]),
                link_text=f"Data Docs: {row['file']} ({row['status']})",
                description=f"Great Expectations validation of {row['file']}",
            )
    if summary.data_docs:
        create_link_artifact(
            key="data-docs", link=summary.data_docs, link_text="Great Expectations Data Docs index"
        )
    create_markdown_artifact(
        "\n".join(f"- {line}" for line in summary.lines()), key="run-summary"
    )


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


@task(name="notify-data-quality", retries=2, retry_delay_seconds=[2, 10])
def notify_data_quality(block_ref: str, subject: str, body: str) -> None:
    """Send the message through a Prefect notification block (`type-slug/name`)."""
    from prefect.blocks.core import Block

    Block.load(block_ref).notify(body=body, subject=subject)
