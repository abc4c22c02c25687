"""Remapped keys: a TOML file of ``<key id> = "<keys>"`` lines.

The file is ``$SANDBOX_TUI_KEYMAP`` if set, else ``$XDG_CONFIG_HOME/paperclip-sandbox/
tui-keys.toml`` (``~/.config/...``) if it exists. Ids are those of ``tui.bindings.KEYS``, shown
in the help screen; several keys are separated by commas::

    pause = "p"
    filter = "slash,f"
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from tui.bindings import KEY_IDS

KEYMAP_ENV = "SANDBOX_TUI_KEYMAP"


class KeymapError(ValueError):
    """The keymap file cannot be used; one line says why."""


def keymap_path() -> Path | None:
    """The keymap file to read, if there is one."""
    given = os.environ.get(KEYMAP_ENV)
    if given:
        return Path(given)
    config = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    default = config / "paperclip-sandbox" / "tui-keys.toml"
    return default if default.is_file() else None


def load_keymap(path: Path | None) -> dict[str, str]:
    """Read a keymap file (None: no remapping).

    Raises:
        KeymapError: the file is missing, is not TOML, names an unknown id, or maps an id to
            something other than a string of keys.
    """
    if path is None:
        return {}
    try:
        entries = tomllib.loads(path.read_text())
    except OSError as error:
        raise KeymapError(f"cannot read the keymap {path}: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise KeymapError(f"the keymap {path} is not valid TOML: {error}") from None
    unknown = sorted(set(entries) - KEY_IDS)
    if unknown:
        raise KeymapError(
            f"the keymap {path} names unknown key ids {', '.join(unknown)}; "
            f"known ids: {', '.join(sorted(KEY_IDS))}"
        )
    for key_id, keys in entries.items():
        if not isinstance(keys, str) or not keys.strip():
            raise KeymapError(f"the keymap {path} maps {key_id} to {keys!r}: give a string of keys")
    return {key_id: keys.replace(" ", "") for key_id, keys in entries.items()}
