"""Plugin migrations printed for SQLite: tables, indexes, column changes and backfills.

A namespace table ``<ns>.<t>`` becomes the SQLite table ``"<ns>.<t>"`` in the main file, so its
``REFERENCES public.issues(id) ON DELETE CASCADE`` is a real SQLite foreign key to the core
table. Columns are declared with PostgreSQL's type names (see ``kinds.DECLARED_TYPES``);
``varchar(n)`` gets a CHECK on its length. ``DEFAULT now()`` and ``DEFAULT gen_random_uuid()``
use the same SQL the core schema's defaults use. What SQLite cannot change in place (column
types, defaults and NOT NULL of existing columns, added constraints) is unsupported; indexes of
other methods than btree are skipped, because they only change PostgreSQL's speed.
"""

from __future__ import annotations

from collections.abc import Sequence

from pglast import ast, enums

from core.plugin_database.errors import unsupported
from core.plugin_database.kinds import (
    BOOL,
    DECLARED_TYPES,
    ROWID_FREE_INTEGER,
    TYPE_KINDS,
    UNKNOWN,
    Column,
    Kind,
)
from core.plugin_database.sqlite_printer.expressions import Scope, Source, name_parts, quote
from core.plugin_database.sqlite_printer.queries import QueryPrinter
from db.plugin_sql import sqlite_table_name

