"""``sandbox limits``: every limit on what a plugin may do, its value and the variable to change it.

The limits live in five settings models, each read from environment variables when a host
starts: plugin SQL, the worker protocol, plugin logs, config checks, and the worker's
containment. A limit's error message names the same variable this command lists.
"""

from __future__ import annotations

import json
import os
from typing import Any

import click

from core.plugin_config import PluginConfigSettings
from core.plugin_database.settings import PluginSqlSettings
from core.plugin_logs import PluginLogSettings
from core.settings import InvalidSetting
from sandbox.containment.isolation import describe_containment
from sandbox.containment.kernel import probe_kernel
from sandbox.containment.policy import ContainmentSettings
from sandbox.protocol.limits import WorkerLimits

#: The settings models, by the part of the host they limit.
SETTINGS = {
    "plugin SQL": PluginSqlSettings,
    "worker protocol": WorkerLimits,
    "plugin logs": PluginLogSettings,
    "plugin config": PluginConfigSettings,
    "worker containment": ContainmentSettings,
}


def limits() -> list[dict[str, Any]]:
    """One row per limit: its part, setting, variable, value in effect and default."""
    rows = []
    for part, model in SETTINGS.items():
        current = model.from_env()
        for name, field in model.model_fields.items():
            rows.append(
                {
                    "part": part,
                    "setting": name,
                    "variable": model.ENVIRONMENT[name],
                    "value": getattr(current, name),
                    "default": field.default,
                }
            )
    return rows


@click.command("limits")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help='Print {"limits": [...], "containment": "..."} as JSON.',
)
def limits_command(as_json: bool) -> None:
    """List every limit on plugins, its value here and the variable that changes it, and how
    workers are contained on this machine."""

    try:
        rows = limits()
        containment = describe_containment(
            ContainmentSettings.from_env(), probe_kernel(), real_root=os.geteuid() == 0
        )
    except InvalidSetting as error:
        raise click.ClickException(str(error)) from error
    if as_json:
        click.echo(json.dumps({"limits": rows, "containment": containment}))
        return
    click.echo(f"{'part':<19} {'variable':<40} {'value':>12} {'default':>12}")
    for row in rows:
        changed = " *" if row["value"] != row["default"] else ""
        click.echo(
            f"{row['part']:<19} {row['variable']:<40} {row['value']!s:>12} "
            f"{row['default']!s:>12}{changed}"
        )
    click.echo("* set by its environment variable")
    click.echo(f"worker containment here: {containment}")


__all__ = ["SETTINGS", "limits", "limits_command"]
