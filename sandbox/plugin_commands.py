"""The plugin commands: install and manage plugins, call them, and seed a database to try them.

Every command opens the database (migrating it first when it is behind the newest revision, so
a new user's first command just works), starts at most the one worker it talks to, and stops it
on exit. A plugin's status lives in the database: ``ready`` survives between commands, and the
next command that calls the plugin starts its worker again.

Refusals of the host and of workers become one ``Error:`` line and exit status 1; a worker's own
error answer names its JSON-RPC code (``Issue not found: <id> (WORKER_ERROR -32002)``).
"""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from core import records
from core.agent_keys import create_agent_key, revoke_agent_key
from core.agents import create_agent, find_agents
from core.companies import create_company, get_company
from core.errors import HostError
from core.issues import IssueCreate, create_issue
from core.plugin_config import get_config
from core.plugin_jobs import JobRecord, JobRunRecord, list_jobs, list_runs
from core.plugin_logs import DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT, list_logs
from core.plugin_registry import (
    PluginAlreadyInstalled,
    list_plugins,
    namespace_names,
)
from core.plugin_trust import set_trusted, trusted_plugin_ids
from core.plugin_upgrade import PluginUpdate
from core.scoped_routes import ApiCaller, ApiRequest, ApiResponse
from core.unit_of_work import write
from db import Database
from db.constants import PLUGIN_LOG_LEVELS
from sandbox.cli_support import (
    database_option,
    format_table,
    format_time,
    open_migrated_database,
    progress,
    require_company,
    require_plugin,
    run_command,
    verbose,
)
from sandbox.containment.isolation import worker_isolation
from sandbox.containment.policy import ContainmentSettings
from sandbox.demo import DEMO_PLUGINS, DemoRun, DemoUnavailable, demo_plugin, demo_report, run_demo
from sandbox.log_follow import follow_logs
from sandbox.plugin_host import PluginActivationError, PluginHost
from sandbox.plugin_inspect_commands import sql_command, tables_command
from sandbox.plugin_package import sdk_version_warning
from sandbox.protocol import ErrorCode, ProtocolError, RpcError, WorkerUnavailable
from sandbox.scaffold import new_command
from sandbox.serve.client import HostCallFailed, running_host
from sandbox.worker_connection import PluginHandlerError

T = TypeVar("T")

_PLUGIN_ARGUMENT = click.argument("plugin_ref", metavar="PLUGIN")
_JSON_HELP = "Print JSON on one line."
_PREFIX = re.compile(r"^[A-Za-z]+$")


# -- shared steps -------------------------------------------------------------------------------


def _call(coroutine: Coroutine[Any, Any, T]) -> T:
    """``run_command``, with the host's and the workers' refusals as one-line errors too."""
    try:
        return run_command(coroutine)
    except (HostError, ProtocolError, PluginActivationError) as error:
        if isinstance(error, PluginHandlerError) and verbose():
            click.echo(error.trace.rstrip(), err=True)
        raise click.ClickException(_describe(error)) from error
    except HostCallFailed as error:
        if error.trace and verbose():
            click.echo(error.trace.rstrip(), err=True)
        raise click.ClickException(_describe_remote(error)) from error


def _describe(error: HostError | ProtocolError | PluginActivationError) -> str:
    """One line for a refusal: a worker's error names its code (and the exception's type, with
    how to see its trace); config errors list each field."""
    text = error.message
    if isinstance(error, PluginHandlerError):
        text = f"{error.error_type}: {text} ({_code_name(error.code)})"
    elif isinstance(error, RpcError) and not isinstance(error, WorkerUnavailable):
        text = f"{text} ({_code_name(error.code)})"
    elif isinstance(error, HostError) and error.details.get("fieldErrors"):
        fields = "; ".join(f"{e['field']}: {e['message']}" for e in error.details["fieldErrors"])
        text = f"{text}: {fields}"
    return _with_trace_hint(" ".join(text.split()), isinstance(error, PluginHandlerError))


def _describe_remote(error: HostCallFailed) -> str:
    """The same line as ``_describe`` for a refusal that a running host sent back."""
    text = f"{error.error_type}: {error.message}" if error.error_type else error.message
    text = " ".join(text.split())
    if error.code in ErrorCode.__members__ and error.code != "WORKER_UNAVAILABLE":
        text = f"{text} ({error.code} {ErrorCode[error.code].value})"
    return _with_trace_hint(text, bool(error.trace))


