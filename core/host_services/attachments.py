"""``ctx.issues.listAttachments`` and ``getAttachmentContent`` (Paperclip 2026.916.1)."""

from __future__ import annotations

from core import records
from core.activity import Actor
from core.attachments import attachment_content, find_attachment, list_attachments
from core.host_services.binding import Binding
from core.host_services.params import AttachmentRef, IssueRef
from core.unit_of_work import read


class IssueAttachmentServices:
    """The attachment methods of ``ctx.issues``."""

    _binding: Binding

    async def list_attachments(self, params: IssueRef) -> list[records.IssueAttachment]:
        """The issue's attachments, newest first; ``[]`` for a missing or foreign issue."""
        async with read(self._binding.db) as unit:
            return await list_attachments(unit, params.company_id, params.issue_id)

    async def get_attachment_content(
        self, params: AttachmentRef
    ) -> records.AttachmentContent | None:
        """An attachment's bytes (base64), or None for a missing or foreign one; the read is
        recorded as plugin activity on its issue (``issue.attachment.read``)."""
        async with self._binding.writing() as unit:
            attachment = await find_attachment(unit, params.company_id, params.attachment_id)
            if attachment is None:
                return None
            content = await attachment_content(unit, attachment, params.max_bytes)
            await self._binding.log(
                unit,
                "issue.attachment.read",
                company_id=params.company_id,
                issue_id=attachment["issue_id"],
                actor=Actor(),
                details={
                    "attachmentId": content.attachment_id,
                    "byteSize": content.byte_size,
                    "contentType": content.content_type,
                },
            )
        return content
