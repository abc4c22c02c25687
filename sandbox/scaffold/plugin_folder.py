"""A new plugin's folder: a manifest, a worker with one action, a migration already in the
plugin's namespace, a test on the ``plugin_sandbox`` fixture, and a pytest configuration.

The manifest (and a JS plugin's ``package.json``) are built here as data and checked with the
manifest schema the host installs with, so a bad NAME is refused with upstream's own message.
Every other file is a template in ``templates/`` (``common/`` for both languages, then
``python/`` or ``js/``): ``{{name}}`` marks are replaced, the ``.tmpl`` suffix is dropped.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from core.manifest import InvalidManifest, parse_manifest
from core.plugin_database import derive_namespace
from sandbox.plugin_package import SUPPORTED_SDK_VERSION

Language = Literal["python", "js"]

TEMPLATES = Path(__file__).resolve().parent / "templates"
#: Templates stored without their leading dot (package data globs skip dotfiles).
_DOTFILES = frozenset({"gitignore"})
_MARK = re.compile(r"\{\{(\w+)\}\}")
_NOT_KEY = re.compile(r"[^a-z0-9._-]+")
#: The files of both languages, in the order they are listed to the author.
_ORDER = (
    "package.json",
    "manifest.json",
    "manifest.mjs",
    "worker.py",
    "worker.mjs",
    "migrations/001_notes.sql",
    "tests/test_plugin.py",
    "pytest.ini",
    "README.md",
    ".gitignore",
)
_IDENTIFIER = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")
_WORKER: dict[Language, str] = {"python": "./worker.py", "js": "./worker.mjs"}
_MANIFEST_HEADER = (
    "// The plugin's manifest. The host imports this module and validates its default export.\n"
)


class ScaffoldError(ValueError):
    """The plugin folder cannot be made: the name is not a plugin key, or the folder is taken."""


@dataclass(frozen=True, slots=True)
class NewPlugin:
    """A plugin folder just written."""

    key: str
    language: Language
    root: Path
    namespace: str
    #: The files written, relative to ``root``, in the order they were written.
    files: tuple[str, ...]


def create_plugin(name: str, language: Language, parent: Path) -> NewPlugin:
    """Write the plugin ``name`` (its key, and its folder's name) into ``parent/name``.

    Raises:
        ScaffoldError: ``name`` is not a valid plugin key, or ``parent/name`` exists and is not
            an empty folder.
        OSError: the files could not be written.
    """
    manifest = _manifest(name, language)
    _check_key(manifest)
    root = parent / name
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise ScaffoldError(
            f"{root} already exists and is not an empty folder: "
            "choose another NAME or another --dir PARENT"
        )
    namespace = derive_namespace(name)
    values = {
        "key": name,
        "display_name": manifest["displayName"],
        "namespace": namespace,
        "sdk_version": SUPPORTED_SDK_VERSION,
    }
    files: dict[str, str] = {}
    if language == "python":
        files["manifest.json"] = _json(manifest)
    else:
        files["package.json"] = _json(_package_json(manifest))
        files["manifest.mjs"] = f"{_MANIFEST_HEADER}export default {_js(manifest)};\n"
    for folder in (TEMPLATES / language, TEMPLATES / "common"):
        for template in sorted(folder.rglob("*.tmpl")):
            files[_target(template.relative_to(folder))] = _render(template.read_text(), values)
    written = sorted(files, key=lambda relative: _ORDER.index(relative))
    for relative in written:
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(files[relative])
    return NewPlugin(name, language, root, namespace, tuple(written))


def _manifest(key: str, language: Language) -> dict[str, Any]:
    words = [word.capitalize() for word in re.split(r"[._-]+", key) if word]
    return {
        "id": key,
        "apiVersion": 1,
        "version": "0.1.0",
        "displayName": " ".join(words)[:100] or key,
        "description": "Adds notes to issues and keeps them in the plugin's own table.",
        "author": "Your name",
        "categories": ["automation"],
        "capabilities": [
            "database.namespace.migrate",
            "database.namespace.read",
            "database.namespace.write",
            "issues.read",
        ],
        "entrypoints": {"worker": _WORKER[language]},
        # The notes table references public.issues, which a plugin may only name when listed.
        "database": {"migrationsDir": "migrations", "coreReadTables": ["issues"]},
    }


def _package_json(manifest: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": manifest["id"],
        "version": manifest["version"],
        "private": True,
        "description": manifest["description"],
        "type": "module",
        "paperclipPlugin": {
            "manifest": "./manifest.mjs",
            "worker": manifest["entrypoints"]["worker"],
        },
        "dependencies": {"@paperclipai/plugin-sdk": SUPPORTED_SDK_VERSION},
    }


def _check_key(manifest: dict[str, Any]) -> None:
    """Refuse a name the manifest schema refuses as an id, suggesting one it accepts."""
    try:
        parse_manifest(manifest)
    except InvalidManifest as error:
        key = manifest["id"]
        messages = "; ".join(issue["message"] for issue in error.details["issues"])
        suggestion = _NOT_KEY.sub("-", key.lower()).strip("._-") or "my-plugin"
        raise ScaffoldError(
            f"Invalid plugin name {key!r}: {messages}. Try {suggestion!r}"
        ) from None


def _target(template: Path) -> str:
    """Where a template is written, relative to the plugin folder."""
    name = template.name.removesuffix(".tmpl")
    if name in _DOTFILES:
        name = f".{name}"
    return (template.parent / name).as_posix()


def _render(text: str, values: dict[str, str]) -> str:
    return _MARK.sub(lambda mark: values[mark.group(1)], text)


def _json(value: Any) -> str:
    return json.dumps(value, indent=2) + "\n"


def _js(value: Any, indent: str = "") -> str:
    """``value`` as a JavaScript literal: bare keys, and each object or list on one line when
    it fits in 100 columns."""
    if isinstance(value, dict):
        items = [f"{_js_key(key)}: {_js(item, indent + '  ')}" for key, item in value.items()]
        opening, closing, padding = "{", "}", " "
    elif isinstance(value, list):
        items = [_js(item, indent + "  ") for item in value]
        opening, closing, padding = "[", "]", ""
    else:
        return json.dumps(value)
    line = f"{opening}{padding}{', '.join(items)}{padding}{closing}"
    if len(indent) + len(line) <= 80 and "\n" not in line:
        return line
    inner = indent + "  "
    return f"{opening}\n" + "".join(f"{inner}{item},\n" for item in items) + f"{indent}{closing}"


def _js_key(key: str) -> str:
    return key if _IDENTIFIER.match(key) else json.dumps(key)
