"""Claiming rows that several processes compete for, each row exactly once.

PostgreSQL locks the selected rows and skips rows another transaction already holds
(``FOR UPDATE SKIP LOCKED``), so concurrent claimers split the queue without waiting on each
other. SQLite has no row locks: a write transaction of ``Database.transaction()`` holds the
database's single write lock from its first statement (``BEGIN IMMEDIATE``), so claimers take
turns and each sees what the previous one committed.
"""

from __future__ import annotations

from typing import Any, assert_never

import sqlalchemy as sa

from db.dialect import Dialect


def claim_rows(
    dialect: Dialect, statement: sa.Select[Any], *, of: sa.Table | None = None
) -> sa.Select[Any]:
    """Lock the rows ``statement`` selects for the caller's write transaction, skipping taken ones.

    Args:
        dialect: the backend the statement will run on.
        statement: a select of candidate rows (with its ``ORDER BY`` and ``LIMIT``).
        of: the table whose rows to lock when the select joins others (PostgreSQL's
            ``FOR UPDATE OF``); joined rows are then only read.

    Returns:
        The select, claiming on PostgreSQL; unchanged on SQLite, whose write lock already
        excludes every other claimer until the transaction ends.
    """
    match dialect:
        case Dialect.POSTGRES:
            return statement.with_for_update(skip_locked=True, of=of)
        case Dialect.SQLITE:
            return statement
        case _:
            assert_never(dialect)
