"""The plugin runtime: installed plugins, their workers, and the calls the host makes to them.

``PluginHost`` follows upstream's lifecycle: ``install`` validates a package and registers it,
``load`` moves it to ``ready`` and activates it (migrations through the plugin database layer,
then the worker: spawned, ``initialize``d with the raw manifest, config and namespace), and
``enable``/``disable``/``uninstall`` move it between statuses. Worker-to-host calls go through
``core.worker_bridge``; host-to-worker calls (actions, data, jobs, events, API requests) go
through the plugin's ``WorkerProcess``.

Decisions beyond upstream, for a sandbox people develop in:

- ``ctx.logger`` lines, the worker's stderr and stray stdout, and crashes are stored in
  ``plugin_logs``; upstream only prints most of them.
- Events are delivered as ``onEvent`` *requests* (the published SDK accepts both forms and runs
  the same handlers), so the host knows when a plugin has handled an event and ``drain()`` can
  wait for it. Each (re)start of a worker drops its previous subscriptions: the worker makes
  them again in ``setup``, and upstream's duplicates after a crash do not happen.
- ``reload`` (``sandbox serve --watch``) upgrades a plugin in place from its package folder
  and restarts its worker; its event subscriptions carry over (see ``reload``). Installing a
  folder whose key is installed upgrades that plugin, and ``enable`` re-reads the folder
  (``install_or_upgrade``).
- A worker that exhausts its restarts marks the plugin ``error`` (upstream leaves it ``ready``).
- Activation happens on demand (``activate``), so a one-shot CLI command starts only the plugin
  it talks to.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from core.capability_usage import UsageCounter
from core.companies import company_exists
from core.errors import InvalidInput, NotFound
from core.event_bus import EventBus, PluginEvent
from core.manifest import (
    HOST_VERSION,
    PluginManifest,
    parse_manifest,
    validate_manifest,
)
from core.plugin_config import get_config, save_config, validate_config
from core.plugin_database import PluginAccess, PluginDatabase, StatementCache
from core.plugin_jobs import (
    JOB_TIMEOUT,
    JobRunRecord,
    RunTrigger,
    finish_run,
    start_run,
    sync_jobs,
    trigger_job,
)
from core.plugin_lifecycle import (
    check_can_disable,
    check_can_enable,
    check_can_load,
    check_can_uninstall,
    check_can_upgrade,
)
from core.plugin_logs import LogBuffer, LogLine
from core.plugin_registry import (
    PluginAlreadyInstalled,
    delete_plugin,
    find_plugin,
    list_plugins,
    register_plugin,
    require_plugin,
    set_status,
)
from core.plugin_trust import is_trusted
from core.plugin_upgrade import (
    PluginUpdate,
    check_same_plugin,
    manifest_changes,
    unapplied_migrations,
    upgrade_plugin,
)
from core.records import PluginRecord
from core.scoped_routes import ApiCaller, ApiRequest, ApiResponse, dispatch_api_request
from core.worker_bridge import PluginRef, WorkerBridge
from db import Database
from sandbox.containment.isolation import unsupported_notice
from sandbox.containment.kernel import KernelSupport, probe_kernel
from sandbox.containment.launcher import ContainedLauncher
from sandbox.containment.policy import ContainmentSettings
from sandbox.inprocess import InProcessLauncher, load_python_plugin
from sandbox.plugin_package import PluginPackage, load_package, worker_entrypoint
from sandbox.protocol import RpcError, WorkerUnavailable
from sandbox.spare_workers import SpareWorkers, stable_plugin_id
from sandbox.worker_launch import (
    NODE_SUFFIXES,
    SubprocessLauncher,
    WorkerLauncher,
    worker_command,
)
from sandbox.worker_process import (
    InitializeParams,
    WorkerCrashed,
    WorkerEvent,
    WorkerProcess,
    WorkerStatus,
    WorkerTimings,
)

logger = logging.getLogger(__name__)

#: How Python workers run: their own process (as Node workers do), or inside the host's event
#: loop through the same JSON-RPC dispatch (fast tests).
PythonWorkers = Literal["subprocess", "in-process"]

#: The board user the sandbox's own calls act as (the local operator).
LOCAL_BOARD_USER = "local-board"


class PluginActivationError(Exception):
    """A plugin could not be activated; it is now in status ``error``."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class CallActor:
    """Who a host-to-worker call acts for (``performAction``'s ``actorContext``)."""

    type: Literal["user", "agent", "system"] = "user"
    user_id: str | None = LOCAL_BOARD_USER
    agent_id: str | None = None
    run_id: str | None = None

    def to_wire(self, company_id: str | None) -> dict[str, Any]:
        return {
            "type": self.type,
            "userId": self.user_id,
            "agentId": self.agent_id,
            "runId": self.run_id,
            "companyId": company_id,
        }


