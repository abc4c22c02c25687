"""``ctx.issues.listComments`` and ``createComment``."""

from __future__ import annotations

from core import records
from core.activity import Actor
from core.comments import SNIPPET_CHARS, create_comment, list_comments
from core.host_services.binding import Binding
from core.host_services.params import CreateComment, IssueRef
from core.issues import find_issue
from core.unit_of_work import read


class IssueCommentServices:
    """The comment methods of ``ctx.issues``."""

    def __init__(self, binding: Binding) -> None:
        self._binding = binding

    async def list_comments(self, params: IssueRef) -> list[records.Comment]:
        """The issue's comments, newest first; ``[]`` for a missing or foreign issue."""
        async with read(self._binding.db) as unit:
            issue = await find_issue(unit, params.company_id, params.issue_id)
            return [] if issue is None else await list_comments(unit, issue)

    async def create_comment(self, params: CreateComment) -> records.Comment:
        """Comment on an issue, optionally as one of the company's agents."""
        author = Actor(agent_id=params.author_agent_id)
        async with self._binding.writing_issue(params, actor=author, lock=False) as call:
            comment = await create_comment(
                call.unit, call.issue, body=params.body, author_agent_id=call.actor.agent_id
            )
            await self._binding.log(
                call.unit,
                "issue.comment.created",
                company_id=params.company_id,
                issue_id=call.issue["id"],
                actor=Actor(agent_id=call.actor.agent_id),
                details={
                    "identifier": call.issue["identifier"],
                    "commentId": comment.id,
                    "bodySnippet": comment.body[:SNIPPET_CHARS],
                },
            )
        return comment
