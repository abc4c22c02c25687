"""The plugin SQL policy, decided on PostgreSQL's own grammar.

Each statement is parsed with pglast (PostgreSQL's parser), so what is checked is exactly what
PostgreSQL runs: dollar quotes, ``E''`` strings and comments cannot hide a second statement or
a table. Upstream's text rules run first (``upstream_rules``), so everything upstream refuses is
refused with upstream's message; the walk below then refuses what upstream lets through:

- every table must be qualified with the plugin's namespace, or be a whitelisted ``public`` core
  table, except names of CTEs in scope; system catalogs and other schemas are refused;
- ``ctx.db.query``: one SELECT, no ``SELECT INTO``, no row-locking clause, no data-modifying CTE;
- ``ctx.db.execute``: one INSERT, UPDATE or DELETE whose target and every other table lie in the
  namespace (no core table at all, read or written);
- migrations: an allowlist of DDL (and namespace backfills) whose every object, reference and
  destination lies in the namespace, or is a read of (or REFERENCES to) a whitelisted core table;
- everywhere: functions, types and expression forms from explicit allowlists only.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

import pglast
from pglast import ast, enums

from core.errors import HostError
from core.plugin_database import upstream_rules
from core.plugin_database.allowlists import (
    ALLOWED_FUNCTIONS,
    ALLOWED_INDEX_METHODS,
    ALLOWED_TYPES,
    statement_name,
)
from core.plugin_database.errors import PluginSqlInvalid, PluginSqlRejected
from core.plugin_database.statement_place import StatementPlace, with_place


class Mode(enum.StrEnum):
    """Which door the SQL came through."""

    QUERY = "query"
    EXECUTE = "execute"
    MIGRATION = "migration"


@dataclass(frozen=True, eq=False)
class CheckedStatement:
    """One statement the policy accepted."""

    mode: Mode
    #: The statement's text as the plugin wrote it (what PostgreSQL runs).
    text: str
    #: The parsed statement.
    node: ast.Node
    #: The ``$n`` numbers in order of appearance (repeats included).
    placeholders: tuple[int, ...]
    #: Declares a foreign key to a core table (migrations; see ``references_core``).
    references_core: bool = False
    #: Where a migration statement sits in its file (None at runtime).
    place: StatementPlace | None = None


#: How a statement uses a table.
Use = Literal["read", "reference", "write"]

_EXACTLY_ONE = "Plugin runtime SQL must contain exactly one statement"
_AT_INDEX = re.compile(r", at index \d+$")

#: Expression and clause nodes that are safe in themselves; their children are checked.
_STRUCTURAL = frozenset(
    {
        "A_ArrayExpr",
        "A_Const",
        "A_Expr",
        "A_Indices",
        "A_Indirection",
        "A_Star",
        "Alias",
        "BitString",
        "BoolExpr",
        "Boolean",
        "BooleanTest",
        "CTECycleClause",
        "CTESearchClause",
        "CaseExpr",
        "CaseWhen",
        "CoalesceExpr",
        "ColumnRef",
        "Float",
        "GroupingSet",
        "IndexElem",
        "InferClause",
        "Integer",
        "JoinExpr",
        "MinMaxExpr",
        "MultiAssignRef",
        "NamedArgExpr",
        "NullTest",
        "OnConflictClause",
        "RangeFunction",
        "RangeSubselect",
        "ResTarget",
        "ReturningClause",
        "ReturningOption",
        "RowExpr",
        "SetToDefault",
        "SortBy",
        "String",
        "WindowDef",
    }
)

#: How refused nodes read in messages.
_CONSTRUCTS = {
    "CollateClause": "COLLATE",
    "IntoClause": "SELECT INTO",
    "LockingClause": "row-locking clauses (FOR UPDATE/FOR SHARE)",
    "RangeTableFunc": "XMLTABLE",
    "RangeTableSample": "TABLESAMPLE",
    "XmlExpr": "XML functions",
    "XmlSerialize": "XMLSERIALIZE",
}

_USER_FUNCTIONS = {
    enums.SQLValueFunctionOp.SVFOP_CURRENT_ROLE: "CURRENT_ROLE",
    enums.SQLValueFunctionOp.SVFOP_CURRENT_USER: "CURRENT_USER",
    enums.SQLValueFunctionOp.SVFOP_USER: "USER",
    enums.SQLValueFunctionOp.SVFOP_SESSION_USER: "SESSION_USER",
    enums.SQLValueFunctionOp.SVFOP_CURRENT_CATALOG: "CURRENT_CATALOG",
    enums.SQLValueFunctionOp.SVFOP_CURRENT_SCHEMA: "CURRENT_SCHEMA",
}

_AT = enums.AlterTableType
_ALTER_TABLE_COMMANDS = frozenset(
    {
        _AT.AT_AddColumn,
        _AT.AT_ColumnDefault,
        _AT.AT_DropNotNull,
        _AT.AT_SetNotNull,
        _AT.AT_DropColumn,
        _AT.AT_AddConstraint,
        _AT.AT_DropConstraint,
        _AT.AT_ValidateConstraint,
        _AT.AT_AlterColumnType,
    }
)
_ALTER_TABLE_NAMES = {
    _AT.AT_ChangeOwner: "OWNER TO",
    _AT.AT_SetTableSpace: "SET TABLESPACE",
    _AT.AT_SetLogged: "SET LOGGED",
    _AT.AT_SetUnLogged: "SET UNLOGGED",
    _AT.AT_AddInherit: "INHERIT",
    _AT.AT_EnableRowSecurity: "ENABLE ROW LEVEL SECURITY",
    _AT.AT_DisableRowSecurity: "DISABLE ROW LEVEL SECURITY",
    _AT.AT_AttachPartition: "ATTACH PARTITION",
    _AT.AT_DetachPartition: "DETACH PARTITION",
    _AT.AT_ReplicaIdentity: "REPLICA IDENTITY",
    _AT.AT_SetRelOptions: "SET (...)",
}
_OBJ = enums.ObjectType
_RENAMABLE = frozenset(
    {_OBJ.OBJECT_TABLE, _OBJ.OBJECT_COLUMN, _OBJ.OBJECT_INDEX, _OBJ.OBJECT_TABCONSTRAINT}
)
_COMMENTABLE = frozenset({_OBJ.OBJECT_TABLE, _OBJ.OBJECT_COLUMN, _OBJ.OBJECT_INDEX})


#: PostgreSQL's message for a statement nested deeper than its stack allows.
TOO_DEEP_MESSAGE = "stack depth limit exceeded"


def parse(sql: str) -> tuple[ast.RawStmt, ...]:
    """Parse with PostgreSQL's grammar; a syntax error carries PostgreSQL's message (and the
    character offset it reports, as ``details["position"]``).

    pglast builds its Python tree recursively in C with no depth check: ``SELECT 1 + 1 + ...``
    with 30,000 terms (120 KB) overflows the C stack and kills the process. Its protobuf
    serialiser does check depth (it refuses at about 4,000 levels) and costs a tenth of the
    tree build, so it runs first.
    """
    try:
        pglast.parser.parse_sql_protobuf(sql)
    except pglast.parser.ParseError as error:
        if "nested too deeply" in str(error):
            raise PluginSqlInvalid(TOO_DEEP_MESSAGE) from None
        message, position = error.args if len(error.args) == 2 else (str(error), None)
        details = {"position": position} if isinstance(position, int) else None
        raise PluginSqlInvalid(_AT_INDEX.sub("", str(message)), details=details) from None
    return pglast.parse_sql(sql)


def statement_text(sql: str, raw: ast.RawStmt) -> str:
    """The text of one parsed statement (a length of 0 means "to the end")."""
    start = raw.stmt_location or 0
    end = start + raw.stmt_len if raw.stmt_len else len(sql)
    return sql[start:end].strip()


#: PostgreSQL's message for a NUL character in text.
NUL_MESSAGE = 'invalid byte sequence for encoding "UTF8": 0x00'


def _refuse_nul(sql: str) -> None:
    # PostgreSQL's parser (and pglast's) reads C strings: text after a NUL would go unchecked.
    if "\x00" in sql:
        raise PluginSqlInvalid(NUL_MESSAGE)


def check_runtime(
    sql: str, mode: Mode, namespace: str, core_read_tables: Collection[str]
) -> CheckedStatement:
    """Accept one ``ctx.db.query`` or ``ctx.db.execute`` statement, or raise why not."""
    _refuse_nul(sql)
    if mode is Mode.QUERY:
        upstream_rules.check_query(sql, namespace, core_read_tables)
    else:
        upstream_rules.check_execute(sql, namespace)
    statements = parse(sql)
    if len(statements) != 1:
        raise PluginSqlRejected(_EXACTLY_ONE)
    walker = _Walker(mode, namespace, frozenset(core_read_tables))
    _walk(walker, statements[0].stmt)
    return CheckedStatement(mode, sql, statements[0].stmt, walker.placeholders())


def check_migration(
    content: str,
    migration_key: str,
    namespace: str,
    core_read_tables: Collection[str],
    *,
    max_statements: int | None = None,
) -> list[CheckedStatement]:
    """Accept every statement of a migration file, or raise for the first refused one.

    A refused statement's error keeps upstream's message and carries the statement's place
    (``statement_place.with_place``); each accepted statement carries its own. ``max_statements``
    is counted on upstream's split, before anything is parsed; the caller words the error
    (``TooManyStatements``) with the setting that changes it.
    """
    _refuse_nul(content)
    spans = upstream_rules.statement_spans(content)
    if not spans:
        raise PluginSqlInvalid(f"Plugin migration {migration_key} is empty")
    if max_statements is not None and len(spans) > max_statements:
        raise TooManyStatements(len(spans))
    for ordinal, (offset, piece) in enumerate(spans, 1):
        try:
            upstream_rules.check_migration_statement(piece, namespace, core_read_tables)
        except HostError as error:
            place = StatementPlace.at(content, ordinal, offset, piece)
            raise with_place(error, place) from None
    try:
        statements = parse(content)
    except PluginSqlInvalid as error:
        raise with_place(error, _syntax_error_place(content, spans, error)) from None
    checked = []
    tables = frozenset(core_read_tables)
    for ordinal, raw in enumerate(statements, 1):
        text = statement_text(content, raw)
        place = StatementPlace.at(content, ordinal, raw.stmt_location or 0, text)
        walker = _Walker(Mode.MIGRATION, namespace, tables)
        try:
            _walk(walker, raw.stmt)
            if walker.placeholders():
                raise PluginSqlRejected("Plugin migrations cannot use $n placeholders")
        except HostError as error:
            raise with_place(error, place) from None
        checked.append(
            CheckedStatement(
                Mode.MIGRATION, text, raw.stmt, (), walker.references_core, place=place
            )
        )
    return checked


def _syntax_error_place(
    content: str, spans: Sequence[tuple[int, str]], error: PluginSqlInvalid
) -> StatementPlace:
    """The statement (on upstream's split) holding the parser's error position, at its line."""
    position = error.details.get("position")
    index = 0
    if isinstance(position, int):
        index = max((i for i, (offset, _) in enumerate(spans) if offset <= position), default=0)
    offset, piece = spans[index]
    return StatementPlace.at(content, index + 1, offset, piece, error_offset=position)


class TooManyStatements(Exception):
    """A migration file holds more statements than allowed (``count`` of them)."""

    def __init__(self, count: int) -> None:
        super().__init__(f"{count} statements")
        self.count = count


def _walk(walker: _Walker, statement: ast.Node) -> None:
    # The walk recurses once per level of the tree; Python's recursion limit comes before the
    # parser's depth check (above) does.
    try:
        walker.statement(statement)
    except RecursionError:
        raise PluginSqlInvalid(TOO_DEEP_MESSAGE) from None


def check_parameters(placeholders: Sequence[int], count: int) -> None:
    """Upstream's binding rules: every ``$n`` has a parameter and every parameter a ``$n``."""
    for number in placeholders:
        if not 1 <= number <= count:
            raise PluginSqlInvalid(f"SQL placeholder ${number} has no matching parameter")
    if set(placeholders) != set(range(1, count + 1)):
        raise PluginSqlInvalid("Every ctx.db parameter must be referenced by a $n placeholder")


def _children(node: ast.Node) -> Iterator[ast.Node]:
    for name in node.__slots__:
        yield from _flatten(getattr(node, name))


def _flatten(value: object) -> Iterator[ast.Node]:
    if isinstance(value, ast.Node):
        yield value
    elif isinstance(value, tuple | list):
        for item in value:
            yield from _flatten(item)


def _names(strings: Sequence[ast.Node] | None) -> list[str]:
    return [getattr(item, "sval", "") for item in strings or ()]


class _Walker:
    """Walks one statement and raises ``PluginSqlRejected`` at the first refused part."""

    def __init__(self, mode: Mode, namespace: str, core_read_tables: frozenset[str]) -> None:
        self.mode = mode
        self.namespace = namespace
        self.core_read_tables = core_read_tables
        self._placeholders: list[tuple[int, int]] = []
        #: A foreign key to a core table: PostgreSQL locks that table against writes for it.
        self.references_core = False

    def placeholders(self) -> tuple[int, ...]:
        return tuple(number for _, number in sorted(self._placeholders))

    # -- statements --------------------------------------------------------------------------

    def statement(self, node: ast.Node) -> None:
        name = type(node).__name__
        match self.mode:
            case Mode.QUERY:
                if not isinstance(node, ast.SelectStmt):
                    raise PluginSqlRejected("ctx.db.query only allows SELECT statements")
                self.select(node, frozenset())
            case Mode.EXECUTE:
                if not isinstance(node, ast.InsertStmt | ast.UpdateStmt | ast.DeleteStmt):
                    raise PluginSqlRejected("ctx.db.execute only allows INSERT, UPDATE, or DELETE")
                self.modify(node, frozenset())
            case Mode.MIGRATION:
                handler = getattr(self, f"_migrate_{name}", None)
                if isinstance(node, ast.DropStmt | ast.TruncateStmt):
                    raise PluginSqlRejected(
                        "Destructive plugin migrations are not allowed in Phase 1"
                    )
                if isinstance(node, ast.DeleteStmt):
                    raise PluginSqlRejected("Plugin migrations cannot delete data")
                if handler is None:
                    raise PluginSqlRejected(f"Plugin migrations cannot use {statement_name(name)}")
                handler(node)

    def select(self, node: ast.SelectStmt, scope: frozenset[str]) -> None:
        if node.intoClause is not None:
            raise PluginSqlRejected("Plugin SQL cannot use SELECT INTO")
        if node.lockingClause:
            raise PluginSqlRejected(
                "Plugin SQL cannot use row-locking clauses (FOR UPDATE/FOR SHARE)"
            )
        scope = self.with_clause(node.withClause, scope)
        for part in (
            node.targetList,
            node.fromClause,
            node.whereClause,
            node.groupClause,
            node.havingClause,
            node.windowClause,
            node.valuesLists,
            node.sortClause,
            node.limitOffset,
            node.limitCount,
            node.distinctClause,
        ):
            self.walk(part, scope)
        for branch in (node.larg, node.rarg):
            if branch is not None:
                self.select(branch, scope)

    def with_clause(self, clause: ast.WithClause | None, scope: frozenset[str]) -> frozenset[str]:
        """Check the CTEs and return the names visible after them."""
        if clause is None:
            return scope
        names = [cte.ctename for cte in clause.ctes]
        if clause.recursive:
            visible = scope | frozenset(names)
            for cte in clause.ctes:
                self.cte(cte, visible)
            return visible
        visible = scope
        for cte in clause.ctes:  # a plain CTE sees only the ones before it
            self.cte(cte, visible)
            visible = visible | {cte.ctename}
        return visible

    def cte(self, cte: ast.CommonTableExpr, scope: frozenset[str]) -> None:
        query = cte.ctequery
        if isinstance(query, ast.SelectStmt):
            self.select(query, scope)
        elif self.mode is Mode.QUERY:
            raise PluginSqlRejected("ctx.db.query cannot contain data-modifying CTEs")
        else:
            self.modify(query, scope)
        self.walk((cte.search_clause, cte.cycle_clause), scope)

    def modify(
        self, node: ast.InsertStmt | ast.UpdateStmt | ast.DeleteStmt, scope: frozenset[str]
    ) -> None:
        if not isinstance(node, ast.InsertStmt | ast.UpdateStmt | ast.DeleteStmt):
            raise PluginSqlRejected(f"Plugin SQL cannot use {statement_name(type(node).__name__)}")
        scope = self.with_clause(node.withClause, scope)
        self.relation(node.relation, "write", scope)
        if isinstance(node, ast.InsertStmt):
            self.walk(node.cols, scope)
            if node.selectStmt is not None:
                self.select(node.selectStmt, scope)
            self.walk(node.onConflictClause, scope)
        elif isinstance(node, ast.UpdateStmt):
            self.walk((node.targetList, node.fromClause, node.whereClause), scope)
        else:
            self.walk((node.usingClause, node.whereClause), scope)
        self.walk(node.returningClause, scope)

    # -- tables ------------------------------------------------------------------------------

    def relation(self, node: ast.RangeVar, use: Use, scope: frozenset[str]) -> None:
        schema, table = node.schemaname, node.relname
        if node.catalogname:
            raise PluginSqlRejected(
                f'Plugin SQL cannot name a database in "{node.catalogname}.{schema}.{table}"'
            )
        if schema is None and use == "read" and table in scope:
            return  # a CTE
        self.table(schema, table, use)

    def table(self, schema: str | None, table: str, use: Use) -> None:
        """Check one (schema, table) reference; ``schema`` None is an unqualified name."""
        if schema == self.namespace:
            return
        if self.mode is Mode.EXECUTE:
            if use == "write":
                raise PluginSqlRejected(
                    f'ctx.db.execute target must be inside plugin namespace "{self.namespace}"'
                )
            if schema is not None:
                raise PluginSqlRejected(
                    "ctx.db.execute cannot reference public or other non-plugin schemas"
                )
        if schema is None:
            raise PluginSqlRejected(
                f'Plugin SQL table "{table}" must be schema-qualified with the plugin namespace '
                "or public"
            )
        if schema == "public":
            if table not in self.core_read_tables:
                raise PluginSqlRejected(
                    f"Plugin SQL references public.{table}, which is not whitelisted"
                )
            if use == "write":
                raise PluginSqlRejected(
                    f"Plugin SQL cannot mutate or define objects in public.{table}"
                )
            self.references_core = self.references_core or use == "reference"
            return
        if self.mode is Mode.QUERY:
            raise PluginSqlRejected(f'ctx.db.query cannot read schema "{schema}"')
        raise PluginSqlRejected(
            f'Plugin SQL references schema "{schema}" outside namespace "{self.namespace}"'
        )

    # -- expressions -------------------------------------------------------------------------

    def walk(self, value: object, scope: frozenset[str]) -> None:
        for node in _flatten(value):
            self.node(node, scope)

    def node(self, node: ast.Node, scope: frozenset[str]) -> None:
        name = type(node).__name__
        match node:
            case ast.RangeVar():
                self.relation(node, "read", scope)
            case ast.SelectStmt():
                self.select(node, scope)
            case ast.SubLink():
                self.walk(node.testexpr, scope)
                self.select(node.subselect, scope)
            case ast.FuncCall():
                self.function(node.funcname)
                self.walk((node.args, node.agg_order, node.agg_filter, node.over), scope)
            case ast.TypeCast():
                self.type_name(node.typeName)
                self.walk(node.arg, scope)
            case ast.TypeName():
                self.type_name(node)
            case ast.ColumnDef():
                self.column(node, scope)
            case ast.ParamRef():
                self._placeholders.append((node.location or 0, node.number))
            case ast.SQLValueFunction():
                if node.op in _USER_FUNCTIONS:
                    raise PluginSqlRejected(f"Plugin SQL cannot read {_USER_FUNCTIONS[node.op]}")
            case ast.A_Expr():
                operator = _names(node.name)
                if len(operator) > 1 and operator[0] != "pg_catalog":
                    raise PluginSqlRejected(
                        f'Plugin SQL cannot use operator "{".".join(operator)}"'
                    )
                self.walk((node.lexpr, node.rexpr), scope)
            case _ if name in _STRUCTURAL:
                for child in _children(node):
                    self.node(child, scope)
            case _:
                construct = _CONSTRUCTS.get(name, statement_name(name))
                raise PluginSqlRejected(f"Plugin SQL cannot use {construct}")

    def function(self, funcname: Sequence[ast.Node]) -> None:
        names = _names(funcname)
        qualified = ".".join(names)
        if len(names) == 2 and names[0] == "pg_catalog":
            names = names[1:]
        if len(names) != 1 or names[0] not in ALLOWED_FUNCTIONS:
            raise PluginSqlRejected(f'Plugin SQL cannot call function "{qualified}"')

    def type_name(self, node: ast.TypeName) -> None:
        names = _names(node.names)
        qualified = ".".join(names)
        if len(names) == 2 and names[0] == "pg_catalog":
            names = names[1:]
        if node.setof or node.pct_type or len(names) != 1 or names[0] not in ALLOWED_TYPES:
            raise PluginSqlRejected(f'Plugin SQL cannot use type "{qualified}"')

    # -- migrations --------------------------------------------------------------------------

    def column(self, node: ast.ColumnDef, scope: frozenset[str]) -> None:
        if node.collClause is not None:
            raise PluginSqlRejected("Plugin SQL cannot use COLLATE")
        if node.compression or node.fdwoptions:
            raise PluginSqlRejected("Plugin migrations cannot set column storage options")
        if node.typeName is not None:
            self.type_name(node.typeName)
        self.walk(node.raw_default, scope)
        for constraint in node.constraints or ():
            self.constraint(constraint)

    def constraint(self, node: ast.Constraint) -> None:
        kind = enums.ConstrType
        if node.contype == kind.CONSTR_EXCLUSION:
            raise PluginSqlRejected("Plugin migrations cannot use EXCLUDE constraints")
        if node.contype == kind.CONSTR_IDENTITY and node.options:
            raise PluginSqlRejected("Plugin migrations cannot set identity sequence options")
        if node.options or node.indexspace or node.indexname:
            raise PluginSqlRejected("Plugin migrations cannot set constraint index options")
        if node.contype == kind.CONSTR_FOREIGN:
            self.relation(node.pktable, "reference", frozenset())
        self.walk((node.raw_expr, node.where_clause), frozenset())

    def _migrate_CreateStmt(self, node: ast.CreateStmt) -> None:
        self.relation(node.relation, "write", frozenset())
        if node.relation.relpersistence != "p":
            raise PluginSqlRejected("Plugin migrations cannot create temporary or unlogged tables")
        for clause, label in (
            (node.inhRelations, "INHERITS"),
            (node.partbound, "PARTITION OF"),
            (node.partspec, "PARTITION BY"),
            (node.ofTypename, "OF type"),
            (node.options, "WITH (...)"),
            (node.tablespacename, "TABLESPACE"),
            (node.accessMethod, "USING"),
        ):
            if clause:
                raise PluginSqlRejected(f"Plugin migrations cannot use CREATE TABLE ... {label}")
        for element in (*(node.tableElts or ()), *(node.constraints or ())):
            if isinstance(element, ast.ColumnDef):
                self.column(element, frozenset())
            elif isinstance(element, ast.Constraint):
                self.constraint(element)
            elif isinstance(element, ast.TableLikeClause):
                if element.relation.schemaname != self.namespace:
                    raise PluginSqlRejected(
                        "Plugin migrations may copy table definitions (LIKE) only from the "
                        "plugin namespace"
                    )
            else:
                self.node(element, frozenset())

    def _migrate_IndexStmt(self, node: ast.IndexStmt) -> None:
        self.relation(node.relation, "write", frozenset())
        if node.concurrent:
            raise PluginSqlRejected(
                "Plugin migrations run in one transaction and cannot use CREATE INDEX CONCURRENTLY"
            )
        if node.accessMethod not in ALLOWED_INDEX_METHODS:
            raise PluginSqlRejected(
                f'Plugin migrations cannot use index method "{node.accessMethod}"'
            )
        if node.options or node.tableSpace:
            raise PluginSqlRejected("Plugin migrations cannot set index storage options")
        for element in (*(node.indexParams or ()), *(node.indexIncludingParams or ())):
            if element.collation or element.opclassopts:
                raise PluginSqlRejected("Plugin migrations cannot set index collations or options")
            opclass = _names(element.opclass)
            if len(opclass) > 1 and opclass[0] != "pg_catalog":
                raise PluginSqlRejected(
                    f'Plugin migrations cannot use operator class "{".".join(opclass)}"'
                )
            self.walk(element.expr, frozenset())
        self.walk(node.whereClause, frozenset())

    def _migrate_AlterTableStmt(self, node: ast.AlterTableStmt) -> None:
        if node.objtype != _OBJ.OBJECT_TABLE:
            kind = node.objtype.name.removeprefix("OBJECT_").replace("_", " ")
            raise PluginSqlRejected(f"Plugin migrations cannot use ALTER {kind}")
        self.relation(node.relation, "write", frozenset())
        for command in node.cmds:
            if command.subtype not in _ALTER_TABLE_COMMANDS:
                label = _ALTER_TABLE_NAMES.get(
                    command.subtype, command.subtype.name.removeprefix("AT_")
                )
                raise PluginSqlRejected(f"Plugin migrations cannot use ALTER TABLE ... {label}")
            definition = command.def_
            if isinstance(definition, ast.ColumnDef):
                self.column(definition, frozenset())
            elif isinstance(definition, ast.Constraint):
                self.constraint(definition)
            else:
                self.walk(definition, frozenset())

    def _migrate_RenameStmt(self, node: ast.RenameStmt) -> None:
        if node.renameType not in _RENAMABLE or node.relation is None:
            raise PluginSqlRejected("Plugin migrations can rename only tables, columns and indexes")
        self.relation(node.relation, "write", frozenset())

    def _migrate_CommentStmt(self, node: ast.CommentStmt) -> None:
        if node.objtype not in _COMMENTABLE:
            raise PluginSqlRejected(
                "Plugin migrations can comment only on tables, columns and indexes"
            )
        names = _names(node.object if isinstance(node.object, tuple) else (node.object,))
        if node.objtype == _OBJ.OBJECT_COLUMN:
            names = names[:-1]
        schema, table = (names[0], names[1]) if len(names) == 2 else (None, names[-1])
        self.table(schema, table, "write")

    def _migrate_ViewStmt(self, node: ast.ViewStmt) -> None:
        self.relation(node.view, "write", frozenset())
        if node.view.relpersistence != "p" or node.options:
            raise PluginSqlRejected(
                "Plugin migrations cannot create temporary views or set view options"
            )
        self.select(node.query, frozenset())

    def _migrate_CreateTableAsStmt(self, node: ast.CreateTableAsStmt) -> None:
        if node.objtype != _OBJ.OBJECT_TABLE:
            raise PluginSqlRejected("Plugin migrations cannot use CREATE MATERIALIZED VIEW")
        into = node.into
        self.relation(into.rel, "write", frozenset())
        if (
            into.rel.relpersistence != "p"
            or into.options
            or into.tableSpaceName
            or into.accessMethod
        ):
            raise PluginSqlRejected(
                "Plugin migrations cannot create temporary tables or set table options"
            )
        self.select(node.query, frozenset())

    def _migrate_InsertStmt(self, node: ast.InsertStmt) -> None:
        self.modify(node, frozenset())

    def _migrate_UpdateStmt(self, node: ast.UpdateStmt) -> None:
        self.modify(node, frozenset())


__all__ = [
    "TOO_DEEP_MESSAGE",
    "CheckedStatement",
    "Mode",
    "TooManyStatements",
    "check_migration",
    "check_parameters",
    "check_runtime",
    "parse",
    "statement_text",
]
