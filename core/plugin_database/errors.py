"""Errors of plugin database namespaces, each a ``core.errors`` kind a caller can act on.

Policy decisions (what plugin SQL may touch or do) are ``Forbidden``; malformed requests (SQL
syntax, placeholders, values a type refuses) are ``InvalidInput``; valid PostgreSQL that the
SQLite backend cannot run faithfully, constraint violations and limits are ``Unprocessable``;
a duplicate key is a ``Conflict``::

    HostError
     ├── InvalidInput
     │    └── PluginSqlInvalid          syntax, placeholders, bad values, other SQL errors
     ├── Forbidden
     │    └── PluginSqlRejected         the namespace policy refused the statement
     ├── Conflict
     │    └── PluginSqlConflict         a unique constraint refused a row
     └── Unprocessable
          ├── PluginSqlUnsupported      valid PostgreSQL the SQLite backend cannot run
          ├── PluginSqlViolation        a foreign key, NOT NULL or CHECK constraint refused a row
          └── PluginSqlLimitExceeded    the statement timeout or the row limit was reached
"""

from __future__ import annotations

from core.errors import Conflict, Forbidden, InvalidInput, Unprocessable


class PluginSqlRejected(Forbidden):
    """The plugin database policy refused the statement."""


class PluginSqlInvalid(InvalidInput):
    """The statement, its parameters or a value in it is malformed."""


class PluginSqlUnsupported(Unprocessable):
    """Valid PostgreSQL that the SQLite backend cannot run with PostgreSQL's results."""


class PluginSqlConflict(Conflict):
    """A unique constraint of a plugin table refused a row."""


class PluginSqlViolation(Unprocessable):
    """A foreign key, NOT NULL or CHECK constraint refused a row."""


class PluginSqlLimitExceeded(Unprocessable):
    """The statement ran longer than the timeout, or returned more rows than allowed."""


def unsupported(construct: str) -> PluginSqlUnsupported:
    """The error for a construct the SQLite backend cannot run, naming the construct."""
    return PluginSqlUnsupported(f"Plugin SQL construct not supported on SQLite: {construct}")


__all__ = [
    "PluginSqlConflict",
    "PluginSqlInvalid",
    "PluginSqlLimitExceeded",
    "PluginSqlRejected",
    "PluginSqlUnsupported",
    "PluginSqlViolation",
    "unsupported",
]
