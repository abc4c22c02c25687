"""SELECT, INSERT, UPDATE and DELETE printed for SQLite.

Names are rewritten on the tree: ``<ns>.<table>`` becomes the SQLite table ``"<ns>.<table>"``
and ``public.<table>`` the core table; every FROM item gets an explicit alias so column
references print unambiguously. Every select-list item is printed with PostgreSQL's column name
as its alias, and every ORDER BY item with PostgreSQL's NULL placement, so results agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from pglast import ast, enums

from core.plugin_database.errors import unsupported
from core.plugin_database.kinds import (
    BOOL,
    INT,
    JSONB,
    TEXT,
    UNKNOWN,
    Catalog,
    Column,
    Kind,
    element_of,
)
from core.plugin_database.sqlite_printer.calls import CallPrinter
from core.plugin_database.sqlite_printer.expressions import (
    READERS,
    Scope,
    Source,
    call,
    name_parts,
    quote,
)
from db.plugin_sql import sqlite_table_name

_SET = enums.SetOperation
_JOIN = enums.JoinType
_SORT = enums.SortByDir
_NULLS = enums.SortByNulls
_MATERIALIZED = {
    enums.CTEMaterialize.CTEMaterializeAlways: " MATERIALIZED",
    enums.CTEMaterialize.CTEMaterializeNever: " NOT MATERIALIZED",
}


@dataclass(frozen=True)
class Query:
    """A printed query and its result columns (None when a ``*`` could not be expanded)."""

    sql: str
    columns: tuple[Column, ...] | None


def _rename(columns: tuple[Column, ...] | None, names: list[str]) -> tuple[Column, ...] | None:
    if not names:
        return columns
    if columns is None:
        return tuple(Column(name, UNKNOWN) for name in names)
    return tuple(
        Column(names[index], column.kind) if index < len(names) else column
        for index, column in enumerate(columns)
    )


class QueryPrinter(CallPrinter):
    """Prints queries and data-modifying statements."""

    def __init__(self, catalog: Catalog) -> None:
        super().__init__(catalog)
        #: Names of the CTEs printed so far (SQLite's authorizer reports some CTE reads).
        self.cte_names: set[str] = set()
        #: SET columns the target table lacks, with the table's name: SQLite's error for them
        #: names no table, PostgreSQL's does.
        self.unknown_assignments: dict[str, str] = {}

    def physical(self, schema: str | None, table: str) -> str:
        """The SQLite table name of a namespace or core table."""
        return sqlite_table_name(self.catalog.namespace, table) if schema != "public" else table

    def subquery(self, node: ast.SelectStmt, scope: Scope) -> tuple[str, tuple[Column, ...]]:
        query = self.select(node, scope)
        return query.sql, query.columns or ()

    # -- SELECT ------------------------------------------------------------------------------

    def select(
        self, node: ast.SelectStmt, scope: Scope | None, expected: Sequence[Kind | None] = ()
    ) -> Query:
        """Print a SELECT (or VALUES, or set operation) as a new query level below ``scope``."""
        if node.op != _SET.SETOP_NONE:
            return self.compound(node, scope, expected)
        level = Scope(parent=scope)
        prefix = self.with_clause(node.withClause, level)
        if node.valuesLists:
            query = self.values(node.valuesLists, level, expected)
            return self.finish(node, level, prefix + query.sql, query.columns)
        if node.distinctClause and any(item is not None for item in node.distinctClause):
            raise unsupported("DISTINCT ON")
        sources = [self.from_item(item, level) for item in node.fromClause or ()]
        columns, targets = self.targets(node.targetList or (), level, expected)
        parts = [prefix + ("SELECT DISTINCT " if node.distinctClause else "SELECT ")]
        parts.append(", ".join(targets))
        if sources:
            parts.append(" FROM " + ", ".join(sources))
        if node.whereClause is not None:
            parts.append(" WHERE " + self.expr(node.whereClause, level, BOOL).sql)
        if node.groupClause:
            if any(isinstance(item, ast.GroupingSet) for item in node.groupClause):
                raise unsupported("GROUPING SETS, ROLLUP and CUBE")
            parts.append(
                " GROUP BY " + ", ".join(e.sql for e in self.exprs(node.groupClause, level))
            )
        if node.havingClause is not None:
            parts.append(" HAVING " + self.expr(node.havingClause, level, BOOL).sql)
        if node.windowClause:
            windows = (
                f"{quote(window.name)} AS {self.window_spec(window, level)}"
                for window in node.windowClause
            )
            parts.append(" WINDOW " + ", ".join(windows))
        return self.finish(node, level, "".join(parts), columns)

    def finish(
        self, node: ast.SelectStmt, level: Scope, sql: str, columns: tuple[Column, ...] | None
    ) -> Query:
        """Append ORDER BY and LIMIT/OFFSET, which see the output column names."""
        names = frozenset(column.name for column in columns or ())
        ordering = replace(level, outputs=names)
        if node.sortClause:
            sql += " ORDER BY " + ", ".join(
                self.sort_item(item, ordering) for item in node.sortClause
            )
        if node.limitOption == enums.LimitOption.LIMIT_OPTION_WITH_TIES:
            raise unsupported("FETCH ... WITH TIES")
        count, offset = node.limitCount, node.limitOffset
        if count is not None or offset is not None:
            unlimited = count is None or (isinstance(count, ast.A_Const) and count.isnull)
            sql += " LIMIT " + ("-1" if unlimited else self.expr(count, level, INT).sql)
            if offset is not None:
                sql += " OFFSET " + self.expr(offset, level, INT).sql
        return Query(sql, columns)

    def sort_item(self, node: ast.SortBy, scope: Scope) -> str:
        if node.sortby_dir == _SORT.SORTBY_USING:
            raise unsupported("ORDER BY ... USING")
        value = self.expr(node.node, scope)
        if value.kind == JSONB:
            raise unsupported("ordering by a jsonb value")
        descending = node.sortby_dir == _SORT.SORTBY_DESC
        nulls = {_NULLS.SORTBY_NULLS_FIRST: "FIRST", _NULLS.SORTBY_NULLS_LAST: "LAST"}.get(
            node.sortby_nulls,
            "FIRST" if descending else "LAST",  # PostgreSQL's default
        )
        return f"{value.sql} {'DESC' if descending else 'ASC'} NULLS {nulls}"

    def targets(
        self, items: Sequence[ast.ResTarget], level: Scope, expected: Sequence[Kind | None]
    ) -> tuple[tuple[Column, ...] | None, list[str]]:
        columns: list[Column] = []
        parts: list[str] = []
        complete = True
        for index, target in enumerate(items):
            value = target.val
            if isinstance(value, ast.ColumnRef) and isinstance(value.fields[-1], ast.A_Star):
                complete &= self.star(name_parts(value.fields[:-1]), level, columns, parts)
                continue
            hint = expected[index] if index < len(expected) else None
            printed = self.value(value, level, hint)
            name = target.name or printed.name
            parts.append(f"{printed.sql} AS {quote(name)}")
            columns.append(Column(name, printed.kind))
        return (tuple(columns) if complete else None), parts

    def star(
        self, qualifier: list[str], level: Scope, columns: list[Column], parts: list[str]
    ) -> bool:
        """Expand ``*`` or ``alias.*``; returns False when the columns are not known."""
        if not qualifier and level.merged_join:
            raise unsupported("SELECT * over JOIN ... USING or NATURAL JOIN")
        sources = [source for source in level.sources if not qualifier or source.matches(qualifier)]
        if not sources:
            parts.append(".".join(quote(name) for name in qualifier) + ".*")
            return False
        complete = True
        for source in sources:
            if source.columns is None:
                parts.append(f"{quote(source.name)}.*" if source.name else "*")
                complete = False
                continue
            for column in source.columns:
                parts.append(f"{source.render(column.name)} AS {quote(column.name)}")
                columns.append(column)
        return complete

    def values(
        self, rows: Sequence[Sequence[ast.Node]], level: Scope, expected: Sequence[Kind | None]
    ) -> Query:
        width = len(rows[0])
        kinds: list[Kind | None] = [
            expected[i] if i < len(expected) else None for i in range(width)
        ]
        printed_rows = []
        for row in rows:
            if any(isinstance(value, ast.SetToDefault) for value in row):
                raise unsupported("DEFAULT inside VALUES")
            printed = [self.expr(value, level, kinds[i]) for i, value in enumerate(row)]
            for index, value in enumerate(printed):
                if kinds[index] is None and value.kind != UNKNOWN:
                    kinds[index] = value.kind
            printed_rows.append("(" + ", ".join(value.sql for value in printed) + ")")
        columns = tuple(Column(f"column{i + 1}", kinds[i] or UNKNOWN) for i in range(width))
        return Query("VALUES " + ", ".join(printed_rows), columns)

    def compound(
        self, node: ast.SelectStmt, scope: Scope | None, expected: Sequence[Kind | None]
    ) -> Query:
        level = Scope(parent=scope)
        prefix = self.with_clause(node.withClause, level)
        operator = {_SET.SETOP_UNION: "UNION", _SET.SETOP_INTERSECT: "INTERSECT"}.get(
            node.op, "EXCEPT"
        )
        if node.all:
            if operator != "UNION":
                raise unsupported(f"{operator} ALL")
            operator += " ALL"
        left = self.member(node.larg, level, expected, leftmost=True)
        right = self.member(node.rarg, level, expected, leftmost=False)
        columns = left.columns
        if columns is not None and right.columns is not None:
            columns = tuple(
                Column(mine.name, mine.kind if mine.kind != UNKNOWN else theirs.kind)
                for mine, theirs in zip(columns, right.columns, strict=False)
            )
        outputs = Scope(parent=scope, sources=[Source(None, columns)])
        return self.finish(node, outputs, f"{prefix}{left.sql} {operator} {right.sql}", columns)

    def member(
        self, node: ast.SelectStmt, level: Scope, expected: Sequence[Kind | None], leftmost: bool
    ) -> Query:
        """A branch of a set operation; SQLite takes no parentheses there, so wrap if needed."""
        query = self.select(node, level, expected)
        nested = node.op != _SET.SETOP_NONE and not leftmost
        own_clauses = node.sortClause or node.limitCount or node.limitOffset or node.withClause
        # SQLite cannot order a compound that has a bare VALUES branch.
        if nested or own_clauses or node.valuesLists:
            return Query(f"SELECT * FROM ({query.sql})", query.columns)
        return query

    def with_clause(self, clause: ast.WithClause | None, level: Scope) -> str:
        if clause is None:
            return ""
        parts = []
        for cte in clause.ctes:
            if cte.search_clause is not None or cte.cycle_clause is not None:
                raise unsupported("WITH ... SEARCH/CYCLE")
            query = cte.ctequery
            if not isinstance(query, ast.SelectStmt):
                raise unsupported("data-modifying WITH queries")
            names = name_parts(cte.aliascolnames)
            self.cte_names.add(cte.ctename)
            if clause.recursive and query.op != _SET.SETOP_NONE:
                # The recursive branch reads the CTE itself: learn its columns from the seed.
                level.ctes[cte.ctename] = _rename(self.select(query.larg, level).columns, names)
            printed = self.select(query, level)
            columns = _rename(printed.columns, names)
            level.ctes[cte.ctename] = columns
            listed = "(" + ", ".join(quote(name) for name in names) + ")" if names else ""
            materialized = _MATERIALIZED.get(cte.ctematerialized, "")
            parts.append(f"{quote(cte.ctename)}{listed} AS{materialized} ({printed.sql})")
        return ("WITH RECURSIVE " if clause.recursive else "WITH ") + ", ".join(parts) + " "

    # -- FROM --------------------------------------------------------------------------------

    def from_item(self, node: ast.Node, level: Scope) -> str:
        match node:
            case ast.RangeVar():
                return self.table_source(node, level)
            case ast.JoinExpr():
                return self.join(node, level)
            case ast.RangeSubselect():
                if node.lateral:
                    raise unsupported("LATERAL subqueries")
                query = self.select(node.subquery, level.from_subquery())
                alias = node.alias.aliasname if node.alias else None
                query = self.renamed_query(
                    query, name_parts(node.alias.colnames if node.alias else ())
                )
                level.sources.append(Source(alias, query.columns))
                return f"({query.sql})" + (f" AS {quote(alias)}" if alias else "")
            case ast.RangeFunction():
                return self.function_source(node, level)
        raise unsupported(type(node).__name__)

    def renamed_query(self, query: Query, names: list[str]) -> Query:
        """``(query) AS alias(a, b)``: SQLite has no column aliases there, so select them."""
        if not names:
            return query
        if query.columns is None:
            raise unsupported("column aliases over an unknown column list")
        columns = _rename(query.columns, names) or ()
        selected = ", ".join(
            f"{quote(old.name)} AS {quote(new.name)}"
            for old, new in zip(query.columns, columns, strict=True)
        )
        return Query(f"SELECT {selected} FROM ({query.sql})", columns)

    def table_source(self, node: ast.RangeVar, level: Scope) -> str:
        schema, table = node.schemaname, node.relname
        alias = node.alias.aliasname if node.alias else None
        name = alias or table
        if schema is None:  # the policy admits unqualified names only for CTEs
            columns = level.cte(table)[1]
            sql, key = quote(table), None
        else:
            columns = self.catalog.columns(schema, table)
            sql, key = quote(self.physical(schema, table)), (None if alias else (schema, table))
        renames = name_parts(node.alias.colnames) if node.alias else []
        if renames:
            query = self.renamed_query(Query(f"SELECT * FROM {sql}", columns), renames)
            sql, columns, key = f"({query.sql})", query.columns, None
        level.sources.append(Source(name, columns, key))
        return f"{sql} AS {quote(name)}"

    def join(self, node: ast.JoinExpr, level: Scope) -> str:
        if node.alias is not None or node.join_using_alias is not None:
            raise unsupported("aliased joins")
        left = self.from_item(node.larg, level)
        right = self.from_item(node.rarg, level)
        if isinstance(node.rarg, ast.JoinExpr):
            right = f"({right})"
        kinds = {
            _JOIN.JOIN_INNER: "JOIN",
            _JOIN.JOIN_LEFT: "LEFT JOIN",
            _JOIN.JOIN_RIGHT: "RIGHT JOIN",
            _JOIN.JOIN_FULL: "FULL JOIN",
        }
        if node.jointype not in kinds:
            raise unsupported(f"{node.jointype.name} joins")
        keyword = kinds[node.jointype]
        if node.isNatural or node.usingClause:
            level.merged_join = True
        if node.usingClause:
            condition = " USING (" + ", ".join(quote(n) for n in name_parts(node.usingClause)) + ")"
        elif node.quals is not None:
            condition = " ON " + self.expr(node.quals, level, BOOL).sql
        else:
            condition = ""
            if not node.isNatural and keyword == "JOIN":
                keyword = "CROSS JOIN"
        natural = "NATURAL " if node.isNatural else ""
        return f"{left} {natural}{keyword} {right}{condition}"

    def function_source(self, node: ast.RangeFunction, level: Scope) -> str:
        if node.ordinality or node.is_rowsfrom or len(node.functions) != 1 or node.coldeflist:
            raise unsupported("WITH ORDINALITY, ROWS FROM and column definition lists")
        function = node.functions[0][0]
        name = name_parts(function.funcname)[-1]
        alias = node.alias.aliasname if node.alias else name
        renames = name_parts(node.alias.colnames) if node.alias else []
        arguments = list(function.args or ())
        row = quote(alias)
        kind_column, value_column = f'{row}."type"', f'{row}."value"'
        columns: list[tuple[str, Kind, str]]
        if name in ("jsonb_array_elements", "jsonb_array_elements_text") and len(arguments) == 1:
            source = call("pg_json_elements", self.expr(arguments[0], level, JSONB).sql)
            text = name.endswith("_text")
            each = "pg_json_each_text" if text else "pg_json_each_value"
            columns = [("value", TEXT if text else JSONB, call(each, kind_column, value_column))]
        elif name in ("jsonb_each", "jsonb_each_text") and len(arguments) == 1:
            source = call("pg_json_members", self.expr(arguments[0], level, JSONB).sql)
            text = name.endswith("_text")
            each = "pg_json_each_text" if text else "pg_json_each_value"
            columns = [
                ("key", TEXT, f'{row}."key"'),
                ("value", TEXT if text else JSONB, call(each, kind_column, value_column)),
            ]
        elif name == "unnest" and len(arguments) == 1:
            array = self.expr(arguments[0], level)
            element = element_of(array.kind)
            if element is None:
                raise unsupported("unnest() of a value that is not an array parameter")
            reader = READERS.get(element) if element not in (TEXT, INT) else None
            columns = [(alias, element, call(reader, value_column) if reader else value_column)]
            source = array.sql
        else:
            raise unsupported(f"function {name} in FROM")
        templates, kinds = {}, []
        for index, (column, kind, sql) in enumerate(columns):
            final = renames[index] if index < len(renames) else column
            templates[final] = sql
            kinds.append(Column(final, kind))
        level.sources.append(Source(alias, tuple(kinds), templates=templates))
        return f"json_each({source}) AS {row}"

    # -- INSERT, UPDATE, DELETE --------------------------------------------------------------

    @staticmethod
    def assigned_kinds(columns: Sequence[Column]) -> dict[str, Kind]:
        """The kind each column reads assigned values as (integers with their exact type)."""
        return {column.name: column.reader_kind for column in columns}

    def target(self, relation: ast.RangeVar, level: Scope) -> tuple[str, str, tuple[Column, ...]]:
        """Register a statement's target table; returns its SQL name, alias and columns."""
        columns = self.catalog.columns(relation.schemaname, relation.relname) or ()
        name = relation.alias.aliasname if relation.alias else relation.relname
        level.sources.append(Source(name, columns))
        return quote(self.physical(relation.schemaname, relation.relname)), name, columns

    def returning(
        self, clause: ast.ReturningClause | None, name: str, columns: tuple[Column, ...]
    ) -> str:
        """RETURNING: SQLite allows only the target's columns, written unqualified."""
        if clause is None:
            return ""
        if clause.options:
            raise unsupported("RETURNING OLD/NEW")
        scope = Scope(sources=[Source(name, columns, qualified=False)])
        targets = self.targets(clause.exprs, scope, ())[1]
        return " RETURNING " + ", ".join(targets)

    def insert(self, node: ast.InsertStmt) -> str:
        level = Scope()
        prefix = self.with_clause(node.withClause, level)
        table, name, columns = self.target(node.relation, level)
        kinds = self.assigned_kinds(columns)
        if any(target.indirection for target in node.cols or ()):
            raise unsupported("INSERT into array elements or fields")
        names = [target.name for target in node.cols or ()] or [c.name for c in columns]
        conflict = node.onConflictClause
        source = node.selectStmt
        if source is None:
            if conflict is not None:
                raise unsupported("DEFAULT VALUES with ON CONFLICT")
            body = " DEFAULT VALUES"
        elif source.valuesLists and source.op == _SET.SETOP_NONE and not source.withClause:
            names, body = self.insert_values(source, names, kinds, level)
        else:
            query = self.select(source, level.from_subquery(), [kinds.get(n) for n in names])
            body = f" {query.sql}"
            if conflict is not None:  # SQLite needs a WHERE before ON CONFLICT in INSERT ... SELECT
                body = f" SELECT * FROM ({query.sql}) WHERE true"
        listed = (
            " (" + ", ".join(quote(n) for n in names) + ")"
            if names and body != " DEFAULT VALUES"
            else ""
        )
        sql = f"{prefix}INSERT INTO {table} AS {quote(name)}{listed}{body}"
        if conflict is not None:
            sql += self.on_conflict(conflict, node.relation.relname, columns, level)
        return sql + self.returning(node.returningClause, name, columns)

    def insert_values(
        self, source: ast.SelectStmt, names: list[str], kinds: dict[str, Kind], level: Scope
    ) -> tuple[list[str], str]:
        """VALUES rows; a column that is DEFAULT in every row is left out (SQLite has no DEFAULT
        keyword in VALUES)."""
        rows = source.valuesLists
        defaults = {
            index
            for index in range(len(rows[0]))
            if all(isinstance(row[index], ast.SetToDefault) for row in rows)
        }
        if any(
            isinstance(value, ast.SetToDefault) and index not in defaults
            for row in rows
            for index, value in enumerate(row)
        ):
            raise unsupported("DEFAULT in some rows of a multi-row VALUES")
        kept = [index for index in range(len(rows[0])) if index not in defaults]
        if not kept:
            return [], " DEFAULT VALUES"
        kept_names = [names[index] for index in kept]
        trimmed = [[row[index] for index in kept] for row in rows]
        query = self.values(trimmed, level.from_subquery(), [kinds.get(n) for n in kept_names])
        return kept_names, f" {query.sql}"

    def on_conflict(
        self, clause: ast.OnConflictClause, table: str, columns: tuple[Column, ...], level: Scope
    ) -> str:
        infer = clause.infer
        target = ""
        if infer is not None:
            if infer.conname:
                raise unsupported("ON CONFLICT ON CONSTRAINT")
            if any(element.expr is not None for element in infer.indexElems):
                raise unsupported("ON CONFLICT on expressions")
            target = " (" + ", ".join(quote(element.name) for element in infer.indexElems) + ")"
            if infer.whereClause is not None:
                bare = Scope(sources=[Source(None, columns)])
                target += " WHERE " + self.expr(infer.whereClause, bare, BOOL).sql
        if clause.action == enums.OnConflictAction.ONCONFLICT_NOTHING:
            return f" ON CONFLICT{target} DO NOTHING"
        scope = Scope(parent=level, sources=[Source("excluded", columns)])
        text = f" ON CONFLICT{target} DO UPDATE SET " + self.assignments(
            clause.targetList, scope, table, columns
        )
        if clause.whereClause is not None:
            text += " WHERE " + self.expr(clause.whereClause, scope, BOOL).sql
        return text

    def assignments(
        self,
        targets: Sequence[ast.ResTarget],
        scope: Scope,
        table: str,
        columns: tuple[Column, ...],
    ) -> str:
        """The ``SET`` list of an UPDATE (or ON CONFLICT DO UPDATE) of ``table``."""
        kinds = self.assigned_kinds(columns)
        if columns:  # a known table: note the names it lacks
            for target in targets:
                if target.name not in kinds:
                    self.unknown_assignments.setdefault(target.name, table)
        parts = []
        index = 0
        while index < len(targets):
            target = targets[index]
            if target.indirection:
                raise unsupported("assignments to array elements or fields")
            value = target.val
            if isinstance(value, ast.MultiAssignRef):
                group = [item.name for item in targets[index : index + value.ncolumns]]
                if isinstance(value.source, ast.RowExpr):
                    items = [
                        self.expr(item, scope, kinds.get(group[position])).sql
                        for position, item in enumerate(value.source.args)
                    ]
                    right = "(" + ", ".join(items) + ")"
                else:
                    right = self.expr(value.source, scope).sql
                parts.append("(" + ", ".join(quote(n) for n in group) + f") = {right}")
                index += value.ncolumns
                continue
            if isinstance(value, ast.SetToDefault):
                raise unsupported("SET column = DEFAULT")
            printed = self.expr(value, scope, kinds.get(target.name))
            parts.append(f"{quote(target.name)} = {printed.sql}")
            index += 1
        return ", ".join(parts)

    def update(self, node: ast.UpdateStmt) -> str:
        level = Scope()
        prefix = self.with_clause(node.withClause, level)
        table, name, columns = self.target(node.relation, level)
        sources = [self.from_item(item, level) for item in node.fromClause or ()]
        sql = f"{prefix}UPDATE {table} AS {quote(name)} SET "
        sql += self.assignments(node.targetList, level, node.relation.relname, columns)
        if sources:
            sql += " FROM " + ", ".join(sources)
        if node.whereClause is not None:
            sql += " WHERE " + self.expr(node.whereClause, level, BOOL).sql
        return sql + self.returning(node.returningClause, name, columns)

    def delete(self, node: ast.DeleteStmt) -> str:
        level = Scope()
        prefix = self.with_clause(node.withClause, level)
        table, name, columns = self.target(node.relation, level)
        sql = f"{prefix}DELETE FROM {table} AS {quote(name)}"
        if node.usingClause:
            # SQLite has no DELETE ... USING: the same rows are those with a matching USING row.
            inner = level.child()
            using = ", ".join(self.from_item(item, inner) for item in node.usingClause)
            condition = ""
            if node.whereClause is not None:
                condition = " WHERE " + self.expr(node.whereClause, inner, BOOL).sql
            sql += f" WHERE EXISTS (SELECT 1 FROM {using}{condition})"
        elif node.whereClause is not None:
            sql += " WHERE " + self.expr(node.whereClause, level, BOOL).sql
        return sql + self.returning(node.returningClause, name, columns)


__all__ = ["Query", "QueryPrinter"]
