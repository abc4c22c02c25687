"""What the TUI shows: one company (and maybe one plugin) of a database that is ready to view.

``resolve_scope`` runs before the app starts, so that a wrong ``--company`` or ``--plugin``, an
empty database or one behind the migrations ends in one line saying what to do, not in a
half-drawn screen. The TUI never writes, so it never migrates: it asks for ``sandbox db
upgrade`` instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from core import records
from core.companies import find_company, list_companies
from core.plugin_registry import find_plugin, list_plugins
from core.read_models.activity import ActivityFilter
from core.read_models.runs import QueueFilter
from db import Database, migrate


class ScopeError(ValueError):
    """The TUI cannot show this; the message says what to do instead, in one line."""


@dataclass(frozen=True)
class ViewScope:
    """The company (and plugin) every screen is narrowed to, and the database's short name."""

    company: records.Company
    plugin: records.PluginRecord | None
    backend: str

    @property
    def label(self) -> str:
        """``ACM Acme`` or ``ACM Acme · plugin paperclip.missions``."""
        label = f"{self.company.issue_prefix} {self.company.name}"
        return f"{label} · plugin {self.plugin.plugin_key}" if self.plugin else label

    @property
    def plugin_id(self) -> str | None:
        return self.plugin.id if self.plugin else None

    def activity_filter(self) -> ActivityFilter:
        return ActivityFilter(company_id=self.company.id, plugin_id=self.plugin_id)

    def queue_filter(self) -> QueueFilter:
        return QueueFilter(company_id=self.company.id, plugin_id=self.plugin_id)


async def resolve_scope(
    db: Database, *, company: str | None, plugin: str | None, backend: str, hint: str
) -> ViewScope:
    """Check the database and find the company and plugin to show.

    Args:
        hint: how the user's command names the database (``--db ...``), for the fixes the
            messages suggest.

    Raises:
        ScopeError: the database is empty or behind the migrations, the company or plugin
            does not exist, or the database holds several companies and none was chosen.
    """
    revision = await migrate.current(db)
    head = migrate.head_revision()
    if revision is None:
        raise ScopeError(f"the database is empty: run `sandbox demo{hint}` or `sandbox seed{hint}`")
    if revision != head:
        if revision not in migrate.revisions():
            raise ScopeError(
                f"the database is at revision {revision}, which this sandbox does not know "
                f"(its newest is {head}): upgrade the sandbox"
            )
        raise ScopeError(
            f"the database is at revision {revision} and the sandbox needs {head}: "
            f"run `sandbox db upgrade{hint}` (the TUI only reads, so it does not migrate)"
        )
    return ViewScope(
        company=await _company(db, company, hint),
        plugin=await _plugin(db, plugin),
        backend=backend,
    )


async def _company(db: Database, ref: str | None, hint: str) -> records.Company:
    if ref is not None:
        found = await find_company(db, ref)
        if found is None:
            raise ScopeError(f"Company not found: {ref} ({_prefixes(await list_companies(db))})")
        return found
    companies = await list_companies(db)
    if not companies:
        raise ScopeError(f"the database has no company yet: run `sandbox seed{hint}`")
    if len(companies) > 1:
        raise ScopeError(
            f"the database has {len(companies)} companies: choose one with --company "
            f"({_prefixes(companies)})"
        )
    return companies[0]


async def _plugin(db: Database, ref: str | None) -> records.PluginRecord | None:
    if ref is None:
        return None
    found = await find_plugin(db, ref)
    if found is None:
        installed = [plugin.plugin_key for plugin in await list_plugins(db)]
        known = f"installed: {', '.join(installed)}" if installed else "none is installed"
        raise ScopeError(f"Plugin not found: {ref} ({known})")
    return found


def _prefixes(companies: list[records.Company]) -> str:
    if not companies:
        return "there are none"
    return "companies: " + ", ".join(c.issue_prefix for c in companies)
