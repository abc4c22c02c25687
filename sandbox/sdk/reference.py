"""``python -m sandbox.sdk.reference``: write docs/ctx-reference.md, every ``ctx`` method.

The page is generated from the Python SDK itself, so it cannot drift from it: the clients and
their methods are read off a ``PluginContext``, and each method is called once against a host
that only records, which gives the worker-to-host method it sends (the JavaScript SDK sends the
same one). The JavaScript name is the method's name in camelCase, as the published SDK spells
it; the capability is the host's requirement for that method (``core.capabilities``); the
description is the first line of the method's docstring. A test fails when the checked-in page
differs from what this writes.

This is a tool for the SDK's authors, and the one module of the SDK that imports the host (for
the capabilities): ``sandbox.sdk`` never imports it, so a worker does not load ``core``.
"""

from __future__ import annotations

import contextlib
import inspect
import sys
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic.alias_generators import to_camel

from core.capabilities import required_capability
from sandbox.sdk import PluginContext
from sandbox.sdk._context import WorkerState

#: The page, relative to the repository root.
PAGE = Path("docs") / "ctx-reference.md"
COMMAND = "python -m sandbox.sdk.reference"
ROOT = Path(__file__).resolve().parents[2]


class _Sent(BaseException):
    """Stops a method at its first message to the host (past its ``except Exception``)."""

    def __init__(self, kind: str, method: str) -> None:
        super().__init__(method)
        self.kind = kind
        self.method = method


class _RecordingHost:
    """A ``HostChannel`` that raises ``_Sent`` with the first request or notification."""

    async def call(self, method: str, params: dict[str, Any]) -> Any:
        raise _Sent("request", method)

    def notify(self, method: str, params: dict[str, Any]) -> None:
        raise _Sent("notification", method)

    def spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        coroutine.send(None)  # a background request: it raises _Sent at once


@dataclass(frozen=True, slots=True)
class Entry:
    """One row of the page."""

    python: str
    javascript: str
    #: "request" or "notification" (sent to ``host_method``), "local" or "property".
    kind: str
    host_method: str
    capability: str
    returns: str
    description: str


def _placeholder(annotation: str) -> Any:
    """A value of the annotated type that is good enough to reach the host call."""
    if "Handler" in annotation or "Callable" in annotation:
        return lambda *args: None
    for marker, value in (
        ("Sequence", []),
        ("list", []),
        ("Mapping", {}),
        ("dict", {}),
        ("str", "x"),
        ("bool", False),
        ("int", 0),
        ("float", 0.0),
    ):
        if annotation.startswith(marker):
            return value
    return None


def _sent(method: Any) -> _Sent | None:
    """Call ``method`` with placeholders for its required parameters; what it sent, if anything."""
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for parameter in inspect.signature(method).parameters.values():
        if parameter.default is not inspect.Parameter.empty:
            continue
        value = _placeholder(str(parameter.annotation))
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY:
            kwargs[parameter.name] = value
        else:
            args.append(value)
    try:
        result = method(*args, **kwargs)
        if inspect.iscoroutine(result):
            with contextlib.closing(result):
                result.send(None)  # the recording host raises before anything awaits
    except _Sent as sent:
        return sent
    except StopIteration:
        pass
    return None


def _call_form(path: str, method: Any) -> str:
    """``ctx.issues.get(issue_id, company_id)``: the required parameters, ``…`` for options."""
    shown: list[str] = []
    optional = False
    keyword_only = False
    for parameter in inspect.signature(method).parameters.values():
        if parameter.default is not inspect.Parameter.empty:
            optional = True
            continue
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY and not keyword_only:
            keyword_only = True
            shown.append("*")
        shown.append(parameter.name)
    if optional:
        shown.append("…")
    return f"{path}({', '.join(shown)})"


def _summary(member: Any, path: str) -> str:
    doc = inspect.getdoc(member)
    if not doc:
        raise ValueError(f"{path} has no docstring: the reference page needs its first line")
    return " ".join(doc.split("\n\n")[0].split())


def _returns(method: Any) -> str:
    annotation = inspect.signature(method).return_annotation
    if annotation is inspect.Signature.empty:
        return ""
    return str(annotation).replace("builtins.", "")


def _is_client(value: Any) -> bool:
    return type(value).__module__.startswith("sandbox.sdk.") and not isinstance(value, type)


def _members(client: Any, path: str) -> Iterator[tuple[str, Any]]:
    """Public methods and properties of a client, then its nested clients, in source order."""
    nested = [(name, value) for name, value in vars(client).items() if not name.startswith("_")]
    for name, member in vars(type(client)).items():
        if name.startswith("_"):
            continue
        if isinstance(member, property):
            yield f"{path}.{name}", member
        elif inspect.isfunction(member):
            yield f"{path}.{name}", getattr(client, name)
    for name, value in nested:
        if _is_client(value):
            yield from _members(value, f"{path}.{name}")


def entries() -> list[Entry]:
    """Every ``ctx`` method and property of the Python SDK, in the order ``ctx`` defines them."""
    ctx = PluginContext(_RecordingHost(), WorkerState(manifest={}))
    found: list[Entry] = []
    for path, member in _members(ctx, "ctx"):
        javascript = ".".join(to_camel(part) for part in path.split("."))
        if isinstance(member, property):
            found.append(Entry(path, javascript, "property", "", "", "", _summary(member, path)))
            continue
        sent = _sent(member)
        found.append(
            Entry(
                _call_form(path, member),
                javascript,
                sent.kind if sent else "local",
                sent.method if sent else "",
                (required_capability(sent.method) or "none") if sent else "",
                _returns(member),
                _summary(member, path),
            )
        )
    return found


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render() -> str:
    """The page's Markdown."""
    lines = [
        "# `ctx` reference: Python and JavaScript",
        "",
        f"<!-- Generated by `{COMMAND}` from sandbox/sdk; do not edit. -->",
        "",
        "Every method and property of the `ctx` that `setup` receives in the Python SDK",
        "(`sandbox.sdk`), next to its name in the published `@paperclipai/plugin-sdk`. *Host",
        "method* is the worker-to-host JSON-RPC method it sends (the JavaScript SDK sends the",
        "same); *local* methods only register a handler in the worker, which the host calls later.",
        "*Capability* is what the plugin's manifest must declare for the host to serve the call",
        '("none": every plugin may). Python parameters are snake_case; `*` starts the keyword-only',
        "ones and `…` stands for optional ones. Records are in `sandbox.sdk` (`Issue`, `Document`,",
        "…); their fields are snake_case in Python and camelCase on the wire.",
        "",
    ]
    section = None
    for entry in entries():
        client = entry.javascript.rsplit(".", 1)[0]
        if client != section:
            section = client
            lines += [
                *([""] if lines[-1] else []),
                f"## `{client}`",
                "",
                "| Python | JavaScript | Host method | Capability | Returns | What it does |",
                "| --- | --- | --- | --- | --- | --- |",
            ]
        host_method = {"request": f"`{entry.host_method}`", "local": "local"}.get(entry.kind, "")
        if entry.kind == "notification":
            host_method = f"`{entry.host_method}` (notification)"
        cells = (
            f"`{entry.python}`",
            f"`{entry.javascript}`",
            host_method,
            f"`{entry.capability}`" if entry.capability else "",
            f"`{entry.returns}`" if entry.returns and entry.returns != "None" else "",
            entry.description,
        )
        lines.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    """Write the page under the repository root (or the folder given as the only argument)."""
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT
    target = root / PAGE
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render())
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
