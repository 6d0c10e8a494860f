"""The flow-run image in numbers: size, build time cold and warm, container start to first log
line, and a 1M-event run in a container against the same run on the host.

    .venv/bin/python benchmarks/container_benchmark.py [--events 1000000] [--workdir /var/tmp/music-etl-container-bench]

Needs the Docker engine and the local base image (`make base-image`). Builds with
BASE_IMAGE=local/debian-python:bookworm and host networking (as the tests do); "cold" is
`--no-cache` (the base image is kept), "warm" is the same build again with the layer cache.
Both runs use a DuckDB warehouse and local folders, the container's mounted from the host.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MUSIC_ETL = str(Path(sys.executable).with_name("music-etl"))
BASE = "local/debian-python:bookworm"
IMAGE = "music-etl:benchmark"


def timed(args: list[str], **kwargs) -> float:
    start = time.perf_counter()
    subprocess.run(args, check=True, **kwargs)
    return time.perf_counter() - start


def build(cache: bool) -> float:
    args = ["docker", "build", "-q", "--network", "host", "--build-arg", f"BASE_IMAGE={BASE}",
            "-t", IMAGE, str(ROOT)]  # fmt: skip
    if not cache:
        args.insert(2, "--no-cache")
    return timed(args, stdout=subprocess.DEVNULL)


def image_size() -> int:
    out = subprocess.run(["docker", "image", "inspect", IMAGE], capture_output=True, check=True)
    return json.loads(out.stdout)[0]["Size"]


def start_to_first_line(workdir: Path) -> float:
    start = time.perf_counter()
    process = subprocess.Popen(
        ["docker", "run", "--rm", "--network", "host", IMAGE, "music-etl", "--help"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    process.stdout.readline()
    elapsed = time.perf_counter() - start
    process.wait()
    return elapsed


def run_args(root: str) -> list[str]:
    return ["run", f"--landing={root}/landing", f"--lake={root}/lake",
            f"--warehouse=duckdb:///{root}/warehouse.duckdb"]  # fmt: skip


def fresh_outputs(root: Path) -> None:
    shutil.rmtree(root / "lake", ignore_errors=True)
    (root / "warehouse.duckdb").unlink(missing_ok=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--workdir", type=Path, default=Path("/var/tmp/music-etl-container-bench"))
    args = parser.parse_args()
    data = args.workdir
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    os.chmod(data, 0o777)  # the image runs as uid 10001

    cold = build(cache=False)
    warm = build(cache=True)
    print(f"image size: {image_size() / 1e6:.0f} MB ({IMAGE}, base {BASE})")
    print(f"build cold (--no-cache): {cold:.1f} s; warm (layer cache): {warm:.1f} s")
    print(f"container start to first log line: {start_to_first_line(data):.2f} s")

    subprocess.run([MUSIC_ETL, "generate", f"--landing={data}/landing", f"--events={args.events}",
                    "--no-broken-files"], check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    subprocess.run(["chmod", "-R", "a+rwX", str(data)], check=True)
    env = {**os.environ, "PREFECT_HOME": str(data / "prefect-home")}
    host = timed([MUSIC_ETL, *run_args(str(data))], env=env, stdout=subprocess.DEVNULL)
    fresh_outputs(data)
    container = timed(
        ["docker", "run", "--rm", "--network", "host", "-v", f"{data}:/data", IMAGE,
         "music-etl", *run_args("/data")],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    print(f"{args.events:,} events, full run: host {host:.1f} s, container {container:.1f} s "
          f"(docker run included)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
