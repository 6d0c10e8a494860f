"""Quarantine reasons, whole-file rejections and CSV edge cases, through real flow runs."""

from __future__ import annotations

import gzip
import json
import os
from datetime import datetime
from html import escape
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.integration.helpers import streams_csv

# One row per reason, each also failing every later rule where possible, to show precedence.
ROWS_BY_REASON = [
    ("", "", "", "missing_user_id"),
    ("1", "", "", "missing_track_id"),
    ("1", "A1", "", "missing_listen_time"),
    ("abc", "NOPE", "not a time", "invalid_user_id"),
    ("-5", "A1", "2026-11-27 10:00:00", "invalid_user_id"),
    ("12.5", "A1", "2026-11-27 10:00:00", "invalid_user_id"),
    ("0", "A1", "2026-11-27 10:00:00", "invalid_user_id"),
    ("1", "NOPE", "2026-13-45 99:00:00", "invalid_listen_time"),
    ("1", "NOPE", "2099-01-01 00:00:00", "future_listen_time"),
    ("1", "NOPE", "2026-11-27 10:00:00", "unknown_track"),
]
GOOD_ROWS = [(str(u), "A1", f"2026-11-27 10:{u:02d}:00") for u in range(1, 12)]


def test_every_quarantine_reason_with_precedence(stores):
    rows = [r[:3] for r in ROWS_BY_REASON] + GOOD_ROWS
    stores.write("streams/mixed.csv", streams_csv(rows))

    summary = stores.run()

    assert summary.files_by_status == {"loaded": 1}
    assert summary.rows_quarantined == len(ROWS_BY_REASON)
    assert summary.rows_loaded == len(GOOD_ROWS)
    quarantine = list(Path(stores.lake, "quarantine", "streams").glob("mixed.csv@*.parquet"))
    table = pq.read_table(quarantine[0]).to_pylist()
    assert [(r["row_number"], r["reason"]) for r in table] == [
        (number, reason) for number, (*_, reason) in enumerate(ROWS_BY_REASON, start=1)
    ]
    assert table[3]["user_id"] == "abc" and table[3]["listen_time"] == "not a time"
    assert {r["source_file"] for r in table} == {"streams/mixed.csv"}
    assert stores.ledger()["streams/mixed.csv"][:5] == ("loaded", 21, 11, 10, 0)


def test_whole_file_rejection_rules(stores):
    good = streams_csv([(1, "A1", "2026-11-27 10:00:00")])
    stores.write("streams/good.csv", good)
    stores.write("streams/latin1.csv", "user_id,track_id,listen_time\n1,caf\xe9,x\n".encode("latin-1"))
    stores.write("streams/missing_column.csv", "user_id,track_id\n1,A1\n")
    stores.write("streams/bad_quotes.csv", 'user_id,track_id,listen_time\n1,"A1,2026-11-27 10:00:00\n')
    stores.write("streams/ragged.csv", "user_id,track_id,listen_time\n1,A1\n")
    stores.write("streams/corrupt.csv.gz", b"this is not gzip")
    invalid = [("x", "A1", "2026-11-27 10:00:00")] * 6 + [(1, "A1", "2026-11-27 10:00:00")] * 4
    stores.write("streams/mostly_invalid.csv", streams_csv(invalid))
    stores.write("streams/header_only.csv", "user_id,track_id,listen_time\n")
    stores.write("streams/empty.csv", "")

    summary = stores.run()

    ledger = stores.ledger()
    assert summary.files_by_status == {"loaded": 1, "rejected": 6, "empty": 2}
    assert ledger["streams/good.csv"][0] == "loaded"
    assert "UTF-8" in ledger["streams/latin1.csv"][5]
    assert "listen_time" in ledger["streams/missing_column.csv"][5]
    assert "quote" in ledger["streams/bad_quotes.csv"][5]
    assert "parse" in ledger["streams/ragged.csv"][5]
    assert "gzip" in ledger["streams/corrupt.csv.gz"][5]
    assert ledger["streams/mostly_invalid.csv"][:5] == ("rejected", 10, 0, 6, 0)
    assert "max_invalid_fraction" in ledger["streams/mostly_invalid.csv"][5]
    assert ledger["streams/header_only.csv"][0] == "empty"
    assert ledger["streams/empty.csv"][0] == "empty"
    # Nothing from a rejected file reached the warehouse: only good.csv's single event.
    assert stores.query("SELECT DISTINCT source_file FROM {s}.streams") == [("streams/good.csv",)]