def _with_trace_hint(line: str, has_trace: bool) -> str:
    """``line``, saying how to see the trace when there is one and ``-v`` was not given."""
    if has_trace and not verbose():
        command = click.get_current_context().info_name
        line += f" -- rerun as 'sandbox -v {command} ...' for the traceback"
    return line


def _code_name(code: int) -> str:
    try:
        return f"{ErrorCode(code).name} {code}"
    except ValueError:
        return f"code {code}"


@asynccontextmanager
async def _host(choice: str | None) -> AsyncIterator[PluginHost]:
    """A plugin host on the chosen database; workers it starts stop when the block ends."""
    async with open_migrated_database(choice) as db, PluginHost(db) as host:
        yield host


def _parse_json(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as error:
        raise click.ClickException(f"{what} is not valid JSON: {error}") from None


def _parse_params(text: str | None) -> dict[str, Any]:
    if text is None:
        return {}
    params = _parse_json(text, "--params")
    if not isinstance(params, dict):
        raise click.ClickException("--params must be a JSON object")
    return params


def _echo_json(value: Any, *, one_line: bool) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=None if one_line else 2))


# -- sandbox plugin ... -------------------------------------------------------------------------


@click.group()
def plugin() -> None:
    """Install, configure and inspect plugins.

    PLUGIN is a plugin key (the manifest id) or the plugin's record id.
    """


plugin.add_command(new_command)


@plugin.command()
@database_option
@click.argument("path")
@click.option(
    "--config",
    "config_text",
    metavar="JSON",
    help="Instance config, checked against the manifest's instanceConfigSchema.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the plugin record as JSON.")
def install(database: str | None, path: str, config_text: str | None, as_json: bool) -> None:
    """Install the plugin package at PATH and load it, or upgrade the installed plugin.

    Loading applies the plugin's migrations, then starts and initializes its worker; the worker
    stops when the command ends and the plugin stays ready. Prints the plugin's database
    namespace, the schema name its SQL must write before each table.

    When the plugin's key is installed already, PATH upgrades it as Paperclip upgrades a
    plugin: the new version, capabilities and manifest are stored, new migration files are
    applied, and its config (unless --config is given), state and tables are kept. A plugin in
    status error is upgraded too, so installing the fixed folder retries it.
    """
    config = None if config_text is None else _parse_json(config_text, "--config")

    async def run() -> tuple[PluginUpdate, str | None]:
        async with _host(database) as host:
            try:
                update = await host.install_or_upgrade(path, config=config)
            except PluginAlreadyInstalled as error:
                raise click.ClickException(_nothing_to_upgrade(error, path)) from None
            return update, (await namespace_names(host.db)).get(update.record.id)

    update, namespace = _call(run())
    record = update.record
    if record.package_path is not None:
        warning = sdk_version_warning(Path(record.package_path), record.plugin_key)
        if warning is not None:
            click.echo(f"warning: {warning}", err=True)
    if as_json:
        wire = record.to_wire() | {"databaseNamespace": namespace}
        if update.previous is not None:
            wire["upgrade"] = {
                "previousVersion": update.previous.version,
                "previousStatus": update.previous.status,
                "changes": list(update.changes),
                "migrations": list(update.migrations),
            }
        _echo_json(wire, one_line=True)
        return
    if update.previous is None:
        click.echo(
            f"Installed {record.plugin_key} {record.version} ({record.status}) "
            f"from {record.package_path}"
        )
    else:
        verb = "Reinstalled" if update.previous.version == record.version else "Upgraded"
        click.echo(f"{verb} {record.plugin_key} {_upgrade_summary(update)}")
    if namespace is not None:
        click.echo(f"Database namespace: {namespace} (write {namespace}.<table> in its SQL)")


def _nothing_to_upgrade(error: PluginAlreadyInstalled, path: str) -> str:
    """Upstream's message, then why nothing happened and how to start over."""
    return (
        f"{error.message} -- nothing changed in {path} (manifest, migrations and config are as "
        "installed; worker code is read each time the worker starts); to start over: "
        f"sandbox plugin uninstall {error.plugin_key} --remove-data, then install it again"
    )


