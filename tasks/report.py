"""What a run or a replay hands back on its flow run: the run page and KPI dashboard beside
Data Docs, the artifacts that link to them, and a data-quality message.

Reporting never fails a run: the data is loaded by then. A report that cannot be written (a
lake that refuses the page, a link that cannot be signed) is logged, in one line.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace

from prefect import get_run_logger, task
from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact

from music_etl import dashboard
from music_etl.models import KpiHistory, KpiUpdate
from music_etl.presentation import file_table, kpi_markdown, md, md_link
from music_etl.quality import data_docs, run_page
from music_etl.quality.links import DocLink, doc_link, href_from
from music_etl.reports import RunSummary
from music_etl.settings import Settings
from music_etl.warehouse import loads
from tasks import connections
from tasks.policies import IO_RETRIES

_TABLES = {
    "run": ("file-counts", "What happened to each file of this run: status and reason first"),
    "replay": ("replay-counts", "What happened to each quarantine file this replay re-validated"),
}


@dataclass(frozen=True)
class ReportLinks:
    run_page: DocLink | None = None
    dashboard: DocLink | None = None
    index: DocLink | None = None
    pages: dict[str, str] = field(default_factory=dict)  # validation page key -> address


@task(name="read-kpi-history", **IO_RETRIES)
def read_kpi_history(settings: Settings) -> KpiHistory:
    return loads.kpi_history(connections.warehouse(settings))


def kpi_history(settings: Settings) -> KpiHistory | None:
    """The dashboard's data, or None (logged) when the warehouse cannot give it."""
    state = read_kpi_history(settings, return_state=True)
    if state.is_completed():
        return state.result()
    get_run_logger().error("could not read the KPI history for the dashboard: %s", state.message)
    return None


@task(name="publish-report")
def publish_report(
    settings: Settings,
    summary: RunSummary,
    rows: list[dict[str, object]],
    history: KpiHistory,
    index_key: str,
) -> tuple[RunSummary, ReportLinks]:
    """Write the run page, the dashboard and each validation page's outcome box to the lake's
    Data Docs site; return the summary with the run page's link, and the links."""
    lake = connections.lake(settings)
    run_id = settings.flow_run_id
    page_key, board_key = run_page.run_page_key(run_id), run_page.dashboard_key(run_id)
    links = ReportLinks(
        run_page=doc_link(lake, page_key, settings),
        dashboard=doc_link(lake, board_key, settings),
        index=doc_link(lake, index_key, settings) if index_key else None,
        pages={
            key: doc_link(lake, key, settings).url
            for key in {str(row["data_docs"]) for row in rows if row.get("data_docs")}
        },
    )
    summary = replace(summary, data_docs=links.run_page.describe())
    title = f"music-etl {summary.kind} {run_id}"

    by_page: dict[str, list[dict[str, object]]] = defaultdict(list)
    for row in rows:
        if row.get("data_docs"):
            by_page[str(row["data_docs"])].append(row)
    for key, page_rows in by_page.items():
        data_docs.annotate_page(lake, key, run_page.banner(page_rows))

    reasons_by_file = {
        str(row.get("file") or row.get("quarantine")): _reasons(row)
        for row in rows
        if _reasons(row) and row.get("status") != "rejected"  # a rejected file quarantines none
    }
    board = dashboard.render(f"KPI dashboard: {title}", history, reasons_by_file)
    lake.write_bytes(board_key, board.encode("utf-8"), content_type="text/html")
    page = run_page.render(
        title,
        summary.lines(),
        rows,
        lambda key: href_from(page_key, key, lake, settings),
        index_key,
        board_key,
    )
    lake.write_bytes(page_key, page.encode("utf-8"), content_type="text/html")
    return summary, links


def _reasons(row: dict[str, object]) -> dict[str, int]:
    """{reason: rows} from the row's "reason=n, ..." text."""
    text = str(row.get("quarantine_reasons") or row.get("still_quarantined_reasons") or "")
    pairs = (part.strip().rpartition("=") for part in text.split(",") if "=" in part)
    return {reason: int(n) for reason, _, n in pairs}


def report(
    settings: Settings,
    summary: RunSummary,
    rows: list[dict[str, object]],
    kpis: KpiUpdate,
    history: KpiHistory | None,
    index_key: str,
) -> RunSummary:
    """Publish the run's report and artifacts; return the summary people are shown. Nothing to
    report (no file read): only the summary artifact."""
    logger = get_run_logger()
    links = ReportLinks()
    if rows:
        state = publish_report(
            settings, summary, rows, history or KpiHistory(), index_key, return_state=True
        )
        if state.is_completed():
            summary, links = state.result()
        else:
            logger.error("could not publish the run page and dashboard: %s", state.message)
    publish_artifacts(rows, summary, links, kpis)
    return summary


def _link_artifact(key: str, link: DocLink | None, text: str, what: str) -> None:
    if link is None:
        return
    note = link.note[:1].upper() + link.note[1:]
    description = f"{what}. {note}." if note else f"{what}."
    if link.url:
        create_link_artifact(key=key, link=link.url, link_text=text, description=description)
    else:
        create_markdown_artifact(f"{md(text)}: {md(link.describe())}", key=key, description=what)


def publish_artifacts(
    rows: list[dict[str, object]], summary: RunSummary, links: ReportLinks, kpis: KpiUpdate
) -> None:
    """Stable keys, a description each, escaped Markdown (see music_etl/presentation.py)."""
    table_key, description = _TABLES[summary.kind]
    if rows:
        table = file_table(rows, lambda key: links.pages.get(key, ""))
        create_table_artifact(table, key=table_key, description=description)
    _link_artifact(
        "data-docs", links.run_page, "Data Docs of this run",
        "Every Great Expectations validation of this run, with what happened to each file",
    )  # fmt: skip
    _link_artifact(
        "kpi-dashboard", links.dashboard, "KPI dashboard",
        "Hourly listeners and streams, top genres by day, quarantine reasons by file",
    )  # fmt: skip
    _link_artifact(
        "data-docs-index", links.index, "Great Expectations Data Docs index",
        "Great Expectations' own site: suites and this process's validations",
    )  # fmt: skip
    create_markdown_artifact(
        kpi_markdown(kpis), key="kpis",
        description="KPI hours and days this run recomputed: streams, listeners, top artist, "
        "top genres",
    )  # fmt: skip
    opened = [
        f"- {md_link(text, link.url)} ({md(link.note)})"
        for text, link in (
            ("Data Docs of this run", links.run_page), ("KPI dashboard", links.dashboard)
        )
        if link and link.url
    ]
    create_markdown_artifact(
        "\n".join([*opened, *(f"- {md(line)}" for line in summary.lines())]),
        key=f"{summary.kind}-summary",
        description=f"What this {summary.kind} did, in numbers found in the lake and the ledger",
    )


@task(name="notify-data-quality", retries=2, retry_delay_seconds=[2, 10])
def notify_data_quality(block_ref: str, subject: str, body: str) -> None:
    """Send the message through a Prefect notification block (`type-slug/name`)."""
    from prefect.blocks.core import Block

    Block.load(block_ref).notify(body=body, subject=subject)
