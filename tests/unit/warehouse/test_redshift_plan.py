"""The Redshift path's SQL, recorded without a Redshift (music_etl/warehouse/plan.py): every
statement is Redshift SQL by sqlglot, bulk loads are COPY from the lake's Parquet with an IAM
role, and a run's statements grow with its files only."""

from __future__ import annotations

from music_etl.models import FileCounts, SourceFile, TransformedFile, ValidatedFile
from music_etl.settings import Settings
from music_etl.warehouse import loads
from music_etl.warehouse.plan import PLAN_IAM_ROLE, RedshiftPlan, redshift_syntax_problems


def stream_file(number: int) -> TransformedFile:
    source = SourceFile(f"streams/2026/11/27/{number:02d}.csv", f"etag{number}", 100, "streams")
    validated = ValidatedFile(source, "valid", FileCounts(rows_read=10, rows_valid=10))
    return TransformedFile(validated, f"transformed/{source.key}@{source.etag}.parquet")


def dry_run(files: int) -> RedshiftPlan:
    plan = RedshiftPlan()
    for number in range(files):
        loads.load_stream_file(plan, None, Settings(), stream_file(number))
    loads.recompute_kpis(plan)
    return plan


def test_schema_ddl_is_redshift_sql_with_its_layout():
    plan = RedshiftPlan()
    plan.ensure_schema()
    (ddl,) = plan.transactions
    assert redshift_syntax_problems(ddl) == []
    streams = next(s for s in ddl if '"music".streams ' in s)
    assert "DISTKEY(user_id) COMPOUND SORTKEY(listen_hour, user_id)" in streams


def test_every_statement_of_a_run_is_redshift_sql():
    assert redshift_syntax_problems(dry_run(3).statements) == []


def test_each_file_is_one_transaction_copying_its_parquet_from_s3_with_the_iam_role():
    plan = dry_run(3)
    *files, kpis = plan.transactions
    assert len(files) == 3
    for number, transaction in enumerate(files):
        assert transaction[0] == 'LOCK "music".etl_file_ledger'  # writers take turns
        (copy,) = [s for s in transaction if s.startswith("COPY ")]
        key = f"s3://music-etl-lake/transformed/streams/2026/11/27/{number:02d}.csv@etag{number}.parquet"
        assert copy == f"COPY stage_events FROM '{key}' IAM_ROLE '{PLAN_IAM_ROLE}' FORMAT AS PARQUET"
        assert not any(s.startswith("TRUNCATE") for s in transaction)  # it would commit on Redshift
    writes = [s for s in kpis if s.startswith(("DELETE", "INSERT")) and "_kpis" in s.split("(")[0]]
    assert len(writes) == 4 and all("kpi_hours" in s for s in writes)


def test_statements_grow_with_the_files_of_a_run_only():
    two, four = dry_run(2).transactions, dry_run(4).transactions
    assert len(four) == len(two) + 2
    assert {len(t) for t in four[:-1]} == {len(two[0])}  # the same statements for each file
    assert four[-1] == two[-1]  # one KPI recomputation, whatever the number of files


def test_the_syntax_check_rejects_what_redshift_does_not_take():
    assert redshift_syntax_problems(["SELECT 1", 'LOCK "music".etl_file_ledger']) == []
    assert len(redshift_syntax_problems(["SELEKT 1 FROM", "LOCK TABLE x IN EXCLUSIVE MODE"])) == 2
