"""Accepted statements by text: parsed and checked once, rewritten once per catalog."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Collection
from dataclasses import dataclass

from core.plugin_database.policy import CheckedStatement, Mode, check_runtime
from core.plugin_database.rewrite import Compiled


@dataclass
class CachedStatement:
    """A statement the policy accepted, and its rewrite for the latest catalog version."""

    checked: CheckedStatement
    compiled: Compiled | None = None
    catalog_version: int | None = None

    def compiled_for(self, version: int, build: Callable[[], Compiled]) -> Compiled:
        """The rewrite for ``version`` of the namespace catalog, built on first use."""
        if self.compiled is None or self.catalog_version != version:
            self.compiled, self.catalog_version = build(), version
        return self.compiled


class StatementCache:
    """A least-recently-used cache of runtime statements (size 0 caches nothing).

    Refused statements are not cached: the error is raised again on every call.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[tuple[object, ...], CachedStatement] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def statement(
        self, mode: Mode, sql: str, namespace: str, core_read_tables: Collection[str]
    ) -> CachedStatement:
        """The checked statement, from the cache or checked now (raises if refused)."""
        key = (mode, sql, namespace, frozenset(core_read_tables))
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
            return entry
        entry = CachedStatement(check_runtime(sql, mode, namespace, core_read_tables))
        if self.size:
            self._entries[key] = entry
            if len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return entry

    def clear(self) -> None:
        """Forget every statement."""
        self._entries.clear()


__all__ = ["CachedStatement", "StatementCache"]
