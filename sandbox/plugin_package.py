"""A plugin package on disk: where its manifest is, how it is loaded, and where its worker is.

Upstream's rules for a local-path install: ``package.json`` names the manifest in
``paperclipPlugin.manifest``; without it the host tries ``dist/manifest.js``, then
``manifest.js``. A manifest module is imported and its ``default`` export (or the module itself)
is the manifest; Node does the import, as upstream (the node ``sandbox.node_runtime`` picks for
the package, so a plugin whose ``engines.node`` that node does not satisfy is refused here).
Python plugins, which have no ``package.json``, keep a ``manifest.json`` at the package root
(``.json`` manifests are read, never executed, wherever they are named).

Node takes a few hundred milliseconds to evaluate a manifest module, and a test suite installs
the same package in every test, so each process keeps what Node printed for a manifest module
while the package's files are unchanged: their paths, sizes and modification times, the folders
``node_modules``, ``.git`` and ``__pycache__`` left out except ``node_modules/.package-lock.json``
(which npm rewrites on every install). An edited, added or removed file is evaluated afresh.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import InvalidInput, NotFound
from sandbox.node_runtime import find_node, installed_sdk
from sandbox.protocol import WorkerLimits
from sandbox.protocol.limits import ENVIRONMENT, megabytes

#: The ``@paperclipai/plugin-sdk`` versions whose worker protocol and manifest schema the
#: sandbox speaks; a JS plugin on another one gets a warning at install.
SUPPORTED_SDK_VERSIONS = ("2026.707.0", "2026.916.1")
#: The version new JS plugins pin (``plugin new --js``): 2026.916.1 needs Node 24.11, and a new
#: plugin should run on the Node 20 a fresh machine has.
SUPPORTED_SDK_VERSION = "2026.707.0"
_EXACT_VERSION = re.compile(r"\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]+)?")
#: Upstream's fallbacks when ``package.json`` names no manifest, then ours for Python plugins.
MANIFEST_FALLBACKS = ("dist/manifest.js", "manifest.js", "manifest.json")
#: Seconds Node may take to import a manifest module.
MANIFEST_IMPORT_TIMEOUT = 30.0

# Prints the manifest a module exports (its default export, or the module itself) as JSON.
_IMPORT_MANIFEST = """
const { pathToFileURL } = await import("node:url");
const module = await import(pathToFileURL(process.argv[1]).href);
process.stdout.write(JSON.stringify(module.default ?? module));
"""


class PluginPackageError(InvalidInput):
    """The directory is not a plugin package, or its manifest cannot be loaded."""


class SdkVersionWarning(UserWarning):
    """A JS plugin's ``@paperclipai/plugin-sdk`` is none of the versions the sandbox supports
    (``PluginSandbox.install`` warns with ``sdk_version_warning``'s text, as the CLI prints it)."""


@dataclass(frozen=True, slots=True)
class PluginPackage:
    """A plugin package found on disk."""

    root: Path
    package_name: str
    manifest_path: Path
    manifest: dict[str, Any]


async def load_package(path: str | os.PathLike[str]) -> PluginPackage:
    """Find and load the plugin package at ``path`` (a local-path install).

    Raises:
        NotFound: ``Local plugin path does not exist: <abs>``.
        PluginPackageError: no manifest, or one that cannot be read (upstream's messages).
        NodeUnavailable: the manifest is a module and no node the plugin accepts is found.
    """
    root = Path(path).expanduser().resolve()
    if not root.is_dir():
        raise NotFound(f"Local plugin path does not exist: {root}")
    package_json = _read_package_json(root)
    name = package_json.get("name") if isinstance(package_json.get("name"), str) else root.name
    manifest_path = _find_manifest(root, package_json)
    if manifest_path is None:
        raise PluginPackageError(
            f"Package {name} at {root} does not appear to be a Paperclip plugin "
            "(no manifest found)."
        )
    try:
        manifest = await _load_manifest(manifest_path, root)
    except (OSError, ValueError, RuntimeError) as error:
        raise PluginPackageError(
            f"Failed to load manifest module at {manifest_path}: {error}"
        ) from None
    if not isinstance(manifest, dict):
        raise PluginPackageError(
            f"Failed to load manifest module at {manifest_path}: the manifest is not an object"
        )
    return PluginPackage(root, name, manifest_path, manifest)


def worker_entrypoint(package_root: Path, plugin_key: str, declared: str) -> str:
    """Check that ``entrypoints.worker`` exists inside the package; returns it as declared.

    ``python:<module>`` names a module and is not a file, so it is returned unchecked.

    Raises:
        PluginPackageError: ``Worker entrypoint not found for plugin "<key>". Checked: <path>``.
    """
    if declared.startswith("python:"):
        return declared
    candidate = (package_root / declared).resolve()
    inside = candidate.is_relative_to(package_root.resolve())
    if inside and candidate.is_file():
        return declared
    checked = str(candidate) if inside else f"{candidate} (outside the package)"
    raise PluginPackageError(
        f'Worker entrypoint not found for plugin "{plugin_key}". Checked: {checked}'
    )


def sdk_version_warning(package_root: Path, plugin_key: str) -> str | None:
    """A one-line warning when a JS plugin's ``@paperclipai/plugin-sdk`` is none of the versions
    the sandbox supports, else None.

    The version is the installed one, as Node resolves the package from the plugin's folder,
    or else an exact version that ``package.json`` depends on (a range is not judged).
    """
    if not (package_root / "package.json").is_file():
        return None  # not a JS plugin
    found = None
    installed = installed_sdk(package_root)
    if installed is not None:
        try:
            found = json.loads(installed.read_text(encoding="utf-8")).get("version")
        except (OSError, ValueError, AttributeError):
            return None
    else:
        try:
            dependencies = _read_package_json(package_root).get("dependencies")
        except PluginPackageError:
            return None
        if isinstance(dependencies, dict):
            found = dependencies.get("@paperclipai/plugin-sdk")
        if not isinstance(found, str) or not _EXACT_VERSION.fullmatch(found):
            return None
    if not isinstance(found, str) or found in SUPPORTED_SDK_VERSIONS:
        return None
    supported = " and ".join(SUPPORTED_SDK_VERSIONS)
    return (
        f"{plugin_key} uses @paperclipai/plugin-sdk {found}; the sandbox supports {supported}"
        f" (pin one: npm install --save-exact @paperclipai/plugin-sdk@{SUPPORTED_SDK_VERSIONS[-1]})"
    )


def _read_package_json(root: Path) -> dict[str, Any]:
    path = root / "package.json"
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise PluginPackageError(f"Invalid package.json at {path}: {error}") from None
    return data if isinstance(data, dict) else {}


def _find_manifest(root: Path, package_json: dict[str, Any]) -> Path | None:
    declared = package_json.get("paperclipPlugin")
    if isinstance(declared, dict) and isinstance(declared.get("manifest"), str):
        candidate = (root / declared["manifest"]).resolve()
        return candidate if candidate.is_file() else None
    for name in MANIFEST_FALLBACKS:
        if (root / name).is_file():
            return (root / name).resolve()
    return None


#: What a package's files look like: (path, size, mtime_ns) of each, sorted.
_Files = tuple[tuple[str, int, int], ...]
#: Folders whose files a manifest module's evaluation is not keyed on (dependencies, caches).
_NOT_FINGERPRINTED = frozenset({"node_modules", ".git", "__pycache__"})
#: Manifest modules Node evaluated in this process: the package's files then, and the output.
_EVALUATED: dict[Path, tuple[_Files, bytes]] = {}


async def _load_manifest(path: Path, root: Path) -> Any:
    limit = WorkerLimits.from_env().max_manifest_bytes
    if path.suffix == ".json":
        if path.stat().st_size > limit:
            raise ValueError(_manifest_too_big(limit))
        return json.loads(path.read_text(encoding="utf-8"))
    files = _package_files(root, path)
    evaluated = _EVALUATED.get(path)
    if evaluated is None or evaluated[0] != files or len(evaluated[1]) > limit:
        evaluated = (files, await _evaluate_module(path, root, limit))
        _EVALUATED[path] = evaluated
    return json.loads(evaluated[1])


def _package_files(root: Path, manifest: Path) -> _Files:
    """The fingerprint a manifest module's evaluation is kept under (see the module's doc)."""
    found = []
    for folder, subfolders, names in os.walk(root):
        subfolders[:] = [name for name in subfolders if name not in _NOT_FINGERPRINTED]
        found.extend(os.path.join(folder, name) for name in names)
    found += [str(manifest), str(root / "node_modules" / ".package-lock.json")]
    state = []
    for name in sorted(set(found)):
        try:
            stat = os.stat(name)
        except FileNotFoundError:
            continue
        state.append((name, stat.st_size, stat.st_mtime_ns))
    return tuple(state)


async def _evaluate_module(path: Path, root: Path, limit: int) -> bytes:
    """What Node prints for the manifest module at ``path``: its manifest as JSON (the node
    ``find_node`` picks for the package at ``root``)."""
    process = await asyncio.create_subprocess_exec(
        find_node(root),
        "--input-type=module",
        "--eval",
        _IMPORT_MANIFEST,
        str(path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=path.parent,
    )
    assert process.stdout is not None and process.stderr is not None
    try:
        async with asyncio.timeout(MANIFEST_IMPORT_TIMEOUT):
            output, errors = await asyncio.gather(
                _read_at_most(process.stdout, limit), _read_at_most(process.stderr, None)
            )
            await process.wait()
    except TimeoutError:
        process.kill()
        await process.wait()
        raise RuntimeError(f"import did not finish in {MANIFEST_IMPORT_TIMEOUT:.0f}s") from None
    except _OutputTooBig:
        process.kill()
        await process.wait()
        raise RuntimeError(_manifest_too_big(limit)) from None
    if process.returncode != 0:
        lines = errors.decode(errors="replace").strip().splitlines()
        raise RuntimeError(_node_error(lines))
    return output


#: Bytes of Node's stderr kept to explain a failed import; the rest is read and dropped.
_STDERR_BYTES = 64 * 1024


class _OutputTooBig(Exception):
    """A stream went over its limit; the process is to be killed."""


async def _read_at_most(stream: asyncio.StreamReader, limit: int | None) -> bytes:
    """All of ``stream``; over ``limit`` bytes, ``_OutputTooBig`` (None: keep the first
    ``_STDERR_BYTES`` and drop the rest)."""
    kept = bytearray()
    size = 0
    while chunk := await stream.read(64 * 1024):
        size += len(chunk)
        if limit is not None and size > limit:
            raise _OutputTooBig
        kept += chunk[: max(0, (limit or _STDERR_BYTES) - len(kept))]
    return bytes(kept)


def _manifest_too_big(limit: int) -> str:
    return (
        f"the manifest is over the {megabytes(limit)} limit ({ENVIRONMENT['max_manifest_bytes']})"
    )


def _node_error(lines: list[str]) -> str:
    """The line of Node's stderr that names the error (``SyntaxError: ...``)."""
    for line in lines:
        if "Error" in line and ":" in line and not line.startswith(" "):
            return line.strip()
    return lines[-1] if lines else "node exited with an error"


#: Folders of a package whose changes do not count (dependencies, caches).
_NOT_WATCHED = frozenset({"node_modules", "__pycache__", ".git"})


def package_state(root: Path | None) -> tuple[tuple[str, int, int], ...]:
    """What the files of a package folder look like now (paths, sizes, modification times;
    ``node_modules`` and caches left out)."""
    if root is None:
        return ()
    found = []
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = [name for name in subfolders if name not in _NOT_WATCHED]
        for name in files:
            path = os.path.join(folder, name)
            stat = os.stat(path)
            found.append((path, stat.st_size, stat.st_mtime_ns))
    return tuple(sorted(found))
