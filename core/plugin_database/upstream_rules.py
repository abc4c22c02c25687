"""Upstream's text rules for plugin SQL, kept so the sandbox refuses whatever upstream refuses.

Upstream validates plugin SQL with a statement splitter and regular expressions over the text
(reference §8-§11). Those rules let hostile SQL through (§14), so the sandbox decides on the
PostgreSQL grammar instead (``policy``). They still run first, unchanged and with upstream's
messages, for one reason: a plugin developed against the sandbox must also pass upstream's
checks in production, false positives included (``copy`` as a column name, ``'from
public.agents'`` inside a string literal). These rules only ever refuse; passing them accepts
nothing on its own.

JavaScript's regular expressions differ from Python's in what ``\\s``, ``\\b`` and ``.`` match;
the patterns below spell out JavaScript's meaning.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

from core.plugin_database.errors import PluginSqlRejected

# JavaScript's \s (ECMAScript WhiteSpace and LineTerminator).
_WS = "[\\t\\n\\v\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff]"
_IDENT = "[A-Za-z_][A-Za-z0-9_]*"
_FLAGS = re.ASCII  # JavaScript's \b and \w are ASCII-only

_SINGLE_QUOTED = re.compile(r"'([^']|'')*'")
_DOUBLE_QUOTED = re.compile(r'"([^"]|"")*"')
_LINE_COMMENT = re.compile("--[^\\n\\r\\u2028\\u2029]*")  # JavaScript's "." stops at \r too
_BLOCK_COMMENT = re.compile(r"/\*[\s\S]*?\*/")
_WHITESPACE_RUN = re.compile(_WS + "+")

#: The banned patterns, in upstream's order, as the sources its message quotes.
BANNED_PATTERNS = (
    r"\bcreate\s+extension\b",
    r"\bcreate\s+(?:event\s+)?trigger\b",
    r"\bcreate\s+(?:or\s+replace\s+)?function\b",
    r"\bcreate\s+language\b",
    r"\bgrant\b",
    r"\brevoke\b",
    r"\bsecurity\s+definer\b",
    r"\bcopy\b",
    r"\bcall\b",
    r"\bdo\s+(?:\$\$|language\b)",
)
_BANNED = [(source, re.compile(source.replace(r"\s", _WS), _FLAGS)) for source in BANNED_PATTERNS]

_KEYWORD_REFS = re.compile(
    rf"\b(from|join|references|into|update){_WS}+\"?({_IDENT})\"?\.\"?({_IDENT})\"?",
    re.IGNORECASE | _FLAGS,
)
_DDL_REFS = re.compile(
    rf"\b(alter{_WS}+table|create{_WS}+table|create{_WS}+view|drop{_WS}+table|truncate{_WS}+table)"
    rf"{_WS}+(?:if{_WS}+(?:not{_WS}+)?exists{_WS}+)?\"?({_IDENT})\"?\.\"?({_IDENT})\"?",
    re.IGNORECASE | _FLAGS,
)
_INDEX_REFS = re.compile(
    rf"\bcreate{_WS}+(?:unique{_WS}+)?index(?:{_WS}+concurrently)?{_WS}+"
    rf"(?:if{_WS}+not{_WS}+exists{_WS}+)?\"?{_IDENT}\"?{_WS}+on{_WS}+"
    rf"\"?({_IDENT})\"?\.\"?({_IDENT})\"?",
    re.IGNORECASE | _FLAGS,
)
_KEYWORD_SPACE = re.compile(_WS + "+")

_OBJECT_KEYWORDS = frozenset(
    {
        "alter table",
        "create index",
        "create table",
        "create view",
        "drop table",
        "into",
        "truncate table",
        "update",
    }
)


@dataclass(frozen=True)
class QualifiedRef:
    """A ``schema.table`` reference upstream's extractor found, with the keyword before it."""

    keyword: str
    schema: str
    table: str


def split_statements(text: str) -> list[str]:
    """Upstream's splitter: quotes and comments are honoured; dollar quotes and E'' are not."""
    return [statement for _, statement in statement_spans(text)]


