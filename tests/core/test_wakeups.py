"""Plugin wakeups through the heartbeat queue: outcomes, gates, idempotency, batches."""

from __future__ import annotations

import asyncio

import pytest

from core.agents import create_agent
from core.errors import Conflict, NotFound
from core.event_bus import LiveEvent, PluginEvent
from core.host_services.params import EditBlockers, RequestWakeup, RequestWakeups, SetBlockedBy
from db import tables
from tests.fixtures.orchestration import PLUGIN_ID, PLUGIN_KEY, World


async def _wakeable(world: World, **values: object) -> str:
    values.setdefault("assignee_agent_id", world.agent_id)
    return await world.issue(title="Wake me", **values)


def _requests(world: World):
    return world.rows(tables.agent_wakeup_requests)


class TestOutcomes:
    async def test_queued_request_run_activity_and_events(self, world: World) -> None:
        issue_id = await _wakeable(world)
        plugin_events: list[PluginEvent] = []
        live_events: list[LiveEvent] = []
        world.bus.subscribe("issue.*", plugin_events.append)
        world.bus.listen(live_events.append)

        result = await world.services.issues.request_wakeup(
            RequestWakeup(
                issue_id=issue_id,
                company_id=world.company_id,
                reason="mission_advance",
                actor_agent_id=world.agent_id,
            )
        )

        assert result.queued and result.run_id
        [request] = await _requests(world)
        assert {k: request[k] for k in ("status", "source", "trigger_detail", "reason")} == {
            "status": "queued",
            "source": "assignment",
            "trigger_detail": "system",
            "reason": "mission_advance",
        }
        assert (request["requested_by_actor_type"], request["requested_by_actor_id"]) == (
            "system",
            PLUGIN_ID,
        )
        assert request["payload"] == {
            "issueId": issue_id,
            "mutation": "plugin_wakeup",
            "pluginId": PLUGIN_ID,
            "pluginKey": PLUGIN_KEY,
            "contextSource": "plugin.issue.requestWakeup",
        }
        [run] = await world.rows(tables.heartbeat_runs)
        assert str(run["id"]) == result.run_id == str(request["run_id"])
        assert (run["status"], run["invocation_source"]) == ("queued", "assignment")
        assert str(run["wakeup_request_id"]) == str(request["id"])
        assert (
            run["context_snapshot"]
            | {
                "issueId": issue_id,
                "taskId": issue_id,
                "wakeReason": "mission_advance",
                "source": "plugin.issue.requestWakeup",
                "pluginId": PLUGIN_ID,
            }
            == run["context_snapshot"]
        )
        [issue] = await world.rows(tables.issues, tables.issues.c.id == issue_id)
        assert issue["execution_run_id"] is None  # stamped when a worker claims the run

        [activity] = await world.rows(tables.activity_log)
        assert activity["action"] == "issue.assignment_wakeup_requested"
        assert activity["details"]["runId"] == result.run_id
        await world.bus.drain()
        assert [event.event_type for event in plugin_events] == [
            "issue.assignment_wakeup_requested"
        ]
        assert {event.kind for event in live_events} == {"activity.logged", "heartbeat.run.queued"}

    async def test_second_wakeup_coalesces_into_the_live_run(self, world: World) -> None:
        issue_id = await _wakeable(world)
        issues = world.services.issues
        first = await issues.request_wakeup(
            RequestWakeup(issue_id=issue_id, company_id=world.company_id)
        )
        second = await issues.request_wakeup(
            RequestWakeup(issue_id=issue_id, company_id=world.company_id, reason="again")
        )
        assert second.queued and second.run_id == first.run_id
        statuses = sorted(r["status"] for r in await _requests(world))
        assert statuses == ["coalesced", "queued"]
        coalesced = next(r for r in await _requests(world) if r["status"] == "coalesced")
        assert (coalesced["reason"], coalesced["coalesced_count"]) == (
            "issue_execution_same_name",
            1,
        )
        assert len(await world.rows(tables.heartbeat_runs)) == 1
        [issue] = await world.rows(tables.issues, tables.issues.c.id == issue_id)
        assert str(issue["execution_run_id"]) == first.run_id
        assert issue["execution_agent_name_key"] == "engineer"

    async def test_another_agents_run_defers_the_wakeup(self, world: World) -> None:
        other = await create_agent(world.db, company_id=world.company_id, name="Reviewer")
        issue_id = await _wakeable(world)
        running = await world.run(agent_id=other.id, context_snapshot={"issueId": issue_id})
        async with world.db.transaction() as session:
            await session.execute(
                tables.issues.update()
                .where(tables.issues.c.id == issue_id)
                .values(execution_run_id=running)
            )
        for _ in range(2):
            result = await world.services.issues.request_wakeup(
                RequestWakeup(issue_id=issue_id, company_id=world.company_id)
            )
            assert (result.queued, result.run_id) == (False, None)
        [deferred] = await _requests(world)
        assert (deferred["status"], deferred["reason"]) == (
            "deferred_issue_execution",
            "issue_execution_deferred",
        )
        assert deferred["coalesced_count"] == 1
        assert deferred["payload"]["_paperclipWakeContext"]["issueId"] == issue_id
        assert len(await world.rows(tables.activity_log)) == 2

    async def test_agents_that_do_not_wake_on_demand_skip(self, world: World) -> None:
        lazy = await create_agent(
            world.db,
            company_id=world.company_id,
            name="Lazy",
            runtime_config={"heartbeat": {"wakeOnDemand": False}},
        )
        issue_id = await world.issue(assignee_agent_id=lazy.id)
        result = await world.services.issues.request_wakeup(
            RequestWakeup(issue_id=issue_id, company_id=world.company_id)
        )
        assert not result.queued
        [request] = await _requests(world)
        assert (request["status"], request["reason"]) == (
            "skipped",
            "heartbeat.wakeOnDemand.disabled",
        )
        assert await world.rows(tables.heartbeat_runs) == []


