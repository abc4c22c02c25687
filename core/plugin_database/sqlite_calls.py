"""PostgreSQL function calls printed for SQLite: aggregates, window functions and scalars.

Each allowed function maps to SQLite's own function when the results agree, and to a ``pg_*``
function of ``db.sqlite_functions`` when they would not (``lower`` on non-ASCII text,
``round`` on decimals, ``date_trunc``, jsonb builders). Aggregates that build arrays or JSON
return NULL over no rows, as PostgreSQL's do.
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
from core.plugin_database.sqlite_expressions import (
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
    """One function call being printed: the node, its arguments, scope and context."""

    node: ast.FuncCall
    args: list[ast.Node]
    scope: Scope
    expected: Kind | None
    #: FILTER and OVER clauses, for aggregates to append.
    suffix: str


Handler = Callable[[CallSite], Expr]


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
        handler: Handler | None = getattr(self, f"_call_{name}", None)
        if handler is None:
            if name in _SIMPLE_WINDOW or name in _VALUE_WINDOW:
                return self.window_function(name, node, scope, suffix)
            raise unsupported(f"function {name}")
        result = handler(CallSite(node, list(node.args or ()), scope, expected, suffix))
        return Expr(result.sql, result.kind, name)

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

    def _call_count(self, site: CallSite) -> Expr:
        argument = "*" if site.node.agg_star else self._args(site.args, site.scope)[0]
        return Expr(self._aggregate("count", site, argument), INT)

    def _call_sum(self, site: CallSite) -> Expr:
        value = self.expr(site.args[0], site.scope)
        kind = INT if value.kind == INT else NUMBER
        return Expr(self._aggregate("sum", site, value.sql), kind)

    def _call_avg(self, site: CallSite) -> Expr:
        value = self.expr(site.args[0], site.scope)
        return Expr(self._aggregate("avg", site, value.sql), NUMBER)

    def _min_max(self, function: str, site: CallSite) -> Expr:
        value = self.expr(site.args[0], site.scope)
        if value.kind == JSONB:
            raise unsupported(f"{function}() of jsonb values")
        return Expr(self._aggregate(function, site, value.sql), value.kind)

    def _call_min(self, site: CallSite) -> Expr:
        return self._min_max("min", site)

    def _call_max(self, site: CallSite) -> Expr:
        return self._min_max("max", site)

    def _boolean(self, function: str, site: CallSite) -> Expr:
        value = self.expr(site.args[0], site.scope, BOOL)
        return Expr(self._aggregate(function, site, value.sql), BOOL)

    def _call_bool_and(self, site: CallSite) -> Expr:
        return self._boolean("min", site)

    def _call_every(self, site: CallSite) -> Expr:
        return self._boolean("min", site)

    def _call_bool_or(self, site: CallSite) -> Expr:
        return self._boolean("max", site)

    def _call_string_agg(self, site: CallSite) -> Expr:
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

    def _call_array_agg(self, site: CallSite) -> Expr:
        value = self.expr(site.args[0], site.scope)
        if value.kind == JSONB:
            raise unsupported("array_agg() of jsonb values")
        sql = self._collect("json_group_array", site, self._element(value))
        return Expr(sql, array_of(value.kind))

    def _call_jsonb_agg(self, site: CallSite) -> Expr:
        value = self.expr(site.args[0], site.scope)
        element = call("json", call("pg_to_jsonb", code(value.kind), value.sql))
        return Expr(self._collect("json_group_array", site, element), JSONB)

    _call_json_agg = _call_jsonb_agg

    def _call_jsonb_object_agg(self, site: CallSite) -> Expr:
        key = self.expr(site.args[0], site.scope, TEXT)
        value = self.expr(site.args[1], site.scope)
        members = f"{key.sql}, " + call("json", call("pg_to_jsonb", code(value.kind), value.sql))
        return Expr(self._collect("json_group_object", site, members), JSONB)

    _call_json_object_agg = _call_jsonb_object_agg

    # -- text --------------------------------------------------------------------------------

    def _text_function(self, function: str, site: CallSite) -> Expr:
        return Expr(call(function, *self._args(site.args, site.scope, TEXT)), TEXT)

    def _call_lower(self, site: CallSite) -> Expr:
        return self._text_function("pg_lower", site)

    def _call_upper(self, site: CallSite) -> Expr:
        return self._text_function("pg_upper", site)

    def _call_btrim(self, site: CallSite) -> Expr:
        return self._text_function("trim", site)

    def _call_ltrim(self, site: CallSite) -> Expr:
        return self._text_function("ltrim", site)

    def _call_rtrim(self, site: CallSite) -> Expr:
        return self._text_function("rtrim", site)

    def _call_replace(self, site: CallSite) -> Expr:
        return self._text_function("replace", site)

    def _call_length(self, site: CallSite) -> Expr:
        return Expr(call("length", *self._args(site.args, site.scope, TEXT)), INT)

    _call_char_length = _call_length
    _call_character_length = _call_length

    def _call_substring(self, site: CallSite) -> Expr:
        text = self.expr(site.args[0], site.scope, TEXT)
        rest = self.exprs(site.args[1:], site.scope, INT)
        if any(item.kind == TEXT for item in rest):
            raise unsupported("substring() with a pattern")
        return Expr(call("pg_substr", text.sql, *(item.sql for item in rest)), TEXT)

    _call_substr = _call_substring

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

    def _call_concat(self, site: CallSite) -> Expr:
        parts = [
            call("coalesce", value, "''") for value in self._text_values(site.args, site.scope)
        ]
        return Expr("(" + " || ".join(parts) + ")", TEXT)

    def _call_concat_ws(self, site: CallSite) -> Expr:
        separator = self.expr(site.args[0], site.scope, TEXT).sql
        return Expr(
            call("pg_concat_ws", separator, *self._text_values(site.args[1:], site.scope)), TEXT
        )

    def _call_left(self, site: CallSite) -> Expr:
        text = self.expr(site.args[0], site.scope, TEXT).sql
        count = self.expr(site.args[1], site.scope, INT).sql
        sql = (
            f"(CASE WHEN {count} >= 0 THEN substr({text}, 1, {count}) "
            f"ELSE substr({text}, 1, max(length({text}) + {count}, 0)) END)"
        )
        return Expr(sql, TEXT)

    def _call_right(self, site: CallSite) -> Expr:
        text = self.expr(site.args[0], site.scope, TEXT).sql
        count = self.expr(site.args[1], site.scope, INT).sql
        sql = (
            f"(CASE WHEN {count} > 0 THEN substr({text}, -({count})) WHEN {count} = 0 THEN '' "
            f"ELSE substr({text}, 1 - ({count})) END)"
        )
        return Expr(sql, TEXT)

    def _call_strpos(self, site: CallSite) -> Expr:
        return Expr(call("instr", *self._args(site.args, site.scope, TEXT)), INT)

    _call_position = _call_strpos

    def _call_starts_with(self, site: CallSite) -> Expr:
        text, prefix = self._args(site.args, site.scope, TEXT)
        return Expr(f"(substr({text}, 1, length({prefix})) = {prefix})", BOOL)

    # -- numbers -----------------------------------------------------------------------------

    def _numeric(self, function: str, site: CallSite, kind: Kind | None = None) -> Expr:
        values = self.exprs(site.args, site.scope, NUMBER)
        result = kind or (INT if values and values[0].kind == INT else NUMBER)
        return Expr(call(function, *(value.sql for value in values)), result)

    def _call_abs(self, site: CallSite) -> Expr:
        return self._numeric("abs", site)

    def _call_round(self, site: CallSite) -> Expr:
        return self._numeric("pg_round", site, NUMBER)

    def _call_ceil(self, site: CallSite) -> Expr:
        return self._numeric("ceil", site, NUMBER)

    _call_ceiling = _call_ceil

    def _call_floor(self, site: CallSite) -> Expr:
        return self._numeric("floor", site, NUMBER)

    def _call_trunc(self, site: CallSite) -> Expr:
        if len(site.args) != 1:
            raise unsupported("trunc() with a scale")
        return self._numeric("trunc", site, NUMBER)

    def _call_mod(self, site: CallSite) -> Expr:
        left, right = self.exprs(site.args, site.scope, NUMBER)
        kind = INT if left.kind == right.kind == INT else NUMBER
        return Expr(f"({left.sql} % {call('pg_nonzero', right.sql)})", kind)

    def _call_power(self, site: CallSite) -> Expr:
        return self._numeric("pow", site, NUMBER)

    def _call_sqrt(self, site: CallSite) -> Expr:
        return self._numeric("sqrt", site, NUMBER)

    def _call_sign(self, site: CallSite) -> Expr:
        return self._numeric("sign", site, NUMBER)

    def _call_random(self, site: CallSite) -> Expr:
        span = "9007199254740992"  # 2**53: a uniform double in [0, 1) like PostgreSQL's
        return Expr(f"(abs(random() % {span}) / {span}.0)", NUMBER)

    # -- time --------------------------------------------------------------------------------

    def _call_now(self, site: CallSite) -> Expr:
        return Expr(f"({NOW_SQL})", TIMESTAMPTZ)

    _call_transaction_timestamp = _call_now
    _call_statement_timestamp = _call_now

    def _call_date_trunc(self, site: CallSite) -> Expr:
        if len(site.args) != 2:
            raise unsupported("date_trunc() with a time zone")
        unit = self.expr(site.args[0], site.scope, TEXT)
        value = self.expr(site.args[1], site.scope, TIMESTAMPTZ)
        kind = TIMESTAMP if value.kind == TIMESTAMP else TIMESTAMPTZ
        return Expr(call("pg_date_trunc", unit.sql, code(value.kind), value.sql), kind)

    def _call_date_part(self, site: CallSite) -> Expr:
        field = self.expr(site.args[0], site.scope, TEXT)
        value = self.expr(site.args[1], site.scope, TIMESTAMPTZ)
        return Expr(call("pg_extract", field.sql, code(value.kind), value.sql), NUMBER)

    _call_extract = _call_date_part

    # -- JSON and uuid -----------------------------------------------------------------------

    def _typed(self, arguments: list[ast.Node], scope: Scope) -> list[str]:
        """Values as ``code, value`` argument pairs for the jsonb builders."""
        pairs: list[str] = []
        for value in self.exprs(arguments, scope):
            pairs += [code(value.kind), value.sql]
        return pairs

    def _call_jsonb_build_object(self, site: CallSite) -> Expr:
        if len(site.args) % 2:
            raise unsupported("jsonb_build_object() with an odd number of site.args")
        parts: list[str] = []
        for index in range(0, len(site.args), 2):
            key = self.expr(site.args[index], site.scope, TEXT)
            parts += [key.sql, *self._typed(site.args[index + 1 : index + 2], site.scope)]
        return Expr(call("pg_jsonb_build_object", *parts), JSONB)

    _call_json_build_object = _call_jsonb_build_object

    def _call_jsonb_build_array(self, site: CallSite) -> Expr:
        return Expr(call("pg_jsonb_build_array", *self._typed(site.args, site.scope)), JSONB)

    _call_json_build_array = _call_jsonb_build_array

    def _call_to_jsonb(self, site: CallSite) -> Expr:
        return Expr(call("pg_to_jsonb", *self._typed(site.args, site.scope)), JSONB)

    _call_to_json = _call_to_jsonb

    def _call_jsonb_typeof(self, site: CallSite) -> Expr:
        return Expr(call("pg_jsonb_typeof", *self._args(site.args, site.scope, JSONB)), TEXT)

    _call_json_typeof = _call_jsonb_typeof

    def _call_jsonb_array_length(self, site: CallSite) -> Expr:
        return Expr(call("pg_jsonb_array_length", *self._args(site.args, site.scope, JSONB)), INT)

    _call_json_array_length = _call_jsonb_array_length

    def _path(self, function: str, kind: Kind, site: CallSite) -> Expr:
        document = self.expr(site.args[0], site.scope, JSONB)
        keys = []
        for key in site.args[1:]:
            if not (isinstance(key, ast.A_Const) and isinstance(key.val, ast.String)):
                raise unsupported("jsonb_extract_path() with keys that are not string literals")
            escaped = key.val.sval.replace("\\", "\\\\").replace('"', '\\"')
            keys.append(f'"{escaped}"')
        return Expr(call(function, document.sql, literal("{" + ",".join(keys) + "}")), kind)

    def _call_jsonb_extract_path(self, site: CallSite) -> Expr:
        return self._path("pg_json_path", JSONB, site)

    def _call_jsonb_extract_path_text(self, site: CallSite) -> Expr:
        return self._path("pg_json_path_text", TEXT, site)

    def _call_gen_random_uuid(self, site: CallSite) -> Expr:
        return Expr(f"({UUID_SQL})", UUID)


__all__ = ["CallPrinter"]