def _upgrade_summary(update: PluginUpdate) -> str:
    """``0.1.0 -> 0.2.0 (ready): capabilities added: x; applied 1 new migration: 002_x.sql``."""
    assert update.previous is not None
    before, after = update.previous, update.record
    version = after.version
    if before.version != after.version:
        version = f"{before.version} -> {after.version}"
    status = after.status if before.status == after.status else f"{before.status} -> {after.status}"
    details = list(update.changes)
    if update.migrations:
        count = len(update.migrations)
        noun = "migration" if count == 1 else "migrations"
        details.append(f"applied {count} new {noun}: {', '.join(update.migrations)}")
    return f"{version} ({status})" + (f": {'; '.join(details)}" if details else "")


@plugin.command("list")
@database_option
@click.option("--all", "include_uninstalled", is_flag=True, help="Include uninstalled plugins.")
@click.option("--json", "as_json", is_flag=True, help="Print the plugin records as JSON.")
def list_command(database: str | None, include_uninstalled: bool, as_json: bool) -> None:
    """List installed plugins in install order.

    ISOLATION says how the plugin's worker runs: contained, trusted (``plugin trust``), off
    (``SANDBOX_CONTAINMENT=off``) or unsupported (this kernel cannot contain it). NAMESPACE is
    the plugin's database schema: its SQL writes NAMESPACE.<table>.
    """

    async def run() -> tuple[list[records.PluginRecord], set[str], dict[str, str]]:
        async with open_migrated_database(database) as db:
            plugins = await list_plugins(db, include_uninstalled=include_uninstalled)
            return plugins, await trusted_plugin_ids(db), await namespace_names(db)

    plugins, trusted, namespaces = _call(run())
    settings = ContainmentSettings.from_env()
    isolation = {
        p.id: worker_isolation(trusted=p.id in trusted, settings=settings) for p in plugins
    }
    if as_json:
        wire = [
            record.to_wire()
            | {"isolation": isolation[record.id], "databaseNamespace": namespaces.get(record.id)}
            for record in plugins
        ]
        _echo_json(wire, one_line=True)
        return
    if not plugins:
        click.echo("No plugins installed.")
        return
    rows = [
        (
            p.plugin_key,
            p.version,
            p.status,
            isolation[p.id],
            namespaces.get(p.id, "-"),
            p.package_path or "-",
            p.last_error or "-",
        )
        for p in plugins
    ]
    headers = ("KEY", "VERSION", "STATUS", "ISOLATION", "NAMESPACE", "PATH", "LAST ERROR")
    click.echo(format_table(headers, rows))


@plugin.command()
@database_option
@_PLUGIN_ARGUMENT
def trust(database: str | None, plugin_ref: str) -> None:
    """Run a plugin's worker uncontained, as a plain child process (trusted code only).

    Takes effect at the worker's next start.
    """
    _set_trust(database, plugin_ref, trusted=True)


@plugin.command()
@database_option
@_PLUGIN_ARGUMENT
def untrust(database: str | None, plugin_ref: str) -> None:
    """Contain a trusted plugin's worker again (from its next start)."""
    _set_trust(database, plugin_ref, trusted=False)


def _set_trust(database: str | None, plugin_ref: str, *, trusted: bool) -> None:
    async def run() -> tuple[records.PluginRecord, bool]:
        async with open_migrated_database(database) as db:
            record = await require_plugin(db, plugin_ref)
            return record, await set_trusted(db, record.id, trusted)

    record, changed = _call(run())
    state = "trusted: its worker runs uncontained" if trusted else "contained"
    click.echo(f"{record.plugin_key} {'is now' if changed else 'was already'} {state}")


@plugin.command()
@database_option
@_PLUGIN_ARGUMENT
def enable(database: str | None, plugin_ref: str) -> None:
    """Enable a disabled or failed plugin.

    Its folder is read again first: a changed manifest or a new migration file upgrades the
    plugin as `sandbox plugin install` does. Its worker must start and initialize again, as at
    install.
    """

    async def run() -> PluginUpdate:
        async with _host(database) as host:
            record = await require_plugin(host.db, plugin_ref)
            return await host.enable(record.id)

    update = _call(run())
    record = update.record
    assert update.previous is not None
    if update.changes or update.migrations or update.previous.version != record.version:
        click.echo(f"Enabled {record.plugin_key} {_upgrade_summary(update)}")
    else:
        click.echo(f"Enabled {record.plugin_key} ({record.status})")


