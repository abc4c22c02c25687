"""docs/ctx-reference.md, generated from the SDK (sandbox/sdk/reference.py): current, and its
JavaScript names and host methods real."""

from __future__ import annotations

import re
from pathlib import Path

from core.worker_bridge.bridge import handled_methods
from sandbox.sdk.reference import COMMAND, PAGE, ROOT, entries, render
from tests.fixtures.workers import ensure_npm_installed

BENCH_JS = ROOT / "fixtures" / "plugins" / "bench-js"
TYPES = Path("node_modules", "@paperclipai", "plugin-sdk", "dist", "types.d.ts")


def test_the_checked_in_page_is_current() -> None:
    """Fails when an SDK change did not regenerate the page."""
    checked_in = (ROOT / PAGE).read_text() if (ROOT / PAGE).exists() else ""
    assert checked_in == render(), f"{PAGE} is not current: run `{COMMAND}` and commit it"


def _members(source: str, interface: str) -> dict[str, str]:
    """The members of a TypeScript interface: name -> the text declaring it."""
    start = re.search(rf"export interface {interface}\b[^{{]*{{", source)
    assert start is not None, f"no interface {interface}"
    members: dict[str, str] = {}
    depth, line_start = 0, start.end()
    for index in range(start.end(), len(source)):
        char = source[index]
        if char in "{(":
            depth += 1
        elif char in "})":
            if depth == 0:
                break
            depth -= 1
        elif char in ";\n" and depth == 0:
            text = source[line_start:index].strip()
            found = re.match(r"(?:readonly\s+)?([A-Za-z_$][\w$]*)\??\s*[(:<]", text)
            if found:
                members.setdefault(found.group(1), text)
            line_start = index + 1
    return members


def test_every_javascript_name_is_in_the_published_sdk() -> None:
    """Each JavaScript name on the page is a member of the published SDK's ``PluginContext``."""
    ensure_npm_installed(BENCH_JS)
    source = (BENCH_JS / TYPES).read_text()
    source = re.sub(r"/\*.*?\*/|//[^\n]*", "", source, flags=re.DOTALL)
    missing = []
    for entry in entries():
        interface = "PluginContext"
        *clients, name = entry.javascript.split(".")[1:]
        for client in clients:
            declared = _members(source, interface).get(client, "")
            interface = declared.partition(":")[2].strip(" ;")
        if not interface or name not in _members(source, interface):
            missing.append(entry.javascript)
    assert missing == []


def test_every_host_method_on_the_page_is_served_by_the_host() -> None:
    served = handled_methods()
    requests = {entry.host_method for entry in entries() if entry.kind == "request"}
    assert requests and requests <= served, requests - served