def test_max_invalid_fraction_is_a_parameter(stores):
    invalid = [("x", "A1", "2026-11-27 10:00:00")] * 6 + [(1, "A1", "2026-11-27 10:00:00")] * 4
    stores.write("streams/mostly_invalid.csv", streams_csv(invalid))

    summary = stores.run(max_invalid_fraction=0.7)

    assert summary.files_by_status == {"loaded": 1}
    assert summary.rows_duplicate == 3  # the four valid rows are one event


def test_csv_edge_cases(stores):
    # BOM + CRLF, columns reordered, quoted values with commas in an extra column, zone offsets.
    bom_crlf = "\ufeffuser_id,track_id,listen_time\r\n1,A1,2026-11-27 10:00:00\r\n"
    stores.write("streams/bom_crlf.csv", bom_crlf)
    reordered = 'listen_time,device,user_id,track_id\n2026-11-27T10:30:00Z,"iPhone, 15",2,"A2"\n'
    stores.write("streams/reordered.csv", reordered)
    offsets = streams_csv(
        [
            (3, "B1", "2026-11-27T11:15:00+01:00"),  # 10:15 UTC
            (3, "B2", "2026-11-27T05:45:00.250-05:30"),  # 11:15:00.25 UTC
            (4, "B1", "2026-11-28T00:30:00+02:00"),  # 2026-11-27 22:30 UTC, previous day
        ]
    )
    stores.write("streams/offsets.csv.gz", gzip.compress(offsets.encode()))

    summary = stores.run()

    assert summary.files_by_status == {"loaded": 3}
    events = stores.query("SELECT user_id, track_id, listen_time FROM {s}.streams ORDER BY 3")
    assert events == [
        (1, "A1", datetime(2026, 11, 27, 10, 0)),
        (3, "B1", datetime(2026, 11, 27, 10, 15)),
        (2, "A2", datetime(2026, 11, 27, 10, 30)),
        (3, "B2", datetime(2026, 11, 27, 11, 15, 0, 250000)),
        (4, "B1", datetime(2026, 11, 27, 22, 30)),
    ]
    hours = stores.query("SELECT listen_hour, total_streams FROM {s}.hourly_kpis ORDER BY 1")
    assert hours == [
        (datetime(2026, 11, 27, 10), 3),
        (datetime(2026, 11, 27, 11), 1),
        (datetime(2026, 11, 27, 22), 1),
    ]


def test_unknown_users_are_kept_and_counted(stores):
    stores.write("streams/a.csv", streams_csv([(999, "A1", "2026-11-27 10:00:00")]))
    summary = stores.run()
    assert summary.rows_loaded == 1 and summary.rows_unknown_user == 1


def test_catalogue_quarantine_and_duplicate_track_ids(stores):
    from tests.integration.helpers import CATALOGUE, songs_csv

    bad = songs_csv(CATALOGUE).splitlines()
    header = bad[0]
    extra = [
        '90,X1,Artist,Album,,50,1000,False,,,,,,,,,,,,,pop',  # missing track_name
        '91,X2,Artist,Album,Name,150,1000,False,,,,,,,,,,,,,pop',  # popularity out of range
        '92,X3,Artist,Album,Name,50,-1,False,,,,,,,,,,,,,pop',  # duration not positive
        '93,A1,Impostor,Album,Other name,50,1000,False,,,,,,,,,,,,,pop',  # repeated track_id
    ]
    stores.write("songs/tracks.csv", "\n".join([header, *bad[1:], *extra]) + "\n")
    stores.write("streams/a.csv", streams_csv([(1, "A1", "2026-11-27 10:00:00")]))

    stores.run()

    assert stores.ledger()["songs/tracks.csv"][:5] == ("loaded", 12, 8, 3, 1)
    assert stores.query("SELECT artists FROM {s}.songs WHERE track_id = 'A1'") == [
        ("Alpha;Beta",)
    ]
    quarantine = next(Path(stores.lake, "quarantine", "songs").glob("*.parquet"))
    reasons = [row["reason"] for row in pq.read_table(quarantine).to_pylist()]
    assert reasons == [
        "missing_track_name", "invalid_popularity", "invalid_duration_ms", "duplicate_track_id",
    ]  # fmt: skip


