"""Unit tests of the sample landing-zone generator (SPEC sections 2 and 3)."""

import csv
import gzip
import io
import re
import zlib
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from music_etl.generate import (
    GENRES,
    SONG_COLUMNS,
    STREAM_COLUMNS,
    TRICKY_ARTISTS,
    generate_landing,
)

START = datetime(2026, 11, 27, 8, tzinfo=UTC)
HOURS = 6
SIZES = dict(songs=300, users=50, events=5000, hours=HOURS, start=START, seed=11)
RUN_START = START + timedelta(hours=HOURS)  # a pipeline run right after the data was produced
QUARANTINE_REASONS = {
    "missing_user_id",
    "missing_track_id",
    "missing_listen_time",
    "invalid_user_id",
    "invalid_listen_time",
    "future_listen_time",
    "unknown_track",
}
BROKEN = {
    "streams/broken/latin1.csv",
    "streams/broken/missing_column.csv",
    "streams/broken/header_only.csv",
    "streams/broken/empty.csv",
    "streams/broken/mostly_invalid.csv",
    "streams/broken/bad_quotes.csv",
    "streams/broken/corrupt.csv.gz",
}


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    root = tmp_path_factory.mktemp("landing")
    messages: list[str] = []
    summary = generate_landing(root, **SIZES, progress=messages.append)
    return summary, messages


@pytest.fixture(scope="module")
def root(generated) -> Path:
    return generated[0].root


@pytest.fixture(scope="module")
def catalogue(root) -> list[dict]:
    rows = []
    for name in ("tracks_part1.csv", "tracks_part2.csv"):
        with open(root / "songs" / name, encoding="utf-8", newline="") as f:
            reader = csv.reader(f, strict=True)
            assert next(reader) == list(SONG_COLUMNS)
            rows += [dict(zip(SONG_COLUMNS, row, strict=True)) for row in reader]
    return rows


@pytest.fixture(scope="module")
def valid_track_ids(catalogue) -> set[str]:
    """Track ids a pipeline keeps, per SPEC section 3 (first row wins)."""
    kept: set[str] = set()
    seen: set[str] = set()
    for row in catalogue:
        if row["track_id"] in seen:
            continue
        seen.add(row["track_id"])
        if row["track_name"] and 0 <= int(row["popularity"]) <= 100 and int(row["duration_ms"]) > 0:
            kept.add(row["track_id"])
    return kept


@pytest.fixture(scope="module")
def hourly(root) -> list[tuple[Path, list[dict]]]:
    files = sorted(p for p in (root / "streams").rglob("*.csv*") if "broken" not in p.parts)
    return [(path, read_stream(path)) for path in files]


def read_stream(path: Path) -> list[dict]:
    data = path.read_bytes()
    if path.suffix == ".gz":
        data = gzip.decompress(data)
    reader = csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), strict=True)
    header = next(reader)
    assert set(STREAM_COLUMNS) <= set(header)
    return [dict(zip(header, row, strict=True)) for row in reader]


