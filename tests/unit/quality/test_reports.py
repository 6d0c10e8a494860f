"""Links people open (presigned on S3, HTTP locally), escaped Markdown, outcome sentences, and
the outcome box on a Data Docs page."""

from __future__ import annotations

import boto3
import pytest

from music_etl.presentation import file_table, md, outcome
from music_etl.quality.data_docs import annotate_page
from music_etl.quality.links import doc_link, href_from
from music_etl.settings import Settings
from music_etl.storage.local import LocalStore
from music_etl.storage.s3 import S3Store

PAGE = "data_docs/runs/r1/index.html"
VALIDATION = "data_docs/validations/streams/a.csv@e/1/page.html"


def s3_store(monkeypatch, *, credentials: bool) -> S3Store:
    """An S3Store that never talks to a server (presigning is local)."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setattr(S3Store, "_check_bucket", lambda self, check: None)
    keys = dict(aws_access_key_id="AKIATEST", aws_secret_access_key="s") if credentials else {}
    session = boto3.Session(region_name="eu-west-1", **keys)
    return S3Store("s3://lake/music", bucket="lake", prefix="music", session=session, settings=Settings())


def test_local_lake_links_are_http_on_the_docs_port(tmp_path):
    store = LocalStore(tmp_path, create=True)
    settings = Settings(lake=str(tmp_path), docs_port=9001)
    link = doc_link(store, PAGE, settings)
    assert link.url == "http://127.0.0.1:9001/runs/r1/index.html"
    assert link.note == f"served by `music-etl docs --lake {tmp_path} --port 9001`"
    # pages link to each other relatively: whoever serves the site, links keep working
    assert href_from(PAGE, VALIDATION, store, settings) == "../../validations/streams/a.csv%40e/1/page.html"


def test_a_public_docs_address_wins(tmp_path):
    settings = Settings(data_docs_url="https://docs.example.com/music/")
    link = doc_link(LocalStore(tmp_path, create=True), PAGE, settings)
    assert (link.url, link.note) == ("https://docs.example.com/music/runs/r1/index.html", "")


def test_s3_links_are_presigned_with_the_configured_expiry(monkeypatch):
    store = s3_store(monkeypatch, credentials=True)
    link = doc_link(store, PAGE, Settings(docs_link_expiry_days=2))
    assert "/lake/music/data_docs/runs/r1/index.html?" in link.url or "lake.s3" in link.url
    assert "X-Amz-Expires=172800" in link.url and "X-Amz-Signature=" in link.url
    assert link.location == "s3://lake/music/data_docs/runs/r1/index.html"
    assert link.note.startswith("presigned, expires ") and link.location in link.note
    assert "X-Amz-Signature=" in href_from(PAGE, VALIDATION, store, Settings())


def test_a_presign_without_credentials_is_one_line_and_no_link(monkeypatch):
    link = doc_link(s3_store(monkeypatch, credentials=False), PAGE, Settings())
    assert link.url == ""
    assert link.note.startswith("no link: s3://lake/music/data_docs/runs/r1/index.html: cannot presign")
    assert "\n" not in link.describe()


def test_expiry_cannot_exceed_what_sigv4_allows():
    with pytest.raises(ValueError):
        Settings(docs_link_expiry_days=8)


def test_markdown_is_escaped_on_one_line():
    assert md("streams/a~b_c*.csv") == r"streams/a\~b\_c\*\.csv"
    assert md("two\nlines | pipe") == r"two lines \| pipe"


ROW = dict(
    file="streams/a.csv", dataset="streams", status="loaded", rows_read=10, rows_loaded=7,
    rows_quarantined=2, rows_duplicate=1, unknown_users=0, quarantine_reasons="invalid_user_id=2",
    schema_drift="", reason="", data_docs=VALIDATION,
)  # fmt: skip


def test_outcome_says_what_happened():
    assert outcome(ROW).startswith("Loaded: 7 of 10 rows loaded, 1 duplicate; 2 rows quarantined (invalid_user_id=2)")
    rejected = dict(ROW, status="rejected", reason="cannot parse as CSV")
    assert outcome(rejected) == "Rejected: cannot parse as CSV. Nothing of this file was loaded."


def test_file_table_puts_status_and_reason_first_and_links_the_page():
    (row,) = file_table([ROW], lambda key: f"http://x/{key}")
    assert list(row)[:2] == ["status", "reason"]
    assert row["data_docs"] == f"[open](<http://x/{VALIDATION}>)"


def test_outcome_box_is_put_on_top_once(tmp_path):
    store = LocalStore(tmp_path, create=True)
    store.write_bytes(VALIDATION, b"<html><body class='x'><h1>GX</h1></body></html>")
    annotate_page(store, VALIDATION, "<div>first</div>")
    annotate_page(store, VALIDATION, "<div>second</div>")  # a retried report
    page = store.read_bytes(VALIDATION).decode()
    assert "first" not in page
    assert page.index("<body class='x'>") < page.index("second") < page.index("<h1>GX</h1>")
