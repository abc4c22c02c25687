"""Accepted statements by text: parsed and checked once, rewritten once per catalog."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Collection
from dataclasses import dataclass

from core.plugin_database.kinds import Catalog
from core.plugin_database.policy import CheckedStatement, Mode, check_runtime
from core.plugin_database.rewrite import Compiled

#: Estimated bytes a parsed statement keeps per character of its text: pglast's parse tree
#: measured (tracemalloc) 5x the text for a list of string literals, 24x for integers and 44x
#: for arithmetic; the estimate takes the worst, so the byte cap is an upper bound of memory.
PARSED_BYTES_PER_CHARACTER = 48

CacheKey = tuple[Mode, str, str, frozenset[str]]

#: The number of each catalog content seen in this process (see ``catalog_version``).
_catalog_versions: dict[object, int] = {}


def catalog_version(catalog: Catalog) -> int:
    """The number of ``catalog``'s content in this process, from 1 (0 stands for no catalog).

    Equal contents get equal numbers in every ``PluginDatabase``, so a rewrite cached under a
    number is right for any database whose namespace has that content, and a ``StatementCache``
    can be shared by the hosts of one process (the test fixture's, one per test).
    """
    return _catalog_versions.setdefault(catalog.content(), len(_catalog_versions) + 1)


@dataclass
class CachedStatement:
    """A statement the policy accepted, and its rewrite for the latest catalog version."""

    checked: CheckedStatement
    compiled: Compiled | None = None
    catalog_version: int | None = None

    def compiled_for(self, version: int, build: Callable[[], Compiled]) -> Compiled:
        """The rewrite for ``version`` of the namespace catalog, built on first use."""
        compiled = self.compiled_at(version)
        if compiled is None:
            compiled = self.remember(build(), version)
        return compiled

    def compiled_at(self, version: int) -> Compiled | None:
        """The rewrite for ``version`` of the namespace catalog, if it was built."""
        return self.compiled if self.catalog_version == version else None

    def remember(self, compiled: Compiled, version: int) -> Compiled:
        """Keep the rewrite built for ``version`` of the namespace catalog."""
        self.compiled, self.catalog_version = compiled, version
        return compiled

    @property
    def estimated_bytes(self) -> int:
        """The memory this entry keeps, estimated from its texts (see the constant)."""
        rewritten = sum(map(len, self.compiled.statements)) if self.compiled else 0
        return len(self.checked.text) * PARSED_BYTES_PER_CHARACTER + rewritten


class StatementCache:
    """A least-recently-used cache of runtime statements, capped in entries and in estimated
    bytes (size 0 caches nothing; an entry bigger than the byte cap is not kept).

    Refused statements are not cached: the error is raised again on every call. An entry's
    rewrite is built after it is stored, so its bytes are counted again when it is next used.
    """

    def __init__(self, size: int, *, max_bytes: int = 32 * 1024 * 1024) -> None:
        self.size = size
        self.max_bytes = max_bytes
        self._entries: OrderedDict[CacheKey, tuple[CachedStatement, int]] = OrderedDict()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def estimated_bytes(self) -> int:
        """The estimated memory of every entry (as last counted)."""
        return self._bytes

    @staticmethod
    def key(mode: Mode, sql: str, namespace: str, core_read_tables: Collection[str]) -> CacheKey:
        """The cache key of a runtime statement."""
        return (mode, sql, namespace, frozenset(core_read_tables))

    def get(self, key: CacheKey) -> CachedStatement | None:
        """The cached statement, recounted and marked recently used, if any."""
        found = self._entries.get(key)
        if found is None:
            return None
        entry, counted = found
        self._entries.move_to_end(key)
        size = entry.estimated_bytes
        if size != counted:  # its rewrite was built (or rebuilt) since it was counted
            self._entries[key] = (entry, size)
            self._bytes += size - counted
            self._trim()
        return entry

    def statement(
        self, mode: Mode, sql: str, namespace: str, core_read_tables: Collection[str]
    ) -> CachedStatement:
        """The checked statement, from the cache or checked now on this thread (raises if
        refused)."""
        key = self.key(mode, sql, namespace, core_read_tables)
        entry = self.get(key)
        if entry is None:
            entry = CachedStatement(check_runtime(sql, mode, namespace, core_read_tables))
            self.put(key, entry)
        return entry

    def put(self, key: CacheKey, entry: CachedStatement) -> None:
        """Keep an accepted statement, dropping the least recently used beyond the caps."""
        if not self.size:
            return
        old = self._entries.pop(key, None)
        if old is not None:
            self._bytes -= old[1]
        size = entry.estimated_bytes
        self._entries[key] = (entry, size)
        self._bytes += size
        self._trim()

    def _trim(self) -> None:
        while self._entries and (len(self._entries) > self.size or self._bytes > self.max_bytes):
            _, (_, size) = self._entries.popitem(last=False)
            self._bytes -= size

    def clear(self) -> None:
        """Forget every statement."""
        self._entries.clear()
        self._bytes = 0


__all__ = [
    "PARSED_BYTES_PER_CHARACTER",
    "CacheKey",
    "CachedStatement",
    "StatementCache",
    "catalog_version",
]
