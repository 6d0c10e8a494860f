"""Hostile input at real sizes: every file rejected with a reason (or its bad rows quarantined,
or, for links and pipes, not read and reported), the run completes, memory stays bounded.

    .venv/bin/python benchmarks/hostile_input.py [--workdir /tmp/music-etl-hostile]

Writes a small valid landing zone (`music-etl generate`, 2 hourly files), runs the pipeline once
on it alone (the baseline), then adds the hostile files below and runs it again on a fresh lake
and warehouse. Prints each hostile file's status and reason from the ledger and the peak RSS of
both runs (VmHWM of the pipeline's process). Tests cover the same kinds at small sizes
(tests/integration/test_quality.py); this shows the memory bound at sizes that would hurt.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import sys
import zlib
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pipeline_benchmark import MUSIC_ETL, run_measured  # noqa: E402

HEADER = b"user_id,track_id,listen_time\n"
ROW = b"1,T000001,2026-11-27 10:00:00\n"
MB = 1 << 20


def gzip_bomb(path: Path, inflated_bytes: int) -> None:
    """A small .gz that inflates to `inflated_bytes` of zeros after a valid header."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    zeros = b"0" * (64 * MB)
    with path.open("wb") as out:
        out.write(compressor.compress(HEADER))
        for _ in range(inflated_bytes // len(zeros)):
            out.write(compressor.compress(zeros))
        out.write(compressor.flush())


def write_hostile_files(
    streams: Path, outside: Path, known_track: str
) -> dict[str, tuple[str, str]]:
    """The corpus; returns file name -> (what it is, the outcome it must have)."""
    streams.mkdir(parents=True, exist_ok=True)
    corpus = {
        "garbage.csv": ("64 MB of random bytes", "rejected"),
        "utf16.csv": ("50 MB of valid rows encoded as UTF-16", "rejected"),
        "latin1.csv": ("50 MB of rows with a Latin-1 track id", "rejected"),
        "unbalanced_quote.csv": ("50 MB of valid rows with one quote never closed", "rejected"),
        "one_enormous_line.csv": ("a single 200 MB line", "rejected"),
        "many_columns.csv": ("20,000 columns, 200 rows", "rejected"),
        "bomb.csv.gz": ("gzip of 3 MB inflating to 4 GiB", "rejected"),
        "oversized.csv": ("300 MB of valid rows (over the 256 MiB cap)", "rejected"),
        "nul_line.csv": ("50 MB of valid rows and one line of 1 MB of NUL bytes", "rejected"),
        "odd_values.csv": ("1M rows, one in 10 with year 0, pre-1970 or a 20-digit user id",
                           "loaded"),
        "link_out.csv": ("a symbolic link to a file outside the landing zone", "not read"),
        "pipe.csv": ("a named pipe (reading it would block)", "not read"),
    }  # fmt: skip
    rows = (50 * MB) // len(ROW)
    (streams / "nul_line.csv").write_bytes(HEADER + ROW * rows + b"\0" * MB + b"\n")
    good = f"1,{known_track},2026-11-27 10:00:00\n".encode()
    odd = [f"1,{known_track},0000-01-01 00:00:00\n", f"2,{known_track},1969-12-31 23:59:59\n",
           f"99999999999999999999,{known_track},2026-11-27 10:00:00\n"]  # fmt: skip
    (streams / "odd_values.csv").write_bytes(
        HEADER + b"".join(odd[i % 3].encode() if i % 10 == 0 else good for i in range(1_000_000))
    )
    outside.mkdir(parents=True, exist_ok=True)
    (outside / "secret.csv").write_bytes(HEADER + ROW)
    (streams / "link_out.csv").symlink_to(outside / "secret.csv")
    os.mkfifo(streams / "pipe.csv")
    (streams / "garbage.csv").write_bytes(os.urandom(64 * MB))
    (streams / "utf16.csv").write_bytes((HEADER + ROW * rows).decode().encode("utf-16"))
    (streams / "latin1.csv").write_bytes(HEADER + "1,Beyoncé,2026-11-27 10:00:00\n".encode("latin-1") * rows)
    (streams / "unbalanced_quote.csv").write_bytes(HEADER + b'1,"T000001,2026-11-27 10:00:00\n' + ROW * rows)
    (streams / "one_enormous_line.csv").write_bytes(HEADER + b"1,T000001," + b"9" * (200 * MB))
    names = ",".join(f"c{i}" for i in range(20_000)).encode()
    values = ",".join("x" for _ in range(20_000)).encode()
    (streams / "many_columns.csv").write_bytes(
        HEADER.strip() + b"," + names + b"\n" + (ROW.strip() + b"," + values + b"\n") * 200
    )
    gzip_bomb(streams / "bomb.csv.gz", 4 << 30)
    (streams / "oversized.csv").write_bytes(HEADER + ROW * ((300 * MB) // len(ROW)))
    return corpus


def fresh_run(work: Path, env: dict[str, str]) -> tuple[float, float, str]:
    for stale in ("lake", "warehouse.duckdb"):
        path = work / stale
        shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
    return run_measured(
        [MUSIC_ETL, "run", "--landing", str(work / "landing"), "--lake", str(work / "lake"),
         "--warehouse", f"duckdb:///{work / 'warehouse.duckdb'}"],  # fmt: skip
        env,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/music-etl-hostile"))
    work = parser.parse_args().workdir
    shutil.rmtree(work, ignore_errors=True)
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1",
           "PREFECT_HOME": str(work / "prefect-home")}  # fmt: skip
    run_measured([MUSIC_ETL, "generate", "--landing", str(work / "landing"), "--events", "200000",
                  "--hours", "2", "--no-broken-files"], env)  # fmt: skip
    prefect = str(Path(sys.executable).with_name("prefect"))
    run_measured([prefect, "server", "database", "upgrade", "-y"], env)

    base_wall, base_peak, _ = fresh_run(work, env)
    songs = next((work / "landing" / "songs").glob("*.csv"))
    with songs.open(newline="", encoding="utf-8-sig") as handle:
        known_track = next(csv.DictReader(handle))["track_id"]
    corpus = write_hostile_files(
        work / "landing" / "streams" / "hostile", work / "outside", known_track
    )
    wall, peak, stdout = fresh_run(work, env)
    not_read = next((line for line in stdout.splitlines() if "entries not read" in line), "")

    with duckdb.connect(str(work / "warehouse.duckdb"), read_only=True) as connection:
        ledger = {
            key.rsplit("/", 1)[-1]: (status, reason or f"{quarantined} rows quarantined")
            for key, status, reason, quarantined in connection.execute(
                "SELECT source_key, status, reason, rows_quarantined FROM music.etl_file_ledger"
                " WHERE source_key LIKE 'streams/hostile/%'"
            ).fetchall()
        }
        loaded = connection.execute(
            "SELECT count(*) FROM music.etl_file_ledger WHERE status = 'loaded' AND dataset = 'streams'"
        ).fetchone()[0]
    as_expected = 0
    for name, (what, expected) in corpus.items():
        status, reason = ledger.get(name, ("not read", ""))
        if status == "not read":
            reason = "reported: " + ("yes" if f"streams/hostile/{name}:" in not_read else "NO")
        as_expected += status == expected
        print(f"{name} ({what}): {status}: {reason[:200]}")
    print(f"valid stream files loaded beside them: {loaded - 1}")  # odd_values.csv is one
    print(f"baseline run (2 valid files): wall {base_wall:.1f} s, peak RSS {base_peak:.0f} MB")
    print(f"with the {len(corpus)} hostile entries: wall {wall:.1f} s, peak RSS {peak:.0f} MB")
    print(f"outcome as expected (rejected with a reason, loaded, or not read): "
          f"{as_expected} of {len(corpus)}")  # fmt: skip
    return 0 if as_expected == len(corpus) else 1


if __name__ == "__main__":
    sys.exit(main())