class TestGates:
    @pytest.mark.parametrize(
        ("setup", "message"),
        [
            ({"assignee_agent_id": None}, "^Issue has no assigned agent to wake$"),
            ({"status": "backlog"}, "^Issue is not wakeable in status: backlog$"),
            ({"status": "done"}, "^Issue is not wakeable in status: done$"),
            ({"status": "cancelled"}, "^Issue is not wakeable in status: cancelled$"),
        ],
    )
    async def test_issue_state_gates(
        self, world: World, setup: dict[str, object], message: str
    ) -> None:
        issue_id = await _wakeable(world, **setup)
        with pytest.raises(Conflict, match=message):
            await world.services.issues.request_wakeup(
                RequestWakeup(issue_id=issue_id, company_id=world.company_id)
            )
        assert await _requests(world) == [] and await world.rows(tables.activity_log) == []

    @pytest.mark.parametrize("blocker_status", ["todo", "cancelled", "in_progress"])
    async def test_only_done_blockers_are_resolved(self, world: World, blocker_status: str) -> None:
        issue_id = await _wakeable(world)
        blocker = await world.issue(title="Blocker", status=blocker_status)
        done = await world.issue(title="Done blocker", status="done")
        await world.services.issues.relations.set_blocked_by(
            SetBlockedBy(
                issue_id=issue_id, company_id=world.company_id, blocked_by_issue_ids=[blocker, done]
            )
        )
        with pytest.raises(Conflict, match="^Issue is blocked by unresolved blockers$") as raised:
            await world.services.issues.request_wakeup(
                RequestWakeup(issue_id=issue_id, company_id=world.company_id)
            )
        assert raised.value.details == {"unresolvedBlockerIssueIds": [blocker]}
        await world.services.issues.relations.remove_blockers(
            EditBlockers(
                issue_id=issue_id, company_id=world.company_id, blocker_issue_ids=[blocker]
            )
        )
        result = await world.services.issues.request_wakeup(
            RequestWakeup(issue_id=issue_id, company_id=world.company_id)
        )
        assert result.queued

    @pytest.mark.parametrize("status", ["paused", "terminated"])
    async def test_agent_must_be_invokable(self, world: World, status: str) -> None:
        issue_id = await _wakeable(world)
        async with world.db.transaction() as session:
            await session.execute(
                tables.agents.update()
                .where(tables.agents.c.id == world.agent_id)
                .values(status=status)
            )
        with pytest.raises(Conflict, match="^Agent is not invokable in its current state$"):
            await world.services.issues.request_wakeup(
                RequestWakeup(issue_id=issue_id, company_id=world.company_id)
            )
        assert await _requests(world) == []


