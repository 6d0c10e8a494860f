"""The KPI dashboard: one self-contained HTML page per run, written beside Data Docs.

matplotlib draws the charts as SVG, inlined into the page: nothing is fetched when the page
opens (no JavaScript, no CDN), so it renders the same from a presigned S3 link, from
`music-etl docs`, or saved to disk, and matplotlib is a long-kept library already built for
every platform we ship (pandas' own plotting uses it).
"""

from __future__ import annotations

import io
import threading
from collections import defaultdict
from html import escape

from music_etl.models import KpiHistory

# pyplot keeps global state: one figure at a time per process.
_PLOT_LOCK = threading.Lock()


def _svg(figure) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    text = buffer.getvalue()
    return text[text.index("<svg") :]  # drop the XML prolog: the SVG sits inside HTML


def _hourly_chart(history: KpiHistory) -> str:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, 3.2))
    axes = figure.subplots()
    hours = [hour for hour, _, _ in history.hours]
    axes.plot(hours, [streams for _, streams, _ in history.hours], label="total streams")
    axes.plot(hours, [listeners for _, _, listeners in history.hours], label="unique listeners")
    axes.set_title("Hourly streams and listeners (UTC, latest two weeks)")
    axes.legend(loc="upper left")
    axes.grid(alpha=0.3)
    figure.autofmt_xdate()
    return _svg(figure)


def _genre_chart(history: KpiHistory) -> str:
    from matplotlib.figure import Figure

    days = sorted({day for day, _, _ in history.top_genres})
    counts: dict[str, dict[object, int]] = defaultdict(dict)
    for day, genre, listens in history.top_genres:
        counts[genre][day] = listens
    figure = Figure(figsize=(10, 3.6))
    axes = figure.subplots()
    labels = [str(day) for day in days]
    bottom = [0] * len(days)
    for genre in sorted(counts, key=lambda g: -sum(counts[g].values())):
        heights = [counts[genre].get(day, 0) for day in days]
        axes.bar(labels, heights, bottom=bottom, label=genre)
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    axes.set_title("Top five genres by day (streams)")
    axes.legend(loc="upper left", bbox_to_anchor=(1, 1), fontsize="small")
    figure.autofmt_xdate()
    return _svg(figure)


def _quarantine_chart(reasons_by_file: dict[str, dict[str, int]]) -> str:
    from matplotlib.figure import Figure

    files = sorted(reasons_by_file)
    reasons = sorted({reason for counts in reasons_by_file.values() for reason in counts})
    figure = Figure(figsize=(10, 0.5 + 0.35 * len(files)))
    axes = figure.subplots()
    left = [0] * len(files)
    for reason in reasons:
        widths = [reasons_by_file[name].get(reason, 0) for name in files]
        axes.barh(files, widths, left=left, label=reason)
        left = [a + w for a, w in zip(left, widths, strict=True)]
    axes.invert_yaxis()
    axes.set_title("Rows quarantined this run, by file and reason")
    axes.legend(loc="upper left", bbox_to_anchor=(1, 1), fontsize="small")
    return _svg(figure)


def render(title: str, history: KpiHistory, reasons_by_file: dict[str, dict[str, int]]) -> str:
    """The dashboard page (`reasons_by_file`: this run's quarantine counts per file)."""
    sections = []
    with _PLOT_LOCK:
        if history.hours:
            sections.append(_hourly_chart(history))
        if history.top_genres:
            sections.append(_genre_chart(history))
        if reasons_by_file:
            sections.append(_quarantine_chart(reasons_by_file))
    if not sections:
        sections.append("<p>No KPIs in the warehouse yet and no rows quarantined this run.</p>")
    return (
        f"<!doctype html><html><head><meta charset=\"utf-8\"><title>{escape(title)}</title>"
        "<style>body{font-family:system-ui,sans-serif;margin:2rem;color:#1d2330}"
        "svg{max-width:100%;height:auto;display:block;margin:1rem 0}</style></head>"
        f"<body><h1>{escape(title)}</h1>{''.join(sections)}</body></html>"
    )
