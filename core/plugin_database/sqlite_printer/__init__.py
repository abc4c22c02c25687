"""The SQLite printer: policy-checked PostgreSQL, printed back from its parse tree as SQLite SQL.

``SqlitePrinter`` takes the pglast AST of a statement the policy accepted and prints the SQLite
SQL that gives PostgreSQL's results (``SqlitePrinter(catalog).select(node, None)``, ``insert``,
``update``, ``delete``, and ``ddl`` for a migration statement), or raises
``PluginSqlUnsupported`` naming the construct it cannot print faithfully. It is one class chain,
a module per layer: ``expressions`` (operators, casts and kinds), ``calls`` (function calls),
``queries`` (SELECT and data-modifying statements) and ``ddl`` (migrations), whose
``SqlitePrinter`` is the whole printer. Like ``rewrite``, it exists for the dialect difference.
"""

from core.plugin_database.sqlite_printer.ddl import SqlitePrinter

__all__ = ["SqlitePrinter"]
