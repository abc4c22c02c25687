"""``sandbox attach ISSUE FILE``: give an issue a file, for plugins that read attachments
(``ctx.issues.listAttachments`` and ``getAttachmentContent``).

Paperclip's people and agents attach files in the web app; plugins cannot. The sandbox stores
the bytes in its database, so every host sharing it reads them.
"""

from __future__ import annotations

import json
import mimetypes
from pathlib import Path

import click

from core import records
from core.attachments import attach_file
from core.errors import HostError, NotFound
from core.unit_of_work import write
from sandbox.cli_support import (
    database_option,
    open_migrated_database,
    require_company,
    run_command,
)

#: The largest file ``sandbox attach`` stores (upstream's default attachment limit, 10 MiB).
MAX_BYTES = 10 * 1024 * 1024


@click.command()
@database_option
@click.argument("issue_ref", metavar="ISSUE")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path))
@click.option(
    "--company", metavar="COMPANY", required=True, help="Company id or issue prefix (e.g. ACM)."
)
@click.option(
    "--content-type",
    help="The file's media type (default: guessed from its name, else application/octet-stream).",
)
@click.option("--user", metavar="USER_ID", help="The user who attaches it (createdByUserId).")
@click.option("--json", "as_json", is_flag=True, help="Print the attachment as JSON.")
def attach(
    database: str | None,
    issue_ref: str,
    file: Path,
    company: str,
    content_type: str | None,
    user: str | None,
    as_json: bool,
) -> None:
    """Attach FILE to ISSUE (its id or identifier, e.g. ACM-1)."""
    size = file.stat().st_size
    if size > MAX_BYTES:
        raise click.ClickException(
            f"{file} is {size} bytes, over the {MAX_BYTES}-byte attachment limit"
        )
    kind = content_type or mimetypes.guess_type(file.name)[0] or "application/octet-stream"

    async def run() -> records.IssueAttachment:
        async with open_migrated_database(database) as db:
            found = await require_company(db, company)
            async with write(db, None) as unit:
                return await attach_file(
                    unit,
                    company_id=found.id,
                    issue_ref=issue_ref,
                    content=file.read_bytes(),
                    filename=file.name,
                    content_type=kind,
                    created_by_user_id=user,
                )

    try:
        attachment = run_command(run())
    except NotFound as error:
        raise click.ClickException(f"{error.message}: {issue_ref}") from error
    except HostError as error:
        raise click.ClickException(error.message) from error
    if as_json:
        click.echo(json.dumps(attachment.to_wire()))
        return
    click.echo(
        f"attachment {attachment.id}  {attachment.original_filename} "
        f"({attachment.content_type}, {attachment.byte_size} bytes)"
    )
