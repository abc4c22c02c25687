"""Which ``node`` runs a JS plugin: its manifest import and its worker.

The candidate is the binary ``SANDBOX_NODE`` names when that variable is set (a path, or a name
looked up on ``PATH``), else ``node`` on ``PATH``. A set ``SANDBOX_NODE`` is the only candidate:
a typo or an old binary there is reported, never silently replaced by another node.

What the plugin requires is the ``engines.node`` range of its own ``package.json`` and of the
``@paperclipai/plugin-sdk`` it has installed (``node_modules/@paperclipai/plugin-sdk/package.json``
in the package root or, as Node resolves it, the nearest parent that has one); both must hold.
Ranges are npm's (``nodesemver``), judged as npm judges ``engines`` (prereleases included).
2026.916.1 of the SDK declares ``>=24.11.0``; 2026.707.0 declares nothing, and then any node
runs the plugin and none is asked its version.

``node --version`` runs once per binary per process (a replaced binary is asked again).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nodesemver

from core.errors import InvalidInput

#: The environment variable naming the node binary that runs JS plugins (before ``PATH``).
NODE_VARIABLE = "SANDBOX_NODE"
#: Seconds ``node --version`` may take (a cold start on a loaded 2-core machine is far less).
VERSION_TIMEOUT = 10.0
SDK_PACKAGE = "@paperclipai/plugin-sdk"

_VERSION_OUTPUT = re.compile(r"v(\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]+)?)")
#: ``24.11.0`` is said ``24.11``, ``99.0.0`` ``99``.
_TRAILING_ZEROS = re.compile(r"(\.0)?\.0$")
#: ``node --version`` of each binary asked in this process, by (path, size, mtime_ns).
_VERSIONS: dict[tuple[str, int, int], str] = {}


class NodeUnavailable(InvalidInput):
    """No node can run the plugin: none found, or the one found is outside its ``engines.node``."""


@dataclass(frozen=True, slots=True)
class NodeRequirement:
    """An ``engines.node`` range and the package that declares it."""

    range: str
    declared_by: str


def find_node(package_root: Path, *, environ: Mapping[str, str] = os.environ) -> str:
    """The absolute path of the node binary that runs the JS plugin at ``package_root``.

    Raises:
        NodeUnavailable: ``SANDBOX_NODE`` names no usable binary, no node is on ``PATH``, or
            the candidate's version is outside a declared ``engines.node`` (one line, saying
            what to install or set).
    """
    requirements = node_requirements(package_root)
    configured = environ.get(NODE_VARIABLE)
    if configured:
        where = f"{NODE_VARIABLE}={configured}"
        binary = shutil.which(os.path.expanduser(configured), path=environ.get("PATH"))
        if binary is None:
            exists = os.path.exists(os.path.expanduser(configured))
            problem = "is not an executable file" if exists else "does not exist"
            raise _unavailable(requirements, f"{where} {problem}")
    else:
        where = "node on PATH"
        binary = shutil.which("node", path=environ.get("PATH"))
        if binary is None:
            raise _unavailable(requirements, "no node on PATH")
    binary = os.path.abspath(binary)
    if not requirements:
        return binary  # any node will do: no need to start one to ask its version
    try:
        version = node_version(binary)
    except OSError as error:
        named = where if configured else f"{where} ({binary})"
        raise _unavailable(requirements, f"{named} {error}") from None
    unmet = [
        requirement
        for requirement in requirements
        if not nodesemver.satisfies(
            version.removeprefix("v"), requirement.range, loose=False, include_prerelease=True
        )
    ]
    if unmet:
        raise _unavailable(unmet, f"{where} is {version}")
    return binary


def node_requirements(package_root: Path) -> tuple[NodeRequirement, ...]:
    """The ``engines.node`` ranges of the plugin's ``package.json`` and of its installed SDK.

    Raises:
        NodeUnavailable: a declared ``engines.node`` is not an npm version range.
    """
    found = []
    manifests = [package_root / "package.json", installed_sdk(package_root)]
    for path in manifests:
        package = _read_json(path) if path is not None else None
        if package is None:
            continue
        engines = package.get("engines")
        if not isinstance(engines, dict) or "node" not in engines:
            continue
        declared_by = " ".join(
            str(package[key]) for key in ("name", "version") if isinstance(package.get(key), str)
        )
        declared_by = declared_by or str(path)
        declared = engines["node"]
        if not isinstance(declared, str) or nodesemver.valid_range(declared, loose=False) is None:
            raise NodeUnavailable(
                f"{declared_by} declares engines.node {json.dumps(declared)}, which is not a"
                " version range"
            )
        found.append(NodeRequirement(declared.strip(), declared_by))
    return tuple(found)


def installed_sdk(package_root: Path) -> Path | None:
    """The ``package.json`` of the ``@paperclipai/plugin-sdk`` Node resolves from the package
    root (in its ``node_modules`` or the nearest parent's), or None."""
    for folder in (package_root, *package_root.parents):
        candidate = folder / "node_modules" / SDK_PACKAGE / "package.json"
        if candidate.is_file():
            return candidate
    return None


def node_version(binary: str) -> str:
    """What ``binary --version`` prints (``v24.22.3``), asked once per binary per process.

    Raises:
        OSError: the binary cannot be started, fails, or does not answer as node does (the
            message says which, starting with a verb: ``does not answer ...``).
    """
    stat = os.stat(binary)
    key = (binary, stat.st_size, stat.st_mtime_ns)
    if key not in _VERSIONS:
        try:
            result = subprocess.run(
                [binary, "--version"],
                capture_output=True,
                text=True,
                errors="replace",
                timeout=VERSION_TIMEOUT,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            raise OSError(f"did not answer --version in {VERSION_TIMEOUT:.0f}s") from None
        except OSError as error:
            raise OSError(f"cannot be started ({error.strerror or error})") from None
        answer = result.stdout.strip()
        if result.returncode != 0 or not _VERSION_OUTPUT.fullmatch(answer):
            said = answer or result.stderr.strip() or f"exit status {result.returncode}"
            raise OSError(f"does not answer --version as node does ({said.splitlines()[0]})")
        _VERSIONS[key] = answer
    return _VERSIONS[key]


def _unavailable(unmet: Sequence[NodeRequirement], found: str) -> NodeUnavailable:
    """``Plugin needs Node <range> (<package> declares it); <found> -- <what to do>``."""
    needs = " and ".join(f"{r.range} ({r.declared_by} declares it)" for r in unmet)
    return NodeUnavailable(
        f"Plugin needs Node{' ' if needs else ''}{needs}; {found} -- install {_wanted(unmet)},"
        f" or set {NODE_VARIABLE} to one"
    )


def _wanted(requirements: Sequence[NodeRequirement]) -> str:
    """``Node 24.11 or newer`` when every range is a lower bound, else the range itself."""
    if not requirements:
        return "Node"
    bounds = [_lower_bound(requirement.range) for requirement in requirements]
    if all(bound is not None for bound in bounds):
        highest = max(bounds, key=lambda bound: nodesemver.make_semver(bound, loose=False))
        return f"Node {_TRAILING_ZEROS.sub('', str(highest))} or newer"
    if len(requirements) == 1:
        return f"Node {requirements[0].range}"
    return "a Node that satisfies each of them"


def _lower_bound(declared: str) -> str | None:
    """``24.11.0`` for ``>=24.11.0`` (or ``>=24.11``); None for any other range."""
    sets = nodesemver.make_range(declared, loose=False).set
    if len(sets) == 1 and len(sets[0]) == 1 and sets[0][0].operator == ">=":
        version = sets[0][0].semver
        return None if version.prerelease else str(version)
    return None


def _read_json(path: Path) -> dict[str, Any] | None:
    """A JSON object from ``path``; None when it is missing, unreadable or not an object (the
    install reports a broken ``package.json`` of the plugin itself)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