def _artifacts_of(flow_run_id: str) -> dict[str, object]:
    """The artifacts of a flow run by key (the latest of each key)."""
    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    async def read():
        async with get_client() as client:
            return await client.read_artifacts(
                artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id])),
                sort="CREATED_DESC",
            )

    found: dict[str, object] = {}
    for artifact in asyncio.run(read()):
        found.setdefault(artifact.key, artifact)
    return found


def test_reports_tell_what_happened_to_each_file(stores):
    """The run page lists every validation of the run; each validation page says what happened
    to its file with the raw failing values; artifacts are escaped, keyed, described, linked
    over HTTP (never file://); the KPI artifact and the dashboard show this run's KPIs."""
    name = "streams/2026~11_27*a.csv"  # Markdown would strike through, emphasise, mangle it
    rows = [("12.5x", "A1", "2026-11-27 10:00:00"), ("1", "ZZ9", "2026-11-27 10:00:00")]
    stores.write(name, streams_csv(rows + GOOD_ROWS))
    stores.write("streams/bad.csv", "user_id,track_id\n1,A1\n")

    summary = stores.run()

    run_id = summary.data_docs.split("/runs/")[1].split("/")[0]
    site = Path(stores.lake, "data_docs")
    assert summary.data_docs == (
        f"http://127.0.0.1:8765/runs/{run_id}/index.html "
        f"(served by `music-etl docs --lake {stores.lake}`)"
    )
    run_page = (site / "runs" / run_id / "index.html").read_text()
    for text in (name, "streams/bad.csv", "songs/tracks.csv", "users/users.csv", "KPI dashboard"):
        assert escape(text) in run_page, text
    assert "Rejected: missing required column(s): listen_time" in run_page
    page = next(p for p in (site / "validations").rglob("*.html") if "27*a.csv" in str(p))
    html = page.read_text()
    assert html.index("What happened to this file:") < html.index("Expectation Validation Result")
    assert f"{len(GOOD_ROWS):,} of {len(rows) + len(GOOD_ROWS)} rows loaded" in html
    assert "invalid_user_id=1, unknown_track=1" in html
    assert "12.5x" in html and "ZZ9" in html  # the raw values, not null
    dashboard = (site / "runs" / run_id / "dashboard.html").read_text()
    assert dashboard.count("<svg") == 3  # hourly, genres, quarantine reasons
    assert "<script" not in dashboard and "<link" not in dashboard  # self-contained

    artifacts = _artifacts_of(run_id)
    assert {
        "file-counts", "data-docs", "data-docs-index", "kpi-dashboard", "kpis", "run-summary",
        "run-progress",
    } <= set(artifacts)  # fmt: skip
    assert all(a.description for a in artifacts.values())
    assert not [k for k, a in artifacts.items() if "file://" in str(a.data)]
    table = json.loads(artifacts["file-counts"].data)
    streams_row = next(row for row in table if "27" in row["file"])
    assert list(streams_row)[:2] == ["status", "reason"]
    assert streams_row["file"] == r"streams/2026\~11\_27\*a\.csv"
    assert streams_row["data_docs"].startswith("[open](<http://127.0.0.1:8765/validations/streams/")
    run_url = f"http://127.0.0.1:8765/runs/{run_id}"
    assert artifacts["data-docs"].data == f"[Data Docs of this run]({run_url}/index.html)"
    assert artifacts["kpi-dashboard"].data == f"[KPI dashboard]({run_url}/dashboard.html)"
    assert "served by `music-etl docs --lake" in artifacts["data-docs"].description
    assert f"| 2026-11-27 10:00 | {len(GOOD_ROWS)} | {len(GOOD_ROWS)} |" in artifacts["kpis"].data
    assert artifacts["run-progress"].data == 100.0


