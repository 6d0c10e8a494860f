"""What a run or a replay hands back on its flow run: artifacts, and a data-quality message."""

from __future__ import annotations

from prefect import task
from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact

from music_etl.reports import RunSummary

_TABLES = {
    "run": ("file-counts", "Per-file counts of this run (streams and catalogues)"),
    "replay": ("replay-counts", "Per-quarantine-file counts of this replay"),
}


def publish_artifacts(rows: list[dict[str, object]], summary: RunSummary) -> None:
    """Counts table, a link per validation page, the Data Docs index and the summary."""
    table_key, description = _TABLES[summary.kind]
    if rows:
        create_table_artifact(rows, key=table_key, description=description)
    for row in rows:
        if row["data_docs"]:
            name = row.get("file") or row.get("quarantine")
            create_link_artifact(
                link=str(row["data_docs"]),
                link_text=f"Data Docs: {name}" + (f" ({row['status']})" if "status" in row else ""),
                description=f"Great Expectations validation of {name}",
            )
    if summary.data_docs:
        create_link_artifact(
            key="data-docs", link=summary.data_docs, link_text="Great Expectations Data Docs index"
        )
    create_markdown_artifact(
        "\n".join(f"- {line}" for line in summary.lines()), key=f"{summary.kind}-summary"
    )


@task(name="notify-data-quality", retries=2, retry_delay_seconds=[2, 10])
def notify_data_quality(block_ref: str, subject: str, body: str) -> None:
    """Send the message through a Prefect notification block (`type-slug/name`)."""
    from prefect.blocks.core import Block

    Block.load(block_ref).notify(body=body, subject=subject)
