"""PostgreSQL function calls printed for SQLite: aggregates, window functions and scalars.

Each allowed function maps to SQLite's own function when the results agree, and to a ``pg_*``
function of ``db.plugin_sql.functions`` when they would not (``lower`` on non-ASCII text,
``round`` on decimals, ``date_trunc``, jsonb builders). Aggregates that build arrays or JSON
return NULL over no rows, as PostgreSQL's do.

``CALLS`` lists every function the printer knows, except the window functions. Most are one of
a few shapes (``Scalar``, ``Aggregate``, ``Typed``, ``Constant``); the rest are printed by a
method of ``CallPrinter`` of their own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pglast import ast

from core.plugin_database.allowlists import SET_RETURNING_FUNCTIONS
from core.plugin_database.errors import unsupported
from core.plugin_database.kinds import (
    BOOL,
    DATE,
    INT,
    JSONB,
    NUMBER,
    TEXT,
    TIMESTAMP,
    TIMESTAMPTZ,
    UNKNOWN,
    UUID,
    Kind,
    array_of,
)
from core.plugin_database.sqlite_printer.expressions import (
    NOW_SQL,
    UUID_SQL,
    Expr,
    ExpressionPrinter,
    Scope,
    call,
    code,
    literal,
)

#: Aggregates whose result does not depend on the order of their input.
_ORDER_INSENSITIVE = frozenset(
    {"count", "sum", "avg", "min", "max", "bool_and", "bool_or", "every"}
)
_SIMPLE_WINDOW = {
    "row_number": INT,
    "rank": INT,
    "dense_rank": INT,
    "ntile": INT,
    "percent_rank": NUMBER,
    "cume_dist": NUMBER,
}
_VALUE_WINDOW = frozenset({"lag", "lead", "first_value", "last_value", "nth_value"})
_TEXT_LIKE = frozenset({TEXT, UUID, TIMESTAMPTZ, TIMESTAMP, DATE})


@dataclass(frozen=True)
class CallSite:
    """One function call being printed: its name, node, arguments, scope and context."""

    name: str
    node: ast.FuncCall
    args: list[ast.Node]
    scope: Scope
    expected: Kind | None
    #: FILTER and OVER clauses, for aggregates to append.
    suffix: str


@dataclass(frozen=True)
class Scalar:
    """``function(arguments...)``: every argument read as ``arguments``, a ``result`` value."""

    function: str
    arguments: Kind
    result: Kind


@dataclass(frozen=True)
class Aggregate:
    """``function([DISTINCT] value)`` and the call's FILTER/OVER; ``argument`` None: as is."""

    function: str
    argument: Kind | None
    result: Kind


@dataclass(frozen=True)
class Typed:
    """``function(code1, value1, ...)``: a ``pg_*`` jsonb function given each value's code."""

    function: str


@dataclass(frozen=True)
class Constant:
    """SQL that reads no argument (``now()``, ``random()``)."""

    sql: str
    kind: Kind


#: A function printed by a ``CallPrinter`` method of its own.
Custom = Callable[["CallPrinter", CallSite], Expr]
#: How ``CALLS`` prints one function.
CallSpec = Scalar | Aggregate | Typed | Constant | Custom