def test_catalogue_values_too_long_for_the_warehouse_are_quarantined(stores):
    from tests.integration.helpers import CATALOGUE, songs_csv

    catalogue = dict(CATALOGUE)
    # 1500 characters but 3000 UTF-8 bytes: fits VARCHAR(1024) nowhere, and on Redshift the
    # limit counts bytes, so a character-based check would let 600 "é" (1200 bytes) through.
    catalogue["L1"] = ("Long", "é" * 600, 50, 1000, "pop")
    catalogue["L2"] = ("Fine", "é" * 512, 50, 1000, "pop")  # exactly 1024 bytes
    stores.write("songs/tracks.csv", songs_csv(catalogue))
    stores.write("streams/a.csv", streams_csv([(1, "L2", "2026-11-27 10:00:00")]))

    summary = stores.run()

    assert summary.rows_loaded == 1
    assert stores.query("SELECT track_id FROM {s}.songs WHERE track_id LIKE 'L%'") == [("L2",)]
    quarantine = next(Path(stores.lake, "quarantine", "songs").glob("*.parquet"))
    rows = pq.read_table(quarantine).to_pylist()
    assert [(r["track_id"], r["reason"]) for r in rows] == [("L1", "value_too_long")]


@pytest.mark.parametrize("new_warehouse", ["duckdb"], indirect=True)
def test_hostile_files_are_rejected_and_the_run_completes(stores, monkeypatch):
    from music_etl.settings import Settings, configure
    from music_etl.storage.local import LocalStore

    configure(Settings(max_file_bytes=20 * 1024 * 1024))
    header = "user_id,track_id,listen_time\n"
    stores.write("streams/good.csv", streams_csv([(1, "A1", "2026-11-27 10:00:00")]))
    stores.write("streams/garbage.csv", bytes(range(256)) * 64)
    stores.write("streams/utf16.csv", (header + "1,A1,2026-11-27 10:00:00\n").encode("utf-16"))
    stores.write("streams/one_enormous_line.csv", header + "1,A1," + "9" * (8 * 1024 * 1024))
    stores.write("streams/many_columns.csv", header.strip() + "".join(f",c{i}" for i in range(5000))
                 + "\n3,A1,2026-11-27 10:00:00" + ",x" * 5000 + "\n")  # fmt: skip
    stores.write("streams/bomb.csv.gz", gzip.compress(header.encode() + b"0" * (300 * 1024 * 1024)))
    stores.write("streams/vanishing.csv", streams_csv([(2, "A2", "2026-11-27 10:00:00")]))
    stores.write("streams/latin1.csv", (header + "1,Beyoncé,2026-11-27 10:00:00\n").encode("latin-1"))
    stores.write("streams/unbalanced_quote.csv", header + '1,"A1,2026-11-27 10:00:00\n2,A2,x\n')
    stores.write("streams/oversized.csv", header + "1,A1,2026-11-27 10:00:00\n" * 1_000_000)  # 25 MB
    stores.write("streams/nul_line.csv", header + "1,A1,2026-11-27 10:00:00\n" + "\0" * 4096 + "\n")
    stores.write("streams/odd_values.csv", header + "4,A1,0000-01-01 00:00:00\n"
                 "99999999999999999999,A1,2026-11-27 10:00:00\n" + "5,A2,2026-11-27 10:00:00\n" * 3)
    (stores.landing / "streams" / "link_out.csv").symlink_to("/etc/passwd")
    os.mkfifo(stores.landing / "streams" / "pipe.csv")
    original_copy = LocalStore.copy_from

    def copy_after_the_file_vanished(self, source, key, dest_key):
        if key.endswith("vanishing.csv"):
            (stores.landing / key).unlink(missing_ok=True)
        return original_copy(self, source, key, dest_key)

    monkeypatch.setattr(LocalStore, "copy_from", copy_after_the_file_vanished)

    summary = stores.run()

    ledger = stores.ledger()
    assert ledger["streams/good.csv"][0] == "loaded"
    assert ledger["streams/many_columns.csv"][0] == "loaded"  # extra columns are only drift
    hostile = ("garbage.csv", "utf16.csv", "latin1.csv", "unbalanced_quote.csv",
               "one_enormous_line.csv", "bomb.csv.gz", "oversized.csv", "vanishing.csv",
               "nul_line.csv")  # fmt: skip
    for key in hostile:
        status, *_, reason = ledger[f"streams/{key}"]
        assert status == "rejected" and reason, (key, ledger[f"streams/{key}"])
    assert "vanished" in ledger["streams/vanishing.csv"][5]
    assert "expands beyond" in ledger["streams/bomb.csv.gz"][5]
    assert "larger than" in ledger["streams/oversized.csv"][5]
    assert "unbalanced quote" in ledger["streams/unbalanced_quote.csv"][5]
    assert ledger["streams/odd_values.csv"][:4] == ("loaded", 5, 1, 2)  # 3 rows are 1 event
    assert {key for key, _ in summary.skipped_entries} == {"streams/link_out.csv", "streams/pipe.csv"}
    assert summary.rows_loaded == 3


