"""Printing PostgreSQL expressions as SQLite SQL with PostgreSQL's results.

Every printed expression carries its kind (``kinds``) and the column name PostgreSQL would give
it. Kinds decide how a parameter or an untyped literal is read (``id = $1`` reads ``$1`` as a
uuid), which SQLite function stands in for an operator, and how result values are returned.
Anything without a faithful SQLite form raises ``PluginSqlUnsupported`` naming the construct.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from pglast import ast, enums
from sqlalchemy.dialects import sqlite as sqlite_dialect

from core.plugin_database.errors import PluginSqlInvalid, unsupported
from core.plugin_database.kinds import (
    BOOL,
    DATE,
    INT,
    INTERVAL,
    JSONB,
    NUMBER,
    TEXT,
    TIMESTAMP,
    TIMESTAMPTZ,
    TYPE_KINDS,
    UNKNOWN,
    UUID,
    Catalog,
    Column,
    Kind,
    array_of,
    base_kind,
    element_of,
)
from db.plugin_sql import (
    VALUE_CODES,
    PgValueError,
    format_timestamp,
    format_timestamptz,
    number_output,
    parse_bool,
    parse_date,
    parse_int,
    parse_interval,
    parse_json,
    parse_numeric,
    parse_text_array,
    parse_timestamp,
    parse_timestamptz,
    parse_uuid,
    render_json,
)
from db.types import GenerateUUID, SqlNow

#: SQLite SQL of PostgreSQL's now() and gen_random_uuid(), as the core schema defaults use them.
NOW_SQL = str(SqlNow().compile(dialect=sqlite_dialect.dialect()))
UUID_SQL = str(GenerateUUID().compile(dialect=sqlite_dialect.dialect()))

_UNNAMED = "?column?"
#: The kind of a row value printed as its text (PostgreSQL's ``record`` output).
RECORD = "record"

#: Functions that read a parameter (or convert a value) as each kind.
READERS = {
    UUID: "pg_uuid",
    TIMESTAMPTZ: "pg_timestamptz",
    TIMESTAMP: "pg_timestamp",
    DATE: "pg_date",
    JSONB: "pg_jsonb",
    BOOL: "pg_bool",
    INT: "pg_int",
    NUMBER: "pg_numeric",
    INTERVAL: "pg_interval",
}
_TIME_KINDS = frozenset({TIMESTAMPTZ, TIMESTAMP, DATE})
_COMPARISONS = {"=": "=", "<>": "<>", "!=": "<>", "<": "<", ">": ">", "<=": "<=", ">=": ">="}
_ARITHMETIC = frozenset({"+", "-", "*", "/", "%"})
_JSON_OPERATORS = {
    "->": ("pg_json_get", JSONB),
    "->>": ("pg_json_get_text", TEXT),
    "#>": ("pg_json_path", JSONB),
    "#>>": ("pg_json_path_text", TEXT),
}
_LIKE = {"~~": ("", False), "!~~": ("NOT ", False), "~~*": ("", True), "!~~*": ("NOT ", True)}
_INT_LABELS = {"int2": "smallint", "int4": "integer", "int8": "bigint"}
_SVF = enums.SQLValueFunctionOp
_BT = enums.BoolTestType


def quote(identifier: str) -> str:
    """A SQLite quoted identifier, in backticks.

    SQLite reads a double-quoted name that matches no column as a string literal (its
    "double-quoted string" misfeature), so ``SELECT "nope" FROM t`` would return the text
    ``nope`` where PostgreSQL reports ``column "nope" does not exist``. Backticks always name an
    identifier.
    """
    return "`" + identifier.replace("`", "``") + "`"


def literal(text: str) -> str:
    """A SQLite string literal."""
    return "'" + text.replace("'", "''") + "'"


def code(kind: Kind) -> str:
    """The value code of a kind, quoted for a ``pg_*`` function call (arrays are JSON)."""
    return literal(VALUE_CODES.get(kind, "j" if element_of(kind) else "x"))


def call(function: str, *arguments: str) -> str:
    """A SQL function call."""
    return f"{function}({', '.join(arguments)})"


@dataclass(frozen=True)
class Expr:
    """A printed expression: SQLite SQL, its kind, and PostgreSQL's column name for it."""

    sql: str
    kind: Kind
    name: str = _UNNAMED


