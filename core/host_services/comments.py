"""``ctx.issues.listComments`` and ``createComment``."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from core import records
from core.activity import Actor
from core.comments import SNIPPET_CHARS, create_comment, list_comments
from core.errors import HostError
from core.host_services.binding import Binding
from core.host_services.params import CreateComment, IssueRef
from core.issues import find_issue
from core.memberships import require_active_human_member
from core.unit_of_work import UnitOfWork, read
from core.wakeups import IssueWakeup, enqueue_issue_wakeup, load_agent

logger = logging.getLogger(__name__)


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
        """Comment on an issue as one of the company's agents, or (2026.916.1) for an active
        board member: such a comment wakes the issue's assignee, as the web app's does."""
        user = params.actor_user_id or None
        author = Actor(user_id=user) if user else Actor(agent_id=params.author_agent_id)
        async with self._binding.writing_issue(params, actor=author, lock=user is not None) as call:
            if user:
                await require_active_human_member(call.unit, params.company_id, user)
            comment = await create_comment(
                call.unit,
                call.issue,
                body=params.body,
                author_agent_id=call.actor.agent_id,
                author_user_id=user,
            )
            await self._binding.log(
                call.unit,
                "issue.comment.created",
                company_id=params.company_id,
                issue_id=call.issue["id"],
                actor=Actor(agent_id=call.actor.agent_id, user_id=user),
                details={
                    "identifier": call.issue["identifier"],
                    "commentId": comment.id,
                    "bodySnippet": comment.body[:SNIPPET_CHARS],
                },
            )
            if user:
                await self._wake_assignee(call.unit, call.issue, comment, user)
        return comment

    async def _wake_assignee(
        self, unit: UnitOfWork, issue: Mapping[str, Any], comment: records.Comment, user: str
    ) -> None:
        """Upstream's best-effort wake of the assignee about a board member's comment: a
        refusal (a paused agent, say) is logged, never raised."""
        assignee = issue["assignee_agent_id"]
        if assignee is None or issue["status"] in ("done", "cancelled"):
            return
        company, issue_id = str(issue["company_id"]), str(issue["id"])
        wakeup = IssueWakeup(
            company_id=company,
            agent_id=str(assignee),
            issue_id=issue_id,
            source="automation",
            trigger_detail="system",
            reason="issue_commented",
            payload={"issueId": issue_id, "commentId": comment.id, "mutation": "comment"},
            context_snapshot={
                "issueId": issue_id,
                "taskId": issue_id,
                "sourceCommentId": comment.id,
                "wakeReason": "issue_commented",
                "source": f"plugin:{self._binding.identity.plugin_key}",
            },
            requested_by_actor_type="user",
            requested_by_actor_id=user,
        )
        try:
            agent = await load_agent(unit, company, str(assignee))
            await enqueue_issue_wakeup(unit, wakeup, agent=agent, issue=issue)
        except HostError as error:
            logger.warning("comment %s did not wake the assignee: %s", comment.id, error)