class TestIdempotency:
    async def test_a_reused_key_returns_the_earlier_outcome(self, world: World) -> None:
        issue_id = await _wakeable(world)
        issues = world.services.issues
        first = await issues.request_wakeup(
            RequestWakeup(
                issue_id=issue_id, company_id=world.company_id, idempotency_key="mission:1"
            )
        )
        again = await issues.request_wakeup(
            RequestWakeup(
                issue_id=issue_id, company_id=world.company_id, idempotency_key="mission:1"
            )
        )
        assert again == first
        assert len(await _requests(world)) == 1
        assert len(await world.rows(tables.activity_log)) == 1

    async def test_concurrent_calls_with_one_key_write_exactly_one_request(
        self, world: World
    ) -> None:
        issue_id = await _wakeable(world)
        results = await asyncio.gather(
            *(
                world.services.issues.request_wakeup(
                    RequestWakeup(
                        issue_id=issue_id, company_id=world.company_id, idempotency_key="once"
                    )
                )
                for _ in range(20)
            )
        )
        assert len({result.run_id for result in results}) == 1
        assert len(await _requests(world)) == 1
        assert len(await world.rows(tables.heartbeat_runs)) == 1


class TestBatch:
    async def test_wakes_each_issue_once_with_prefixed_keys(self, world: World) -> None:
        a = await _wakeable(world)
        b = await _wakeable(world)
        results = await world.services.issues.request_wakeups(
            RequestWakeups(
                issue_ids=[a, b, a],
                company_id=world.company_id,
                reason="mission_advance",
                idempotency_key_prefix="mission:alpha",
            )
        )
        assert [(r.issue_id, r.queued) for r in results] == [(a, True), (b, True)]
        keys = sorted(r["idempotency_key"] for r in await _requests(world))
        assert keys == sorted([f"mission:alpha:{a}", f"mission:alpha:{b}"])
        contexts = {
            r["context_snapshot"]["source"] for r in await world.rows(tables.heartbeat_runs)
        }
        assert contexts == {"plugin.issue.requestWakeups"}

    async def test_one_failing_issue_wakes_none(self, world: World) -> None:
        good = await _wakeable(world)
        unassigned = await world.issue(title="No agent")
        with pytest.raises(Conflict, match="^Issue has no assigned agent to wake$"):
            await world.services.issues.request_wakeups(
                RequestWakeups(issue_ids=[good, unassigned], company_id=world.company_id)
            )
        assert await _requests(world) == []
        assert await world.rows(tables.heartbeat_runs) == []
        assert await world.rows(tables.activity_log) == []

    async def test_missing_issue_and_empty_list(self, world: World) -> None:
        assert (
            await world.services.issues.request_wakeups(
                RequestWakeups(issue_ids=[], company_id=world.company_id)
            )
            == []
        )
        with pytest.raises(NotFound, match="^Issue not found$"):
            await world.services.issues.request_wakeups(
                RequestWakeups(
                    issue_ids=["00000000-0000-4000-8000-000000000000"], company_id=world.company_id
                )
            )
