"""Issues through the host services: create, update, get, list."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from core.agents import create_agent
from core.errors import Conflict, InvalidInput, NotFound, Unprocessable
from core.host_services.params import CreateIssue, IssueRef, ListIssues, SetBlockedBy, UpdateIssue
from db import tables
from tests.fixtures.orchestration import World, make_world


class TestCreate:
    async def test_defaults_numbering_and_origin(self, world: World) -> None:
        first = await world.services.issues.create(
            CreateIssue(company_id=world.company_id, title="First")
        )
        second = await world.services.issues.create(
            CreateIssue(company_id=world.company_id, title="Second")
        )
        assert (first.status, first.priority, first.request_depth) == ("backlog", "medium", 0)
        assert first.origin_kind == "plugin:paperclip.missions"
        assert (first.issue_number, first.identifier) == (1, f"{world.prefix}-1")
        assert (second.issue_number, second.identifier) == (2, f"{world.prefix}-2")
        assert first.created_by_agent_id is None and first.labels == []

    async def test_counter_heals_when_it_fell_behind_existing_numbers(self, world: World) -> None:
        await world.issue(issue_number=41, identifier=f"{world.prefix}-41")
        issue = await world.services.issues.create(
            CreateIssue(company_id=world.company_id, title="Next")
        )
        assert issue.identifier == f"{world.prefix}-42"

    async def test_concurrent_creates_never_share_a_number(self, world: World) -> None:
        created = await asyncio.gather(
            *(
                world.services.issues.create(
                    CreateIssue(company_id=world.company_id, title=f"n{n}")
                )
                for n in range(25)
            )
        )
        assert sorted(issue.issue_number for issue in created) == list(range(1, 26))
        assert len({issue.identifier for issue in created}) == 25

    @pytest.mark.parametrize(
        ("status", "column"),
        [("in_progress", "started_at"), ("done", "completed_at"), ("cancelled", "cancelled_at")],
    )
    async def test_status_timestamps(self, world: World, status: str, column: str) -> None:
        issue = await world.services.issues.create(
            CreateIssue(
                company_id=world.company_id,
                title="Timed",
                status=status,
                assignee_agent_id=world.agent_id,
            )
        )
        stamped = {c: getattr(issue, c) for c in ("started_at", "completed_at", "cancelled_at")}
        assert stamped.pop(column) is not None
        assert set(stamped.values()) == {None}

    async def test_assignee_rules_with_upstream_messages(self, world: World) -> None:
        issues = world.services.issues
        company = world.company_id
        with pytest.raises(Unprocessable, match="^Issue can only have one assignee$"):
            await issues.create(
                CreateIssue(
                    company_id=company,
                    title="t",
                    assignee_agent_id=world.agent_id,
                    assignee_user_id="board-user",
                )
            )
        with pytest.raises(NotFound, match="^Assignee agent not found$"):
            await issues.create(
                CreateIssue(
                    company_id=company,
                    title="t",
                    assignee_agent_id="00000000-0000-4000-8000-000000000000",
                )
            )
        other = await make_world(world.db, name="Other")
        with pytest.raises(Unprocessable, match="^Assignee must belong to same company$"):
            await issues.create(
                CreateIssue(company_id=company, title="t", assignee_agent_id=other.agent_id)
            )
        for status, message in [
            ("pending_approval", "Cannot assign work to pending approval agents"),
            ("terminated", "Cannot assign work to terminated agents"),
        ]:
            agent = await create_agent(world.db, company_id=company, name=status, status=status)
            with pytest.raises(Conflict, match=f"^{message}$"):
                await issues.create(
                    CreateIssue(company_id=company, title="t", assignee_agent_id=agent.id)
                )
        with pytest.raises(NotFound, match="^Assignee user not found$"):
            await issues.create(
                CreateIssue(company_id=company, title="t", assignee_user_id="board-user")
            )
        with pytest.raises(Unprocessable, match="^in_progress issues require an assignee$"):
            await issues.create(CreateIssue(company_id=company, title="t", status="in_progress"))
        assert await world.rows(tables.issues) == []

    async def test_member_user_can_be_assigned(self, world: World) -> None:
        await world.insert(
            tables.company_memberships,
            company_id=world.company_id,
            principal_type="user",
            principal_id="board-user",
        )
        issue = await world.services.issues.create(
            CreateIssue(
                company_id=world.company_id, title="For the board", assignee_user_id="board-user"
            )
        )
        assert issue.assignee_user_id == "board-user"

    @pytest.mark.parametrize(
        ("fields", "error", "message"),
        [
            ({"status": "started"}, Conflict, "^Unknown issue status: started$"),
            ({"priority": "urgent"}, InvalidInput, "^Unknown issue priority: urgent"),
            ({"title": "  "}, InvalidInput, "^title is required$"),
            ({"project_id": "nope"}, InvalidInput, "^projectId must be a UUID"),
            ({"request_depth": -1}, Exception, "greater than or equal to 0"),
        ],
    )
    async def test_bad_values_are_refused_and_nothing_is_written(
        self, world: World, fields: dict[str, object], error: type[Exception], message: str
    ) -> None:
        values = {"title": "ok", **fields}
        with pytest.raises(error, match=message):
            await world.services.issues.create(CreateIssue(company_id=world.company_id, **values))
        assert await world.rows(tables.issues) == []
        assert await world.rows(tables.activity_log) == []

    async def test_goal_falls_back_to_the_company_goal(self, world: World) -> None:
        goal_id = await world.insert(
            tables.goals,
            company_id=world.company_id,
            title="Win",
            level="company",
            status="active",
        )
        issue = await world.services.issues.create(
            CreateIssue(company_id=world.company_id, title="t")
        )
        assert issue.goal_id == goal_id

    async def test_project_goal_and_parent_must_be_of_the_company(self, world: World) -> None:
        other = await make_world(world.db, name="Other")
        foreign_project = await world.insert(
            tables.projects, company_id=other.company_id, name="Theirs"
        )
        foreign_goal = await world.insert(tables.goals, company_id=other.company_id, title="Theirs")
        foreign_issue = await other.issue(title="Theirs")
        for fields, message in [
            ({"project_id": foreign_project}, "^Project not found$"),
            ({"goal_id": foreign_goal}, "^Goal not found$"),
            ({"parent_id": foreign_issue}, "^Parent issue not found$"),
        ]:
            with pytest.raises(NotFound, match=message):
                await world.services.issues.create(
                    CreateIssue(company_id=world.company_id, title="t", **fields)
                )

    async def test_children_inherit_the_parents_project_workspace(self, world: World) -> None:
        project_id = await world.insert(tables.projects, company_id=world.company_id, name="P")
        workspace_id = await world.insert(
            tables.project_workspaces,
            company_id=world.company_id,
            project_id=project_id,
            name="main",
            is_primary=True,
        )
        parent = await world.services.issues.create(
            CreateIssue(company_id=world.company_id, title="Parent", project_id=project_id)
        )
        child = await world.services.issues.create(
            CreateIssue(company_id=world.company_id, title="Child", parent_id=parent.id)
        )
        assert parent.project_workspace_id == workspace_id
        assert child.project_workspace_id == workspace_id

    async def test_labels_must_belong_to_the_company(self, world: World) -> None:
        label_id = await world.insert(
            tables.labels, company_id=world.company_id, name="bug", color="red"
        )
        other = await make_world(world.db, name="Other")
        foreign = await other.insert(
            tables.labels, company_id=other.company_id, name="x", color="b"
        )
        issue = await world.services.issues.create(
            CreateIssue(company_id=world.company_id, title="t", label_ids=[label_id, label_id])
        )
        assert issue.label_ids == [label_id]
        assert [label.name for label in issue.labels] == ["bug"]
        with pytest.raises(
            Unprocessable, match="^One or more labels are invalid for this company$"
        ):
            await world.services.issues.create(
                CreateIssue(company_id=world.company_id, title="t", label_ids=[foreign])
            )

    async def test_unknown_wire_keys_are_not_written(self, world: World) -> None:
        issue = await world.services.issues.create(
            CreateIssue(
                company_id=world.company_id,
                title="t",
                hiddenAt="2026-01-01T00:00:00Z",
                checkoutRunId="11111111-1111-4111-8111-111111111111",
                identifier="EVIL-1",
            )
        )
        assert issue.hidden_at is None and issue.checkout_run_id is None
        assert issue.identifier == f"{world.prefix}-1"


class TestUpdate:
    async def test_status_side_effects_and_previous_values_in_activity(self, world: World) -> None:
        issue = await world.services.issues.create(
            CreateIssue(
                company_id=world.company_id,
                title="t",
                status="todo",
                assignee_agent_id=world.agent_id,
            )
        )
        started = await world.services.issues.update(
            UpdateIssue(
                issue_id=issue.id, company_id=world.company_id, patch={"status": "in_progress"}
            )
        )
        assert started.started_at is not None
        done = await world.services.issues.update(
            UpdateIssue(issue_id=issue.id, company_id=world.company_id, patch={"status": "done"})
        )
        assert done.completed_at is not None and done.started_at == started.started_at
        reopened = await world.services.issues.update(
            UpdateIssue(issue_id=issue.id, company_id=world.company_id, patch={"status": "todo"})
        )
        assert reopened.completed_at is None
        updates = await world.rows(
            tables.activity_log, tables.activity_log.c.action == "issue.updated"
        )
        previous = sorted(row["details"]["_previous"]["status"] for row in updates)
        assert previous == ["done", "in_progress", "todo"]
        assert {row["details"]["identifier"] for row in updates} == {issue.identifier}

    async def test_leaving_in_progress_or_reassigning_clears_run_locks(self, world: World) -> None:
        issue_id = await world.issue(status="in_progress", assignee_agent_id=world.agent_id)
        run_id = await world.run()
        for patch in ({"status": "in_review"}, {"assigneeAgentId": None, "status": "todo"}):
            async with world.db.transaction() as session:
                await session.execute(
                    tables.issues.update()
                    .where(tables.issues.c.id == issue_id)
                    .values(
                        status="in_progress",
                        assignee_agent_id=world.agent_id,
                        checkout_run_id=run_id,
                        execution_run_id=run_id,
                        execution_agent_name_key="engineer",
                        execution_locked_at=datetime.now(UTC),
                    )
                )
            updated = await world.services.issues.update(
                UpdateIssue(issue_id=issue_id, company_id=world.company_id, patch=patch)
            )
            assert (updated.checkout_run_id, updated.execution_run_id) == (None, None)
            assert updated.execution_locked_at is None

    async def test_unknown_status_is_a_conflict_and_unknown_fields_are_ignored(
        self, world: World
    ) -> None:
        issue = await world.services.issues.create(
            CreateIssue(company_id=world.company_id, title="t")
        )
        with pytest.raises(Conflict, match="^Unknown issue status: shipped$"):
            await world.services.issues.update(
                UpdateIssue(
                    issue_id=issue.id, company_id=world.company_id, patch={"status": "shipped"}
                )
            )
        other = await make_world(world.db, name="Other")
        updated = await world.services.issues.update(
            UpdateIssue(
                issue_id=issue.id,
                company_id=world.company_id,
                patch={"companyId": other.company_id, "identifier": "X-1", "title": "renamed"},
            )
        )
        assert (updated.company_id, updated.identifier) == (world.company_id, issue.identifier)
        assert updated.title == "renamed"

    async def test_identifier_references_work_everywhere(self, world: World) -> None:
        world = await make_world(world.db, name="Missions", prefix="MIS")
        issue = await world.services.issues.create(
            CreateIssue(company_id=world.company_id, title="t")
        )
        by_identifier = issue.identifier.lower()
        updated = await world.services.issues.update(
            UpdateIssue(
                issue_id=by_identifier, company_id=world.company_id, patch={"title": "via id"}
            )
        )
        assert updated.id == issue.id
        relations = await world.services.issues.relations.set_blocked_by(
            SetBlockedBy(
                issue_id=by_identifier, company_id=world.company_id, blocked_by_issue_ids=[]
            )
        )
        assert relations.blocked_by == ()
        fetched = await world.services.issues.get(
            IssueRef(issue_id=by_identifier, company_id=world.company_id)
        )
        assert fetched is not None and fetched.title == "via id"


class TestGetAndList:
    async def test_get_returns_none_for_missing_foreign_and_malformed(self, world: World) -> None:
        other = await make_world(world.db, name="Other")
        foreign = await other.issue(title="Theirs")
        for reference in (foreign, "00000000-0000-4000-8000-000000000000", "not-an-id", "X-1"):
            assert (
                await world.services.issues.get(
                    IssueRef(issue_id=reference, company_id=world.company_id)
                )
                is None
            )

    async def test_list_filters_orders_and_pages_once(self, world: World) -> None:
        old = datetime.now(UTC) - timedelta(days=1)
        for title, priority in [
            ("low", "low"),
            ("crit", "critical"),
            ("med", "medium"),
            ("hi", "high"),
        ]:
            await world.issue(title=title, priority=priority, updated_at=old)
        await world.issue(title="hidden", priority="critical", hidden_at=old)
        await world.issue(title="done", priority="critical", status="done", updated_at=old)
        listed = await world.services.issues.list(
            ListIssues(company_id=world.company_id, status="todo")
        )
        assert [issue.title for issue in listed] == ["crit", "hi", "med", "low"]
        page = await world.services.issues.list(
            ListIssues(company_id=world.company_id, status="todo,done", limit=2, offset=2)
        )
        assert [issue.title for issue in page] == ["hi", "med"]
        assert (
            await world.services.issues.list(ListIssues(company_id=world.company_id, limit=0)) == []
        )
        assert (
            len(
                await world.services.issues.list(
                    ListIssues(company_id=world.company_id, limit="3.7")
                )
            )
            == 3
        )

    async def test_list_truncates_descriptions_and_filters_plugin_origins(
        self, world: World
    ) -> None:
        await world.services.issues.create(
            CreateIssue(
                company_id=world.company_id,
                title="mine",
                description="x" * 5000,
                origin_kind="plugin:paperclip.missions:feature",
            )
        )
        await world.issue(title="manual")
        mine = await world.services.issues.list(
            ListIssues(company_id=world.company_id, origin_kind="plugin:paperclip.missions:feature")
        )
        assert [issue.title for issue in mine] == ["mine"]
        assert len(mine[0].description or "") == 1200
        assert mine[0].to_wire()["descriptionTruncated"] is True
        manual = await world.services.issues.list(
            ListIssues(company_id=world.company_id, origin_kind="manual")
        )
        assert [issue.title for issue in manual] == ["manual"]
        assert manual[0].to_wire()["descriptionTruncated"] is False
        with pytest.raises(InvalidInput, match="originKind values under plugin:paperclip.missions"):
            await world.services.issues.list(
                ListIssues(company_id=world.company_id, origin_kind="plugin:other.plugin")
            )
