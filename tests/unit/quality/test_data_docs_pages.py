"""Data Docs validation pages rendered with the compiled-once view are GX's own pages."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlparse

import pandas as pd
import pyarrow as pa

from music_etl.quality import suites
from music_etl.quality.checks import prepare_streams

# Parts of a page that differ between any two renders: element ids, run times, build stamps.
_VOLATILE = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32}"
    r"|20[0-9]{6}T[0-9]{6}\.[0-9]+Z"
    r"|\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?(\+00:00|Z)?"
)


def _frame() -> pd.DataFrame:
    raw = pd.DataFrame(
        {
            "user_id": ["1", "x", "-3", None, "5"],
            "track_id": ["a", "b", None, "zz", "a"],
            "listen_time": ["2026-01-01 00:00:00", "bad", "2026-01-01T00:00:00Z",
                            "2026-01-01 00:00:00", "2099-01-01 00:00:00"],
        },  # fmt: skip
        dtype=pd.StringDtype(),
    )
    raw.index = pd.RangeIndex(1, len(raw) + 1)
    return prepare_streams(raw, pa.array(["a", "b"]))


def _pages(root: Path, count: int) -> list[str]:
    """Validate the same rows `count` times in a new workspace; each rendered page, masked."""
    runner = suites.SuiteRunner(root / "gx", root / "docs")
    cutoff = {"max_listen_time": pd.Timestamp(datetime(2026, 6, 1, tzinfo=UTC))}
    pages = []
    for _ in range(count):
        outcome = runner.validate("streams", _frame(), "streams/x.csv@v1", cutoff)
        page = Path(unquote(urlparse(outcome.docs_url).path)).read_text(encoding="utf-8")
        pages.append(_VOLATILE.sub("X", page))
    return pages


def test_pages_equal_gx_default_view_pages(tmp_path, monkeypatch):
    compiled_once = _pages(tmp_path / "compiled-once", 2)  # the second from cached bytecode
    default_view = {"module_name": "great_expectations.render.view",
                    "class_name": "DefaultJinjaPageView"}  # fmt: skip
    monkeypatch.setattr(suites, "_COMPILED_ONCE_VIEW", default_view)
    gx_default = _pages(tmp_path / "gx-default", 1)
    assert compiled_once[0] == compiled_once[1] == gx_default[0]
    for failing_value in ("bad", "zz", "-3"):
        assert failing_value in gx_default[0]


def test_the_site_uses_the_compiled_once_view(tmp_path):
    runner = suites.SuiteRunner(tmp_path / "gx", tmp_path / "docs")
    sections = runner.context.variables.data_docs_sites["music_etl"]["site_section_builders"]
    for section in ("validations", "expectations"):
        assert sections[section]["view"]["class_name"] == "CompiledOnceJinjaPageView"
