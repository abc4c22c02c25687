"""``ctx.issues.summaries``: the orchestration summary of an issue tree."""

from __future__ import annotations

from core import records
from core.host_services.binding import Binding
from core.host_services.params import GetOrchestration
from core.summaries import orchestration_summary


class IssueSummaryServices:
    """Read-only summaries."""

    def __init__(self, binding: Binding) -> None:
        self._binding = binding

    async def get_orchestration(self, params: GetOrchestration) -> records.OrchestrationSummary:
        """Relations, approvals, runs, costs, incidents and invocation blocks of an issue tree.

        Costs are narrowed to ``billing_code``, or to the root issue's billing code by default.
        """
        async with self._binding.reading_issue(params) as (unit, root):
            return await orchestration_summary(
                unit,
                root,
                include_subtree=bool(params.include_subtree),
                billing_code=params.billing_code,
            )