@dataclass(eq=False)
class ActivePlugin:
    """A plugin whose worker this host started."""

    record: PluginRecord
    manifest: PluginManifest
    worker: WorkerProcess
    bridge: WorkerBridge


@dataclass(frozen=True, slots=True)
class PreparedPlugin:
    """A plugin activated up to its worker: migrations applied, jobs synced, and what its
    worker is started with, as read from the database (or from a copy of it)."""

    record: PluginRecord
    manifest: PluginManifest
    root: Path
    declared: str  # the worker entrypoint's file
    namespace: str | None
    database: PluginAccess | None
    config: dict[str, Any]
    trusted: bool


#: An event subscription as a worker asks for it: type pattern and filter.
_SubscriptionSpec = tuple[str, dict[str, Any] | None]


@dataclass(frozen=True, slots=True)
class ReloadOutcome:
    """What ``PluginHost.reload`` did.

    ``reloaded``: the new manifest is stored and the new worker runs; ``refused``: the package
    or manifest is unusable and the old worker (if any) still serves; ``failed``: the new
    worker did not start, the plugin is now ``error``.
    """

    plugin_id: str
    plugin_key: str
    status: Literal["reloaded", "refused", "failed"]
    reason: str | None = None
    changes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.status == "reloaded"


class PluginHost:
    """Installs plugins, runs their workers, and calls them.

    Args:
        db: the host database (migrated).
        bus: the event bus plugins publish to and subscribe on (a new one by default).
        python_workers: how Python workers run (see ``PythonWorkers``).
        timings: worker timeouts and restart backoff.
        log_flush_interval: seconds a log line (or a count of capability use) may wait before
            it is stored.
        containment: whether workers in their own process are contained, and their limits
            (``ContainmentSettings.from_env()`` by default; in-process workers never are).
        kernel: what the kernel offers (probed on the first contained start by default).
        spare_workers: start workers in processes kept between hosts (``sandbox.spare_workers``;
            new plugins then get ``stable_plugin_id`` ids).
        statements: plugin SQL checked and rewritten once for every host of the process that
            shares it (``PluginDatabase``); by default the host keeps its own.
    """

    def __init__(
        self,
        db: Database,
        *,
        bus: EventBus | None = None,
        python_workers: PythonWorkers = "subprocess",
        timings: WorkerTimings | None = None,
        log_flush_interval: float = 1.0,
        containment: ContainmentSettings | None = None,
        kernel: KernelSupport | None = None,
        spare_workers: SpareWorkers | None = None,
        statements: StatementCache | None = None,
    ) -> None:
        self.db = db
        self.containment = containment or ContainmentSettings.from_env()
        self._kernel = kernel
        self.spare_workers = spare_workers
        self._notified_unsupported = False
        self.bus = bus or EventBus()
        self.plugin_db = PluginDatabase(db, statements=statements)
        self.logs = LogBuffer(db, flush_interval=log_flush_interval)
        self.usage = UsageCounter(db, flush_interval=log_flush_interval)
        self.python_workers = python_workers
        self.timings = timings or WorkerTimings()
        self._active: dict[str, ActivePlugin] = {}
        self._lifecycle = asyncio.Lock()
        self._background: set[asyncio.Task[None]] = set()
        # Event subscriptions per plugin (mirrors the bus), those a reload carried over that
        # the new worker has not asked for again yet, and the reloads in progress.
        self._subscribed: dict[str, list[_SubscriptionSpec]] = {}
        self._carried: dict[str, list[_SubscriptionSpec]] = {}
        self._reloading: dict[str, asyncio.Event] = {}

    async def __aenter__(self) -> PluginHost:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(
        self, *, graceful: bool = True, within: float | None = None, discard: bool = False
    ) -> None:
        """Stop every worker this host started and store the last log lines.

        ``graceful=False`` kills the workers instead of asking them to shut down (a test's
        end: nothing looks at what they would do next), so no one waits for a worker's exit;
        ``within`` gives each worker that many seconds to shut down, then kills it.
        ``discard=True`` stores neither the last log lines nor the last capability counts,
        for a caller that throws the database away next.
        """
        async with self._lifecycle:
            for plugin_id in list(self._active):
                await self._deactivate(
                    plugin_id, graceful=graceful, within=within, store=not discard
                )
        for pending in (self.logs, self.usage):
            await (pending.discard() if discard else pending.flush())

    # -- lifecycle ----------------------------------------------------------------------------

    async def install(
        self, path: str | os.PathLike[str], *, config: Mapping[str, Any] | None = None
    ) -> PluginRecord:
        """Install the plugin package at ``path`` and load it (``ready``, worker running), or
        upgrade the installed plugin of its key (``install_or_upgrade``).

        Raises:
            NotFound, InvalidInput: the package or its manifest is unusable (nothing stored).
            PluginAlreadyInstalled: the key is installed and ``path`` holds nothing new.
            PluginActivationError: stored, but activation failed (status ``error``).
        """
        return (await self.install_or_upgrade(path, config=config)).record

    async def install_or_upgrade(
        self, path: str | os.PathLike[str], *, config: Mapping[str, Any] | None = None
    ) -> PluginUpdate:
        """Install the plugin package at ``path``, or upgrade the installed plugin of its key.

        An upgrade is upstream's: the row stays (id, config, state, namespace, jobs' history);
        the new version, capabilities and the rest of the manifest, and the package's path,
        are stored; then the worker restarts, and its activation applies the new migrations and
        syncs the declared jobs. ``config`` replaces the stored config; without it the config
        is kept. Beyond upstream: new capabilities need no approval (the author is installing
        their own folder), and a plugin in status ``error`` is upgraded too, so installing the
        fixed folder retries it.

        Raises:
            NotFound, InvalidInput: the package or its manifest is unusable, or the plugin's
                status allows no upgrade (``check_can_upgrade``); nothing stored.
            PluginAlreadyInstalled: the plugin is ``ready`` and its manifest, package path,
                migration files and config are as installed (worker code is read at each
                start, so it needs no upgrade).
            PluginActivationError: stored, but activation failed (status ``error``); an
                edited migration that was applied already fails here (checksum mismatch).
        """
        package, manifest = await self._checked_package(path)
        if config is not None:
            validate_config(manifest.instance_config_schema, config)
        existing = await find_plugin(self.db, manifest.id)
        if (
            existing is not None
            and existing.plugin_key == manifest.id
            and existing.status != "uninstalled"
        ):
            return await self._upgrade(existing.id, package, config=config)
        record = await self._register(package, config)
        return PluginUpdate(await self.load(record.id))

    async def _register(
        self, package: PluginPackage, config: Mapping[str, Any] | None
    ) -> PluginRecord:
        """The new plugin's record (``installed``), with its config saved when one is given."""
        record = await register_plugin(
            self.db,
            package.manifest,
            package_name=package.package_name,
            package_path=str(package.root),
            new_id=stable_plugin_id(package.manifest["id"]) if self.spare_workers else None,
        )
        if config is not None:
            await save_config(self.db, record.id, config)
        return record

    async def _upgrade(
        self, plugin_id: str, package: PluginPackage, *, config: Mapping[str, Any] | None
    ) -> PluginUpdate:
        async with self._lifecycle:
            record = await require_plugin(self.db, plugin_id)
            check_can_upgrade(record.status)
            update = await self._changes(record, package, config)
            if record.status == "ready" and not update.changes and not update.migrations:
                raise PluginAlreadyInstalled(record.plugin_key)
            return await self._store_and_activate(update, package, config)

    async def _changes(
        self, record: PluginRecord, package: PluginPackage, config: Mapping[str, Any] | None
    ) -> PluginUpdate:
        """What upgrading ``record`` from ``package`` would change (``record`` is the old one)."""
        changes = manifest_changes(record.manifest_json, package.manifest, version=False)
        if record.package_path != str(package.root):
            changes.insert(0, f"package path {record.package_path} -> {package.root}")
        if config is not None and dict(config) != await get_config(self.db, record.id):
            changes.append("config replaced")
        migrations = await unapplied_migrations(
            self.db,
            record.id,
            package.manifest,
            package.root,
            max_bytes=self.plugin_db.settings.max_text_bytes,
        )
        return PluginUpdate(record, record, tuple(changes), tuple(migrations))

    async def _store_manifest(self, record: PluginRecord, package: PluginPackage) -> PluginRecord:
        """Store the package's manifest, name and folder as the plugin's (upstream's upgrade)."""
        return await upgrade_plugin(
            self.db,
            record,
            package.manifest,
            package_name=package.package_name,
            package_path=str(package.root),
        )

    async def _store_and_activate(
        self, update: PluginUpdate, package: PluginPackage, config: Mapping[str, Any] | None
    ) -> PluginUpdate:
        """Stop the worker, store the package's manifest (and ``config``), and activate."""
        record = update.record
        await self._deactivate(record.id)
        record = await self._store_manifest(record, package)
        if config is not None:
            await save_config(self.db, record.id, config)
        if record.status != "ready":
            record = await set_status(self.db, record, "ready")
        record = await self._activate_or_fail(record)
        return PluginUpdate(record, update.previous, update.changes, update.migrations)

    async def _checked_package(
        self, path: str | os.PathLike[str], *, replacing: PluginRecord | None = None
    ) -> tuple[PluginPackage, PluginManifest]:
        """Load and validate the package at ``path`` as install does.

        ``replacing``: the installed plugin the package is to upgrade (it must keep its key).
        The package's own key is not counted among the installed plugins.
        """
        package = await load_package(path)
        if replacing is not None:
            check_same_plugin(replacing, package.manifest)
        installed = {
            plugin.plugin_key: parse_manifest(plugin.manifest_json)
            for plugin in await list_plugins(self.db)
            if plugin.plugin_key != package.manifest.get("id")
        }
        manifest = validate_manifest(
            package.manifest, host_version=HOST_VERSION, installed=installed
        )
        worker_entrypoint(package.root, manifest.id, manifest.entrypoints.worker)
        return package, manifest

    async def install_prepared(
        self, path: str | os.PathLike[str], *, config: Mapping[str, Any] | None = None
    ) -> PreparedPlugin:
        """Install the plugin package at ``path`` as ``install`` does a new plugin, but stop
        short of its worker (``ready``, migrations applied, jobs synced); ``start_prepared``
        starts it, on this database or on a copy of it."""
        package, manifest = await self._checked_package(path)
        if config is not None:
            validate_config(manifest.instance_config_schema, config)
        record = await self._register(package, config)
        async with self._lifecycle:
            check_can_load(record.status)
            return await self._prepare(await set_status(self.db, record, "ready"))

    async def start_prepared(self, prepared: PreparedPlugin) -> PluginRecord:
        """Start the worker of a plugin ``install_prepared`` left ready (the same database, or
        an unchanged copy of it)."""
        async with self._lifecycle:
            return await self._activate_or_fail(prepared.record, prepared)

    async def load(self, ref: str) -> PluginRecord:
        """Move an installed (or ready) plugin to ``ready`` and activate it."""
        async with self._lifecycle:
            record = await require_plugin(self.db, ref)
            check_can_load(record.status)
            record = await set_status(self.db, record, "ready")
            return await self._activate_or_fail(record)

    async def enable(self, ref: str) -> PluginUpdate:
        """Re-activate a ``disabled`` (or ``error``) plugin, first upgraded from its folder.

        The package at the plugin's path is read again and validated as at install; what
        changed since it was stored (manifest, new migrations) is upgraded as
        ``install_or_upgrade`` does. A package that is gone or invalid leaves the plugin as
        it was.
        """
        async with self._lifecycle:
            record = await require_plugin(self.db, ref)
            check_can_enable(record.status)
            if record.package_path is None:
                raise NotFound(f"Plugin {record.plugin_key} has no package path")
            package, _ = await self._checked_package(record.package_path, replacing=record)
            update = await self._changes(record, package, None)
            return await self._store_and_activate(update, package, None)

    async def disable(self, ref: str, reason: str | None = None) -> PluginRecord:
        """Stop a ``ready`` plugin's worker and mark it ``disabled`` (``reason`` kept)."""
        async with self._lifecycle:
            record = await require_plugin(self.db, ref)
            check_can_disable(record.status)
            await self._deactivate(record.id)
            return await set_status(self.db, record, "disabled", last_error=reason)

    async def uninstall(self, ref: str, *, remove_data: bool = False) -> PluginRecord:
        """Stop the plugin; mark it ``uninstalled``, or delete its row and data for good."""
        async with self._lifecycle:
            record = await require_plugin(self.db, ref)
            check_can_uninstall(record.plugin_key, record.status, remove_data=remove_data)
            await self._deactivate(record.id)
            if remove_data:  # a purge: the plugin's own tables go too, so a reinstall starts clean
                await self.plugin_db.drop_namespace(record.id)
                await delete_plugin(self.db, record.id)
                return record
            return await set_status(self.db, record, "uninstalled")

    async def configure(self, ref: str, config: Mapping[str, Any]) -> None:
        """Validate and store the plugin's config; a running worker gets ``configChanged``."""
        record = await require_plugin(self.db, ref)
        manifest = parse_manifest(record.manifest_json)
        validate_config(manifest.instance_config_schema, config)
        await save_config(self.db, record.id, config)
        active = self._active.get(record.id)
        if active is not None:
            await active.worker.update_config(config)

    async def activate(self, ref: str) -> ActivePlugin:
        """The running plugin, started here if it is ``ready`` but not yet running.

        Raises:
            WorkerUnavailable: ``Plugin is not ready (current status: <s>)``.
            PluginActivationError: activation failed (the plugin is now ``error``).
        """
        active = self.active(ref)
        if active is not None:  # the common case: no database read per call
            return active
        async with self._lifecycle:
            record = await require_plugin(self.db, ref)
            active = self._active.get(record.id)
            if active is not None:
                return active
            if record.status != "ready":
                raise WorkerUnavailable(f"Plugin is not ready (current status: {record.status})")
            await self._activate_or_fail(record)
            return self._active[record.id]

    async def release(self, plugin_id: str) -> None:
        """Stop this host's worker of a plugin whose record another process changed (disabled
        or uninstalled it from the CLI); the record is left as it is."""
        async with self._lifecycle:
            await self._deactivate(plugin_id)

    @property
    def running(self) -> frozenset[str]:
        """The ids of the plugins whose workers this host started."""
        return frozenset(self._active)

    def active(self, ref: str) -> ActivePlugin | None:
        """The running plugin with this id or key, if this host started it."""
        for active in self._active.values():
            if ref in (active.record.id, active.record.plugin_key):
                return active
        return None

    def carried_subscriptions(self, plugin_id: str) -> int:
        """How many subscriptions a reload carried over that the new worker has not made
        again yet (its ``setup`` subscribes in the background)."""
        if not self.bus.subscription_count(plugin_id):  # a restart dropped them all
            return 0
        return len(self._carried.get(plugin_id, ()))

    async def reload(self, ref: str) -> ReloadOutcome:
        """Upgrade a ``ready`` (or ``error``) plugin from its package folder, then restart it.

        The package at the record's ``package_path`` is read again and validated as at install
        (the plugin itself is not counted among the installed ones). A refusal leaves the
        plugin and its worker as they were. Otherwise the stored manifest (version,
        capabilities, ...) is replaced, config kept, and the plugin re-activated: the old
        worker is shut down, then the new one migrates and initialises (never two workers of
        one plugin at once). Unlike upstream's upgrade, new capabilities need no approval: the
        author is editing their own plugin.

        Event subscriptions survive: the old worker's are kept on the bus while the new one
        starts, and the new worker's own ``events.subscribe`` of the same pattern and filter
        takes one over instead of adding a second (a carried subscription the new code no
        longer makes lasts until the worker's next restart; the worker ignores its events).
        Events published during the reload wait for it and go to the new worker, once.

        Every outcome is written to the plugin's logs: ``Reload refused: <reason>`` and
        ``Reload failed: <reason>`` (level error), ``Plugin reloaded: <changes>`` (info).
        """
        async with self._lifecycle:
            record = await require_plugin(self.db, ref)
            try:
                if record.status not in ("ready", "error"):
                    raise InvalidInput(
                        f"Cannot reload plugin in status '{record.status}'. Plugin must be in "
                        "'ready' or 'error' status to be reloaded."
                    )
                if record.package_path is None:
                    raise NotFound(f"Plugin {record.plugin_key} has no package path")
                package, _ = await self._checked_package(record.package_path, replacing=record)
            except Exception as error:
                return await self._reload_ended(record, "refused", _describe(error))
            changes = tuple(manifest_changes(record.manifest_json, package.manifest))
            reloading = self._reloading[record.id] = asyncio.Event()
            # While the old worker stops, its subscriptions are held under a second owner.
            holder = f"{record.id}:reloading"
            try:
                carried = self._subscriptions_of(record.id)
                for spec in carried:
                    self._add_subscription(record.id, spec, owner=holder)
                await self._deactivate(record.id)
                record = await self._store_manifest(record, package)
                if record.status != "ready":
                    record = await set_status(self.db, record, "ready")
                # no await from here to the hand-over: no event sees both owners, or neither
                self._subscribed[record.id] = []
                self._carried[record.id] = list(carried)
                for spec in carried:
                    self._add_subscription(record.id, spec)
                self.bus.unsubscribe_owner(holder)
                try:
                    await self._activate_or_fail(record)
                except PluginActivationError as error:
                    return await self._reload_ended(record, "failed", error.message, changes)
            finally:
                self.bus.unsubscribe_owner(holder)
                del self._reloading[record.id]
                reloading.set()
            return await self._reload_ended(record, "reloaded", None, changes)

    # -- calls into plugins -------------------------------------------------------------------

    async def perform_action(
        self,
        ref: str,
        key: str,
        params: Mapping[str, Any] | None = None,
        *,
        company_id: str | None = None,
        actor: CallActor = CallActor(),
    ) -> Any:
        """``performAction`` as the action bridge sends it (2026.707.0).

        A given company overwrites ``params.companyId`` and becomes the actor's company.
        """
        active = await self.activate(ref)
        payload = dict(params or {})
        if company_id is not None:
            await self._require_company(company_id)
            payload["companyId"] = company_id
        message = {
            "key": key,
            "params": payload,
            "renderEnvironment": None,
            "actorContext": actor.to_wire(company_id),
        }
        return await active.worker.call("performAction", message)

    async def get_data(
        self,
        ref: str,
        key: str,
        params: Mapping[str, Any] | None = None,
        *,
        company_id: str | None = None,
    ) -> Any:
        """``getData`` as the data bridge sends it: a given company goes top-level."""
        active = await self.activate(ref)
        message: dict[str, Any] = {"key": key, "params": dict(params or {})}
        if company_id is not None:
            await self._require_company(company_id)
            message["companyId"] = company_id
        message["renderEnvironment"] = None
        return await active.worker.call("getData", message)

    async def run_job(
        self, ref: str, job_key: str, *, trigger: RunTrigger = "manual"
    ) -> JobRunRecord:
        """Run a declared job now (``runJob``), as a manual trigger does, and wait for it.

        The run is a ``plugin_job_runs`` row (``core.plugin_jobs.trigger_job``, with upstream's
        refusals as ``Conflict``), ended ``succeeded``, or ``failed`` with the error, which is
        then raised.
        """
        active = await self.activate(ref)
        if job_key not in {job.job_key for job in active.manifest.jobs or ()}:
            raise NotFound(f'Job "{job_key}" is not declared by plugin {active.record.plugin_key}')
        queued = await trigger_job(
            self.db, active.record.id, job_key, now=datetime.now(UTC), trigger=trigger
        )
        # From here on the run exists, so whatever happens (a cancel while it is being started
        # included) it is ended rather than left ``running``.
        try:
            await start_run(self.db, queued.id, now=datetime.now(UTC))
            job = {
                "jobKey": job_key,
                "runId": queued.id,
                "trigger": trigger,
                "scheduledAt": _now_iso(),
            }
            timeout = JOB_TIMEOUT.total_seconds()
            await active.worker.call("runJob", {"job": job}, timeout=timeout)
        except BaseException as error:
            await finish_run(
                self.db, queued.id, now=datetime.now(UTC), status="failed", error=_describe(error)
            )
            raise
        return await finish_run(self.db, queued.id, now=datetime.now(UTC), status="succeeded")

    async def api_request(
        self, ref: str, request: ApiRequest, caller: ApiCaller | None = None
    ) -> ApiResponse:
        """A request to the plugin's scoped API routes, checked as upstream's HTTP route does.

        Never raises for a refused or failed request: the answer is the response upstream would
        send (status, allowlisted headers, JSON body). ``caller`` defaults to the local board.
        """
        plugin = await find_plugin(self.db, ref)
        active: ActivePlugin | None = None
        if plugin is not None and plugin.status == "ready":
            try:
                active = await self.activate(plugin.id)
            except PluginActivationError:
                plugin = await find_plugin(self.db, plugin.id)  # now in status error

        async def call_worker(payload: dict[str, Any]) -> Any:
            assert active is not None
            return await active.worker.call("handleApiRequest", payload)

        return await dispatch_api_request(
            self.db,
            plugin,
            request,
            caller or ApiCaller.local_board(),
            worker_running=active is not None and active.worker.status is WorkerStatus.RUNNING,
            call_worker=call_worker,
            bus=self.bus,
        )

    async def execute_tool(
        self,
        ref: str,
        tool_name: str,
        parameters: Mapping[str, Any],
        run_context: Mapping[str, Any],
    ) -> Any:
        """``executeTool`` for an agent run."""
        active = await self.activate(ref)
        message = {
            "toolName": tool_name,
            "parameters": dict(parameters),
            "runContext": dict(run_context),
        }
        return await active.worker.call("executeTool", message)

    async def health(self, ref: str) -> Any:
        """The worker's own ``health`` answer."""
        active = await self.activate(ref)
        return await active.worker.health()

    def emit_event(self, event: PluginEvent) -> None:
        """Publish an event; subscribed plugins get it (``drain()`` waits for their handlers)."""
        self.bus.publish(event)

    async def drain(self) -> None:
        """Wait until every event delivery, log line and count of capability use so far is
        stored."""
        await self.bus.drain()
        await self.logs.flush()
        await self.usage.flush()

    # -- activation ---------------------------------------------------------------------------

    async def _activate_or_fail(
        self, record: PluginRecord, prepared: PreparedPlugin | None = None
    ) -> PluginRecord:
        try:
            await self._start_worker(prepared or await self._prepare(record))
        except Exception as error:
            message = f"Activation failed: {_describe(error)}"
            await set_status(self.db, record, "error", last_error=message)
            raise PluginActivationError(message) from error
        return record

    async def _prepare(self, record: PluginRecord) -> PreparedPlugin:
        """Activation up to the worker: migrations applied, jobs synced, what the worker gets."""
        if record.package_path is None:
            raise NotFound(f"Plugin {record.plugin_key} has no package path")
        manifest = parse_manifest(record.manifest_json)
        root = Path(record.package_path)
        declared = worker_entrypoint(root, record.plugin_key, manifest.entrypoints.worker)
        namespace = await self.plugin_db.apply_migrations(record.id, record.manifest_json, root)
        database = await self.plugin_db.access(record.id) if namespace else None
        config = await get_config(self.db, record.id)
        await sync_jobs(self.db, record.id, manifest.jobs or (), now=datetime.now(UTC))
        return PreparedPlugin(
            record,
            manifest,
            root,
            declared,
            namespace.namespace_name if namespace else None,
            database,
            config,
            await is_trusted(self.db, record.id),
        )

    async def _start_worker(self, prepared: PreparedPlugin) -> None:
        record, manifest, root, declared = (
            prepared.record,
            prepared.manifest,
            prepared.root,
            prepared.declared,
        )
        database, config, namespace = prepared.database, prepared.config, prepared.namespace
        plugin_id = record.id
        bridge = WorkerBridge(
            db=self.db,
            bus=self.bus,
            plugin=PluginRef(plugin_id, record.plugin_key, frozenset(manifest.capabilities)),
            plugin_db=self.plugin_db,
            database=database,
            logs=self.logs,
            usage=self.usage,
            subscribe=lambda pattern, event_filter: self._subscribe(
                plugin_id, pattern, event_filter
            ),
        )
        worker = WorkerProcess(
            plugin_id=plugin_id,
            launcher=self._launcher(plugin_id, root, declared, trusted=prepared.trusted),
            initialize=InitializeParams(
                manifest=record.manifest_json,
                config=config,
                database_namespace=namespace,
                host_version=HOST_VERSION,
            ),
            handler=bridge.handle,
            on_notification=bridge.notification,
            on_output=lambda stream, line: self._worker_output(plugin_id, stream, line),
            on_event=lambda event: self._worker_event(plugin_id, event),
            on_restart=lambda: self.bus.unsubscribe_owner(plugin_id),
            timings=self.timings,
        )
        self._active[plugin_id] = ActivePlugin(record, manifest, worker, bridge)
        try:
            await worker.start()
        except BaseException:
            self._active.pop(plugin_id, None)
            self.bus.unsubscribe_owner(plugin_id)
            raise

    async def _deactivate(
        self,
        plugin_id: str,
        *,
        graceful: bool = True,
        within: float | None = None,
        store: bool = True,
    ) -> None:
        active = self._active.pop(plugin_id, None)
        self.bus.unsubscribe_owner(plugin_id)
        if active is not None:
            await active.worker.stop(graceful=graceful, within=within)
        if store:
            await self.logs.flush()
            await self.usage.flush()

    @property
    def kernel(self) -> KernelSupport:
        """What the kernel offers for containment (probed once per process)."""
        if self._kernel is None:
            self._kernel = probe_kernel()
        return self._kernel

    def _launcher(
        self, plugin_id: str, root: Path, declared: str, *, trusted: bool
    ) -> WorkerLauncher:
        python = not declared.endswith(NODE_SUFFIXES)
        if python and self.python_workers == "in-process":
            return InProcessLauncher(
                load_python_plugin(declared, package_root=root), call_timeout=self.timings.call
            )
        command = worker_command(declared, package_root=root, plugin_id=plugin_id)
        launcher: WorkerLauncher = SubprocessLauncher(command)
        if self.containment.enabled and not trusted:
            if self.kernel.supported:
                launcher = ContainedLauncher(command, settings=self.containment, kernel=self.kernel)
            elif not self._notified_unsupported:  # once per host
                self._notified_unsupported = True
                logger.warning(unsupported_notice(self.kernel))
        return self.spare_workers.launcher(launcher) if self.spare_workers else launcher

    async def _reload_ended(
        self,
        record: PluginRecord,
        status: Literal["reloaded", "refused", "failed"],
        reason: str | None,
        changes: tuple[str, ...] = (),
    ) -> ReloadOutcome:
        meta: dict[str, Any] = {"packagePath": record.package_path}
        if status == "reloaded":
            described = "; ".join(changes) or "manifest unchanged"
            message = f"Plugin reloaded: {described}; worker restarted"
            meta.update(version=record.version, changes=list(changes))
            self.logs.add_host_line(LogLine(record.id, "info", message, meta))
        else:
            message = f"Reload {status}: {reason}"
            self.logs.add_host_line(LogLine(record.id, "error", message, meta))
        await self.logs.flush()
        return ReloadOutcome(record.id, record.plugin_key, status, reason, changes)

    def _subscriptions_of(self, plugin_id: str) -> list[_SubscriptionSpec]:
        """The plugin's subscriptions now on the bus (none if a restart dropped them)."""
        specs = self._subscribed.get(plugin_id, [])
        return list(specs) if len(specs) == self.bus.subscription_count(plugin_id) else []

    def _subscribe(
        self, plugin_id: str, pattern: str, event_filter: Mapping[str, Any] | None
    ) -> None:
        if self.bus.subscription_count(plugin_id) == 0:  # a (re)start dropped the old ones
            self._subscribed.pop(plugin_id, None)
            self._carried.pop(plugin_id, None)
        spec: _SubscriptionSpec = (pattern, dict(event_filter) if event_filter else None)
        carried = self._carried.get(plugin_id)
        if carried and spec in carried:
            carried.remove(spec)  # the reloaded worker takes over its predecessor's subscription
            return
        self._add_subscription(plugin_id, spec)

    def _add_subscription(
        self, plugin_id: str, spec: _SubscriptionSpec, *, owner: str | None = None
    ) -> None:
        pattern, event_filter = spec

        async def deliver(event: PluginEvent) -> None:
            reloading = self._reloading.get(plugin_id)
            if reloading is not None:  # deliver to the new worker once it runs
                await reloading.wait()
            active = self._active.get(plugin_id)
            if active is None:
                return
            try:
                await active.worker.call("onEvent", {"event": event.to_wire()})
            except RpcError as error:
                self.logs.add(
                    LogLine(
                        plugin_id,
                        "error",
                        f"onEvent {event.event_type} failed: {error.message}",
                        {"eventId": event.event_id, "code": error.code},
                    )
                )

        if owner is None:
            self._subscribed.setdefault(plugin_id, []).append(spec)
        self.bus.subscribe(pattern, deliver, event_filter=event_filter, owner=owner or plugin_id)

    def _worker_output(self, plugin_id: str, stream: str, line: str) -> None:
        # The plugin's own output: rate limited with its ctx.logger lines (core.plugin_logs).
        level = "warn" if stream == "stderr" else "info"
        self.logs.add(LogLine(plugin_id, level, line, {"stream": stream}))

    def _worker_event(self, plugin_id: str, event: WorkerEvent) -> None:
        if not isinstance(event, WorkerCrashed):
            return
        restart = (
            f"restarting in {event.restart_delay:.1f}s"
            if event.will_restart and event.restart_delay is not None
            else "not restarting"
        )
        self.logs.add_host_line(
            LogLine(
                plugin_id,
                "error",
                f"Worker crashed ({event.consecutive_crashes} in a row, {restart}): {event.reason}",
            )
        )
        if not event.will_restart:
            task = asyncio.ensure_future(self._mark_gave_up(plugin_id, event.reason))
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    async def _mark_gave_up(self, plugin_id: str, reason: str) -> None:
        try:
            record = await require_plugin(self.db, plugin_id)
            if record.status == "ready":
                await set_status(
                    self.db, record, "error", last_error=f"Worker stopped restarting: {reason}"
                )
        except Exception:
            logger.exception("could not mark plugin %s as errored", plugin_id)

    async def _require_company(self, company_id: str) -> None:
        if not await company_exists(self.db, company_id):
            raise NotFound("Company not found")


def _now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _describe(error: BaseException) -> str:
    message = getattr(error, "message", None)
    return message if isinstance(message, str) else str(error) or type(error).__name__