@plugin.command()
@database_option
@_PLUGIN_ARGUMENT
@click.option("--reason", help="Why, kept as the plugin's last error.")
def disable(database: str | None, plugin_ref: str, reason: str | None) -> None:
    """Disable a ready plugin.

    Its worker is stopped and calls to it are refused until it is enabled again.
    """

    async def run() -> records.PluginRecord:
        async with _host(database) as host:
            record = await require_plugin(host.db, plugin_ref)
            return await host.disable(record.id, reason)

    record = _call(run())
    click.echo(f"Disabled {record.plugin_key}" + (f": {reason}" if reason else ""))


@plugin.command()
@database_option
@_PLUGIN_ARGUMENT
@click.option(
    "--remove-data",
    is_flag=True,
    help="Delete the plugin for good: its record, config, state and logs.",
)
def uninstall(database: str | None, plugin_ref: str, remove_data: bool) -> None:
    """Uninstall a plugin.

    Its config, state and tables are kept (installing the same key again reuses them) unless
    --remove-data is given.
    """

    async def run() -> records.PluginRecord:
        async with _host(database) as host:
            record = await require_plugin(host.db, plugin_ref)
            return await host.uninstall(record.id, remove_data=remove_data)

    record = _call(run())
    if remove_data:
        click.echo(f"Uninstalled {record.plugin_key} and deleted its data")
    else:
        click.echo(f"Uninstalled {record.plugin_key} (data kept)")


@plugin.command("config")
@database_option
@_PLUGIN_ARGUMENT
@click.argument("config_text", metavar="[JSON]", required=False)
def config_command(database: str | None, plugin_ref: str, config_text: str | None) -> None:
    """Show or set a plugin's instance config.

    Without JSON, prints PLUGIN's stored config. With JSON, checks it against the manifest's
    instanceConfigSchema and stores it.
    """
    config = None if config_text is None else _parse_json(config_text, "The config")

    async def run() -> tuple[records.PluginRecord, dict[str, Any]]:
        async with _host(database) as host:
            record = await require_plugin(host.db, plugin_ref)
            if config is None:
                return record, await get_config(host.db, record.id)
            await host.configure(record.id, config)
            return record, config

    record, stored = _call(run())
    if config is None:
        _echo_json(stored, one_line=False)
    else:
        click.echo(f"Stored the config of {record.plugin_key}")


@plugin.command()
@database_option
@_PLUGIN_ARGUMENT
@click.option(
    "--level", type=click.Choice([*PLUGIN_LOG_LEVELS, "metric"]), help="Only lines of this level."
)
@click.option(
    "--limit",
    type=click.IntRange(1, MAX_LIST_LIMIT),
    default=DEFAULT_LIST_LIMIT,
    show_default=True,
    help="Show the newest N lines.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the lines as JSON (oldest first).")
@click.option(
    "--follow",
    "-f",
    is_flag=True,
    help="Then print each new line as it is written, until Ctrl-C (--json: one object a line).",
)
def logs(
    database: str | None,
    plugin_ref: str,
    level: str | None,
    limit: int,
    as_json: bool,
    follow: bool,
) -> None:
    """Show a plugin's stored log lines, oldest first.

    Lines come from ctx.logger, ctx.metrics, the worker's stderr and stray stdout, and crashes.
    """
    if follow:

        def emit(line: records.PluginLogRecord) -> None:
            if as_json:
                click.echo(json.dumps(line.to_wire(), ensure_ascii=False))
            else:
                _echo_log_line(line)

        async def run_follow() -> None:
            async with open_migrated_database(database) as db:
                record = await require_plugin(db, plugin_ref)
                await follow_logs(db, record.id, level=level, limit=limit, emit=emit)

        _call(run_follow())
        return

    async def run() -> list[records.PluginLogRecord]:
        async with open_migrated_database(database) as db:
            record = await require_plugin(db, plugin_ref)
            newest_first = await list_logs(db, record.id, limit=limit, level=level)
            return newest_first[::-1]

    lines = _call(run())
    if as_json:
        _echo_json([line.to_wire() for line in lines], one_line=True)
        return
    if not lines:
        click.echo("No log lines.")
    for line in lines:
        _echo_log_line(line)