@dataclass
class Source:
    """A FROM item: a table, CTE, subquery or function, visible under ``name``.

    ``table`` is set for a table without an alias (reachable as ``schema.table.column``);
    ``templates`` give the SQL of computed columns (``json_each`` rows); ``qualified`` False
    prints columns bare (RETURNING, CHECK and index expressions).
    """

    name: str | None
    columns: tuple[Column, ...] | None
    table: tuple[str, str] | None = None
    templates: dict[str, str] = field(default_factory=dict)
    qualified: bool = True

    def matches(self, qualifier: Sequence[str]) -> bool:
        if len(qualifier) == 1:
            return qualifier[0] == self.name
        return self.table is not None and tuple(qualifier) == self.table

    def kind_of(self, column: str) -> Kind | None:
        for candidate in self.columns or ():
            if candidate.name == column:
                return candidate.kind
        return None

    def render(self, column: str) -> str:
        if column in self.templates:
            return self.templates[column]
        if self.name is None or not self.qualified:
            return quote(column)
        return f"{quote(self.name)}.{quote(column)}"


@dataclass
class Scope:
    """The names one query level sees: its FROM items and CTEs, then the enclosing levels."""

    parent: Scope | None = None
    sources: list[Source] = field(default_factory=list)
    ctes: dict[str, tuple[Column, ...] | None] = field(default_factory=dict)
    #: Output column names, which a bare name in ORDER BY refers to first.
    outputs: frozenset[str] = frozenset()
    #: Set when ``*`` cannot be expanded as PostgreSQL would (a JOIN ... USING at this level).
    merged_join: bool = False

    def child(self) -> Scope:
        """The scope of a subquery in an expression (correlated: sees this level)."""
        return Scope(parent=self)

    def from_subquery(self) -> Scope:
        """The scope of a subquery in FROM: this level's CTEs, not its other FROM items."""
        return Scope(parent=self.parent, ctes=dict(self.ctes))

    def cte(self, name: str) -> tuple[bool, tuple[Column, ...] | None]:
        level: Scope | None = self
        while level is not None:
            if name in level.ctes:
                return True, level.ctes[name]
            level = level.parent
        return False, None


def name_parts(nodes: Sequence[ast.Node] | None) -> list[str]:
    """The parts of a dotted name (a column reference, a type, a function or operator name)."""
    return [getattr(node, "sval", "") for node in nodes or ()]


def _is_hole(node: ast.Node | None) -> bool:
    """Parameters, string literals and NULL take their type from the other operand."""
    if isinstance(node, ast.ParamRef):
        return True
    return isinstance(node, ast.A_Const) and (node.isnull or isinstance(node.val, ast.String))