# --- hostile values: no row or file stops a run --------------------------------------------------


def test_timestamps_a_warehouse_cannot_hold_are_invalid_and_later_runs_go_on(stores):
    rows = [
        (1, "A1", "0000-01-01 00:00:00"),  # year 0: no date type has it
        (2, "A1", "1969-12-31 23:59:59"),  # before the epoch (SPEC §2)
        (3, "A1", "9999-12-31T23:00:00-05:00"),  # year 10000 in UTC
        (4, "A1", "1970-01-01T00:00:00Z"),  # the first instant allowed
    ] + [(u, "A1", "2026-11-27 10:00:00") for u in range(5, 9)]
    stores.write("streams/odd_times.csv", streams_csv(rows))

    summary = stores.run()

    assert summary.files_by_status == {"loaded": 1} and summary.rows_loaded == 5
    quarantine = next(Path(stores.lake, "quarantine", "streams").glob("odd_times.csv@*.parquet"))
    assert [(r["listen_time"], r["reason"]) for r in pq.read_table(quarantine).to_pylist()] == [
        ("0000-01-01 00:00:00", "invalid_listen_time"),
        ("1969-12-31 23:59:59", "invalid_listen_time"),
        ("9999-12-31T23:00:00-05:00", "invalid_listen_time"),
    ]
    stores.write("streams/next.csv", streams_csv([(6, "A2", "2026-11-27 11:00:00")]))
    assert stores.run().files_by_status == {"loaded": 1}


def test_a_failure_inside_one_files_work_rejects_that_file_and_the_run_goes_on(stores, monkeypatch):
    from music_etl.rules import transforms

    real = transforms.stream_events

    def breaks_on_one_file(valid, source_file):
        if source_file == "streams/b.csv":
            raise ValueError("year 0 is out of range")
        return real(valid, source_file)

    monkeypatch.setattr(transforms, "stream_events", breaks_on_one_file)
    stores.write("streams/a.csv", streams_csv([(1, "A1", "2026-11-27 10:00:00")]))
    stores.write("streams/b.csv", streams_csv([(2, "A2", "2026-11-27 10:00:00")]))

    summary = stores.run()

    assert summary.files_by_status == {"loaded": 1, "rejected": 1}
    status, *_, reason = stores.ledger()["streams/b.csv"]
    assert status == "rejected"
    assert reason == "transformation failed: ValueError: year 0 is out of range"
    assert stores.query("SELECT DISTINCT source_file FROM {s}.streams") == [("streams/a.csv",)]


def test_nul_bytes_are_rejected_or_stripped_and_never_reach_the_warehouse(stores):
    from tests.integration.helpers import CATALOGUE, songs_csv

    header = "user_id,track_id,listen_time\n"
    stores.write("streams/nul_line.csv", header + "1,A1,2026-11-27 10:00:00\n" + "\0" * 64 + "\n")
    stores.write("streams/nul_value.csv", header + "2,A\x002,2026-11-27 10:00:00\n3,A1,2026-11-27 10:05:00\n")
    catalogue = dict(CATALOGUE)
    catalogue["N1"] = ("Nul\0Artist", "Name with a \0", 50, 1000, "pop")
    stores.write("songs/tracks.csv", songs_csv(catalogue))

    summary = stores.run()

    assert summary.files_by_status == {"loaded": 1, "rejected": 1}
    reason = stores.ledger()["streams/nul_line.csv"][5]
    assert "\0" not in reason and "\\x00" in reason
    assert stores.query("SELECT artists, track_name FROM {s}.songs WHERE track_id = 'N1'") == [
        ("NulArtist", "Name with a")
    ]
    # A NUL inside a value is dropped like surrounding blanks; the quarantine keeps raw values.
    assert stores.query("SELECT user_id, track_id FROM {s}.streams ORDER BY 1") == [(2, "A2"), (3, "A1")]


