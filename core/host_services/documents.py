"""``ctx.issues.documents`` (upstream's ``issueDocuments``): keyed, revisioned issue documents."""

from __future__ import annotations

from core import records
from core.activity import Actor
from core.documents import (
    delete_document,
    get_document,
    list_documents,
    normalize_key,
    upsert_document,
)
from core.host_services.binding import Binding
from core.host_services.params import DocumentRef, IssueRef, UpsertDocument


class IssueDocumentServices:
    """Documents by key; an upsert of an existing key writes a new revision."""

    def __init__(self, binding: Binding) -> None:
        self._binding = binding

    async def list(self, params: IssueRef) -> list[records.Document]:
        """The issue's documents, with bodies, by key."""
        async with self._binding.reading_issue(params) as (unit, issue):
            return await list_documents(unit, issue)

    async def get(self, params: DocumentRef) -> records.Document | None:
        """The document under ``key``, or None."""
        async with self._binding.reading_issue(params) as (unit, issue):
            return await get_document(unit, issue, normalize_key(params.key))

    async def upsert(self, params: UpsertDocument) -> records.Document:
        """Create the document under ``key``, or write its next revision.

        ``base_revision_id`` makes the write conditional: it must be the current revision.
        """
        key = normalize_key(params.key)
        async with self._binding.writing_issue(params) as call:
            written = await upsert_document(
                call.unit,
                call.issue,
                key=key,
                body=params.body,
                title=params.title,
                format_=params.format or "markdown",
                change_summary=params.change_summary,
                base_revision_id=params.base_revision_id,
            )
            document = written.document
            await self._binding.log(
                call.unit,
                "issue.document_upserted",
                company_id=params.company_id,
                issue_id=call.issue["id"],
                actor=Actor(),
                details={
                    "identifier": call.issue["identifier"],
                    "documentKey": key,
                    "title": document.title,
                    "format": document.format,
                    "revisionNumber": document.latest_revision_number,
                },
                event_type="issue.document.created"
                if written.created
                else "issue.document.updated",
            )
        return document

    async def delete(self, params: DocumentRef) -> None:
        """Delete the document under ``key`` with its revisions; without one, nothing happens."""
        key = normalize_key(params.key)
        async with self._binding.writing_issue(params) as call:
            if await delete_document(call.unit, call.issue, key):
                await self._binding.log(
                    call.unit,
                    "issue.document_deleted",
                    company_id=params.company_id,
                    issue_id=call.issue["id"],
                    actor=Actor(),
                    details={"identifier": call.issue["identifier"], "documentKey": key},
                )