class ExpressionPrinter:
    """Prints expressions; the statement printers build on it."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    # Provided by the query printer (expressions contain subqueries).
    def subquery(self, node: ast.SelectStmt, scope: Scope) -> tuple[str, tuple[Column, ...]]:
        raise NotImplementedError

    def call_function(self, node: ast.FuncCall, scope: Scope, expected: Kind | None) -> Expr:
        raise NotImplementedError

    def sort_item(self, node: ast.SortBy, scope: Scope) -> str:
        raise NotImplementedError

    def expr(self, node: ast.Node, scope: Scope, expected: Kind | None = None) -> Expr:
        """Print an expression; ``expected`` is the kind its context requires, if known."""
        handler = getattr(self, f"_{type(node).__name__}", None)
        if handler is None:
            raise unsupported(type(node).__name__)
        result: Expr = handler(node, scope, expected)
        if ":" in result.kind:  # a reader kind such as int:integer stands for int
            result = replace(result, kind=base_kind(result.kind))
        return result

    def value(self, node: ast.Node, scope: Scope, expected: Kind | None = None) -> Expr:
        """Print a select-list item: a row value (``ROW(...)``, ``(a, b)`` or a whole-row
        reference such as ``t`` in ``SELECT t FROM ns.t t``) becomes PostgreSQL's text of it.

        SQLite's row values exist only as operands of comparisons, where rows stay rows.
        """
        if isinstance(node, ast.RowExpr):
            return self.record([self.value(arg, scope) for arg in node.args or ()], "row")
        whole_row = self.whole_row(node, scope)
        if whole_row is not None:
            return whole_row
        return self.expr(node, scope, expected)

    def whole_row(self, node: ast.Node, scope: Scope) -> Expr | None:
        """A bare name that is no column but a FROM item: that item's row, as PostgreSQL
        reads it."""
        if not isinstance(node, ast.ColumnRef) or len(node.fields) != 1:
            return None
        name = name_parts(node.fields)[0]
        if name in scope.outputs:
            return None
        level: Scope | None = scope
        while level is not None:
            if any(source.kind_of(name) is not None for source in level.sources):
                return None
            for source in level.sources:
                if source.name == name and not source.templates:
                    if source.columns is None:
                        raise unsupported("whole-row references to a source of unknown columns")
                    items = [
                        Expr(source.render(column.name), column.kind, column.name)
                        for column in source.columns
                    ]
                    return self.record(items, name)
            level = level.parent
        return None

    @staticmethod
    def record(items: Sequence[Expr], name: str) -> Expr:
        """A row of ``items`` as PostgreSQL's record text (``(1,"a b",)``)."""
        if any(element_of(item.kind) for item in items):
            raise unsupported("arrays inside a row value")
        arguments = [part for item in items for part in (code(item.kind), item.sql)]
        return Expr(call("pg_record", *arguments), RECORD, name)

    def exprs(
        self, nodes: Sequence[ast.Node] | None, scope: Scope, expected: Kind | None = None
    ) -> list[Expr]:
        return [self.expr(node, scope, expected) for node in nodes or ()]

    def pair(
        self, left: ast.Node, right: ast.Node, scope: Scope, expected: Kind | None = None
    ) -> tuple[Expr, Expr]:
        """Print two operands; a parameter or literal takes the other operand's kind."""
        if _is_hole(left) and not _is_hole(right):
            second = self.expr(right, scope)
            return self.expr(left, scope, _known(second.kind) or expected), second
        first = self.expr(left, scope, expected if _is_hole(left) else None)
        return first, self.expr(right, scope, _known(first.kind) or expected)

    def common(self, nodes: Sequence[ast.Node], scope: Scope, expected: Kind | None) -> list[Expr]:
        """Print operands that share one type (COALESCE, CASE results, IN lists)."""
        kind = expected
        if kind is None:
            for node in nodes:
                if not _is_hole(node):
                    kind = _known(self.expr(node, scope).kind)
                    if kind:
                        break
        return [self.expr(node, scope, kind) for node in nodes]

    # -- leaves ------------------------------------------------------------------------------

    def _ColumnRef(self, node: ast.ColumnRef, scope: Scope, expected: Kind | None) -> Expr:
        fields = node.fields
        if isinstance(fields[-1], ast.A_Star):
            raise unsupported("* outside a select list")
        names = name_parts(fields)
        column, qualifier = names[-1], names[:-1]
        if not qualifier and column in scope.outputs:
            return Expr(quote(column), UNKNOWN, column)
        level: Scope | None = scope
        while level is not None:
            for source in level.sources:
                if qualifier and not source.matches(qualifier):
                    continue
                kind = source.kind_of(column)
                if kind is not None or qualifier:
                    return Expr(source.render(column), kind or UNKNOWN, column)
            for source in level.sources:
                # A function in FROM with one output column: its alias names that column.
                single = source.templates and source.columns and len(source.columns) == 1
                if single and not qualifier and source.name == column:
                    only = source.columns[0]
                    return Expr(source.render(only.name), only.kind, column)
            level = level.parent
        if not qualifier and self.whole_row(node, scope) is not None:
            raise unsupported("whole-row references outside a select list")
        return Expr(".".join(quote(name) for name in names), UNKNOWN, column)

    def _A_Const(self, node: ast.A_Const, scope: Scope, expected: Kind | None) -> Expr:
        if node.isnull:
            return Expr("NULL", expected or UNKNOWN)
        value = node.val
        if isinstance(value, ast.Integer):
            return Expr(str(value.ival), INT)
        if isinstance(value, ast.Float):
            return Expr(value.fval, NUMBER)
        if isinstance(value, ast.Boolean):
            return Expr("1" if value.boolval else "0", BOOL)
        if isinstance(value, ast.String):
            return self.text_literal(value.sval, expected)
        raise unsupported("bit string literals")

    def text_literal(self, text: str, kind: Kind | None) -> Expr:
        """A string literal read as ``kind``, converted now as PostgreSQL would convert it."""
        element = element_of(kind) if kind else None
        if element is not None:
            try:
                items = [
                    None if item is None else self.text_literal(item, element).sql
                    for item in parse_text_array(text)
                ]
            except PgValueError as error:
                raise PluginSqlInvalid(str(error)) from None
            values = ", ".join("NULL" if item is None else item for item in items)
            return Expr(call("json_array", values), kind)
        if kind in _TIME_KINDS and text.strip().lower() == "now":
            return Expr(call(READERS[kind], literal(text)), kind)  # read when the statement runs
        try:
            match kind:
                case "uuid":
                    return Expr(literal(parse_uuid(text)), UUID)
                case "timestamptz":
                    return Expr(literal(format_timestamptz(parse_timestamptz(text))), kind)
                case "timestamp":
                    return Expr(literal(format_timestamp(parse_timestamp(text))), kind)
                case "date":
                    return Expr(literal(parse_date(text).isoformat()), kind)
                case "jsonb":
                    return Expr(literal(render_json(parse_json(text))), kind)
                case "bool":
                    return Expr("1" if parse_bool(text) else "0", kind)
                case "int":
                    return Expr(str(parse_int(text)), kind)
                case _ if kind and kind.startswith(f"{INT}:"):
                    return Expr(str(parse_int(text, kind.split(":", 1)[1])), INT)
                case "number":
                    return Expr(number_output(parse_numeric(text)), kind)
                case "interval":
                    parse_interval(text)
                    return Expr(literal(text), kind)
        except PgValueError as error:
            raise PluginSqlInvalid(str(error)) from None
        return Expr(literal(text), TEXT)

    def _ParamRef(self, node: ast.ParamRef, scope: Scope, expected: Kind | None) -> Expr:
        sql = f"?{node.number}"
        if expected is None or expected == UNKNOWN:
            return Expr(sql, UNKNOWN)
        if element_of(expected):
            return Expr(call("pg_json_array", sql), expected)
        if expected.startswith(f"{INT}:"):
            return Expr(call("pg_int", sql, literal(expected.split(":", 1)[1])), INT)
        reader = READERS.get(expected)
        return Expr(call(reader, sql) if reader else sql, expected)

    def _TypeCast(self, node: ast.TypeCast, scope: Scope, expected: Kind | None) -> Expr:
        names = name_parts(node.typeName.names)
        type_name = names[-1]
        target = self.type_kind(node.typeName)
        inner = self.expr(node.arg, scope, target)
        name = inner.name if inner.name != _UNNAMED else type_name
        if inner.kind == target or element_of(target):
            return Expr(inner.sql, target, name)
        return Expr(self.convert(inner, target, _INT_LABELS.get(type_name)), target, name)

    def type_kind(self, node: ast.TypeName) -> Kind:
        """The kind of a cast's or column's type (typmods are handled by the DDL printer)."""
        kind = TYPE_KINDS.get(name_parts(node.names)[-1])
        if kind is None:
            raise unsupported(f"type {'.'.join(name_parts(node.names))}")
        return array_of(kind) if node.arrayBounds else kind

    def convert(self, value: Expr, target: Kind, int_label: str | None = None) -> str:
        """SQL converting ``value`` to ``target`` with PostgreSQL's cast rules."""
        source, sql = value.kind, value.sql
        if target == TEXT:
            return sql if source in (TEXT, UUID) else call("pg_text", code(source), sql)
        if target == BOOL and source == INT:
            return f"({sql} <> 0)"
        if target == INT and source == BOOL:
            return sql
        if target == NUMBER and source == INT:
            return sql
        if target == JSONB and source not in (TEXT, UNKNOWN):
            raise unsupported(f"cast from {source} to jsonb")
        if target == INT and int_label:
            return call("pg_int", sql, literal(int_label))
        if target in (DATE, TIMESTAMP, TIMESTAMPTZ) and source not in (
            TEXT,
            UNKNOWN,
            *_TIME_KINDS,
        ):
            raise unsupported(f"cast from {source} to {target}")
        return call(READERS[target], sql)

    # -- operators ---------------------------------------------------------------------------

    def _A_Expr(self, node: ast.A_Expr, scope: Scope, expected: Kind | None) -> Expr:
        kind = node.kind
        operator = name_parts(node.name)[-1] if node.name else ""
        kinds = enums.A_Expr_Kind
        if kind == kinds.AEXPR_OP:
            if node.lexpr is None:
                operand = self.expr(node.rexpr, scope, expected)
                if operator not in ("-", "+"):
                    raise unsupported(f"prefix operator {operator}")
                # Parenthesised: "-" before a negative literal would otherwise start a comment.
                return Expr(f"({operator}({operand.sql}))", operand.kind)
            return self.binary(operator, node.lexpr, node.rexpr, scope, expected)
        if kind in (kinds.AEXPR_DISTINCT, kinds.AEXPR_NOT_DISTINCT):
            left, right = self.pair(node.lexpr, node.rexpr, scope)
            keyword = "IS NOT" if kind == kinds.AEXPR_DISTINCT else "IS"
            return Expr(f"({self.comparable(left)} {keyword} {self.comparable(right)})", BOOL)
        if kind == kinds.AEXPR_NULLIF:
            left, right = self.pair(node.lexpr, node.rexpr, scope, expected)
            return Expr(call("nullif", left.sql, right.sql), left.kind, "nullif")
        if kind == kinds.AEXPR_IN:
            items = self.common([node.lexpr, *node.rexpr], scope, None)
            negation = "NOT " if operator == "<>" else ""
            values = ", ".join(item.sql for item in items[1:])
            return Expr(f"({items[0].sql} {negation}IN ({values}))", BOOL)
        if kind in (kinds.AEXPR_LIKE, kinds.AEXPR_ILIKE):
            return self.like(operator, node.lexpr, node.rexpr, scope)
        if kind in (kinds.AEXPR_BETWEEN, kinds.AEXPR_NOT_BETWEEN):
            low, high = node.rexpr
            items = self.common([node.lexpr, low, high], scope, None)
            negation = "NOT " if kind == kinds.AEXPR_NOT_BETWEEN else ""
            return Expr(
                f"({items[0].sql} {negation}BETWEEN {items[1].sql} AND {items[2].sql})", BOOL
            )
        if kind in (kinds.AEXPR_OP_ANY, kinds.AEXPR_OP_ALL):
            return self.any_all(operator, kind == kinds.AEXPR_OP_ANY, node, scope)
        raise unsupported(f"{kind.name.removeprefix('AEXPR_').replace('_', ' ')} expressions")

    def binary(
        self,
        operator: str,
        left_node: ast.Node,
        right_node: ast.Node,
        scope: Scope,
        expected: Kind | None,
    ) -> Expr:
        if operator in _JSON_OPERATORS:
            function, kind = _JSON_OPERATORS[operator]
            document = self.expr(left_node, scope, JSONB)
            key = self.expr(right_node, scope)
            return Expr(call(function, document.sql, key.sql), kind)
        if operator == "?":
            document = self.expr(left_node, scope, JSONB)
            key = self.expr(right_node, scope, TEXT)
            return Expr(call("pg_json_has_key", document.sql, key.sql), BOOL)
        if operator in ("@>", "<@"):
            left, right = self.pair(left_node, right_node, scope, JSONB)
            first, second = (left, right) if operator == "@>" else (right, left)
            return Expr(call("pg_json_contains", first.sql, second.sql), BOOL)
        if operator in _COMPARISONS:
            left, right = self.pair(left_node, right_node, scope)
            if JSONB in (left.kind, right.kind) and operator not in ("=", "<>", "!="):
                raise unsupported("ordering comparisons of jsonb values")
            sql = f"({self.comparable(left)} {_COMPARISONS[operator]} {self.comparable(right)})"
            return Expr(sql, BOOL)
        if operator == "||":
            return self.concat(left_node, right_node, scope)
        if operator in _ARITHMETIC:
            return self.arithmetic(operator, left_node, right_node, scope, expected)
        raise unsupported(f"operator {operator}")

    @staticmethod
    def comparable(value: Expr) -> str:
        """jsonb compares by value; stored JSON text may differ in key order, so normalise."""
        return call("pg_jsonb", value.sql) if value.kind == JSONB else value.sql

    def concat(self, left_node: ast.Node, right_node: ast.Node, scope: Scope) -> Expr:
        left, right = self.pair(left_node, right_node, scope)
        if JSONB in (left.kind, right.kind):
            left, right = self.pair(left_node, right_node, scope, JSONB)
            return Expr(call("pg_jsonb_concat", left.sql, right.sql), JSONB)
        parts = [
            value.sql if value.kind in (TEXT, UUID, UNKNOWN) else self.convert(value, TEXT)
            for value in (left, right)
        ]
        return Expr(f"({parts[0]} || {parts[1]})", TEXT)

    def arithmetic(
        self,
        operator: str,
        left_node: ast.Node,
        right_node: ast.Node,
        scope: Scope,
        expected: Kind | None,
    ) -> Expr:
        left, right = self.pair(left_node, right_node, scope, expected)
        if operator in ("+", "-") and INTERVAL in (left.kind, right.kind):
            moment, interval = (left, right) if right.kind == INTERVAL else (right, left)
            if moment.kind not in _TIME_KINDS or (operator == "-" and moment is right):
                raise unsupported(f"{moment.kind} {operator} interval")
            result = TIMESTAMP if moment.kind == DATE else moment.kind
            sign = "-1" if operator == "-" else "1"
            return Expr(
                call("pg_ts_add", code(moment.kind), moment.sql, interval.sql, sign), result
            )
        if left.kind in _TIME_KINDS or right.kind in _TIME_KINDS:
            raise unsupported(f"{left.kind} {operator} {right.kind} arithmetic")
        divisor = call("pg_nonzero", right.sql) if operator in ("/", "%") else right.sql
        kind = INT if left.kind == right.kind == INT else NUMBER
        return Expr(f"({left.sql} {operator} {divisor})", kind)

    def like(self, operator: str, left_node: ast.Node, right_node: ast.Node, scope: Scope) -> Expr:
        if operator not in _LIKE:
            raise unsupported(f"operator {operator}")
        negation, folded = _LIKE[operator]
        escape = literal("\\")
        if (
            isinstance(right_node, ast.FuncCall)
            and name_parts(right_node.funcname)[-1] == "like_escape"
        ):
            right_node, escape_node = right_node.args
            escape = self.expr(escape_node, scope, TEXT).sql
        value = self.expr(left_node, scope, TEXT)
        pattern = self.expr(right_node, scope, TEXT)
        left, right = value.sql, pattern.sql
        if folded:
            left, right = call("pg_lower", left), call("pg_lower", right)
        return Expr(f"({left} {negation}LIKE {right} ESCAPE {escape})", BOOL)

    def any_all(self, operator: str, is_any: bool, node: ast.A_Expr, scope: Scope) -> Expr:
        """``x = ANY(array)`` and ``x <> ALL(array)``: membership in a list or an array."""
        membership = (operator == "=" and is_any) or (operator in ("<>", "!=") and not is_any)
        if not membership:
            raise unsupported(f"{operator} {'ANY' if is_any else 'ALL'} (array)")
        negation = "" if is_any else "NOT "
        value = self.expr(node.lexpr, scope)
        element = _known(value.kind)
        if isinstance(node.rexpr, ast.A_ArrayExpr):
            items = self.exprs(node.rexpr.elements, scope, element)
            listed = ", ".join(item.sql for item in items)
            return Expr(f"({value.sql} {negation}IN ({listed}))", BOOL)
        array = self.expr(node.rexpr, scope, array_of(element or UNKNOWN))
        if not element_of(array.kind):
            raise unsupported("= ANY over a value that is not an array parameter")
        element = element or element_of(array.kind)
        item = "value"
        if element in READERS and element not in (TEXT, INT, NUMBER):
            item = call(READERS[element], "value")
        members = f"SELECT {item} FROM json_each({array.sql})"
        return Expr(f"({value.sql} {negation}IN ({members}))", BOOL)

    # -- other expression forms --------------------------------------------------------------

    def _BoolExpr(self, node: ast.BoolExpr, scope: Scope, expected: Kind | None) -> Expr:
        parts = [part.sql for part in self.exprs(node.args, scope, BOOL)]
        if node.boolop == enums.BoolExprType.NOT_EXPR:
            return Expr(f"(NOT {parts[0]})", BOOL)
        joiner = " AND " if node.boolop == enums.BoolExprType.AND_EXPR else " OR "
        return Expr("(" + joiner.join(parts) + ")", BOOL)

    def _NullTest(self, node: ast.NullTest, scope: Scope, expected: Kind | None) -> Expr:
        if node.argisrow or isinstance(node.arg, ast.RowExpr):
            raise unsupported("IS NULL on a row")
        value = self.expr(node.arg, scope)
        negation = " NOT" if node.nulltesttype == enums.NullTestType.IS_NOT_NULL else ""
        return Expr(f"({value.sql} IS{negation} NULL)", BOOL)

    def _BooleanTest(self, node: ast.BooleanTest, scope: Scope, expected: Kind | None) -> Expr:
        value = self.expr(node.arg, scope, BOOL).sql
        tests = {
            _BT.IS_TRUE: "IS TRUE",
            _BT.IS_NOT_TRUE: "IS NOT TRUE",
            _BT.IS_FALSE: "IS FALSE",
            _BT.IS_NOT_FALSE: "IS NOT FALSE",
            _BT.IS_UNKNOWN: "IS NULL",
            _BT.IS_NOT_UNKNOWN: "IS NOT NULL",
        }
        return Expr(f"({value} {tests[node.booltesttype]})", BOOL)

    def _CaseExpr(self, node: ast.CaseExpr, scope: Scope, expected: Kind | None) -> Expr:
        results = [when.result for when in node.args]
        if node.defresult is not None:
            results.append(node.defresult)
        _refuse_rows(results)
        printed = self.common(results, scope, expected)
        kind = next((item.kind for item in printed if _known(item.kind)), expected or UNKNOWN)
        argument = self.expr(node.arg, scope) if node.arg is not None else None
        parts = ["CASE"] + ([argument.sql] if argument else [])
        for when, result in zip(node.args, printed, strict=False):
            condition = self.expr(when.expr, scope, _known(argument.kind) if argument else BOOL)
            parts += ["WHEN", condition.sql, "THEN", result.sql]
        if node.defresult is not None:
            parts += ["ELSE", printed[-1].sql]
        return Expr("(" + " ".join(parts) + " END)", kind, "case")

    def _CoalesceExpr(self, node: ast.CoalesceExpr, scope: Scope, expected: Kind | None) -> Expr:
        _refuse_rows(node.args)
        items = self.common(node.args, scope, expected)
        kind = next((item.kind for item in items if _known(item.kind)), expected or UNKNOWN)
        return Expr(call("coalesce", *(item.sql for item in items)), kind, "coalesce")

    def _MinMaxExpr(self, node: ast.MinMaxExpr, scope: Scope, expected: Kind | None) -> Expr:
        _refuse_rows(node.args)
        items = self.common(node.args, scope, expected)
        kind = next((item.kind for item in items if _known(item.kind)), expected or UNKNOWN)
        name = "greatest" if node.op == enums.MinMaxOp.IS_GREATEST else "least"
        return Expr(call(f"pg_{name}", *(item.sql for item in items)), kind, name)

    def _SubLink(self, node: ast.SubLink, scope: Scope, expected: Kind | None) -> Expr:
        links = enums.SubLinkType
        sql, columns = self.subquery(node.subselect, scope.child())
        if node.subLinkType == links.EXISTS_SUBLINK:
            return Expr(f"(EXISTS ({sql}))", BOOL, "exists")
        if node.subLinkType == links.EXPR_SUBLINK:
            first = columns[0] if columns else Column(_UNNAMED, UNKNOWN)
            return Expr(f"({sql})", first.kind, first.name)
        operator = name_parts(node.operName)[-1] if node.operName else "="
        is_any = node.subLinkType == links.ANY_SUBLINK
        if node.subLinkType in (links.ANY_SUBLINK, links.ALL_SUBLINK) and (
            (is_any and operator == "=") or (not is_any and operator in ("<>", "!="))
        ):
            expected_kind = _known(columns[0].kind) if columns else None
            value = self.expr(node.testexpr, scope, expected_kind)
            negation = "" if is_any else "NOT "
            return Expr(f"({value.sql} {negation}IN ({sql}))", BOOL)
        raise unsupported(f"{node.subLinkType.name.removesuffix('_SUBLINK')} subqueries")

    def _RowExpr(self, node: ast.RowExpr, scope: Scope, expected: Kind | None) -> Expr:
        items = self.exprs(node.args, scope)
        return Expr("(" + ", ".join(item.sql for item in items) + ")", UNKNOWN, "row")

    def _SQLValueFunction(
        self, node: ast.SQLValueFunction, scope: Scope, expected: Kind | None
    ) -> Expr:
        if node.op == _SVF.SVFOP_CURRENT_TIMESTAMP:
            return Expr(f"({NOW_SQL})", TIMESTAMPTZ, "current_timestamp")
        if node.op == _SVF.SVFOP_CURRENT_DATE:
            return Expr("date('now')", DATE, "current_date")
        if node.op == _SVF.SVFOP_LOCALTIMESTAMP:
            return Expr(
                "(strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000')", TIMESTAMP, "localtimestamp"
            )
        raise unsupported(node.op.name.removeprefix("SVFOP_"))

    def _A_Indirection(self, node: ast.A_Indirection, scope: Scope, expected: Kind | None) -> Expr:
        value = self.expr(node.arg, scope)
        if value.kind != JSONB or not all(
            isinstance(step, ast.A_Indices) and not step.is_slice for step in node.indirection
        ):
            raise unsupported("array subscripts and field selection")
        sql = value.sql
        for step in node.indirection:
            sql = call("pg_json_get", sql, self.expr(step.uidx, scope).sql)
        return Expr(sql, JSONB, value.name)

    def _FuncCall(self, node: ast.FuncCall, scope: Scope, expected: Kind | None) -> Expr:
        return self.call_function(node, scope, expected)

    def over(self, window: ast.WindowDef, scope: Scope) -> str:
        """The OVER part of a window function call."""
        if window.name and not (window.partitionClause or window.orderClause or window.refname):
            return f"OVER {quote(window.name)}"
        return "OVER " + self.window_spec(window, scope)

    def window_spec(self, window: ast.WindowDef, scope: Scope) -> str:
        parts = [quote(window.refname)] if window.refname else []
        if window.partitionClause:
            partition = ", ".join(item.sql for item in self.exprs(window.partitionClause, scope))
            parts.append(f"PARTITION BY {partition}")
        if window.orderClause:
            order = ", ".join(self.sort_item(item, scope) for item in window.orderClause)
            parts.append(f"ORDER BY {order}")
        if window.frameOptions & enums.FRAMEOPTION_NONDEFAULT:
            parts.append(self.frame(window, scope))
        return "(" + " ".join(parts) + ")"

    def frame(self, window: ast.WindowDef, scope: Scope) -> str:
        options = window.frameOptions
        mode = (
            "ROWS"
            if options & enums.FRAMEOPTION_ROWS
            else "GROUPS"
            if options & enums.FRAMEOPTION_GROUPS
            else "RANGE"
        )

        def bound(prefix: str, offset: ast.Node | None) -> str:
            flag = {
                "UNBOUNDED_PRECEDING": "UNBOUNDED PRECEDING",
                "UNBOUNDED_FOLLOWING": "UNBOUNDED FOLLOWING",
                "CURRENT_ROW": "CURRENT ROW",
            }
            for name, text in flag.items():
                if options & getattr(enums, f"FRAMEOPTION_{prefix}_{name}"):
                    return text
            amount = self.expr(offset, scope) if offset is not None else None
            if amount is None or amount.kind not in (INT, NUMBER):
                raise unsupported("window frames with non-numeric offsets")
            direction = (
                "PRECEDING"
                if options & getattr(enums, f"FRAMEOPTION_{prefix}_OFFSET_PRECEDING")
                else "FOLLOWING"
            )
            return f"{amount.sql} {direction}"

        text = f"{mode} {bound('START', window.startOffset)}"
        if options & enums.FRAMEOPTION_BETWEEN:
            text = f"{mode} BETWEEN {bound('START', window.startOffset)} AND " + bound(
                "END", window.endOffset
            )
        for flag, clause in (
            (enums.FRAMEOPTION_EXCLUDE_CURRENT_ROW, " EXCLUDE CURRENT ROW"),
            (enums.FRAMEOPTION_EXCLUDE_GROUP, " EXCLUDE GROUP"),
            (enums.FRAMEOPTION_EXCLUDE_TIES, " EXCLUDE TIES"),
        ):
            if options & flag:
                text += clause
        return text


def _refuse_rows(nodes: Sequence[ast.Node]) -> None:
    """SQLite has row values only as comparison operands (and as printed select-list items)."""
    if any(isinstance(node, ast.RowExpr) for node in nodes):
        raise unsupported("row values in COALESCE, CASE, GREATEST or LEAST")


def _known(kind: Kind | None) -> Kind | None:
    return None if kind in (None, UNKNOWN) else kind


__all__ = [
    "NOW_SQL",
    "READERS",
    "RECORD",
    "UUID_SQL",
    "Expr",
    "ExpressionPrinter",
    "Scope",
    "Source",
    "call",
    "code",
    "literal",
    "name_parts",
    "quote",
]