def test_links_hidden_files_and_pipes_in_the_landing_zone_are_skipped_and_reported(stores, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.csv").write_text("user_id,track_id,listen_time\n9,A1,2026-11-27 10:00:00\n")
    stores.write("streams/good.csv", streams_csv([(1, "A1", "2026-11-27 10:00:00")]))
    stores.write("streams/.hidden.csv", streams_csv([(2, "A1", "2026-11-27 10:00:00")]))
    stores.write("streams/notes.txt", "not a stream file")
    (stores.landing / "streams" / "link.csv").symlink_to(outside / "secret.csv")
    (stores.landing / "streams" / "linked_folder").symlink_to(outside, target_is_directory=True)
    os.mkfifo(stores.landing / "streams" / "pipe.csv")  # reading it would block the run

    summary = stores.run()

    assert summary.files_by_status == {"loaded": 1} and summary.rows_loaded == 1
    assert dict(summary.skipped_entries) == {
        "streams/.hidden.csv": "hidden (name starts with a dot)",
        "streams/link.csv": "symbolic link, not followed (it could lead outside the landing zone)",
        "streams/linked_folder": "symbolic link, not followed (it could lead outside the landing zone)",
        "streams/notes.txt": "not a .csv or .csv.gz file",
        "streams/pipe.csv": "not a regular file (device, pipe or socket)",
    }
    assert any(line.startswith("entries not read: 5 (") for line in summary.lines())
    assert stores.query("SELECT DISTINCT user_id FROM {s}.streams") == [(1,)]


def test_values_peer_suites_feed_in(stores):
    """Cases from public music-streaming ETL test suites: 19-digit ids, dates without a time."""
    big = 1234567890123456789
    stores.write("users/users.csv", "user_id,user_name,user_age,user_country,created_at\n"
                 f"{big},Big,30,SE,2024-03-01\n1,One,30,SE,yesterday\n2,Two,30,SE,\n")  # fmt: skip
    stores.write("streams/ids.csv", streams_csv([
        (big, "A1", "2026-11-27 10:00:00"),
        (9223372036854775807, "A1", "2026-11-27 10:00:00"),
        (9223372036854775808, "A1", "2026-11-27 10:00:00"),  # does not fit BIGINT
        (1, "A1", "2026-11-27 10:00:00"),
    ]))  # fmt: skip

    summary = stores.run()

    assert summary.rows_loaded == 3 and summary.rows_quarantined == 1
    assert stores.query("SELECT user_id FROM {s}.streams ORDER BY 1") == [
        (1,), (big,), (9223372036854775807,)
    ]  # fmt: skip
    assert stores.query("SELECT user_id, created_at FROM {s}.users ORDER BY 1") == [
        (1, None), (2, None), (big, datetime(2024, 3, 1)),
    ]  # fmt: skip
    # "yesterday" is stored as NULL and counted; an empty value is simply absent.
    assert summary.warnings == {"invalid_created_at": 1}
    assert "invalid_created_at (stored as NULL, warning): 1" in summary.lines()


def test_summary_numbers_are_found_in_the_lake_and_the_ledger(stores):
    good = [(u, "A1", f"2026-11-27 10:{u:02d}:00") for u in range(1, 9)]
    stores.write("streams/some_bad.csv", streams_csv(good + [("x", "A1", "2026-11-27 10:00:00")]))
    stores.write("streams/mostly_bad.csv", streams_csv([("x", "A1", "2026-11-27 10:00:00")] * 3
                                                       + [(1, "A2", "2026-11-27 10:00:00")]))  # fmt: skip

    summary = stores.run()

    quarantined = sum(
        pq.read_table(path).num_rows for path in Path(stores.lake, "quarantine", "streams").rglob("*")
    )
    assert summary.rows_quarantined == quarantined == 1
    assert summary.rows_in_rejected_files == stores.query(
        "SELECT SUM(rows_read) FROM {s}.etl_file_ledger WHERE status = 'rejected'"
    )[0][0] == 4
    assert summary.rows_loaded == stores.event_count() == 8
