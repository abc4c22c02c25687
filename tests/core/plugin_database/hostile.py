"""The hostile corpus: statements a plugin must not get through, with the error each gets.

Every bypass of upstream's validator listed in reference §14 is here (``weakness`` names it),
with variants, next to statements upstream already refuses (which must keep upstream's message).
The plugin whitelists only ``issues``; ``NS`` is its namespace, whose migrations (see
``corpus.MIGRATIONS``) created ``tasks`` and ``events``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from core.errors import HostError
from core.plugin_database import PluginSqlInvalid, PluginSqlRejected
from tests.core.plugin_database.corpus import NS


@dataclass(frozen=True)
class Hostile:
    """A refused statement and the exact error it must raise."""

    mode: Literal["query", "execute", "migration"]
    sql: str
    message: str
    error: type[HostError] = PluginSqlRejected
    params: list[Any] = field(default_factory=list)
    #: The reference §14 item this covers, when it is one.
    weakness: str = ""


def _unqualified(table: str) -> str:
    return (
        f'Plugin SQL table "{table}" must be schema-qualified with the plugin namespace or public'
    )


def _function(name: str) -> str:
    return f'Plugin SQL cannot call function "{name}"'


def _not_whitelisted(table: str) -> str:
    return f"Plugin SQL references public.{table}, which is not whitelisted"


ONE_STATEMENT = "Plugin runtime SQL must contain exactly one statement"
LOCKING = "Plugin SQL cannot use row-locking clauses (FOR UPDATE/FOR SHARE)"
TARGET = f'ctx.db.execute target must be inside plugin namespace "{NS}"'
NO_PUBLIC = "ctx.db.execute cannot reference public or other non-plugin schemas"
QUALIFIED = (
    "Plugin migration objects must use fully qualified schema names "
    f"(this plugin's namespace is {NS}: write {NS}.<table>)"
)
DESTRUCTIVE = "Destructive plugin migrations are not allowed in Phase 1"
ONLY_SELECT = "ctx.db.query only allows SELECT statements"
ONLY_DML = "ctx.db.execute only allows INSERT, UPDATE, or DELETE"
BANNED = "Plugin SQL contains a disallowed statement or clause: "

QUERIES = [
    Hostile("query", "SELECT name FROM agents", _unqualified("agents"), weakness="Q1"),
    Hostile(
        "query",
        f"SELECT * FROM {NS}.tasks WHERE id IN (SELECT id FROM agents)",
        _unqualified("agents"),
        weakness="Q2",
    ),
    Hostile(
        "query",
        "SELECT (SELECT count(*) FROM cost_events)",
        _unqualified("cost_events"),
        weakness="Q2",
    ),
    Hostile(
        "query",
        f"SELECT a.name FROM {NS}.tasks r, public.agents a",
        _not_whitelisted("agents"),
        weakness="Q3",
    ),
    Hostile("query", "SELECT * FROM/**/public.agents", _not_whitelisted("agents"), weakness="Q4"),
    Hostile("query", "SELECT name FROM public . agents", _not_whitelisted("agents"), weakness="Q4"),
    Hostile("query", "SELECT count(*) FROM pg_authid", _unqualified("pg_authid"), weakness="Q5"),
    Hostile(
        "query", "SELECT usename, passwd FROM pg_shadow", _unqualified("pg_shadow"), weakness="Q5"
    ),
    Hostile(
        "query",
        "SELECT * FROM pg_catalog.pg_authid",
        'ctx.db.query cannot read schema "pg_catalog"',
    ),
    Hostile(
        "query",
        "SELECT * FROM information_schema.tables",
        'ctx.db.query cannot read schema "information_schema"',
    ),
    Hostile("query", "SELECT pg_read_file('PG_VERSION')", _function("pg_read_file"), weakness="Q6"),
    Hostile("query", "SELECT lo_import('/etc/passwd')", _function("lo_import"), weakness="Q6"),
    Hostile("query", "SELECT pg_sleep(60)", _function("pg_sleep"), weakness="Q7"),
    Hostile(
        "query",
        "SELECT set_config('statement_timeout', '1', false)",
        _function("set_config"),
        weakness="Q8",
    ),
    Hostile(
        "query",
        "SELECT set_config('search_path', 'public', false)",
        _function("set_config"),
        weakness="Q8",
    ),
    Hostile("query", "SELECT pg_advisory_lock(1)", _function("pg_advisory_lock"), weakness="Q9"),
    Hostile(
        "query",
        f"SELECT pg_terminate_backend(points) FROM {NS}.tasks",
        _function("pg_terminate_backend"),
        weakness="Q9",
    ),
    Hostile(
        "query",
        "SELECT 1 AS x INTO evil_table",
        "Plugin SQL cannot use SELECT INTO",
        weakness="Q10",
    ),
    Hostile(
        "query",
        "SELECT pg_sleep(30) AS s FROM (SELECT id FROM issues FOR SHARE) sub",
        _function("pg_sleep"),
        weakness="Q11",
    ),
    Hostile(
        "query",
        "SELECT s.id FROM (SELECT id FROM public.issues FOR SHARE) s",
        LOCKING,
        weakness="Q11",
    ),
    Hostile("query", f"SELECT id FROM {NS}.tasks FOR KEY SHARE", LOCKING),
    Hostile(
        "query",
        "SELECT $a$'$a$ AS a; UPDATE issues SET title = 'x'; SELECT $b$'$b$ AS b",
        ONE_STATEMENT,
        weakness="Q12",
    ),
    Hostile(
        "query",
        "SELECT E'\\'' AS a; UPDATE issues SET title = 'x' WHERE '1'='1'",
        ONE_STATEMENT,
        weakness="Q12",
    ),
    Hostile("query", "SELECT current_setting('is_superuser')", _function("current_setting")),
    Hostile("query", "SELECT query_to_xml('select 1', true, true, '')", _function("query_to_xml")),
    Hostile(
        "query",
        "SELECT * FROM dblink('host=localhost', 'select 1') AS t(a int)",
        _function("dblink"),
    ),
    Hostile("query", "SELECT version()", _function("version")),
    Hostile("query", "SELECT current_user", "Plugin SQL cannot read CURRENT_USER"),
    Hostile("query", "SELECT 'pg_authid'::regclass", 'Plugin SQL cannot use type "regclass"'),
    Hostile("query", "SELECT nextval('public.issues_id_seq')", _function("nextval")),
    Hostile("query", "SELECT to_regclass('public.agents')", _function("to_regclass")),
    Hostile("query", "SELECT pg_catalog.pg_sleep(1)", _function("pg_catalog.pg_sleep")),
    Hostile("query", "SELECT lo_get(1)", _function("lo_get")),
    Hostile(
        "query",
        f"WITH x AS (DELETE FROM {NS}.tasks RETURNING id) SELECT * FROM x",
        "ctx.db.query cannot contain mutation or DDL keywords",
    ),
    Hostile(
        "query", "SELECT * FROM other_schema.t", 'ctx.db.query cannot read schema "other_schema"'
    ),
    Hostile(
        "query",
        "SELECT * FROM public.issues TABLESAMPLE SYSTEM (50)",
        "Plugin SQL cannot use TABLESAMPLE",
    ),
    Hostile("query", "TABLE public.issues", ONLY_SELECT),
    Hostile("query", 'SELECT * FROM "PUBLIC".agents', 'ctx.db.query cannot read schema "PUBLIC"'),
    Hostile(
        "query", "SELECT * FROM sandbox.public.agents", 'ctx.db.query cannot read schema "sandbox"'
    ),
    Hostile(
        "query",
        f"SELECT label FROM {NS}.tasks UNION SELECT name FROM agents",
        _unqualified("agents"),
    ),
    Hostile(
        "query",
        f"SELECT * FROM {NS}.tasks t JOIN LATERAL (SELECT * FROM agents) a ON true",
        _unqualified("agents"),
    ),
    Hostile(
        "query",
        f"SELECT * FROM {NS}.tasks WHERE id = (SELECT oid FROM pg_catalog.pg_class LIMIT 1)",
        'ctx.db.query cannot read schema "pg_catalog"',
    ),
    Hostile(
        "query",
        f"SELECT label FROM {NS}.tasks WHERE label = 'x' AND EXISTS "
        "(SELECT 1 FROM pg_stat_activity)",
        _unqualified("pg_stat_activity"),
    ),
    Hostile(
        "query",
        "WITH agents AS (SELECT 1 AS id) SELECT * FROM public.agents",
        _not_whitelisted("agents"),
    ),
    Hostile("query", "EXPLAIN SELECT 1", ONLY_SELECT),
    Hostile("query", "SELECT 1; SELECT 2", ONE_STATEMENT),
    Hostile("query", f"SELECT copy FROM {NS}.tasks", BANNED + r"\bcopy\b"),
    Hostile(
        "query",
        f"SELECT label FROM {NS}.tasks WHERE label = 'copied from public.agents'",
        _not_whitelisted("agents"),
    ),
    Hostile(
        "query",
        f"SELECT label FROM {NS}.tasks\x00 UNION SELECT name FROM agents",
        'invalid byte sequence for encoding "UTF8": 0x00',
        PluginSqlInvalid,
    ),
    Hostile(
        "query",
        "SELECT * FROM (WITH agents AS (SELECT 1 AS id) SELECT id FROM agents) s, agents a",
        _unqualified("agents"),  # a CTE is visible only inside its own query
    ),
    Hostile(
        "query",
        "WITH a AS (SELECT * FROM b), b AS (SELECT 1 AS x) SELECT * FROM a",
        _unqualified("b"),  # a plain CTE cannot see the ones after it
    ),
    Hostile(
        "query",
        f"SELECT * FROM {NS}.tasks ORDER BY (SELECT 1 FROM agents LIMIT 1)",
        _unqualified("agents"),
    ),
    Hostile(
        "query",
        f"SELECT * FROM {NS}.tasks LIMIT (SELECT count(*) FROM agents)",
        _unqualified("agents"),
    ),
    Hostile("query", "SELECT * FROM ROWS FROM (pg_sleep(1)) AS s", _function("pg_sleep")),
    Hostile(
        "query",
        f"SELECT label FROM {NS}.tasks WHERE label = ANY(ARRAY(SELECT name FROM agents))",
        _unqualified("agents"),
    ),
    Hostile(
        "query",
        f"SELECT count(*) FILTER (WHERE EXISTS (SELECT 1 FROM agents)) FROM {NS}.tasks",
        _unqualified("agents"),
    ),
    Hostile("query", "SELECT public.gen_random_uuid()", _function("public.gen_random_uuid")),
    Hostile("query", "SELECT 1 OPERATOR(public.+) 2", 'Plugin SQL cannot use operator "public.+"'),
    Hostile("query", "SELECT '1'::public.mytype", 'Plugin SQL cannot use type "public.mytype"'),
    Hostile(
        "query",
        f"SELECT * FROM {NS}.tasks.agents",
        f'Plugin SQL cannot name a database in "{NS}.tasks.agents"',
    ),
    Hostile("query", "SELECT $1", "SQL placeholder $1 has no matching parameter", PluginSqlInvalid),
    Hostile(
        "query",
        "SELECT 1",
        "Every ctx.db parameter must be referenced by a $n placeholder",
        PluginSqlInvalid,
        [1],
    ),
]

EXECUTES = [
    Hostile(
        "execute",
        f"UPDATE issues SET title = $1 FROM {NS}.tasks r WHERE r.issue_id = issues.id",
        TARGET,
        params=["x"],
        weakness="E1",
    ),
    Hostile(
        "execute",
        f"DELETE FROM issues WHERE id IN (SELECT issue_id FROM {NS}.tasks)",
        TARGET,
        weakness="E2",
    ),
    Hostile(
        "execute",
        f"INSERT INTO issues (id, company_id, title) SELECT gen_random_uuid(), $1::uuid, label "
        f"FROM {NS}.tasks",
        TARGET,
        params=["00000000-0000-4000-8000-000000000000"],
        weakness="E3",
    ),
    Hostile(
        "execute",
        f"INSERT INTO {NS}.tasks (id, issue_id, label) SELECT gen_random_uuid(), id, title "
        "FROM issues",
        _unqualified("issues"),
        weakness="E4",
    ),
    Hostile(
        "execute",
        f"UPDATE {NS}.tasks SET label = (SELECT name FROM agents LIMIT 1)",
        _unqualified("agents"),
        weakness="E4",
    ),
    Hostile(
        "execute",
        f"DELETE FROM {NS}.tasks r USING public.agents a WHERE a.id = r.issue_id",
        NO_PUBLIC,
        weakness="E5",
    ),
    Hostile("execute", f"INSERT INTO {NS}.tasks TABLE public.issues", NO_PUBLIC, weakness="E6"),
    Hostile(
        "execute",
        f"UPDATE {NS}.tasks SET points = 1 FROM {NS}.events s, public.issues i "
        f"WHERE s.task_id = {NS}.tasks.id AND i.id = {NS}.tasks.issue_id",
        NO_PUBLIC,
        weakness="E7",
    ),
    Hostile(
        "execute",
        f"UPDATE {NS}.tasks SET label = pg_sleep(30)::text",
        _function("pg_sleep"),
        weakness="E8",
    ),
    Hostile(
        "execute",
        f"INSERT INTO {NS}.tasks (id, issue_id, label) VALUES (gen_random_uuid(), $1, "
        "set_config('search_path', 'public', false))",
        _function("set_config"),
        params=["00000000-0000-4000-8000-00000000000a"],
        weakness="E8",
    ),
    Hostile(
        "execute",
        f"INSERT INTO {NS}.tasks (id, issue_id, label) VALUES (gen_random_uuid(), $1, "
        "pg_read_file('PG_VERSION'))",
        _function("pg_read_file"),
        params=["00000000-0000-4000-8000-00000000000a"],
        weakness="E8",
    ),
    Hostile(
        "execute",
        f"UPDATE {NS}.tasks SET label = $a$'$a$; UPDATE issues SET title = 'x'; SELECT $b$'$b$",
        ONE_STATEMENT,
        weakness="E9",
    ),
    Hostile(
        "execute",
        f"UPDATE {NS}.tasks SET label = E'\\''; UPDATE issues SET title = 'x' WHERE '1'='1'",
        ONE_STATEMENT,
        weakness="E10",
    ),
    Hostile(
        "execute",
        f"UPDATE {NS}.tasks SET label = pg_sleep(30)::text WHERE EXISTS "
        "(SELECT 1 FROM issues FOR UPDATE)",
        _function("pg_sleep"),
        weakness="E11",
    ),
    Hostile(
        "execute",
        f"UPDATE {NS}.tasks SET label = 'x' WHERE EXISTS (SELECT 1 FROM issues FOR UPDATE)",
        LOCKING,
        weakness="E11",
    ),
    Hostile(
        "execute",
        f"UPDATE {NS}.tasks SET label = 'x' WHERE EXISTS (SELECT 1 FROM {NS}.events FOR UPDATE)",
        LOCKING,
        weakness="E11",
    ),
    Hostile(
        "execute",
        f"UPDATE {NS}.tasks SET label = (SELECT title FROM public.issues LIMIT 1)",
        NO_PUBLIC,
    ),
    Hostile("execute", "SELECT 1", ONLY_DML),
    Hostile(
        "execute",
        f"WITH x AS (SELECT 1) INSERT INTO {NS}.tasks (label) SELECT 'a' FROM x",
        ONLY_DML,
    ),
    Hostile(
        "execute",
        f"MERGE INTO {NS}.tasks t USING {NS}.events e ON t.id = e.task_id WHEN MATCHED THEN DELETE",
        ONLY_DML,
    ),
    Hostile("execute", "DELETE FROM public.issues", TARGET),
    Hostile(
        "execute",
        f"INSERT INTO {NS}.tasks (id, issue_id, label) VALUES ($1, $2, current_user)",
        "Plugin SQL cannot read CURRENT_USER",
        params=["00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-00000000000a"],
    ),
    Hostile(
        "execute",
        f"UPDATE {NS}.tasks SET label = lo_export(1, '/tmp/x')::text",
        _function("lo_export"),
    ),
    Hostile("execute", f"TRUNCATE {NS}.tasks", ONLY_DML),
    Hostile(
        "execute",
        f"INSERT INTO {NS}.tasks (id, issue_id, label) SELECT oid, oid, relname FROM pg_class",
        _unqualified("pg_class"),
    ),
    Hostile(
        "execute",
        f"UPDATE {NS}.tasks SET label = 'x' WHERE id IN "
        f"(SELECT id FROM {NS}.tasks FOR UPDATE SKIP LOCKED)",
        LOCKING,
    ),
    Hostile("execute", "INSERT INTO other.t VALUES (1)", TARGET),
    Hostile(
        "execute",
        f"UPDATE {NS}.tasks SET label = $1",
        "SQL placeholder $1 has no matching parameter",
        PluginSqlInvalid,
    ),
    Hostile(
        "execute",
        f"UPDATE {NS}.tasks SET label = $2",
        "SQL placeholder $2 has no matching parameter",
        PluginSqlInvalid,
        ["a"],
    ),
    Hostile(
        "execute",
        f"UPDATE {NS}.tasks SET label = $1",
        "Every ctx.db parameter must be referenced by a $n placeholder",
        PluginSqlInvalid,
        ["a", "b"],
    ),
    Hostile(
        "execute",
        f"UPDATE {NS}.tasks SET label = 'x' WHERE label = 'copied from public.issues'",
        NO_PUBLIC,
    ),
    Hostile(
        "execute",
        f"INSERT INTO {NS}.tasks (id) SELECT id FROM public.issues",
        NO_PUBLIC,
    ),
    Hostile(
        "execute",
        f"INSERT INTO {NS}.tasks (id) VALUES ($1) ON CONFLICT (id) DO UPDATE "
        "SET label = (SELECT name FROM agents LIMIT 1)",
        _unqualified("agents"),
        params=["00000000-0000-4000-8000-000000000001"],
    ),
    Hostile(
        "execute",
        f"INSERT INTO {NS}.tasks (id) VALUES ($1) "
        "RETURNING (SELECT name FROM public.agents LIMIT 1)",
        NO_PUBLIC,
        params=["00000000-0000-4000-8000-000000000001"],
    ),
    Hostile(
        "execute",
        f"DELETE FROM {NS}.tasks WHERE id = $1 RETURNING (SELECT title FROM issues LIMIT 1)",
        _unqualified("issues"),
        params=["00000000-0000-4000-8000-000000000001"],
    ),
    Hostile(
        "execute",
        f"UPDATE {NS}.tasks SET label = 'x'\x00; UPDATE issues SET title = 'x'",
        'invalid byte sequence for encoding "UTF8": 0x00',
        PluginSqlInvalid,
    ),
]

MIGRATIONS = [
    Hostile(
        "migration",
        f"CREATE TABLE {NS}.t (x uuid REFERENCES agents(id));",
        _unqualified("agents"),
        weakness="M1",
    ),
    Hostile(
        "migration",
        f"ALTER TABLE {NS}.tasks ADD COLUMN agent_id uuid REFERENCES agents(id);",
        _unqualified("agents"),
        weakness="M1",
    ),
    Hostile(
        "migration",
        f"CREATE TABLE {NS}.t (x uuid REFERENCES public.agents(id));",
        _not_whitelisted("agents"),
    ),
    Hostile(
        "migration",
        f"CREATE TABLE {NS}.agent_copy AS SELECT * FROM agents;",
        _unqualified("agents"),
        weakness="M2",
    ),
    Hostile(
        "migration",
        f"CREATE VIEW {NS}.v AS SELECT * FROM agents;",
        _unqualified("agents"),
        weakness="M2",
    ),
    Hostile(
        "migration",
        f"CREATE TABLE {NS}.t2 (LIKE public.agents INCLUDING ALL);",
        "Plugin migrations may copy table definitions (LIKE) only from the plugin namespace",
        weakness="M3",
    ),
    Hostile(
        "migration",
        f"ALTER TABLE {NS}.tasks SET SCHEMA public;",
        "Plugin migrations cannot use ALTER ... SET SCHEMA",
        weakness="M4",
    ),
    Hostile(
        "migration",
        "COMMENT ON TABLE public.issues IS 'owned';",
        "Plugin SQL cannot mutate or define objects in public.issues",
        weakness="M5",
    ),
    Hostile(
        "migration",
        f"ALTER TABLE {NS}.tasks OWNER TO postgres;",
        "Plugin migrations cannot use ALTER TABLE ... OWNER TO",
        weakness="M6",
    ),
    Hostile(
        "migration",
        f"CREATE TABLE {NS}.t (x text DEFAULT $a$'$a$); ALTER TABLE issues ADD COLUMN "
        f"plugin_owned text; CREATE TABLE {NS}.u (y text DEFAULT $b$'$b$);",
        _unqualified("issues"),
        weakness="M7",
    ),
    Hostile(
        "migration",
        f"CREATE TABLE {NS}.t (x text DEFAULT $a$'$a$); DROP TABLE issues CASCADE; "
        f"CREATE TABLE {NS}.u (y text DEFAULT $b$'$b$);",
        DESTRUCTIVE,
        weakness="M7",
    ),
    Hostile(
        "migration",
        f"WITH u AS (UPDATE issues SET title = 'x' RETURNING id) "
        f"INSERT INTO {NS}.tasks (id) SELECT id FROM u;",
        _unqualified("issues"),
        weakness="M8",
    ),
    Hostile(
        "migration",
        f"INSERT INTO {NS}.tasks (label) SELECT name FROM agents;",
        _unqualified("agents"),
        weakness="M8",
    ),
    Hostile("migration", f"DROP TABLE {NS}.tasks;", DESTRUCTIVE),
    Hostile("migration", f"TRUNCATE {NS}.tasks;", DESTRUCTIVE),
    Hostile("migration", f"DELETE FROM {NS}.tasks;", "Plugin migrations cannot delete data"),
    Hostile("migration", "CREATE EXTENSION dblink;", BANNED + r"\bcreate\s+extension\b"),
    Hostile(
        "migration",
        f"CREATE FUNCTION {NS}.f() RETURNS int AS 'select 1' LANGUAGE sql;",
        BANNED + r"\bcreate\s+(?:or\s+replace\s+)?function\b",
    ),
    Hostile("migration", f"GRANT SELECT ON {NS}.tasks TO PUBLIC;", BANNED + r"\bgrant\b"),
    Hostile("migration", "DO $$ BEGIN END $$;", BANNED + r"\bdo\s+(?:\$\$|language\b)"),
    Hostile(
        "migration",
        "CREATE TABLE public.plugin_escape (id uuid PRIMARY KEY);",
        _not_whitelisted("plugin_escape"),
    ),
    Hostile(
        "migration",
        "CREATE TABLE other.t (id uuid);",
        f'Plugin SQL references schema "other" outside namespace "{NS}"',
    ),
    Hostile("migration", "CREATE SCHEMA evil;", QUALIFIED),
    Hostile(
        "migration",
        "CREATE INDEX issues_title_idx ON public.issues (title);",
        "Plugin SQL cannot mutate or define objects in public.issues",
    ),
    Hostile(
        "migration",
        "ALTER TABLE public.issues ADD COLUMN plugin_owned text;",
        "Plugin SQL cannot mutate or define objects in public.issues",
    ),
    Hostile(
        "migration",
        f"CREATE TEMP TABLE {NS}.scratch (id int);",
        QUALIFIED,
    ),
    Hostile(
        "migration",
        f"CREATE TABLE {NS}.t (id int GENERATED ALWAYS AS IDENTITY "
        "(SEQUENCE NAME public.evil_seq) PRIMARY KEY);",
        "Plugin migrations cannot set identity sequence options",
    ),
    Hostile("migration", f"CREATE SEQUENCE {NS}.s;", QUALIFIED),
    Hostile(
        "migration",
        f"ALTER TABLE {NS}.tasks ENABLE ROW LEVEL SECURITY;",
        "Plugin migrations cannot use ALTER TABLE ... ENABLE ROW LEVEL SECURITY",
    ),
    Hostile(
        "migration",
        f"CREATE TABLE {NS}.t (x text) INHERITS (public.issues);",
        "Plugin migrations cannot use CREATE TABLE ... INHERITS",
    ),
    Hostile(
        "migration",
        f"CREATE INDEX CONCURRENTLY tasks_label_idx ON {NS}.tasks (label);",
        "Plugin migrations run in one transaction and cannot use CREATE INDEX CONCURRENTLY",
    ),
    Hostile(
        "migration",
        "SELECT 1;",
        "Plugin migrations may contain DDL or namespace-scoped backfill statements only",
    ),
    Hostile(
        "migration",
        f"CREATE TABLE {NS}.t (id int, x text DEFAULT current_setting('is_superuser'));",
        _function("current_setting"),
    ),
    Hostile(
        "migration",
        f"CREATE VIEW {NS}.v AS SELECT pg_read_file('PG_VERSION') AS f;",
        _function("pg_read_file"),
    ),
    Hostile(
        "migration",
        f"CREATE TABLE {NS}.t (x int CHECK (pg_sleep(1) IS NOT NULL));",
        _function("pg_sleep"),
    ),
    Hostile("migration", f"CREATE POLICY p ON {NS}.tasks USING (true);", QUALIFIED),
    Hostile(
        "migration",
        f"ALTER TABLE {NS}.tasks ALTER COLUMN label SET STATISTICS 100;",
        "Plugin migrations cannot use ALTER TABLE ... SetStatistics",
    ),
    Hostile(
        "migration",
        f"CREATE TABLE {NS}.t (id int); SELECT pg_sleep(1);",
        "Plugin migrations may contain DDL or namespace-scoped backfill statements only",
    ),
    Hostile(
        "migration",
        f"UPDATE {NS}.tasks SET label = (SELECT name FROM public.agents LIMIT 1);",
        _not_whitelisted("agents"),
    ),
    Hostile(
        "migration",
        f"CREATE TABLE {NS}.t (id int); CREATE TRIGGER t AFTER INSERT ON {NS}.t "
        "EXECUTE FUNCTION public.f();",
        BANNED + r"\bcreate\s+(?:event\s+)?trigger\b",
    ),
    Hostile(
        "migration",
        f"CREATE TABLE {NS}.t (id int); ALTER TABLE {NS}.t RENAME TO t2; "
        f"ALTER TABLE {NS}.t2 SET SCHEMA public;",
        "Plugin migrations cannot use ALTER ... SET SCHEMA",
    ),
    Hostile("migration", f"CREATE MATERIALIZED VIEW {NS}.mv AS SELECT 1;", QUALIFIED),
    Hostile(
        "migration",
        f"CREATE UNLOGGED TABLE {NS}.scratch (id int); CREATE TABLE {NS}.t (id int);",
        QUALIFIED,
    ),
    Hostile(
        "migration",
        f"CREATE TABLE {NS}.t (id uuid) WITH (autovacuum_enabled = false);",
        "Plugin migrations cannot use CREATE TABLE ... WITH (...)",
    ),
    Hostile(
        "migration",
        f"CREATE TABLE {NS}.t (id int) TABLESPACE pg_global;",
        "Plugin migrations cannot use CREATE TABLE ... TABLESPACE",
    ),
    Hostile(
        "migration",
        f"ALTER TABLE {NS}.tasks ADD CONSTRAINT fk FOREIGN KEY (issue_id) REFERENCES agents(id);",
        _unqualified("agents"),
        weakness="M1",
    ),
    Hostile(
        "migration",
        f"ALTER TABLE {NS}.tasks ALTER COLUMN label SET DEFAULT pg_read_file('x');",
        _function("pg_read_file"),
    ),
    Hostile(
        "migration",
        f"CREATE TABLE {NS}.p PARTITION OF public.issues FOR VALUES IN ('x');",
        "Plugin migrations cannot use CREATE TABLE ... INHERITS",
    ),
    Hostile(
        "migration",
        "COMMENT ON COLUMN public.issues.title IS 'x';",
        "Plugin SQL cannot mutate or define objects in public.issues",
        weakness="M5",
    ),
    Hostile(
        "migration",
        f"CREATE INDEX tasks_sleep_idx ON {NS}.tasks ((pg_sleep(1)::text));",
        _function("pg_sleep"),
    ),
    Hostile(
        "migration",
        f"CREATE VIEW {NS}.v WITH (security_barrier) AS SELECT 1 AS x;",
        "Plugin migrations cannot create temporary views or set view options",
    ),
    Hostile(
        "migration",
        f"ALTER TABLE {NS}.tasks ATTACH PARTITION {NS}.p FOR VALUES IN ('x');",
        "Plugin migrations cannot use ALTER TABLE ... ATTACH PARTITION",
    ),
    Hostile(
        "migration",
        f"ALTER TABLE {NS}.tasks RENAME TO agents; ALTER TABLE {NS}.agents SET SCHEMA public;",
        "Plugin migrations cannot use ALTER ... SET SCHEMA",
        weakness="M4",
    ),
    Hostile(
        "migration",
        f"CREATE TABLE {NS}.t (id uuid DEFAULT public.gen_random_uuid());",
        _function("public.gen_random_uuid"),
    ),
    Hostile(
        "migration",
        f"CREATE TABLE {NS}.t (id public.mytype);",
        'Plugin SQL cannot use type "public.mytype"',
    ),
]

ALL = [*QUERIES, *EXECUTES, *MIGRATIONS]
