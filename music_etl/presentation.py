"""How a run's results read to people: Markdown for Prefect artifacts (escaped: file names carry
`~`, `_` and `*`, which the UI would turn into strikethrough and emphasis), and the one-sentence
outcome of each file, shared by the artifacts, the run page and the Data Docs banners."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from music_etl.models import KpiUpdate

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~])")


def md(text: object) -> str:
    """Text shown literally in Markdown (one line: a newline would end a table row)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def md_link(text: str, url: str) -> str:
    return f"[{md(text)}](<{url}>)" if url else md(text)


def _count(n: object, what: str) -> str:
    n = int(n)  # type: ignore[call-overload]
    return f"{n:,} {what}" if n == 1 or what.endswith("s") else f"{n:,} {what}s"


def outcome(row: dict[str, object]) -> str:
    """What happened to one file of a run (or one quarantine file of a replay), in a sentence."""
    if "quarantine" in row:  # a replay
        still = int(row["rows_still_quarantined"])  # type: ignore[call-overload]
        reasons = f" ({row['still_quarantined_reasons']})" if still else ""
        return (
            f"Replayed: {_count(row['rows_revalidated'], 'row')} re-validated, "
            f"{_count(row['rows_loaded'], 'row')} loaded, "
            f"{_count(row['rows_duplicate'], 'duplicate')}, "
            f"{still:,} still quarantined{reasons}."
        )
    status, reason = row["status"], row.get("reason") or ""
    if status == "rejected":
        return f"Rejected: {reason}. Nothing of this file was loaded."
    if status == "empty":
        return f"Empty: {reason or 'no rows'}."
    if status == "skipped":
        return "Skipped: another run loaded this file version first."
    quarantined = int(row["rows_quarantined"])  # type: ignore[call-overload]
    loaded = int(row["rows_loaded"])  # type: ignore[call-overload]
    text = f"{str(status).capitalize()}: {loaded:,} of {_count(row['rows_read'], 'row')} loaded"
    if int(row.get("rows_duplicate") or 0):  # type: ignore[call-overload]
        text += f", {_count(row['rows_duplicate'], 'duplicate')}"
    if quarantined:
        text += (
            f"; {_count(quarantined, 'row')} quarantined ({row['quarantine_reasons']}), "
            "listed below as each expectation's unexpected values, as they were in the file. "
            "Great Expectations calls the validation Failed because it found them; the file's "
            "other rows were loaded"
        )
    return text + "."


# The per-file table: what people look for first (status, why), then counts, then names.
_TABLE_COLUMNS = (
    "status", "reason", "rows_read", "rows_loaded", "rows_quarantined", "quarantine_reasons",
    "rows_duplicate", "unknown_users", "schema_drift", "dataset", "file",
)  # fmt: skip
_REPLAY_COLUMNS = (
    "rows_revalidated", "rows_loaded", "rows_duplicate", "rows_still_quarantined",
    "still_quarantined_reasons", "quarantine", "source_file",
)  # fmt: skip


def file_table(rows: list[dict[str, object]], link: Callable[[str], str]) -> list[dict[str, str]]:
    """The counts table artifact: every cell escaped, the Data Docs page as a link
    (`link(page_key)` gives its address)."""
    table = []
    for row in rows:
        columns = _REPLAY_COLUMNS if "quarantine" in row else _TABLE_COLUMNS
        cells = {name: md(row.get(name, "")) for name in columns}
        page = str(row.get("data_docs") or "")
        cells["data_docs"] = md_link("open", link(page)) if page else ""
        table.append(cells)
    return table


def _hour(value: object) -> str:
    return f"{value:%Y-%m-%d %H:00}" if hasattr(value, "strftime") else str(value)


def kpi_markdown(kpis: KpiUpdate, shown: int = 48) -> str:
    """The KPI artifact: the hours and days this run recomputed and what they now say."""
    if not kpis.hours_recomputed:
        return "No KPI hours were recomputed: nothing new reached the warehouse."
    lines = [
        f"**{kpis.hours_recomputed:,} hour(s) recomputed** ({kpis.hourly_rows:,} hourly rows, "
        f"{kpis.genre_rows:,} genre rows).",
        "",
        "| hour (UTC) | total streams | unique listeners | top artist |",
        "|---|---:|---:|---|",
    ]
    lines += [
        f"| {_hour(hour)} | {streams:,} | {listeners:,} | {md(artist or '')} |"
        for hour, streams, listeners, artist in kpis.hours[:shown]
    ]
    if kpis.hours_recomputed > shown:
        lines.append(f"| … and {kpis.hours_recomputed - shown:,} earlier hour(s) | | | |")
    lines += ["", "| day | top genres (streams) |", "|---|---|"]
    lines += [
        f"| {day} | {', '.join(f'{md(genre)} ({n:,})' for genre, n in genres)} |"
        for day, genres in _by_day(kpis.top_genres)
    ]
    return "\n".join(lines)


def _by_day(rows: Iterable[tuple[object, str, int]]) -> list[tuple[object, list[tuple[str, int]]]]:
    days: dict[object, list[tuple[str, int]]] = {}
    for day, genre, count in rows:
        days.setdefault(day, []).append((genre, count))
    return list(days.items())