class CallPrinter(ExpressionPrinter):
    """Adds function calls to the expression printer."""

    def call_function(self, node: ast.FuncCall, scope: Scope, expected: Kind | None) -> Expr:
        name = [part.sval for part in node.funcname][-1]
        if name in SET_RETURNING_FUNCTIONS:
            raise unsupported(f"set-returning function {name} outside FROM")
        if node.agg_within_group or node.func_variadic:
            raise unsupported(f"{name}() with WITHIN GROUP or VARIADIC")
        if node.agg_order and name not in _ORDER_INSENSITIVE:
            raise unsupported(f"ORDER BY inside {name}()")
        suffix = ""
        if node.agg_filter is not None:
            suffix += f" FILTER (WHERE {self.expr(node.agg_filter, scope, BOOL).sql})"
        if node.over is not None:
            suffix += " " + self.over(node.over, scope)
        spec = CALLS.get(name)
        if spec is None:
            if name in _SIMPLE_WINDOW or name in _VALUE_WINDOW:
                return self.window_function(name, node, scope, suffix)
            raise unsupported(f"function {name}")
        site = CallSite(name, node, list(node.args or ()), scope, expected, suffix)
        result = self._print_call(spec, site)
        return Expr(result.sql, result.kind, name)

    def _print_call(self, spec: CallSpec, site: CallSite) -> Expr:
        match spec:
            case Scalar(function, arguments, result):
                return Expr(call(function, *self._args(site.args, site.scope, arguments)), result)
            case Aggregate(function, argument, result):
                value = self.expr(site.args[0], site.scope, argument)
                return Expr(self._aggregate(function, site, value.sql), result)
            case Typed(function):
                return Expr(call(function, *self._typed(site.args, site.scope)), JSONB)
            case Constant(sql, kind):
                return Expr(sql, kind)
            case _:
                return spec(self, site)

    def _args(self, arguments: list[ast.Node], scope: Scope, kind: Kind | None = None) -> list[str]:
        return [item.sql for item in self.exprs(arguments, scope, kind)]

    def window_function(self, name: str, node: ast.FuncCall, scope: Scope, suffix: str) -> Expr:
        if node.over is None:
            raise unsupported(f"{name}() without OVER")
        values = self.exprs(node.args, scope)
        kind = _SIMPLE_WINDOW.get(name) or (values[0].kind if values else UNKNOWN)
        return Expr(call(name, *(value.sql for value in values)) + suffix, kind)

    # -- aggregates --------------------------------------------------------------------------

    def _aggregate(self, function: str, site: CallSite, argument: str) -> str:
        distinct = "DISTINCT " if site.node.agg_distinct else ""
        return f"{function}({distinct}{argument}){site.suffix}"

    def _count(self, site: CallSite) -> Expr:
        argument = "*" if site.node.agg_star else self._args(site.args, site.scope)[0]
        return Expr(self._aggregate("count", site, argument), INT)

    def _sum(self, site: CallSite) -> Expr:
        value = self.expr(site.args[0], site.scope)
        kind = INT if value.kind == INT else NUMBER
        return Expr(self._aggregate("sum", site, value.sql), kind)

    def _min_max(self, site: CallSite) -> Expr:
        value = self.expr(site.args[0], site.scope)
        if value.kind == JSONB:
            raise unsupported(f"{site.name}() of jsonb values")
        return Expr(self._aggregate(site.name, site, value.sql), value.kind)

    def _string_agg(self, site: CallSite) -> Expr:
        if site.node.agg_distinct:
            raise unsupported("string_agg(DISTINCT ...)")
        value, separator = self._args(site.args, site.scope, TEXT)
        return Expr(f"group_concat({value}, {separator}){site.suffix}", TEXT)

    def _collect(self, builder: str, site: CallSite, values: str) -> str:
        """An array/JSON aggregate that is NULL over no rows, as in PostgreSQL."""
        if site.node.agg_distinct:
            raise unsupported("DISTINCT inside an array or JSON aggregate")
        suffix = site.suffix
        return f"(CASE WHEN count(*){suffix} = 0 THEN NULL ELSE {builder}({values}){suffix} END)"

    def _element(self, value: Expr) -> str:
        """A value as a JSON element for ``json_group_array``."""
        kind = TEXT if value.kind in _TEXT_LIKE else value.kind
        return call("json", call("pg_to_jsonb", code(kind), value.sql))

    def _array_agg(self, site: CallSite) -> Expr:
        value = self.expr(site.args[0], site.scope)
        if value.kind == JSONB:
            raise unsupported("array_agg() of jsonb values")
        sql = self._collect("json_group_array", site, self._element(value))
        return Expr(sql, array_of(value.kind))

    def _jsonb_agg(self, site: CallSite) -> Expr:
        value = self.expr(site.args[0], site.scope)
        element = call("json", call("pg_to_jsonb", code(value.kind), value.sql))
        return Expr(self._collect("json_group_array", site, element), JSONB)

    def _jsonb_object_agg(self, site: CallSite) -> Expr:
        key = self.expr(site.args[0], site.scope, TEXT)
        value = self.expr(site.args[1], site.scope)
        members = f"{key.sql}, " + call("json", call("pg_to_jsonb", code(value.kind), value.sql))
        return Expr(self._collect("json_group_object", site, members), JSONB)

    # -- text --------------------------------------------------------------------------------

    def _substring(self, site: CallSite) -> Expr:
        text = self.expr(site.args[0], site.scope, TEXT)
        rest = self.exprs(site.args[1:], site.scope, INT)
        if any(item.kind == TEXT for item in rest):
            raise unsupported("substring() with a pattern")
        return Expr(call("pg_substr", text.sql, *(item.sql for item in rest)), TEXT)

    def _text_values(self, arguments: list[ast.Node], scope: Scope) -> list[str]:
        """Arguments of concat(): each value's output text (a boolean is ``t``/``f`` there)."""
        texts = []
        for value in self.exprs(arguments, scope):
            if value.kind in (TEXT, UUID, UNKNOWN):
                texts.append(value.sql)
            elif value.kind == BOOL:
                texts.append(f"(CASE WHEN {value.sql} THEN 't' WHEN NOT {value.sql} THEN 'f' END)")
            else:
                texts.append(self.convert(value, TEXT))
        return texts

    def _concat(self, site: CallSite) -> Expr:
        parts = [
            call("coalesce", value, "''") for value in self._text_values(site.args, site.scope)
        ]
        return Expr("(" + " || ".join(parts) + ")", TEXT)

    def _concat_ws(self, site: CallSite) -> Expr:
        separator = self.expr(site.args[0], site.scope, TEXT).sql
        return Expr(
            call("pg_concat_ws", separator, *self._text_values(site.args[1:], site.scope)), TEXT
        )

    def _left(self, site: CallSite) -> Expr:
        text = self.expr(site.args[0], site.scope, TEXT).sql
        count = self.expr(site.args[1], site.scope, INT).sql
        sql = (
            f"(CASE WHEN {count} >= 0 THEN substr({text}, 1, {count}) "
            f"ELSE substr({text}, 1, max(length({text}) + {count}, 0)) END)"
        )
        return Expr(sql, TEXT)

    def _right(self, site: CallSite) -> Expr:
        text = self.expr(site.args[0], site.scope, TEXT).sql
        count = self.expr(site.args[1], site.scope, INT).sql
        sql = (
            f"(CASE WHEN {count} > 0 THEN substr({text}, -({count})) WHEN {count} = 0 THEN '' "
            f"ELSE substr({text}, 1 - ({count})) END)"
        )
        return Expr(sql, TEXT)

    def _starts_with(self, site: CallSite) -> Expr:
        text, prefix = self._args(site.args, site.scope, TEXT)
        return Expr(f"(substr({text}, 1, length({prefix})) = {prefix})", BOOL)

    # -- numbers -----------------------------------------------------------------------------

    def _abs(self, site: CallSite) -> Expr:
        """``abs``: an integer stays an integer."""
        values = self.exprs(site.args, site.scope, NUMBER)
        kind = INT if values and values[0].kind == INT else NUMBER
        return Expr(call("abs", *(value.sql for value in values)), kind)

    def _trunc(self, site: CallSite) -> Expr:
        if len(site.args) != 1:
            raise unsupported("trunc() with a scale")
        return self._print_call(Scalar("trunc", NUMBER, NUMBER), site)

    def _mod(self, site: CallSite) -> Expr:
        left, right = self.exprs(site.args, site.scope, NUMBER)
        kind = INT if left.kind == right.kind == INT else NUMBER
        return Expr(f"({left.sql} % {call('pg_nonzero', right.sql)})", kind)

    # -- time --------------------------------------------------------------------------------

    def _date_trunc(self, site: CallSite) -> Expr:
        if len(site.args) != 2:
            raise unsupported("date_trunc() with a time zone")
        unit = self.expr(site.args[0], site.scope, TEXT)
        value = self.expr(site.args[1], site.scope, TIMESTAMPTZ)
        kind = TIMESTAMP if value.kind == TIMESTAMP else TIMESTAMPTZ
        return Expr(call("pg_date_trunc", unit.sql, code(value.kind), value.sql), kind)

    def _date_part(self, site: CallSite) -> Expr:
        field = self.expr(site.args[0], site.scope, TEXT)
        value = self.expr(site.args[1], site.scope, TIMESTAMPTZ)
        return Expr(call("pg_extract", field.sql, code(value.kind), value.sql), NUMBER)

    # -- JSON --------------------------------------------------------------------------------

    def _typed(self, arguments: list[ast.Node], scope: Scope) -> list[str]:
        """Values as ``code, value`` argument pairs for the jsonb builders."""
        pairs: list[str] = []
        for value in self.exprs(arguments, scope):
            pairs += [code(value.kind), value.sql]
        return pairs

    def _jsonb_build_object(self, site: CallSite) -> Expr:
        if len(site.args) % 2:
            raise unsupported("jsonb_build_object() with an odd number of arguments")
        parts: list[str] = []
        for index in range(0, len(site.args), 2):
            key = self.expr(site.args[index], site.scope, TEXT)
            parts += [key.sql, *self._typed(site.args[index + 1 : index + 2], site.scope)]
        return Expr(call("pg_jsonb_build_object", *parts), JSONB)

    def _jsonb_extract_path(self, site: CallSite) -> Expr:
        """``jsonb_extract_path[_text](document, 'key', ...)``: the ``#>`` (``#>>``) path."""
        as_text = site.name == "jsonb_extract_path_text"
        function, kind = ("pg_json_path_text", TEXT) if as_text else ("pg_json_path", JSONB)
        document = self.expr(site.args[0], site.scope, JSONB)
        keys = []
        for key in site.args[1:]:
            if not (isinstance(key, ast.A_Const) and isinstance(key.val, ast.String)):
                raise unsupported("jsonb_extract_path() with keys that are not string literals")
            escaped = key.val.sval.replace("\\", "\\\\").replace('"', '\\"')
            keys.append(f'"{escaped}"')
        return Expr(call(function, document.sql, literal("{" + ",".join(keys) + "}")), kind)


