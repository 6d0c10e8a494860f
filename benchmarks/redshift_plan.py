"""Print the Redshift path's SQL plan for one run: which statements, in which transactions, how
many, each checked by sqlglot as Redshift SQL. No Redshift is needed (a dry run of the loads,
music_etl/warehouse/plan.py); the plan depends on the run's files, never on the history.

    .venv/bin/python benchmarks/redshift_plan.py              # 72 hourly files: the 10M-event run
    .venv/bin/python benchmarks/redshift_plan.py --files 1    # an incremental run
    .venv/bin/python benchmarks/redshift_plan.py --full-sql   # every statement in full
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from music_etl.models import FileCounts, SourceFile, TransformedFile, ValidatedFile  # noqa: E402
from music_etl.settings import Settings  # noqa: E402
from music_etl.warehouse import loads  # noqa: E402
from music_etl.warehouse.plan import RedshiftPlan, redshift_syntax_problems  # noqa: E402


def hourly_file(number: int) -> TransformedFile:
    day, hour = divmod(number, 24)
    source = SourceFile(f"streams/2026/11/{27 + day:02d}/{hour:02d}.csv", "etag", 6_150_000, "streams")
    counts = FileCounts(rows_read=138_889, rows_valid=138_000)
    return TransformedFile(
        ValidatedFile(source, "valid", counts), f"transformed/{source.key}@etag.parquet"
    )


def one_line(statement: str) -> str:
    return " ".join(statement.split())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=72, help="new hourly stream files in the run")
    parser.add_argument("--full-sql", action="store_true")
    args = parser.parse_args()

    plan = RedshiftPlan()
    for number in range(args.files):
        loads.load_stream_file(plan, None, Settings(), hourly_file(number))
    loads.recompute_kpis(plan)
    *files, kpis = plan.transactions

    width = None if args.full_sql else 110
    print(f"Redshift plan for a run of {args.files} new stream file(s) (catalogues unchanged)\n")
    print(f"per file, one transaction each ({len(files[0]) if files else 0} statements), e.g. the first:")
    for statement in files[0] if files else []:
        print("   ", one_line(statement)[:width])
    print(f"\nKPI recomputation, one transaction ({len(kpis)} statements):")
    for statement in kpis:
        print("   ", one_line(statement)[:width])
    kinds = Counter(one_line(s).split()[0] for s in plan.statements)
    problems = redshift_syntax_problems(plan.statements)
    print(f"\ntotal: {len(plan.statements)} statements in {len(plan.transactions)} transactions "
          f"({', '.join(f'{n} {k}' for k, n in kinds.most_common())})")
    # A statement on the events table that names neither the staged file nor the pending hours
    # would read the whole history.
    unbounded = [s for s in plan.statements
                 if '"music".streams' in s and "stage_events" not in s and "kpi_hours" not in s]
    print(f"COPY from S3 Parquet: {kinds['COPY']}; statements on streams not limited to the "
          f"staged file's or the pending hours: {len(unbounded)}")
    print(f"sqlglot (read='redshift'): {len(plan.statements) - len(problems)} of "
          f"{len(plan.statements)} statements parse")
    for problem in problems:
        print("   ", problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