def statement_spans(text: str) -> list[tuple[int, str]]:
    """``split_statements`` with each statement's offset in ``text`` (where its trimmed text
    starts), so an error can name the line it is on."""
    statements: list[tuple[int, str]] = []
    start, index, quote = 0, 0, ""
    line_comment = block_comment = False
    while index < len(text):
        char = text[index]
        following = text[index + 1] if index + 1 < len(text) else ""
        if line_comment:
            line_comment = char != "\n"
        elif block_comment:
            if char == "*" and following == "/":
                block_comment = False
                index += 1
        elif quote:
            if char == quote:
                if following == quote:
                    index += 1
                else:
                    quote = ""
        elif char == "-" and following == "-":
            line_comment = True
            index += 1
        elif char == "/" and following == "*":
            block_comment = True
            index += 1
        elif char in ("'", '"'):
            quote = char
        elif char == ";":
            _add_statement(statements, text, start, index)
            start = index + 1
        index += 1
    _add_statement(statements, text, start, len(text))
    return statements


def _add_statement(statements: list[tuple[int, str]], text: str, start: int, end: int) -> None:
    piece = text[start:end]
    statement = _js_trim(piece)
    if statement:
        statements.append((start + piece.index(statement), statement))


def _js_trim(text: str) -> str:
    return re.sub(f"^{_WS}+|{_WS}+$", "", text)


def normalise(statement: str) -> str:
    """Upstream's keyword-scan text: literals blanked, comments removed, spaces collapsed."""
    text = _SINGLE_QUOTED.sub("''", statement)
    text = _DOUBLE_QUOTED.sub('""', text)
    text = _LINE_COMMENT.sub("", text)
    text = _BLOCK_COMMENT.sub("", text)
    return _js_trim(_WHITESPACE_RUN.sub(" ", text)).lower()


def qualified_refs(statement: str) -> list[QualifiedRef]:
    """Upstream's ``schema.table`` extractor (raw text, so literals and comments count too)."""
    refs = [
        QualifiedRef(_KEYWORD_SPACE.sub(" ", match.group(1)).lower(), match[2], match[3])
        for pattern in (_KEYWORD_REFS, _DDL_REFS)
        for match in pattern.finditer(statement)
    ]
    refs += [QualifiedRef("create index", m[1], m[2]) for m in _INDEX_REFS.finditer(statement)]
    return refs


def _check_banned(statement: str) -> None:
    normalised = normalise(statement)
    for source, pattern in _BANNED:
        if pattern.search(normalised):
            raise PluginSqlRejected(
                f"Plugin SQL contains a disallowed statement or clause: {source}"
            )


def _check_public(ref: QualifiedRef, core_read_tables: Collection[str]) -> None:
    if ref.table not in core_read_tables:
        raise PluginSqlRejected(
            f"Plugin SQL references public.{ref.table}, which is not whitelisted"
        )
    if ref.keyword not in ("from", "join", "references"):
        raise PluginSqlRejected(f"Plugin SQL cannot mutate or define objects in public.{ref.table}")


def _matches(pattern: str, text: str) -> bool:
    return re.search(pattern.replace(r"\s", _WS), text, _FLAGS) is not None


def check_migration_statement(
    statement: str, namespace: str, core_read_tables: Collection[str]
) -> None:
    """Upstream's migration statement rules (the later release's, with backfills)."""
    if not re.fullmatch(_IDENT, namespace):
        raise PluginSqlRejected(f"Unsafe SQL namespace: {namespace}")
    _check_banned(statement)
    normalised = normalise(statement)
    if _matches(r"^\s*(drop|truncate)\b", normalised):
        raise PluginSqlRejected("Destructive plugin migrations are not allowed in Phase 1")
    if _matches(r"\bdelete\s+from\b", normalised):
        raise PluginSqlRejected("Plugin migrations cannot delete data")
    allowed_start = (
        _matches(r"^(create|alter|comment)\b", normalised)
        or _matches(r"^(insert\s+into|update)\b", normalised)
        or (normalised.startswith("with ") and _matches(r"\b(insert\s+into|update)\b", normalised))
    )
    if not allowed_start:
        raise PluginSqlRejected(
            "Plugin migrations may contain DDL or namespace-scoped backfill statements only"
        )
    refs = qualified_refs(statement)
    is_comment = normalised.startswith("comment ")
    if not is_comment and not any(ref.keyword in _OBJECT_KEYWORDS for ref in refs):
        raise PluginSqlRejected(
            "Plugin migration objects must use fully qualified schema names"
            + _namespace_hint(statement, namespace)
        )
    for ref in refs:
        if ref.schema == namespace:
            continue
        if ref.schema == "public":
            _check_public(ref, core_read_tables)
            continue
        raise PluginSqlRejected(
            f'Plugin SQL references schema "{ref.schema}" outside namespace "{namespace}"'
        )


