"""The allowed-SQL corpus: a realistic plugin schema, seed data and statements.

Every statement is PostgreSQL, written as a plugin would write it, and must run on both
backends with the same result. They run in order (later ones see earlier writes); values that
depend on the clock or on sequences are kept out of results so runs are comparable.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

from core.plugin_database import derive_namespace

PLUGIN_KEY = "paperclip.corpus"
NS = derive_namespace(PLUGIN_KEY, "corpus")

ISSUE_A = uuid.UUID("00000000-0000-4000-8000-00000000000a")
ISSUE_B = uuid.UUID("00000000-0000-4000-8000-00000000000b")
TASK = [uuid.UUID(f"10000000-0000-4000-8000-00000000000{n}") for n in range(1, 8)]

MIGRATIONS = {
    "001_tables.sql": f"""
-- Tasks hang off core issues; deleting an issue deletes its tasks.
CREATE TABLE {NS}.tasks (
  id uuid PRIMARY KEY,
  issue_id uuid NOT NULL REFERENCES public.issues(id) ON DELETE CASCADE,
  label text NOT NULL,
  status varchar(20) NOT NULL DEFAULT 'open',
  points integer NOT NULL DEFAULT 0,
  cost numeric NOT NULL DEFAULT 0,
  done boolean NOT NULL DEFAULT false,
  meta jsonb NOT NULL DEFAULT '{{}}'::jsonb,
  due_on date,
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT tasks_points_check CHECK (points >= 0)
);
CREATE INDEX tasks_issue_idx ON {NS}.tasks (issue_id);
CREATE UNIQUE INDEX tasks_issue_label_key ON {NS}.tasks (issue_id, label);
CREATE TABLE {NS}.events (
  id bigserial PRIMARY KEY,
  task_id uuid NOT NULL REFERENCES {NS}.tasks(id) ON DELETE CASCADE,
  kind text NOT NULL,
  payload jsonb,
  at timestamptz NOT NULL
);
CREATE INDEX events_task_at_idx ON {NS}.events (task_id, at DESC);
COMMENT ON TABLE {NS}.tasks IS 'One row per plugin task';
""",
    "002_changes.sql": f"""
