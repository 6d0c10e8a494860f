"""The Redshift path's SQL for a run, recorded statement by statement (SPEC §5, §7).

`RedshiftPlan` is a Redshift warehouse whose sessions record every statement as Redshift would
receive it (schema and collation filled in, `:name` parameters left as they are), grouped by
transaction. Without a connection it answers nothing (a dry run: each file is new, each
statement changes no rows), which is enough to print the plan of any run
(benchmarks/redshift_plan.py). With `execute_on`, a PostgreSQL warehouse, every statement also
runs there for real, COPY aside: Redshift's COPY from the lake's Parquet on S3 is recorded and
PostgreSQL's COPY FROM STDIN loads the same rows, so the plan is taken on a real history
(tests/integration/warehouse/test_redshift_plan.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from music_etl.storage import ObjectStore
from music_etl.warehouse import sql
from music_etl.warehouse.base import Warehouse
from music_etl.warehouse.postgres import PostgresSession, PostgresWarehouse, RedshiftSession
from music_etl.warehouse.postgres import RedshiftWarehouse

PLAN_IAM_ROLE = "arn:aws:iam::123456789012:role/music-etl-redshift-copy"


class PlanSession(RedshiftSession):
    warehouse: RedshiftPlan

    def execute(self, statement: str, params: dict[str, Any] | None = None) -> int:
        self.warehouse.record(self._render(statement))
        return super().execute(statement, params) if self.connection else 0

    def query(self, statement: str, params: dict[str, Any] | None = None) -> list[tuple]:
        self.warehouse.record(self._render(statement))
        if self.connection:
            return super().query(statement, params)
        return [(0,) * statement.upper().count("COUNT(")] if "COUNT(" in statement.upper() else []

    def _bulk_load(self, name: str, store: ObjectStore, key: str, columns: list[str]) -> None:
        self.warehouse.record(
            sql.copy_from_parquet(name, self.warehouse.lake_url + key, self.warehouse.iam_role)
        )
        if self.connection:
            PostgresSession._bulk_load(self, name, store, key, columns)


class RedshiftPlan(RedshiftWarehouse):
    """A Redshift warehouse that records its statements (`transactions`), optionally running
    them on a PostgreSQL warehouse (`execute_on`) in place of Redshift."""

    session_class = PlanSession

    def __init__(
        self,
        schema: str = "music",
        *,
        lake_url: str = "s3://music-etl-lake/",
        execute_on: PostgresWarehouse | None = None,
    ):
        # No Redshift connection: what a real one would add (connect, statement timeout) is
        # not part of a run's plan.
        Warehouse.__init__(self, schema)
        self.iam_role = PLAN_IAM_ROLE
        self.lake_url = lake_url
        self.backend = execute_on
        self.transactions: list[list[str]] = []

    def record(self, statement: str) -> None:
        self.transactions[-1].append(statement)

    @contextmanager
    def transaction(self) -> Iterator[PlanSession]:
        self.transactions.append([])
        if self.backend is None:
            yield PlanSession(self, None)
            return
        with self.backend.transaction() as backend_session:
            yield PlanSession(self, backend_session.connection)

    def close(self) -> None:
        if self.backend is not None:
            self.backend.close()

    @property
    def statements(self) -> list[str]:
        return [statement for transaction in self.transactions for statement in transaction]


_LOCK = re.compile(r'LOCK "[a-z_][a-z0-9_]*"\.[a-z_]+')


def redshift_syntax_problems(statements: list[str]) -> list[str]:
    """Statements sqlglot cannot parse as Redshift SQL (sqlglot is a dev dependency: for tests
    and benchmarks). sqlglot has no grammar for Redshift's LOCK, so that one is matched here."""
    import sqlglot
    from sqlglot import exp

    problems = []
    for statement in statements:
        if statement.startswith("LOCK "):
            if not _LOCK.fullmatch(statement):
                problems.append(f"{statement[:80]}: not LOCK schema.table")
            continue
        try:
            parsed = sqlglot.parse_one(statement, read="redshift")
        except sqlglot.errors.ParseError as exc:
            problems.append(f"{statement[:80]}: {exc}")
            continue
        if isinstance(parsed, exp.Command):
            problems.append(f"{statement[:80]}: not parsed, kept as a command")
    return problems