_NOW = Constant(f"({NOW_SQL})", TIMESTAMPTZ)
#: 2**53: ``random()`` as a uniform double in [0, 1), like PostgreSQL's.
_RANDOM_SPAN = "9007199254740992"

#: Every function the printer knows outside window functions, by PostgreSQL name.
CALLS: dict[str, CallSpec] = {
    # aggregates
    "count": CallPrinter._count,
    "sum": CallPrinter._sum,
    "avg": Aggregate("avg", None, NUMBER),
    "min": CallPrinter._min_max,
    "max": CallPrinter._min_max,
    "bool_and": Aggregate("min", BOOL, BOOL),
    "every": Aggregate("min", BOOL, BOOL),
    "bool_or": Aggregate("max", BOOL, BOOL),
    "string_agg": CallPrinter._string_agg,
    "array_agg": CallPrinter._array_agg,
    "jsonb_agg": CallPrinter._jsonb_agg,
    "json_agg": CallPrinter._jsonb_agg,
    "jsonb_object_agg": CallPrinter._jsonb_object_agg,
    "json_object_agg": CallPrinter._jsonb_object_agg,
    # text
    "lower": Scalar("pg_lower", TEXT, TEXT),
    "upper": Scalar("pg_upper", TEXT, TEXT),
    "btrim": Scalar("trim", TEXT, TEXT),
    "ltrim": Scalar("ltrim", TEXT, TEXT),
    "rtrim": Scalar("rtrim", TEXT, TEXT),
    "replace": Scalar("replace", TEXT, TEXT),
    "length": Scalar("length", TEXT, INT),
    "char_length": Scalar("length", TEXT, INT),
    "character_length": Scalar("length", TEXT, INT),
    "strpos": Scalar("instr", TEXT, INT),
    "position": Scalar("instr", TEXT, INT),
    "substring": CallPrinter._substring,
    "substr": CallPrinter._substring,
    "concat": CallPrinter._concat,
    "concat_ws": CallPrinter._concat_ws,
    "left": CallPrinter._left,
    "right": CallPrinter._right,
    "starts_with": CallPrinter._starts_with,
    # numbers
    "abs": CallPrinter._abs,
    "round": Scalar("pg_round", NUMBER, NUMBER),
    "ceil": Scalar("ceil", NUMBER, NUMBER),
    "ceiling": Scalar("ceil", NUMBER, NUMBER),
    "floor": Scalar("floor", NUMBER, NUMBER),
    "trunc": CallPrinter._trunc,
    "mod": CallPrinter._mod,
    "power": Scalar("pow", NUMBER, NUMBER),
    "sqrt": Scalar("sqrt", NUMBER, NUMBER),
    "sign": Scalar("sign", NUMBER, NUMBER),
    "random": Constant(f"(abs(random() % {_RANDOM_SPAN}) / {_RANDOM_SPAN}.0)", NUMBER),
    # time
    "now": _NOW,
    "transaction_timestamp": _NOW,
    "statement_timestamp": _NOW,
    "date_trunc": CallPrinter._date_trunc,
    "date_part": CallPrinter._date_part,
    "extract": CallPrinter._date_part,
    # JSON and uuid
    "jsonb_build_object": CallPrinter._jsonb_build_object,
    "json_build_object": CallPrinter._jsonb_build_object,
    "jsonb_build_array": Typed("pg_jsonb_build_array"),
    "json_build_array": Typed("pg_jsonb_build_array"),
    "to_jsonb": Typed("pg_to_jsonb"),
    "to_json": Typed("pg_to_jsonb"),
    "jsonb_typeof": Scalar("pg_jsonb_typeof", JSONB, TEXT),
    "json_typeof": Scalar("pg_jsonb_typeof", JSONB, TEXT),
    "jsonb_array_length": Scalar("pg_jsonb_array_length", JSONB, INT),
    "json_array_length": Scalar("pg_jsonb_array_length", JSONB, INT),
    "jsonb_extract_path": CallPrinter._jsonb_extract_path,
    "jsonb_extract_path_text": CallPrinter._jsonb_extract_path,
    "gen_random_uuid": Constant(f"({UUID_SQL})", UUID),
}


__all__ = ["CallPrinter"]
