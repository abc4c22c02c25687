"""Plugin statuses and which lifecycle operation may run from which status (upstream's rules).

Pure rules; ``core.plugin_registry`` stores the status and the runtime does the activation.
"""

from __future__ import annotations

from core.errors import InvalidInput

#: Allowed status changes.
TRANSITIONS: dict[str, frozenset[str]] = {
    "installed": frozenset({"ready", "error", "uninstalled"}),
    "ready": frozenset({"ready", "disabled", "error", "upgrade_pending", "uninstalled"}),
    "disabled": frozenset({"ready", "uninstalled"}),
    "error": frozenset({"ready", "uninstalled"}),
    "upgrade_pending": frozenset({"ready", "error", "uninstalled"}),
    "uninstalled": frozenset({"installed"}),
}


def check_transition(plugin_key: str, current: str, target: str) -> None:
    """Refuse a status change upstream's state machine does not allow."""
    if target not in TRANSITIONS.get(current, frozenset()):
        raise InvalidInput(
            f"Invalid lifecycle transition: {current} → {target} for plugin {plugin_key}"
        )


def check_can_load(status: str) -> None:
    """``load`` (activate after install, or at host start) runs from installed or ready."""
    if status not in ("installed", "ready"):
        raise InvalidInput(
            f"Cannot load plugin in status '{status}'. "
            "Plugin must be in 'installed' or 'ready' status."
        )


def check_can_enable(status: str) -> None:
    if status not in ("disabled", "error", "upgrade_pending"):
        raise InvalidInput(
            f"Cannot enable plugin in status '{status}'. Plugin must be in 'disabled', 'error', "
            "or 'upgrade_pending' status to be enabled."
        )


def check_can_disable(status: str) -> None:
    if status != "ready":
        raise InvalidInput(
            f"Cannot disable plugin in status '{status}'. "
            "Plugin must be in 'ready' status to be disabled."
        )


#: Statuses an upgrade runs from: upstream's two, and ``error``, so that installing a fixed
#: folder over a plugin whose migration or setup failed retries it (upstream only reinstalls).
UPGRADABLE = frozenset({"ready", "upgrade_pending", "error"})


def check_can_upgrade(status: str) -> None:
    """Upstream's refusal, with the way out for a disabled plugin."""
    if status not in UPGRADABLE:
        hint = (
            " Enable it instead: enabling re-reads the plugin's folder."
            if status == "disabled"
            else ""
        )
        raise InvalidInput(
            f"Cannot upgrade plugin in status '{status}'. Plugin must be in 'ready' or "
            f"'upgrade_pending' status to be upgraded.{hint}"
        )


def check_can_uninstall(plugin_key: str, status: str, *, remove_data: bool) -> None:
    """An uninstalled plugin can only be deleted for good."""
    if status == "uninstalled" and not remove_data:
        raise InvalidInput(
            f"Plugin {plugin_key} is already uninstalled. "
            "Use removeData=true to permanently delete it."
        )