def _echo_log_line(line: records.PluginLogRecord) -> None:
    when = line.created_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    rest = dict(line.meta or {})
    stack = rest.pop("stack", None) if isinstance(rest.get("stack"), str) else None
    meta = f"  {json.dumps(rest, ensure_ascii=False)}" if rest else ""
    click.echo(f"{when}  {line.level:<6}  {line.message}{meta}")
    if stack:  # a handler's traceback or stack, under its line
        click.echo(textwrap.indent(stack.rstrip(), "    "))


@plugin.command()
@database_option
@_PLUGIN_ARGUMENT
@click.option("--json", "as_json", is_flag=True, help="Print the jobs as JSON on one line.")
def jobs(database: str | None, plugin_ref: str, as_json: bool) -> None:
    """Show a plugin's scheduled jobs: schedule, status, next run and last run."""

    async def run() -> list[tuple[JobRecord, JobRunRecord | None]]:
        async with open_migrated_database(database) as db:
            record = await require_plugin(db, plugin_ref)
            found = []
            for job in await list_jobs(db, record.id):
                last = await list_runs(db, record.id, job_key=job.job_key, limit=1)
                found.append((job, last[0] if last else None))
            return found

    found = _call(run())
    if as_json:
        _echo_json([_job_wire(job, last) for job, last in found], one_line=True)
        return
    if not found:
        click.echo("No jobs.")
        return
    rows = [
        (
            job.job_key,
            job.schedule or "-",
            job.status,
            format_time(job.next_run_at),
            "-"
            if last is None
            else f"{last.status} at {format_time(last.finished_at or last.created_at)}",
            (last.error or "") if last is not None else "",
        )
        for job, last in found
    ]
    click.echo(format_table(("JOB", "SCHEDULE", "STATUS", "NEXT RUN", "LAST RUN", "ERROR"), rows))


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _job_wire(job: JobRecord, last: JobRunRecord | None) -> dict[str, Any]:
    """A job with its last run, in upstream's camelCase field names."""
    run = None
    if last is not None:
        run = {
            "id": last.id,
            "trigger": last.trigger,
            "status": last.status,
            "durationMs": last.duration_ms,
            "error": last.error,
            "startedAt": _iso(last.started_at),
            "finishedAt": _iso(last.finished_at),
            "createdAt": _iso(last.created_at),
        }
    return {
        "id": job.id,
        "jobKey": job.job_key,
        "schedule": job.schedule,
        "status": job.status,
        "lastRunAt": _iso(job.last_run_at),
        "nextRunAt": _iso(job.next_run_at),
        "lastRun": run,
    }


plugin.add_command(tables_command)
plugin.add_command(sql_command)


# -- calls into a plugin ------------------------------------------------------------------------


@click.command()
@database_option
@_PLUGIN_ARGUMENT
@click.argument("key")
@click.option(
    "--company", required=True, metavar="COMPANY", help="Company id or issue prefix (e.g. ACM)."
)
@click.option("--params", "params_text", metavar="JSON", help="The action's params (an object).")
@click.option("--json", "as_json", is_flag=True, help=_JSON_HELP)
def action(
    database: str | None,
    plugin_ref: str,
    key: str,
    company: str,
    params_text: str | None,
    as_json: bool,
) -> None:
    """Run a plugin action and print its result.

    PLUGIN's action KEY gets the params with companyId set to the company, acting as the local
    board user, as Paperclip's action bridge sends it.
    """
    params = _parse_params(params_text)

    async def run() -> Any:
        async with open_migrated_database(database) as db:
            record = await require_plugin(db, plugin_ref)
            company_id = (await require_company(db, company)).id
            client = await running_host(db)
            if client is not None:
                return await client.action(record.id, key, params, company_id)
            async with PluginHost(db) as host:
                return await host.perform_action(record.id, key, params, company_id=company_id)

    _echo_json(_call(run()), one_line=as_json)


