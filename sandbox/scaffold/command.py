"""``sandbox plugin new``: make a plugin folder that installs, runs and passes its test."""

from __future__ import annotations

from pathlib import Path

import click

from sandbox.plugin_package import SUPPORTED_SDK_VERSION
from sandbox.scaffold.plugin_folder import Language, ScaffoldError, create_plugin

_LANGUAGE_NAMES: dict[Language, str] = {"python": "Python", "js": "JavaScript"}


@click.command("new")
@click.argument("name")
@click.option("--python", "python", is_flag=True, help="A Python plugin on sandbox.sdk (default).")
@click.option(
    "--js",
    "js",
    is_flag=True,
    help=f"A JavaScript plugin on @paperclipai/plugin-sdk {SUPPORTED_SDK_VERSION}.",
)
@click.option(
    "--dir",
    "parent",
    metavar="PARENT",
    type=click.Path(path_type=Path),
    default=Path("."),
    show_default=True,
    help="The folder to make the NAME folder in.",
)
def new_command(name: str, python: bool, js: bool, parent: Path) -> None:
    """Make a new plugin in the folder NAME.

    NAME is the plugin key (the manifest id): lowercase letters, digits, dots, hyphens and
    underscores, starting with a letter or digit (e.g. acme.notes). The folder holds a
    manifest, a worker whose action add-note writes a row through ctx.db, a migration already
    in the plugin's database namespace, a pytest test on the plugin_sandbox fixture, and a
    pytest configuration.
    """
    if python and js:
        raise click.ClickException("--python and --js cannot be used together: choose one")
    language: Language = "js" if js else "python"
    try:
        made = create_plugin(name, language, parent)
    except ScaffoldError as error:
        raise click.ClickException(str(error)) from None
    except OSError as error:
        raise click.ClickException(
            f"Cannot write {parent / name}: {error.strerror or error}"
        ) from None
    click.echo(f"Created the {_LANGUAGE_NAMES[language]} plugin {made.key} in {made.root}/")
    for file in made.files:
        click.echo(f"  {file}")
    click.echo(f"Database namespace (used by migrations/001_notes.sql): {made.namespace}")
    click.echo("\nNext:")
    click.echo(f"  cd {made.root}")
    if language == "js":
        click.echo("  npm install")
    click.echo("  pytest                              # on SQLite")
    click.echo("  pytest --sandbox-backend=both       # on SQLite and PostgreSQL")
    click.echo("  sandbox plugin install .")
