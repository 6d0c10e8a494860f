"""Before `prefect deploy`: is everything its build and push need there? One line per problem.

    .venv/bin/python -m deployments.preflight    # exit 0 and "preflight: ok", or 1 and the problems
"""

from __future__ import annotations

import sys

from music_etl.image_build import preflight_problems


def main() -> int:
    problems = preflight_problems()
    for problem in problems:
        print(f"preflight: {problem}", file=sys.stderr)
    if not problems:
        print("preflight: ok (image settings, Docker engine, registry)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