@click.command()
@database_option
@_PLUGIN_ARGUMENT
@click.argument("key")
@click.option("--company", metavar="COMPANY", help="Company id or issue prefix (e.g. ACM).")
@click.option("--params", "params_text", metavar="JSON", help="The query's params (an object).")
@click.option("--json", "as_json", is_flag=True, help=_JSON_HELP)
def data(
    database: str | None,
    plugin_ref: str,
    key: str,
    company: str | None,
    params_text: str | None,
    as_json: bool,
) -> None:
    """Ask a plugin for data and print the answer.

    PLUGIN's data KEY gets the params, and the company when one is given, as Paperclip's data
    bridge sends them.
    """
    params = _parse_params(params_text)

    async def run() -> Any:
        async with open_migrated_database(database) as db:
            record = await require_plugin(db, plugin_ref)
            company_id = None if company is None else (await require_company(db, company)).id
            client = await running_host(db)
            if client is not None:
                return await client.data(record.id, key, params, company_id)
            async with PluginHost(db) as host:
                return await host.get_data(record.id, key, params, company_id=company_id)

    _echo_json(_call(run()), one_line=as_json)


@click.command()
@database_option
@_PLUGIN_ARGUMENT
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def health(database: str | None, plugin_ref: str, as_json: bool) -> None:
    """Ask a plugin's worker how it is.

    Asks PLUGIN's worker (through a running `sandbox serve`, else a worker started for this
    command) and prints its health answer; the exit status is 1 unless the worker answers "ok".
    """

    async def run() -> tuple[records.PluginRecord, Any]:
        async with open_migrated_database(database) as db:
            record = await require_plugin(db, plugin_ref)
            client = await running_host(db)
            if client is not None:
                return record, await client.health(record.id)
            async with PluginHost(db) as host:
                return record, await host.health(record.id)

    record, answer = _call(run())
    status = answer.get("status") if isinstance(answer, dict) else None
    if as_json:
        _echo_json(
            {
                "pluginId": record.id,
                "pluginKey": record.plugin_key,
                "status": record.status,
                "health": answer,
            },
            one_line=True,
        )
    else:
        message = answer.get("message") if isinstance(answer, dict) else None
        worker = f"worker {status or json.dumps(answer)}" + (f": {message}" if message else "")
        click.echo(f"{record.plugin_key} {record.version}: {record.status}, {worker}")
    if status != "ok":
        raise SystemExit(1)


_HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


@click.command()
@database_option
@_PLUGIN_ARGUMENT
@click.argument("method", type=click.Choice(_HTTP_METHODS, case_sensitive=False))
@click.argument("path")
@click.option("--body", "body_text", metavar="JSON", help="The request's JSON body.")
@click.option(
    "--as-agent",
    "agent_ref",
    metavar="AGENT",
    help="Call as this agent (id or name) instead of the local board user.",
)
@click.option("--run-id", metavar="RUN", help="The caller's run id (x-paperclip-run-id header).")
@click.option("--json", "as_json", is_flag=True, help="Print status, headers and body as JSON.")
def api(
    database: str | None,
    plugin_ref: str,
    method: str,
    path: str,
    body_text: str | None,
    agent_ref: str | None,
    run_id: str | None,
    as_json: bool,
) -> None:
    """Call a scoped API route of a plugin: METHOD /api/plugins/PLUGIN/api/PATH.

    PATH is the plugin-local path with its query (e.g. '/summary?companyId=...'). The request
    goes through a running `sandbox serve` on the database when there is one, else to a worker
    started for this command; either way upstream's checks apply. Exit status 1 for a status of
    400 or more.
    """
    body = None if body_text is None else _parse_json(body_text, "--body")
    method = method.upper()

    async def run() -> ApiResponse:
        async with open_migrated_database(database) as db:
            record = await require_plugin(db, plugin_ref)
            agent = None if agent_ref is None else await _require_agent(db, agent_ref)
            client = await running_host(db)
            if client is not None:
                if agent is None:
                    return await client.api(record.id, method, path, body=body, run_id=run_id)
                key_record, token = await create_agent_key(
                    db, agent.company_id, agent.id, "sandbox api (one call)"
                )
                try:
                    return await client.api(
                        record.id, method, path, body=body, agent_key=token, run_id=run_id
                    )
                finally:
                    await revoke_agent_key(db, key_record.id)
            caller = (
                ApiCaller.local_board(run_id=run_id)
                if agent is None
                else ApiCaller.agent(agent.id, agent.company_id, run_id=run_id)
            )
            headers = {} if body is None else {"content-type": "application/json"}
            request = ApiRequest(
                method, path if path.startswith("/") else f"/{path}", headers, body
            )
            async with PluginHost(db) as host:
                return await host.api_request(record.id, request, caller)

    response = _call(run())
    if as_json:
        wire = {"status": response.status, "headers": response.headers, "body": response.body}
        _echo_json(wire, one_line=True)
        if response.status >= 400:
            raise SystemExit(1)
        return
    if response.status >= 400:
        error = response.body.get("error") if isinstance(response.body, dict) else response.body
        raise click.ClickException(f"HTTP {response.status}: {error}")
    click.echo(f"HTTP {response.status}", err=True)
    if response.status != 204:
        _echo_json(response.body, one_line=False)