_C = enums.ConstrType
_AT = enums.AlterTableType
_OBJ = enums.ObjectType
_SERIAL = frozenset({"serial", "serial4", "bigserial", "serial8", "smallserial", "serial2"})
_ACTIONS = {"r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}
_ATTRIBUTES = {
    _C.CONSTR_ATTR_DEFERRABLE: "DEFERRABLE",
    _C.CONSTR_ATTR_NOT_DEFERRABLE: "NOT DEFERRABLE",
    _C.CONSTR_ATTR_DEFERRED: "INITIALLY DEFERRED",
    _C.CONSTR_ATTR_IMMEDIATE: "INITIALLY IMMEDIATE",
}
_ALTER_LABELS = {
    _AT.AT_ColumnDefault: "ALTER COLUMN ... SET/DROP DEFAULT",
    _AT.AT_SetNotNull: "ALTER COLUMN ... SET NOT NULL",
    _AT.AT_DropNotNull: "ALTER COLUMN ... DROP NOT NULL",
    _AT.AT_AddConstraint: "ADD CONSTRAINT",
    _AT.AT_DropConstraint: "DROP CONSTRAINT",
    _AT.AT_ValidateConstraint: "VALIDATE CONSTRAINT",
    _AT.AT_AlterColumnType: "ALTER COLUMN ... TYPE",
}


def _is_constant(node: ast.Node | None) -> bool:
    if isinstance(node, ast.TypeCast):
        return _is_constant(node.arg)
    return isinstance(node, ast.A_Const)


def _primary_key_columns(elements: Sequence[ast.Node]) -> frozenset[str]:
    """The columns of a CREATE TABLE's primary key, declared on the column or the table."""
    keys: set[str] = set()
    for element in elements:
        if isinstance(element, ast.ColumnDef):
            if any(c.contype == _C.CONSTR_PRIMARY for c in element.constraints or ()):
                keys.add(element.colname)
        elif isinstance(element, ast.Constraint) and element.contype == _C.CONSTR_PRIMARY:
            keys.update(name_parts(element.keys))
    return frozenset(keys)


class SqlitePrinter(QueryPrinter):
    """Prints any statement the policy accepts for SQLite."""

    def ddl(self, node: ast.Node) -> list[str]:
        """The SQLite statements for one migration statement (empty: nothing to do)."""
        match node:
            case ast.CreateStmt():
                return [self.create_table(node)]
            case ast.IndexStmt():
                return self.create_index(node)
            case ast.AlterTableStmt():
                return self.alter_table(node)
            case ast.RenameStmt():
                return self.rename(node)
            case ast.CommentStmt():
                return []  # SQLite keeps no comments; nothing reads them back
            case ast.InsertStmt():
                return [self.insert(node)]
            case ast.UpdateStmt():
                return [self.update(node)]
        raise unsupported(type(node).__name__.removesuffix("Stmt"))

    def _own(self, relation: ast.RangeVar) -> str:
        return quote(sqlite_table_name(self.catalog.namespace, relation.relname))

    # -- CREATE TABLE ------------------------------------------------------------------------

    def create_table(self, node: ast.CreateStmt) -> str:
        columns = tuple(
            Column(element.colname, self.column_kind(element))
            for element in node.tableElts or ()
            if isinstance(element, ast.ColumnDef)
        )
        scope = Scope(sources=[Source(None, columns)])
        keys = _primary_key_columns(node.tableElts or ())
        parts = []
        for element in node.tableElts or ():
            if isinstance(element, ast.ColumnDef):
                parts.append(self.column_definition(element, scope, element.colname in keys))
            elif isinstance(element, ast.Constraint):
                parts.append(self.table_constraint(element, scope))
            else:
                raise unsupported("CREATE TABLE ... LIKE")
        exists = "IF NOT EXISTS " if node.if_not_exists else ""
        return f"CREATE TABLE {exists}{self._own(node.relation)} ({', '.join(parts)})"

    def column_kind(self, node: ast.ColumnDef) -> Kind:
        return TYPE_KINDS.get(name_parts(node.typeName.names)[-1], UNKNOWN)

    def column_definition(
        self, node: ast.ColumnDef, scope: Scope, primary_key: bool = False
    ) -> str:
        """A column; a primary key column is NOT NULL, as in PostgreSQL (SQLite lets NULL
        into a primary key that is not its rowid, and fills in its rowid)."""
        type_name = name_parts(node.typeName.names)[-1]
        if node.typeName.arrayBounds:
            raise unsupported("array columns")
        declared = DECLARED_TYPES.get(type_name)
        if declared is None:
            raise unsupported(f"columns of type {type_name}")
        kind = TYPE_KINDS[type_name]
        constraints = list(node.constraints or ())
        parts = [quote(node.colname), declared]
        modifiers = [item.val.ival for item in node.typeName.typmods or () if hasattr(item, "val")]
        if node.typeName.typmods:
            if type_name != "varchar" or len(modifiers) != 1:
                raise unsupported(f"{type_name} with a precision or length")
            parts[1] = f"VARCHAR({modifiers[0]})"
        identity = any(c.contype == _C.CONSTR_IDENTITY for c in constraints)
        if type_name in _SERIAL or identity:
            if not any(c.contype == _C.CONSTR_PRIMARY for c in constraints):
                raise unsupported("serial or identity columns that are not the primary key")
            parts[1] = "INTEGER PRIMARY KEY AUTOINCREMENT"
            constraints = [
                c for c in constraints if c.contype not in (_C.CONSTR_PRIMARY, _C.CONSTR_IDENTITY)
            ]
        elif primary_key:
            if parts[1] == "INTEGER":
                # A bare INTEGER primary key would be the rowid, which takes no NULL but fills
                # one in (INSERT ... DEFAULT VALUES succeeds); INT has the same affinity.
                parts[1] = ROWID_FREE_INTEGER
            if not any(c.contype == _C.CONSTR_NOTNULL for c in constraints):
                parts.append("NOT NULL")
        previous: ast.Constraint | None = None
        for constraint in constraints:
            parts.append(self.column_constraint(constraint, node.colname, kind, scope, previous))
            previous = constraint
        if modifiers:
            parts.append(f"CHECK (length({quote(node.colname)}) <= {modifiers[0]})")
        return " ".join(parts)

    def column_constraint(
        self,
        node: ast.Constraint,
        column: str,
        kind: Kind,
        scope: Scope,
        previous: ast.Constraint | None,
    ) -> str:
        if node.contype in _ATTRIBUTES:
            if previous is None or previous.contype != _C.CONSTR_FOREIGN:
                raise unsupported("DEFERRABLE on constraints other than foreign keys")
            return _ATTRIBUTES[node.contype]
        name = f"CONSTRAINT {quote(node.conname)} " if node.conname else ""
        match node.contype:
            case _C.CONSTR_NOTNULL:
                return name + "NOT NULL"
            case _C.CONSTR_NULL:
                return name + "NULL"
            case _C.CONSTR_DEFAULT:
                return name + "DEFAULT (" + self.expr(node.raw_expr, scope, kind).sql + ")"
            case _C.CONSTR_CHECK:
                return name + f"CHECK ({self.expr(node.raw_expr, scope, BOOL).sql})"
            case _C.CONSTR_PRIMARY:
                return name + "PRIMARY KEY"
            case _C.CONSTR_UNIQUE:
                self._plain_unique(node)
                return name + "UNIQUE"
            case _C.CONSTR_FOREIGN:
                return name + self.references(node)
            case _C.CONSTR_GENERATED:
                return name + f"GENERATED ALWAYS AS ({self.expr(node.raw_expr, scope).sql}) STORED"
        raise unsupported(f"{node.contype.name.removeprefix('CONSTR_')} constraints on {column}")

    @staticmethod
    def _plain_unique(node: ast.Constraint) -> None:
        if node.nulls_not_distinct:
            raise unsupported("UNIQUE NULLS NOT DISTINCT")
        if node.deferrable or node.including:
            raise unsupported("deferrable or covering UNIQUE constraints")

    def references(self, node: ast.Constraint) -> str:
        if node.fk_matchtype not in ("s", "\x00"):
            raise unsupported("MATCH FULL and MATCH PARTIAL foreign keys")
        if node.fk_del_set_cols:
            raise unsupported("ON DELETE SET NULL (columns)")
        table = node.pktable
        sql = f"REFERENCES {quote(self.physical(table.schemaname, table.relname))}"
        if node.pk_attrs:
            sql += " (" + ", ".join(quote(name) for name in name_parts(node.pk_attrs)) + ")"
        for event, action in (("DELETE", node.fk_del_action), ("UPDATE", node.fk_upd_action)):
            if action in _ACTIONS:
                sql += f" ON {event} {_ACTIONS[action]}"
        if node.deferrable:
            sql += " DEFERRABLE" + (" INITIALLY DEFERRED" if node.initdeferred else "")
        return sql

    def table_constraint(self, node: ast.Constraint, scope: Scope) -> str:
        name = f"CONSTRAINT {quote(node.conname)} " if node.conname else ""
        keys = "(" + ", ".join(quote(key) for key in name_parts(node.keys)) + ")"
        match node.contype:
            case _C.CONSTR_PRIMARY:
                return name + "PRIMARY KEY " + keys
            case _C.CONSTR_UNIQUE:
                self._plain_unique(node)
                return name + "UNIQUE " + keys
            case _C.CONSTR_CHECK:
                return name + f"CHECK ({self.expr(node.raw_expr, scope, BOOL).sql})"
            case _C.CONSTR_FOREIGN:
                columns = ", ".join(quote(key) for key in name_parts(node.fk_attrs))
                return name + f"FOREIGN KEY ({columns}) " + self.references(node)
        raise unsupported(f"{node.contype.name.removeprefix('CONSTR_')} table constraints")

    # -- indexes -----------------------------------------------------------------------------

    def create_index(self, node: ast.IndexStmt) -> list[str]:
        if node.accessMethod != "btree":
            return []  # gin/gist/hash/brin only speed PostgreSQL up; SQLite scans instead
        if node.nulls_not_distinct:
            raise unsupported("UNIQUE NULLS NOT DISTINCT")
        table = node.relation.relname
        columns = self.catalog.columns(self.catalog.namespace, table) or ()
        scope = Scope(sources=[Source(None, columns)])
        elements, labels = [], []
        for element in node.indexParams:
            if element.name is not None:
                sql, label = quote(element.name), element.name
            else:
                sql, label = f"({self.expr(element.expr, scope).sql})", "expr"
            if element.ordering == enums.SortByDir.SORTBY_DESC:
                sql += " DESC"
            elements.append(sql)
            labels.append(label)
        name = node.idxname or "_".join([table, *labels, "idx"])[:63]
        unique = "UNIQUE " if node.unique else ""
        exists = "IF NOT EXISTS " if node.if_not_exists else ""
        index = quote(sqlite_table_name(self.catalog.namespace, name))
        sql = f"CREATE {unique}INDEX {exists}{index} ON {self._own(node.relation)} "
        sql += "(" + ", ".join(elements) + ")"
        if node.whereClause is not None:
            sql += " WHERE " + self.expr(node.whereClause, scope, BOOL).sql
        return [sql]

    # -- ALTER TABLE and renames -------------------------------------------------------------

    def alter_table(self, node: ast.AlterTableStmt) -> list[str]:
        table = node.relation.relname
        existing = self.catalog.columns(self.catalog.namespace, table)
        if existing is None and node.missing_ok:
            return []
        names = {column.name for column in existing or ()}
        statements = []
        for command in node.cmds:
            prefix = f"ALTER TABLE {self._own(node.relation)} "
            if command.subtype == _AT.AT_AddColumn:
                definition: ast.ColumnDef = command.def_
                if command.missing_ok and definition.colname in names:
                    continue
                self._check_added_column(definition)
                scope = Scope(sources=[Source(None, existing)])
                statements.append(
                    prefix + "ADD COLUMN " + self.column_definition(definition, scope)
                )
            elif command.subtype == _AT.AT_DropColumn:
                if command.missing_ok and command.name not in names:
                    continue
                statements.append(prefix + f"DROP COLUMN {quote(command.name)}")
            else:
                label = _ALTER_LABELS.get(command.subtype, command.subtype.name)
                raise unsupported(f"ALTER TABLE ... {label} (SQLite cannot change a column)")
        return statements

    @staticmethod
    def _check_added_column(node: ast.ColumnDef) -> None:
        kinds = {constraint.contype: constraint for constraint in node.constraints or ()}
        if _C.CONSTR_PRIMARY in kinds or _C.CONSTR_UNIQUE in kinds:
            raise unsupported("ADD COLUMN with PRIMARY KEY or UNIQUE")
        default = kinds.get(_C.CONSTR_DEFAULT)
        if default is not None and not _is_constant(default.raw_expr):
            raise unsupported("ADD COLUMN with a DEFAULT that is not a constant")
        if _C.CONSTR_NOTNULL in kinds and default is None:
            raise unsupported("ADD COLUMN ... NOT NULL without a DEFAULT")

    def rename(self, node: ast.RenameStmt) -> list[str]:
        table = node.relation.relname
        if self.catalog.columns(self.catalog.namespace, table) is None and node.missing_ok:
            return []
        prefix = f"ALTER TABLE {self._own(node.relation)} "
        if node.renameType == _OBJ.OBJECT_TABLE:
            new = quote(sqlite_table_name(self.catalog.namespace, node.newname))
            return [prefix + f"RENAME TO {new}"]
        if node.renameType == _OBJ.OBJECT_COLUMN:
            return [prefix + f"RENAME COLUMN {quote(node.subname)} TO {quote(node.newname)}"]
        raise unsupported("renaming indexes and constraints")


__all__ = ["SqlitePrinter"]
