"""New plugin folders (``sandbox plugin new``), from the templates in ``templates/``."""

from sandbox.scaffold.command import new_command
from sandbox.scaffold.plugin_folder import Language, NewPlugin, ScaffoldError, create_plugin

__all__ = ["Language", "NewPlugin", "ScaffoldError", "create_plugin", "new_command"]
