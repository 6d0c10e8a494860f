"""The run page: one small HTML page per flow run beside Great Expectations' site, listing every
validation of the run with what happened to its file. GX's own index lists only the validations
its process rendered (a retried container reuses cached ones and renders none), so the run page
is where a run's links lead."""

from __future__ import annotations

from collections.abc import Callable
from html import escape

from music_etl.presentation import outcome
from music_etl.quality.data_docs import DOCS_PREFIX

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #1d2330; }
table { border-collapse: collapse; margin-top: 1rem; }
th, td { border-bottom: 1px solid #d8dde6; padding: .4rem .7rem; text-align: left; vertical-align: top; }
th { background: #f2f4f8; }
.rejected { color: #b3261e; font-weight: 600; } .loaded, .valid { color: #1e7b34; }
"""


def run_page_key(run_id: str) -> str:
    return f"{DOCS_PREFIX}/runs/{run_id}/index.html"


def dashboard_key(run_id: str) -> str:
    return f"{DOCS_PREFIX}/runs/{run_id}/dashboard.html"


def banner(rows: list[dict[str, object]]) -> str:
    """The box at the top of a GX validation page (a catalogue snapshot page covers its files)."""
    items = "".join(
        f"<li><b>{escape(str(row.get('file') or row.get('quarantine')))}</b>: "
        f"{escape(outcome(row))}</li>"
        for row in rows
    )
    return (
        f'<div id="music-etl-outcome" style="{_BANNER_STYLE}">'
        f"<b>What happened to this file:</b><ul>{items}</ul></div>"
    )


_BANNER_STYLE = (
    "background:#fff7d6;border:1px solid #e5c95c;padding:.8rem 1rem;margin:0;"
    "font:15px system-ui,sans-serif;color:#1d2330"
)


def render(
    title: str,
    summary_lines: list[str],
    rows: list[dict[str, object]],
    href: Callable[[str], str],
    index_key: str,
    dashboard: str,
) -> str:
    """The page's HTML. `href(key)`: how this page links to another page of the site."""
    body = [f"<h1>{escape(title)}</h1>", "<ul>"]
    # the summary's "Data Docs:" line is this page's own address
    body += [f"<li>{escape(line)}</li>" for line in summary_lines if not line.startswith("Data Docs:")]
    body.append("</ul><p>")
    if dashboard:
        body.append(f'<a href="{escape(href(dashboard))}">KPI dashboard</a> · ')
    if index_key:
        body.append(f'<a href="{escape(href(index_key))}">Great Expectations Data Docs index</a>')
    body.append("</p><table><tr><th>file</th><th>status</th><th>what happened</th><th></th></tr>")
    for row in rows:
        name = str(row.get("file") or row.get("quarantine"))
        status = str(row.get("status", "replayed"))
        page = str(row.get("data_docs") or "")
        link = f'<a href="{escape(href(page))}">validation</a>' if page else ""
        body.append(
            f"<tr><td>{escape(name)}</td><td class=\"{escape(status)}\">{escape(status)}</td>"
            f"<td>{escape(outcome(row))}</td><td>{link}</td></tr>"
        )
    body.append("</table>")
    return (
        f"<!doctype html><html><head><meta charset=\"utf-8\"><title>{escape(title)}</title>"
        f"<style>{STYLE}</style></head><body>{''.join(body)}</body></html>"
    )