def parse_time(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def classify(row: dict, track_ids: set[str]) -> str:
    """The first quarantine reason that applies (SPEC section 3 order), or 'valid'."""
    user_id, track_id, listen_time = row["user_id"], row["track_id"], row["listen_time"]
    if not user_id:
        return "missing_user_id"
    if not track_id:
        return "missing_track_id"
    if not listen_time:
        return "missing_listen_time"
    if not re.fullmatch(r"[1-9][0-9]*", user_id):
        return "invalid_user_id"
    try:
        moment = parse_time(listen_time)
    except ValueError:
        return "invalid_listen_time"
    if moment > RUN_START + timedelta(days=1):
        return "future_listen_time"
    if track_id not in track_ids:
        return "unknown_track"
    return "valid"


def file_hour(path: Path) -> datetime:
    year, month, day, name = path.parts[-4:]
    return datetime(int(year), int(month), int(day), int(name[:2]), tzinfo=UTC)


def event_key(row: dict) -> tuple:
    return row["user_id"], row["track_id"], parse_time(row["listen_time"])


# --------------------------------------------------------------------------------------------------


def test_summary_matches_files(generated, root):
    summary, messages = generated
    files = [p for p in root.rglob("*") if p.is_file()]
    assert (summary.songs, summary.users, summary.events) == (300, 50, 5000)
    assert summary.stream_files == HOURS
    assert set(summary.broken_files) == BROKEN
    assert summary.bytes_written == sum(p.stat().st_size for p in files)
    assert len(messages) == len(files)


def test_catalogue_layout(catalogue):
    assert [int(row["id"]) for row in catalogue] == list(range(len(catalogue)))
    assert len(catalogue) == 300 + 4  # valid songs plus the deliberately bad rows
    assert all(re.fullmatch(r"[0-9A-Za-z]{22}", row["track_id"]) for row in catalogue)
    assert {row["explicit"] for row in catalogue} == {"True", "False"}
    durations = [int(row["duration_ms"]) for row in catalogue]
    assert sorted(durations)[0] == -1 and all(90_000 <= d <= 600_000 for d in sorted(durations)[1:])
    names = " ".join(row["track_name"] + row["album_name"] for row in catalogue)
    assert "," in names and '"' in names and not names.isascii()


def test_every_genre_present(catalogue):
    assert len(GENRES) == len(set(GENRES)) == 114
    assert {row["track_genre"] for row in catalogue} == set(GENRES)


def test_artists(catalogue, valid_track_ids):
    fields = [row["artists"] for row in catalogue if row["track_id"] in valid_track_ids]
    names = {part.strip() for field in fields for part in field.split(";")}
    assert set(TRICKY_ARTISTS) <= names
    multi = sum(";" in field for field in fields) / len(fields)
    assert 0.12 < multi < 0.3
    assert any(p != p.strip() for f in fields for p in f.split(";")), "stray spaces expected"
    assert any("" in f.split(";") for f in fields), "empty artist part expected"
    repeated = [f for f in fields if len(set(f.split(";"))) < len(f.split(";")) and "" not in f.split(";")]
    assert repeated, "one song should list the same artist twice"


def test_bad_catalogue_rows(catalogue, valid_track_ids, hourly):
    bad = [
        row
        for row in catalogue
        if not row["track_name"] or row["popularity"] == "150" or row["duration_ms"] == "-1"
    ]
    assert len(bad) == 3
    counts = Counter(row["track_id"] for row in catalogue)
    duplicated = [track_id for track_id, n in counts.items() if n > 1]
    assert len(duplicated) == 1
    first, second = (row for row in catalogue if row["track_id"] == duplicated[0])
    assert first["track_name"] != second["track_name"]
    assert duplicated[0] in valid_track_ids

    streamed = {row["track_id"] for _, rows in hourly for row in rows}
    assert not streamed & {row["track_id"] for row in bad}


def test_users(root):
    with open(root / "users" / "users.csv", encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f, strict=True)
        assert reader.fieldnames == ["user_id", "user_name", "user_age", "user_country", "created_at"]
        users = list(reader)
    assert [int(u["user_id"]) for u in users] == list(range(1, 51))
    assert all(13 <= int(u["user_age"]) <= 90 for u in users)
    assert all(re.fullmatch(r"[A-Z]{2}", u["user_country"]) for u in users)
    assert all(parse_time(u["created_at"]) < START for u in users)
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", u["created_at"]) for u in users)


def test_hourly_files(hourly):
    names = [path.relative_to(path.parents[3]).as_posix() for path, _ in hourly]
    assert names == [
        "2026/11/27/08.csv.gz",
        "2026/11/27/09.csv",
        "2026/11/27/10.csv",
        "2026/11/27/11.csv",
        "2026/11/27/12.csv",
        "2026/11/27/13.csv",
    ]
    assert sum(len(rows) for _, rows in hourly) == SIZES["events"]
    assert len({len(rows) for _, rows in hourly}) > 1, "traffic should vary by hour"


def test_gzip_files_decompress(root):
    gz = [p for p in (root / "streams").rglob("*.csv.gz") if "broken" not in p.parts]
    assert gz
    for path in gz:
        assert gzip.decompress(path.read_bytes()).startswith(b"user_id,track_id,listen_time\n")


def test_crlf_bom_file(root):
    data = (root / "streams/2026/11/27/09.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbfuser_id,track_id,listen_time\r\n")
    assert data.count(b"\n") == data.count(b"\r\n") > 1


def test_column_order_and_schema_drift(root):
    reordered = (root / "streams/2026/11/27/10.csv").read_text(encoding="utf-8")
    assert reordered.startswith("listen_time,user_id,track_id\n")
    drift = (root / "streams/2026/11/27/11.csv").read_text(encoding="utf-8")
    assert drift.startswith("user_id,track_id,listen_time,device\n")


def test_every_quarantine_reason_present(hourly, valid_track_ids):
    reasons = Counter(classify(row, valid_track_ids) for _, rows in hourly for row in rows)
    assert QUARANTINE_REASONS <= set(reasons)
    invalid = sum(n for reason, n in reasons.items() if reason != "valid")
    assert invalid < 0.01 * SIZES["events"]


def test_valid_rows_belong_to_their_hour_or_are_late(hourly, valid_track_ids):
    late = 0
    for path, rows in hourly:
        hour = file_hour(path)
        for row in rows:
            if classify(row, valid_track_ids) == "valid":
                moment = parse_time(row["listen_time"])
                assert hour - timedelta(hours=12) <= moment < hour + timedelta(hours=1)
                late += moment < hour
    assert late > 0


def test_duplicates_within_and_across_files(hourly, valid_track_ids):
    keys = [
        [event_key(r) for r in rows if classify(r, valid_track_ids) == "valid"] for _, rows in hourly
    ]
    assert any(n > 1 for file_keys in keys for n in Counter(file_keys).values())
    assert any(set(earlier) & set(later) for earlier, later in zip(keys, keys[1:]))


def test_unknown_users_and_iso_times(hourly, valid_track_ids):
    valid = [r for _, rows in hourly for r in rows if classify(r, valid_track_ids) == "valid"]
    assert any(int(r["user_id"]) > SIZES["users"] for r in valid)
    times = [r["listen_time"] for r in valid]
    assert any(t.endswith("Z") for t in times)
    assert any(re.search(r"\.\d{3}[+-]\d\d:\d\d$", t) for t in times)


def test_broken_files(root):
    broken = root / "streams" / "broken"
    assert {f"streams/broken/{p.name}" for p in broken.iterdir()} == BROKEN
    assert (broken / "empty.csv").read_bytes() == b""
    assert (broken / "header_only.csv").read_bytes() == b"user_id,track_id,listen_time\n"
    assert (broken / "missing_column.csv").read_text().startswith("user_id,track_id\n")

    latin1 = (broken / "latin1.csv").read_bytes()
    assert b"caf\xe9" in latin1
    with pytest.raises(UnicodeDecodeError):
        latin1.decode("utf-8")

    rows = read_stream(broken / "mostly_invalid.csv")
    assert len(rows) == 20
    assert sum(not re.fullmatch(r"[1-9][0-9]*", r["user_id"]) for r in rows) == 15

    with pytest.raises(csv.Error):
        list(csv.reader(io.StringIO((broken / "bad_quotes.csv").read_text(), newline=""), strict=True))

    with pytest.raises((OSError, EOFError, zlib.error)):
        gzip.decompress((broken / "corrupt.csv.gz").read_bytes())


def test_same_seed_and_start_give_identical_files(root, tmp_path):
    generate_landing(tmp_path, **SIZES)
    first = {p.relative_to(root): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    second = {p.relative_to(tmp_path): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert first == second


def test_other_seed_gives_other_data(root, tmp_path):
    generate_landing(tmp_path, **{**SIZES, "seed": 12}, broken_files=False)
    assert not (tmp_path / "streams" / "broken").exists()
    key = "streams/2026/11/27/12.csv"
    assert (tmp_path / key).read_bytes() != (root / key).read_bytes()


def test_default_start_is_the_recent_past(tmp_path):
    before = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    generate_landing(tmp_path, songs=200, users=20, events=400, hours=3)
    after = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    first = min(file_hour(p) for p in (tmp_path / "streams").rglob("*.csv*") if "broken" not in p.parts)
    assert first in {before - timedelta(hours=3), after - timedelta(hours=3)}


@pytest.mark.parametrize(
    "arguments",
    [
        {"start": datetime(2026, 11, 27, 8)},  # naive
        {"start": datetime(2026, 11, 27, 8, 30, tzinfo=UTC)},  # not on the hour
        {"events": 100, "hours": 6},  # too few events per file
        {"songs": 5},
    ],
)
def test_rejects_bad_arguments(tmp_path, arguments):
    with pytest.raises(ValueError):
        generate_landing(tmp_path, **{**SIZES, **arguments})
