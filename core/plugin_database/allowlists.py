"""What plugin SQL may call, cast to and declare: explicit lists, everything else is refused.

Functions are listed by name (optionally qualified with ``pg_catalog``). The list holds pure
functions over values and the aggregates and window functions plugins need; nothing that reads
files or settings, sleeps, takes locks, reaches other databases or inspects the catalog
(``pg_read_file``, ``pg_sleep``, ``set_config``, ``current_setting``, ``dblink``, ``lo_*``,
``pg_advisory_*``, ``query_to_xml``, ``nextval``, ``to_regclass``, ``version`` ... are absent).
"""

from __future__ import annotations

AGGREGATE_FUNCTIONS = frozenset(
    {
        "count",
        "sum",
        "avg",
        "min",
        "max",
        "bool_and",
        "bool_or",
        "every",
        "string_agg",
        "array_agg",
        "jsonb_agg",
        "json_agg",
        "jsonb_object_agg",
        "json_object_agg",
    }
)

WINDOW_FUNCTIONS = frozenset(
    {
        "row_number",
        "rank",
        "dense_rank",
        "percent_rank",
        "cume_dist",
        "ntile",
        "lag",
        "lead",
        "first_value",
        "last_value",
        "nth_value",
    }
)

SCALAR_FUNCTIONS = frozenset(
    {
        # text
        "lower",
        "upper",
        "length",
        "char_length",
        "character_length",
        "btrim",
        "ltrim",
        "rtrim",
        "substring",
        "substr",
        "replace",
        "concat",
        "concat_ws",
        "left",
        "right",
        "strpos",
        "position",
        "starts_with",
        "split_part",
        "reverse",
        "initcap",
        "md5",
        "like_escape",
        # numbers
        "abs",
        "round",
        "ceil",
        "ceiling",
        "floor",
        "trunc",
        "mod",
        "power",
        "sqrt",
        "sign",
        "random",
        # time
        "now",
        "transaction_timestamp",
        "statement_timestamp",
        "date_trunc",
        "date_part",
        "extract",
        "make_interval",
        "to_timestamp",
        "to_char",
        # JSON
        "jsonb_build_object",
        "json_build_object",
        "jsonb_build_array",
        "json_build_array",
        "to_jsonb",
        "to_json",
        "jsonb_typeof",
        "json_typeof",
        "jsonb_array_length",
        "json_array_length",
        "jsonb_extract_path",
        "jsonb_extract_path_text",
        "jsonb_set",
        "jsonb_strip_nulls",
        "jsonb_pretty",
        "jsonb_path_exists",
        "jsonb_path_query_first",
        # uuid and arrays
        "gen_random_uuid",
        "array_length",
        "cardinality",
        "array_position",
    }
)

#: Set-returning functions a plugin may use in FROM.
SET_RETURNING_FUNCTIONS = frozenset(
    {
        "jsonb_array_elements",
        "jsonb_array_elements_text",
        "jsonb_each",
        "jsonb_each_text",
        "jsonb_object_keys",
        "generate_series",
        "unnest",
    }
)

ALLOWED_FUNCTIONS = (
    AGGREGATE_FUNCTIONS | WINDOW_FUNCTIONS | SCALAR_FUNCTIONS | SET_RETURNING_FUNCTIONS
)

#: Types plugin SQL may cast to or declare columns with (names as the parser reports them).
ALLOWED_TYPES = frozenset(
    {
        "text",
        "varchar",
        "bpchar",
        "int2",
        "int4",
        "int8",
        "numeric",
        "float4",
        "float8",
        "bool",
        "uuid",
        "json",
        "jsonb",
        "timestamptz",
        "timestamp",
        "date",
        "time",
        "interval",
        "bytea",
        # column declarations only: PostgreSQL creates the sequence in the table's schema
        "serial",
        "serial4",
        "bigserial",
        "serial8",
        "smallserial",
        "serial2",
    }
)

#: Index methods a plugin migration may use.
ALLOWED_INDEX_METHODS = frozenset({"btree", "hash", "gin", "gist", "brin"})

#: Statement nodes and the SQL commands they are, for messages.
STATEMENT_NAMES = {
    "AlterObjectSchemaStmt": "ALTER ... SET SCHEMA",
    "AlterOwnerStmt": "ALTER ... OWNER TO",
    "AlterSeqStmt": "ALTER SEQUENCE",
    "AlterTableStmt": "ALTER TABLE",
    "CallStmt": "CALL",
    "CommentStmt": "COMMENT",
    "CompositeTypeStmt": "CREATE TYPE",
    "CopyStmt": "COPY",
    "CreateDomainStmt": "CREATE DOMAIN",
    "CreateEnumStmt": "CREATE TYPE",
    "CreateExtensionStmt": "CREATE EXTENSION",
    "CreateFunctionStmt": "CREATE FUNCTION",
    "CreatePolicyStmt": "CREATE POLICY",
    "CreateRoleStmt": "CREATE ROLE",
    "CreateSchemaStmt": "CREATE SCHEMA",
    "CreateSeqStmt": "CREATE SEQUENCE",
    "CreateStmt": "CREATE TABLE",
    "CreateTableAsStmt": "CREATE TABLE AS",
    "CreateTrigStmt": "CREATE TRIGGER",
    "DeleteStmt": "DELETE",
    "DoStmt": "DO",
    "DropStmt": "DROP",
    "ExplainStmt": "EXPLAIN",
    "GrantStmt": "GRANT/REVOKE",
    "GrantRoleStmt": "GRANT/REVOKE",
    "IndexStmt": "CREATE INDEX",
    "InsertStmt": "INSERT",
    "ListenStmt": "LISTEN",
    "LockStmt": "LOCK",
    "MergeStmt": "MERGE",
    "NotifyStmt": "NOTIFY",
    "RefreshMatViewStmt": "REFRESH MATERIALIZED VIEW",
    "RenameStmt": "ALTER ... RENAME",
    "RuleStmt": "CREATE RULE",
    "SelectStmt": "SELECT",
    "TransactionStmt": "transaction control",
    "TruncateStmt": "TRUNCATE",
    "UpdateStmt": "UPDATE",
    "VacuumStmt": "VACUUM",
    "VariableSetStmt": "SET",
    "VariableShowStmt": "SHOW",
    "ViewStmt": "CREATE VIEW",
}


def statement_name(node_name: str) -> str:
    """The SQL command a statement node stands for."""
    return STATEMENT_NAMES.get(node_name, node_name)


__all__ = [
    "AGGREGATE_FUNCTIONS",
    "ALLOWED_FUNCTIONS",
    "ALLOWED_INDEX_METHODS",
    "ALLOWED_TYPES",
    "SCALAR_FUNCTIONS",
    "SET_RETURNING_FUNCTIONS",
    "STATEMENT_NAMES",
    "WINDOW_FUNCTIONS",
    "statement_name",
]