async def _require_agent(db: Database, ref: str) -> records.Agent:
    agents = await find_agents(db, ref)
    if not agents:
        raise click.ClickException(f"Agent not found: {ref}")
    if len(agents) > 1:
        raise click.ClickException(f"Several agents are named {ref}: give the agent's id")
    return agents[0]


# -- sandbox seed -------------------------------------------------------------------------------


@click.command()
@database_option
@click.option(
    "--prefix",
    help="The company's issue prefix, letters only (default: ACM, then ACMA, ... as Paperclip "
    "allocates).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the three records as JSON.")
def seed(database: str | None, prefix: str | None, as_json: bool) -> None:
    """Create a company, agent and issue to try plugins on.

    Creates the company "Acme", an idle engineer agent, and the todo issue "Try a plugin"
    assigned to it, and prints their ids.
    """
    if prefix is not None and not _PREFIX.match(prefix):
        raise click.ClickException(f"--prefix must be letters A-Z, got {prefix!r}")

    async def run() -> tuple[records.Company, records.Agent, records.Issue]:
        async with open_migrated_database(database) as db:
            company = await create_company(db, name="Acme", issue_prefix=prefix and prefix.upper())
            agent = await create_agent(
                db, company_id=company.id, name="Engineer", role="engineer", status="idle"
            )
            values = IssueCreate(title="Try a plugin", status="todo", assignee_agent_id=agent.id)
            async with write(db, None) as unit:
                issue, _ = await create_issue(
                    unit, company_id=company.id, values=values, origin_kind="manual"
                )
            # Read again: the issue advanced the company's issue counter.
            return await get_company(db, company.id) or company, agent, issue

    company, agent, issue = _call(run())
    if as_json:
        _echo_json(
            {"company": company.to_wire(), "agent": agent.to_wire(), "issue": issue.to_wire()},
            one_line=True,
        )
        return
    click.echo(f"company  {company.id}  {company.name} (prefix {company.issue_prefix})")
    click.echo(f"agent    {agent.id}  {agent.name} ({agent.role}, {agent.status})")
    click.echo(
        f"issue    {issue.id}  {issue.identifier} {issue.title} "
        f"({issue.status}, assigned to {agent.name})"
    )


# -- sandbox demo -------------------------------------------------------------------------------


@click.command()
@database_option
@click.option(
    "--plugin",
    "kind",
    type=click.Choice(sorted(DEMO_PLUGINS)),
    default="python",
    show_default=True,
    help="The smoke plugin to run: the Python port, or the JS one on the published npm SDK.",
)
@click.option("--json", "as_json", is_flag=True, help=_JSON_HELP)
def demo(database: str | None, kind: str, as_json: bool) -> None:
    """Run the orchestration smoke plugin on fresh seed data and show what it did.

    Seeds a company, an engineer and a root issue, installs the plugin on first use, and runs
    its initialize-smoke action through a real worker: it creates a blocker and a child issue,
    relates them, writes a document, wakes the engineer, reads the orchestration summary and
    records a row in its own table.
    """
    try:
        demo_plugin(kind)
    except DemoUnavailable as error:
        raise click.ClickException(str(error)) from None

    async def run() -> DemoRun:
        async with open_migrated_database(database) as db:
            progress(f"Running the {kind} orchestration smoke plugin ...")
            return await run_demo(db, kind)

    result = _call(run())
    if as_json:
        _echo_json(result.to_wire(), one_line=True)
    else:
        click.echo(demo_report(result))