ALTER TABLE {NS}.tasks ADD COLUMN priority text DEFAULT 'medium';
ALTER TABLE {NS}.events RENAME COLUMN kind TO event_kind;
CREATE INDEX IF NOT EXISTS tasks_meta_idx ON {NS}.tasks USING gin (meta);
CREATE INDEX tasks_open_idx ON {NS}.tasks (created_at) WHERE NOT done;
UPDATE {NS}.tasks SET priority = 'medium' WHERE priority IS NULL;
""",
}


@dataclass(frozen=True)
class Statement:
    """One corpus statement; ``expected`` (when given) is the exact result on both backends."""

    name: str
    mode: Literal["query", "execute"]
    sql: str
    params: list[Any] = field(default_factory=list)
    expected: Any = None


def _meta(**values: Any) -> str:
    return json.dumps(values)


SEED = [
    Statement(
        "insert one row with casts",
        "execute",
        f"INSERT INTO {NS}.tasks (id, issue_id, label, status, points, cost, done, meta, due_on,"
        " created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10::timestamptz)",
        [
            str(TASK[0]),
            str(ISSUE_A),
            "Write spec",
            "open",
            3,
            "12.50",
            False,
            _meta(owner="ada", tags=["docs", "spec"], nested={"key": "v1"}, flag=True),
            "2026-03-10",
            "2026-03-01T10:00:00Z",
        ],
        {"rowCount": 1},
    ),
    Statement(
        "insert several rows with literals",
        "execute",
        f"""INSERT INTO {NS}.tasks
          (id, issue_id, label, status, points, cost, done, meta, created_at)
        VALUES
          ($1, $4, 'Review spec', 'open', 5, 7.25, false, '{{"owner": "bob", "tags": ["spec"]}}',
           '2026-03-02 09:30:00+00'),
          ($2, $4, 'Ship it', 'blocked', 8, 0, false, '{{"owner": "ada", "tags": []}}',
           '2026-03-03T12:00:00.5+02:00'),
          ($3, $5, 'Ünïcode Täsk', 'done', 1, 100, true, '{{"flag": false, "n": 1.5}}',
           '2026-02-28T23:59:59Z')""",
        [str(TASK[1]), str(TASK[2]), str(TASK[3]), str(ISSUE_A), str(ISSUE_B)],
        {"rowCount": 3},
    ),
    Statement(
        "insert with DEFAULT and a NULL date",
        "execute",
        f"INSERT INTO {NS}.tasks (id, issue_id, label, points, meta, due_on, created_at)"
        " VALUES ($1, $2, $3, DEFAULT, $4::jsonb, NULL, $5::timestamptz)",
        [str(TASK[4]), str(ISSUE_B), "defaults", _meta(z=1, a=2), "2026-03-05T00:00:00Z"],
        {"rowCount": 1},
    ),
    Statement(
        "insert events from a select",
        "execute",
        f"INSERT INTO {NS}.events (task_id, event_kind, payload, at) "
        f"SELECT t.id, 'created', jsonb_build_object('label', t.label, 'points', t.points), "
        f"t.created_at FROM {NS}.tasks t ORDER BY t.created_at",
        [],
        {"rowCount": 5},
    ),
]

STATEMENTS = [
    *SEED,
    Statement(
        "upsert that does nothing on conflict",
        "execute",
        f"INSERT INTO {NS}.tasks (id, issue_id, label) VALUES ($1, $2, $3) "
        "ON CONFLICT (issue_id, label) DO NOTHING",
        [str(TASK[5]), str(ISSUE_A), "Write spec"],
        {"rowCount": 0},
    ),
    Statement(
        "upsert with EXCLUDED and the target's old value",
        "execute",
        f"INSERT INTO {NS}.tasks AS t (id, issue_id, label, points) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT (id) DO UPDATE SET points = t.points + EXCLUDED.points, "
        "label = EXCLUDED.label RETURNING t.id, t.points",
        [str(TASK[0]), str(ISSUE_A), "Write spec v2", 2],
        {"rowCount": 1},
    ),
    Statement(
        "update with jsonb concatenation",
        "execute",
        f"UPDATE {NS}.tasks SET meta = meta || $2::jsonb, done = $3 WHERE id = $1",
        [str(TASK[1]).upper(), _meta(reviewed=True), True],
        {"rowCount": 1},
    ),
    Statement(
        "update with a CASE and a subquery on the namespace",
        "execute",
        f"""UPDATE {NS}.tasks SET status = CASE WHEN done THEN 'done'
            WHEN points > (SELECT avg(points) FROM {NS}.tasks) THEN 'big' ELSE status END""",
        [],
        {"rowCount": 5},
    ),
    Statement(
        "update from another namespace table",
        "execute",
        f"UPDATE {NS}.tasks t SET priority = 'high' FROM {NS}.events e "
        "WHERE e.task_id = t.id AND e.at < $1::timestamptz",
        ["2026-03-01T12:00:00Z"],
        {"rowCount": 2},
    ),
    Statement(
        "update several columns at once",
        "execute",
        f"UPDATE {NS}.tasks SET (status, points) = ($2, $3) WHERE id = $1",
        [str(TASK[4]), "open", 4],
        {"rowCount": 1},
    ),
    Statement(
        "delete with USING and RETURNING",
        "execute",
        f"DELETE FROM {NS}.events e USING {NS}.tasks t "
        "WHERE t.id = e.task_id AND t.label = $1 RETURNING e.task_id",
        ["defaults"],
        {"rowCount": 1},
    ),
    Statement(
        "every column of every row",
        "query",
        f"SELECT * FROM {NS}.tasks ORDER BY label",
    ),
    Statement(
        "join to the whitelisted core table",
        "query",
        f"SELECT t.label, i.title, i.id AS issue_id FROM {NS}.tasks t "
        "JOIN public.issues i ON i.id = t.issue_id WHERE i.title ILIKE $1 ORDER BY t.label",
        ["%alpha%"],
    ),
    Statement(
        "aggregates per group",
        "query",
        f"""SELECT status, count(*) AS n, sum(points) AS points, avg(cost) AS avg_cost,
            min(created_at) AS first, max(label) AS last_label, count(DISTINCT issue_id) AS issues,
            count(*) FILTER (WHERE done) AS done_count, bool_and(done) AS all_done,
            bool_or(done) AS any_done
          FROM {NS}.tasks GROUP BY status HAVING count(*) > 0 ORDER BY status""",
    ),
    Statement(
        "window functions",
        "query",
        f"""SELECT label,
            row_number() OVER (PARTITION BY issue_id ORDER BY points DESC, label) AS rank_in_issue,
            rank() OVER (ORDER BY points) AS points_rank,
            dense_rank() OVER (ORDER BY status) AS status_rank,
            sum(points) OVER (ORDER BY label ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS pair_sum,
            lag(label) OVER (ORDER BY label) AS previous,
            first_value(label) OVER w AS first_in_issue,
            count(*) OVER () AS total
          FROM {NS}.tasks WINDOW w AS (PARTITION BY issue_id ORDER BY created_at)
          ORDER BY label""",
    ),
    Statement(
        "CTEs feeding a join",
        "query",
        f"""WITH per_issue AS (
              SELECT issue_id, sum(points) AS points, count(*) AS tasks
              FROM {NS}.tasks GROUP BY issue_id
            ), ranked AS (
              SELECT issue_id, points, tasks, points * 1.0 / tasks AS per_task FROM per_issue
            )
            SELECT i.title, r.points, r.tasks, round(r.per_task, 2) AS per_task
            FROM ranked r JOIN public.issues i ON i.id = r.issue_id ORDER BY i.title""",
    ),
    Statement(
        "recursive CTE",
        "query",
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10) "
        "SELECT sum(i) AS total, max(i) AS top FROM n",
        [],
        [{"total": 55, "top": 10}],
    ),
    Statement(
        "jsonb reads",
        "query",
        f"""SELECT label, meta->>'owner' AS owner, meta->'tags' AS tags,
            meta->'tags'->>0 AS first_tag,
            meta #>> '{{nested,key}}' AS nested_key, meta #> '{{nested}}' AS nested,
            meta @> '{{"flag": true}}' AS flagged, meta ? 'owner' AS has_owner,
            jsonb_typeof(meta->'tags') AS tags_type, meta->'n' AS n, meta->>'n' AS n_text
          FROM {NS}.tasks ORDER BY label""",
    ),
    Statement(
        "jsonb array length and containment of arrays",
        "query",
        f"""SELECT label, jsonb_array_length(meta->'tags') AS tag_count
          FROM {NS}.tasks WHERE meta->'tags' @> '["spec"]' ORDER BY label""",
    ),
    Statement(
        "pagination",
        "query",
        f"SELECT id, label FROM {NS}.tasks ORDER BY created_at DESC, id LIMIT $1 OFFSET $2",
        [2, 1],
    ),
    Statement(
        "COALESCE, NULLIF, GREATEST, LEAST and CASE",
        "query",
        f"""SELECT label, COALESCE(due_on::text, 'none') AS due, NULLIF(points, 8) AS not_eight,
            GREATEST(points, 4) AS at_least_4, LEAST(points, NULL, 6) AS at_most_6,
            CASE status WHEN 'done' THEN 'closed' WHEN 'open' THEN 'open' ELSE 'other' END AS state
          FROM {NS}.tasks ORDER BY label""",
    ),
    Statement(
        "subqueries: EXISTS, IN and scalar",
        "query",
        f"""SELECT t.label,
            EXISTS (SELECT 1 FROM {NS}.events e WHERE e.task_id = t.id) AS has_events,
            (SELECT count(*) FROM {NS}.events e WHERE e.task_id = t.id) AS event_count
          FROM {NS}.tasks t
          WHERE t.issue_id IN (SELECT id FROM public.issues WHERE title LIKE 'Alpha%')
          ORDER BY t.label""",
    ),
    Statement(
        "membership in a uuid array parameter",
        "query",
        f"SELECT label FROM {NS}.tasks WHERE id = ANY($1::uuid[]) ORDER BY label",
        [[str(TASK[0]).upper(), str(TASK[3])]],
    ),
    Statement(
        "time arithmetic and truncation",
        "query",
        f"""SELECT label, date_trunc('day', created_at) AS day,
            EXTRACT(year FROM created_at) AS year, EXTRACT(dow FROM created_at) AS dow,
            created_at + interval '1 day 2 hours' AS later, created_at < now() AS past
          FROM {NS}.tasks WHERE created_at >= $1::timestamptz - interval '1 day' ORDER BY label""",
        ["2026-03-02T00:00:00Z"],
    ),
    Statement(
        "text functions",
        "query",
        f"""SELECT lower(label) AS lower, upper(label) AS upper, length(label) AS len,
            substring(label from 2 for 3) AS part, replace(label, ' ', '_') AS snake,
            concat(label, '#', points, '#', done) AS joined,
            concat_ws('/', status, priority) AS path,
            trim('  ' || label || '  ') AS trimmed, position('i' in label) AS i_at,
            starts_with(label, 'W') AS w, left(label, 3) AS head, right(label, -2) AS tail
          FROM {NS}.tasks ORDER BY label""",
    ),
    Statement(
        "JSON and array aggregates",
        "query",
        f"""SELECT issue_id, jsonb_agg(label) AS labels, array_agg(points) AS points,
            string_agg(status, ',') AS statuses,
            jsonb_build_object('n', count(*), 'done', bool_or(done)) AS summary,
            jsonb_object_agg(label, points) AS by_label
          FROM (SELECT * FROM {NS}.tasks ORDER BY label) t GROUP BY issue_id ORDER BY issue_id""",
    ),
    Statement(
        "DISTINCT and set operations",
        "query",
        f"""SELECT DISTINCT status FROM {NS}.tasks
          UNION SELECT 'archived'
          EXCEPT SELECT 'blocked'
          ORDER BY 1""",
    ),
    Statement(
        "UNION ALL of two queries and a VALUES list",
        "query",
        f"""SELECT label AS name, 'task' AS kind FROM {NS}.tasks WHERE done
          UNION ALL SELECT title, 'issue' FROM public.issues
          UNION ALL VALUES ('extra', 'value')
          ORDER BY kind, name""",
    ),
    Statement(
        "casts",
        "query",
        f"""SELECT points::text AS points_text, '42'::int + 1 AS answer, cost::numeric AS cost,
            $1::int * 2 AS doubled, label::text AS label, '2026-01-02'::date AS day,
            '{{"b": 1, "a": [true, null]}}'::jsonb AS doc, done::int AS done_int,
            id::text AS id_text, created_at::text AS created_text
          FROM {NS}.tasks WHERE label = $2""",
        [21, "Ship it"],
    ),
    Statement(
        "LEFT JOIN with explicit NULL ordering",
        "query",
        f"""SELECT t.label, e.event_kind, t.due_on FROM {NS}.tasks t
          LEFT JOIN {NS}.events e ON e.task_id = t.id
          ORDER BY t.due_on NULLS FIRST, t.label DESC""",
    ),
    Statement(
        "constants and column names",
        "query",
        "SELECT 1 AS one, true AS yes, NULL::text AS nothing, 'x' AS letter, 1.5 AS half",
        [],
        [{"one": 1, "yes": True, "nothing": None, "letter": "x", "half": 1.5}],
    ),
    Statement(
        "numeric functions",
        "query",
        f"""SELECT label, round(cost, 1) AS rounded, cost * 2 AS twice, points / 2 AS halved,
            points % 3 AS rest, abs(-points) AS absolute, ceil(cost) AS up, floor(cost) AS down,
            mod(points, 4) AS modulo
          FROM {NS}.tasks ORDER BY label""",
    ),
    Statement(
        "jsonb_array_elements in FROM",
        "query",
        f"""SELECT t.label, e.value AS tag, e2.value AS tag_text, e AS same_tag
          FROM {NS}.tasks t, jsonb_array_elements(t.meta->'tags') e,
               jsonb_array_elements_text(t.meta->'tags') e2
          WHERE e.value #>> '{{}}' = e2.value ORDER BY t.label, e2.value""",
    ),
    Statement(
        "BETWEEN, IN lists, NOT IN and IS DISTINCT FROM",
        "query",
        f"""SELECT label FROM {NS}.tasks
          WHERE points BETWEEN 1 AND 8 AND status IN ('open', 'big', 'done')
            AND label NOT IN ('x', 'y') AND due_on IS DISTINCT FROM '2026-03-10'
          ORDER BY label""",
    ),
    Statement(
        "uuid parameters in any case and spelling",
        "query",
        f"SELECT label FROM {NS}.tasks WHERE id = $1 OR id = $2 ORDER BY label",
        ["{" + str(TASK[1]).upper() + "}", str(TASK[3]).replace("-", "")],
    ),
    Statement(
        "LIKE with escapes",
        "query",
        f"""SELECT label, label LIKE 'Ship%' AS ships, label ILIKE '%SPEC%' AS spec,
            'a_b' LIKE 'a\\_b' AS escaped, 'axb' LIKE 'a\\_b' AS not_escaped
          FROM {NS}.tasks ORDER BY label""",
    ),
    Statement(
        "unnest of a text array parameter",
        "query",
        "SELECT x FROM unnest($1::text[]) AS x ORDER BY x",
        [["b", "a", "c"]],
        [{"x": "a"}, {"x": "b"}, {"x": "c"}],
    ),
    Statement(
        "jsonb equality ignores key order",
        "query",
        f"SELECT label FROM {NS}.tasks WHERE meta = $1::jsonb",
        ['{"a": 2, "z": 1}'],
        [{"label": "defaults"}],
    ),
    Statement(
        "subquery in FROM with column aliases",
        "query",
        f"""SELECT s.who, s.n FROM (SELECT meta->>'owner', count(*) FROM {NS}.tasks
            GROUP BY 1) AS s(who, n) WHERE s.who IS NOT NULL ORDER BY s.who""",
    ),
    Statement(
        "to_jsonb and jsonb_build_array of typed values",
        "query",
        f"""SELECT to_jsonb(created_at) AS at, jsonb_build_array(id, done, cost, due_on) AS row_doc
          FROM {NS}.tasks ORDER BY label LIMIT 2""",
    ),
    Statement(
        "correlated scalar subquery with ORDER BY and LIMIT inside",
        "query",
        f"""SELECT i.title, (SELECT t.label FROM {NS}.tasks t WHERE t.issue_id = i.id
            ORDER BY t.points DESC LIMIT 1) AS top_task
          FROM public.issues i ORDER BY i.title""",
    ),
    Statement(
        "delete rows the cascade cleans up after",
        "execute",
        f"DELETE FROM {NS}.tasks WHERE status = $1 AND NOT done",
        ["big"],
        {"rowCount": 2},
    ),
    Statement(
        "counts after the deletes",
        "query",
        f"SELECT (SELECT count(*) FROM {NS}.tasks) AS tasks, "
        f"(SELECT count(*) FROM {NS}.events) AS events",
        [],
        [{"tasks": 3, "events": 2}],
    ),
]
