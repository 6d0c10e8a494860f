"""What a user sees: headless Chromium opens a flow run in the Prefect UI, follows the Data Docs
and dashboard links of its artifacts, and finds this run's pages: on a local lake through
`music-etl docs`, on an S3 lake (moto over HTTP) through presigned URLs. Screenshots go to
test-output/screenshots/ (not committed)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.helpers import cli
from tests.integration.servers import (
    free_port,
    prefect_server_process,
    wait_until_answers,
)

ROOT = Path(__file__).resolve().parents[3]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = ROOT / "test-output" / "screenshots"
SMALL = ["--songs", "200", "--users", "50", "--events", "2000", "--hours", "2"]

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (.ci/run installs it)"
)


@pytest.fixture(scope="module")
def ui(tmp_path_factory):
    """A real Prefect server with its UI; yields the UI's address."""
    with prefect_server_process(tmp_path_factory.mktemp("ui-server")) as api:
        yield api.removesuffix("/api")


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


def generate(root: Path) -> Path:
    generated = cli("generate", "--landing", "landing", *SMALL, cwd=root)
    assert generated.returncode == 0, generated.stderr
    return root / "landing"


def run_pipeline(root: Path, ui: str, *args: str, **env: str) -> str:
    """`music-etl run` against the UI's server; returns the flow run id."""
    run_env = {
        **os.environ, "PREFECT_API_URL": f"{ui}/api", "PREFECT_HOME": str(root / "home"), **env
    }
    result = subprocess.run(
        [sys.executable, "-m", "cli.main", "run", *args],
        cwd=root, env=run_env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return re.search(r"^Data Docs: \S+/runs/([0-9a-f-]{36})/index\.html", result.stdout, re.M).group(1)


def follow_artifact_link(page, ui: str, run_id: str, key: str, text: str, shot: str):
    """Flow run page -> Artifacts -> the artifact -> its link (a new tab); returns that tab."""
    page.goto(f"{ui}/runs/flow-run/{run_id}", wait_until="networkidle")
    page.get_by_text("Artifacts", exact=True).first.click()
    page.get_by_text(key, exact=True).click()
    page.wait_for_load_state("networkidle")
    page.screenshot(path=SCREENSHOTS / f"{shot}-artifact.png")
    with page.context.expect_page() as opened:
        page.get_by_role("link", name=text).click()
    tab = opened.value
    tab.wait_for_load_state()
    tab.screenshot(path=SCREENSHOTS / f"{shot}.png", full_page=True)
    return tab


def check_pages(browser, ui: str, run_id: str, name: str) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{ui}/runs/flow-run/{run_id}", wait_until="networkidle")
    page.get_by_text("Artifacts", exact=True).first.click()
    page.wait_for_load_state("networkidle")
    page.screenshot(path=SCREENSHOTS / f"{name}-flow-run-artifacts.png", full_page=True)

    docs = follow_artifact_link(page, ui, run_id, "data-docs", "Data Docs of this run", f"{name}-run-page")
    assert docs.title() == f"music-etl run {run_id}"
    body = docs.inner_text("body")
    assert "streams/broken/latin1.csv" in body and "Rejected: cannot decode as UTF-8" in body
    with docs.expect_navigation():
        docs.get_by_role("link", name="validation").first.click()
    docs.screenshot(path=SCREENSHOTS / f"{name}-validation-page.png")
    assert "What happened to this file:" in docs.inner_text("body")

    board = follow_artifact_link(page, ui, run_id, "kpi-dashboard", "KPI dashboard", f"{name}-dashboard")
    assert board.title() == f"KPI dashboard: music-etl run {run_id}"
    assert board.locator("svg").count() == 3


def test_local_lake_pages_open_from_the_ui_through_music_etl_docs(ui, browser, tmp_path):
    port = str(free_port())
    generate(tmp_path)
    run_id = run_pipeline(
        tmp_path, ui, "--landing", "landing", "--lake", "lake",
        "--warehouse", f"duckdb:///{tmp_path / 'w.duckdb'}", MUSIC_ETL_DOCS_PORT=port,
    )  # fmt: skip
    log = tmp_path / "docs.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "docs", "--lake", "lake", "--port", port],
            cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        wait_until_answers(f"http://127.0.0.1:{port}/runs/{run_id}/index.html", server, log, 60)
        check_pages(browser, ui, run_id, "local")
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_s3_lake_pages_open_from_the_ui_through_presigned_links(ui, browser, tmp_path, s3):
    landing = generate(tmp_path)
    for path in sorted(p for p in landing.rglob("*") if p.is_file()):
        key = f"in/{path.relative_to(landing).as_posix()}"
        s3.put_object(Bucket="landing-zone", Key=key, Body=path.read_bytes())
    run_id = run_pipeline(
        tmp_path, ui, "--landing", "s3://landing-zone/in", "--lake", "s3://data-lake/lake",
        "--warehouse", f"duckdb:///{tmp_path / 'w.duckdb'}",
    )  # fmt: skip
    check_pages(browser, ui, run_id, "s3")