#: A name without a schema after a keyword that names an object (``CREATE TABLE notes``,
#: ``... INDEX i ON notes``, ``INSERT INTO notes``), for the hint of the rule above.
_UNQUALIFIED_NAME = re.compile(
    rf"\b(?:table|view|on|into|update){_WS}+(?:if{_WS}+(?:not{_WS}+)?exists{_WS}+)?"
    rf"(\"{_IDENT}\"|{_IDENT}\b)(?!\.)",
    re.IGNORECASE | _FLAGS,
)


def _namespace_hint(statement: str, namespace: str) -> str:
    """Ours, after upstream's message: the schema name to write, before the name the
    statement left unqualified when there is one (words of comments and literals do not count)."""
    code = _SINGLE_QUOTED.sub("''", statement)
    match = _UNQUALIFIED_NAME.search(_BLOCK_COMMENT.sub("", _LINE_COMMENT.sub("", code)))
    name = match[1] if match else "<table>"
    return f" (this plugin's namespace is {namespace}: write {namespace}.{name})"


def _single_statement(sql: str) -> str:
    statements = split_statements(sql)
    if len(statements) != 1:
        raise PluginSqlRejected("Plugin runtime SQL must contain exactly one statement")
    return statements[0]


def check_query(sql: str, namespace: str, core_read_tables: Collection[str]) -> None:
    """Upstream's ``ctx.db.query`` rules."""
    statement = _single_statement(sql)
    _check_banned(statement)
    normalised = normalise(statement)
    if not normalised.startswith(("select ", "with ")):
        raise PluginSqlRejected("ctx.db.query only allows SELECT statements")
    if _matches(r"\b(insert|update|delete|alter|create|drop|truncate)\b", normalised):
        raise PluginSqlRejected("ctx.db.query cannot contain mutation or DDL keywords")
    for ref in qualified_refs(statement):
        if ref.schema == namespace:
            continue
        if ref.schema == "public":
            _check_public(ref, core_read_tables)
            continue
        raise PluginSqlRejected(f'ctx.db.query cannot read schema "{ref.schema}"')


def check_execute(sql: str, namespace: str) -> None:
    """Upstream's ``ctx.db.execute`` rules."""
    statement = _single_statement(sql)
    _check_banned(statement)
    normalised = normalise(statement)
    if not _matches(r"^(insert\s+into|update|delete\s+from)\b", normalised):
        raise PluginSqlRejected("ctx.db.execute only allows INSERT, UPDATE, or DELETE")
    if _matches(r"\b(alter|create|drop|truncate)\b", normalised):
        raise PluginSqlRejected("ctx.db.execute cannot contain DDL keywords")
    refs = qualified_refs(statement)
    target = next((ref for ref in refs if ref.keyword in ("into", "update", "from")), None)
    if target is None or target.schema != namespace:
        raise PluginSqlRejected(
            f'ctx.db.execute target must be inside plugin namespace "{namespace}"'
        )
    if any(ref.schema != namespace for ref in refs):
        raise PluginSqlRejected(
            "ctx.db.execute cannot reference public or other non-plugin schemas"
        )


__all__ = [
    "BANNED_PATTERNS",
    "QualifiedRef",
    "check_execute",
    "check_migration_statement",
    "check_query",
    "normalise",
    "qualified_refs",
    "split_statements",
    "statement_spans",
]
