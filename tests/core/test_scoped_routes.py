"""A plugin's scoped API routes (core/scoped_routes.py): upstream's checks in order, the worker
input, and the mapping of worker answers and errors to responses.

Tests that need issues, runs or activity rows use the ``world`` fixture (both backends). The
others dispatch against ``untouched``, a database without tables: if the dispatcher read or
wrote anything on those paths, the query would fail and the response would be a 500.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import exc as sa_exc

from core.agents import create_agent
from core.errors import Conflict, NotFound
from core.event_bus import LiveEvent
from core.records import PluginRecord
from core.scoped_routes import (
    PLUGIN_API_BODY_LIMIT_BYTES,
    ApiCaller,
    ApiRequest,
    ApiResponse,
    MalformedPath,
    Membership,
    dispatch_api_request,
    match_api_route,
)
from db import Database, DatabaseError, create_db, tables
from sandbox.protocol import RpcError, RpcTimeout, WorkerUnavailable
from tests.fixtures.orchestration import World, make_world

PLUGIN_ID = "11111111-1111-4111-8111-111111111111"
PLUGIN_KEY = "paperclip.scoped-api-test"
COMPANY_ID = "22222222-2222-4222-8222-222222222222"
AGENT_ID = "33333333-3333-4333-8333-333333333333"
RUN_ID = "44444444-4444-4444-8444-444444444444"

FROM_QUERY = {"from": "query", "key": "companyId"}
FROM_ISSUE = {"from": "issue", "param": "issueId"}
OK = {"status": 200, "body": {"ok": True}}


def route(
    route_key: str, method: str, path: str, *, auth: str = "board", **extra: Any
) -> dict[str, Any]:
    """A manifest route declaration."""
    return {
        "routeKey": route_key,
        "method": method,
        "path": path,
        "auth": auth,
        "capability": "api.routes.register",
        **extra,
    }


def plugin(
    *routes: dict[str, Any],
    status: str = "ready",
    capabilities: tuple[str, ...] = ("api.routes.register",),
) -> PluginRecord:
    """A plugin record whose manifest declares ``routes``."""
    now = datetime.now(UTC)
    return PluginRecord(
        id=PLUGIN_ID,
        plugin_key=PLUGIN_KEY,
        package_name="paperclip-plugin-scoped-api-test",
        version="1.0.0",
        api_version=1,
        categories=["automation"],
        manifest_json={
            "id": PLUGIN_KEY,
            "capabilities": list(capabilities),
            "apiRoutes": list(routes),
        },
        status=status,
        installed_at=now,
        updated_at=now,
    )


class Worker:
    """Stands in for the plugin's worker: records every input and answers as scripted."""

    def __init__(self, answer: Any = OK, *, error: BaseException | None = None) -> None:
        self.answer = answer
        self.error = error
        self.inputs: list[dict[str, Any]] = []

    async def __call__(self, request: dict[str, Any]) -> Any:
        json.dumps(request)  # the input travels as JSON: it must be JSON as it stands
        self.inputs.append(request)
        if self.error is not None:
            raise self.error
        return self.answer

    @property
    def called(self) -> bool:
        return bool(self.inputs)

    @property
    def last(self) -> dict[str, Any]:
        return self.inputs[-1]


async def send(
    db: Database,
    record: PluginRecord | None,
    request: ApiRequest,
    caller: ApiCaller,
    worker: Worker,
    *,
    worker_running: bool = True,
    world: World | None = None,
) -> ApiResponse:
    return await dispatch_api_request(
        db,
        record,
        request,
        caller,
        worker_running=worker_running,
        call_worker=worker,
        bus=world.bus if world else None,
    )


def error(status: int, message: str) -> ApiResponse:
    return ApiResponse(status, {}, {"error": message})


@pytest.fixture
async def untouched(tmp_path: Path) -> AsyncIterator[Database]:
    """A database without tables: any read or write on it fails."""
    database = create_db(tmp_path / "untouched.db")
    yield database
    await database.dispose()


SMOKE = plugin(route("smoke", "GET", "/smoke", auth="board-or-agent", companyResolution=FROM_QUERY))
SMOKE_REQUEST = ApiRequest("GET", f"/smoke?companyId={COMPANY_ID}")


def query_request(path: str, method: str = "GET") -> ApiRequest:
    """A request naming the company in the query, as ``FROM_QUERY`` routes expect."""
    return ApiRequest(method, f"{path}?companyId={COMPANY_ID}")


BOARD = ApiCaller.local_board()
AGENT = ApiCaller.agent(AGENT_ID, COMPANY_ID)
NOBODY = ApiCaller.anonymous()
WEBHOOK_MESSAGE = (
    "Webhook-scoped plugin API routes require a signature verifier and are not enabled"
)


def advance_route(policy: str | None, **extra: Any) -> dict[str, Any]:
    declared = {"checkoutPolicy": policy} if policy else {}
    extra.setdefault("auth", "agent")
    extra.setdefault("companyResolution", FROM_ISSUE)
    return route("issue.advance", "POST", "/issues/:issueId/advance", **declared, **extra)


ADVANCE = plugin(advance_route("required-for-agent-in-progress"))


async def checked_out(
    world: World, *, run_status: str = "running", **issue: Any
) -> tuple[str, str]:
    """An in-progress issue of the world's agent, checked out by a run of that agent."""
    run_id = await world.run(status=run_status)
    issue.setdefault("status", "in_progress")
    issue.setdefault("assignee_agent_id", world.agent_id)
    issue_id = await world.issue(checkout_run_id=run_id, execution_run_id=run_id, **issue)
    return issue_id, run_id


class TestUpstreamScopedApiRouteCases:
    """server/src/__tests__/plugin-scoped-api-routes.test.ts and plugin-routes-authz.test.ts."""

    async def test_dispatches_a_board_get_route_with_params_query_actor_and_company(
        self, untouched: Database
    ) -> None:
        record = plugin(
            route(
                "summary.get",
                "GET",
                "/companies/:companySlug/summary",
                companyResolution=FROM_QUERY,
            )
        )
        worker = Worker({"status": 201, "body": {"handled": True}})
        request = ApiRequest(
            "GET",
            f"/companies/acme/summary?companyId={COMPANY_ID}&view=compact",
            headers={"Authorization": "Bearer should-not-forward"},
        )
        caller = ApiCaller("board", user_id="user-1", instance_admin=True)
        response = await send(untouched, record, request, caller, worker)
        assert response == ApiResponse(201, {}, {"handled": True})
        assert worker.inputs == [
            {
                "routeKey": "summary.get",
                "method": "GET",
                "path": "/companies/acme/summary",
                "params": {"companySlug": "acme"},
                "query": {"companyId": COMPANY_ID, "view": "compact"},
                "body": None,
                "actor": {
                    "actorType": "user",
                    "actorId": "user-1",
                    "agentId": None,
                    "userId": "user-1",
                    "runId": None,
                },
                "companyId": COMPANY_ID,
                "headers": {},
            }
        ]

    async def test_only_forwards_allowlisted_response_headers(self, untouched: Database) -> None:
        worker = Worker(
            {
                "status": 200,
                "headers": {
                    "cache-control": "no-store",
                    "content-security-policy": "default-src *",
                    "location": "https://evil.example",
                    "x-request-id": "plugin-request",
                },
            }
        )
        response = await send(untouched, SMOKE, SMOKE_REQUEST, ApiCaller.local_board(), worker)
        assert response == ApiResponse(
            200, {"cache-control": "no-store", "x-request-id": "plugin-request"}, None
        )

    async def test_enforces_agent_checkout_ownership_before_dispatching_issue_scoped_post(
        self, world: World
    ) -> None:
        issue_id, run_id = await checked_out(world)
        worker = Worker()
        response = await send(
            world.db,
            ADVANCE,
            ApiRequest("POST", f"/issues/{issue_id}/advance", body={"step": "next"}),
            ApiCaller.agent(world.agent_id, world.company_id, run_id=run_id),
            worker,
            world=world,
        )
        assert response == ApiResponse(200, {}, {"ok": True})
        assert worker.last["routeKey"] == "issue.advance"
        assert worker.last["params"] == {"issueId": issue_id}
        assert worker.last["body"] == {"step": "next"}
        assert worker.last["companyId"] == world.company_id
        assert worker.last["actor"] == {
            "actorType": "agent",
            "actorId": world.agent_id,
            "agentId": world.agent_id,
            "userId": None,
            "runId": run_id,
        }
        # the owner passes without writing anything
        assert await world.rows(tables.activity_log) == []

    async def test_rejects_checkout_protected_agent_routes_without_a_run_id(
        self, world: World
    ) -> None:
        issue_id, _ = await checked_out(world)
        worker = Worker()
        response = await send(
            world.db,
            ADVANCE,
            ApiRequest("POST", f"/issues/{issue_id}/advance"),
            ApiCaller.agent(world.agent_id, world.company_id),
            worker,
        )
        assert response == error(401, "Agent run id required")
        assert not worker.called

    async def test_rejects_checkout_protected_agent_routes_owned_by_another_run(
        self, world: World
    ) -> None:
        issue_id, owner_run = await checked_out(world)
        other_run = await world.run(status="running")
        worker = Worker()
        response = await send(
            world.db,
            plugin(advance_route("always-for-agent")),
            ApiRequest("POST", f"/issues/{issue_id}/advance"),
            ApiCaller.agent(world.agent_id, world.company_id, run_id=other_run),
            worker,
        )
        assert response == error(409, "Issue run ownership conflict")
        assert not worker.called
        [row] = await world.rows(tables.issues, tables.issues.c.id == issue_id)
        assert str(row["checkout_run_id"]) == owner_run

    @pytest.mark.parametrize(
        "status", ["installed", "disabled", "error", "upgrade_pending", "uninstalled"]
    )
    async def test_a_plugin_that_is_not_ready_gets_a_clear_error(
        self, untouched: Database, status: str
    ) -> None:
        worker = Worker()
        record = plugin(*SMOKE.manifest_json["apiRoutes"], status=status)
        response = await send(untouched, record, SMOKE_REQUEST, ApiCaller.local_board(), worker)
        assert response == error(503, f"Plugin is not ready (current status: {status})")
        assert not worker.called

    async def test_a_ready_plugin_without_a_running_worker_gets_a_clear_error(
        self, untouched: Database
    ) -> None:
        worker = Worker()
        response = await send(
            untouched, SMOKE, SMOKE_REQUEST, ApiCaller.local_board(), worker, worker_running=False
        )
        assert response == error(503, "Plugin worker is not running")
        assert not worker.called

    async def test_dispatches_manifest_routes_after_company_access_checks(
        self, untouched: Database
    ) -> None:
        """plugin-routes-authz.test.ts: a session board member, not an instance admin."""
        record = plugin(
            route("smoke", "GET", "/smoke", auth="board-or-agent", companyResolution=FROM_QUERY)
        )
        worker = Worker({"status": 202, "body": {"ok": True}})
        caller = ApiCaller.board("admin-1", company_ids=["company-1"])
        response = await send(
            untouched, record, ApiRequest("GET", "/smoke?companyId=company-1"), caller, worker
        )
        assert response == ApiResponse(202, {}, {"ok": True})
        assert worker.last["routeKey"] == "smoke"
        assert worker.last["method"] == "GET"
        assert worker.last["companyId"] == "company-1"
        assert worker.last["query"] == {"companyId": "company-1"}


class TestPluginChecks:
    """Steps 3-8: the record, its status, its worker, its capability, a matching route."""

    async def test_no_record_is_plugin_not_found(self, untouched: Database) -> None:
        worker = Worker()
        response = await send(untouched, None, SMOKE_REQUEST, ApiCaller.local_board(), worker)
        assert response == error(404, "Plugin not found")
        assert not worker.called

    async def test_readiness_is_checked_before_the_worker(self, untouched: Database) -> None:
        record = plugin(*SMOKE.manifest_json["apiRoutes"], status="disabled")
        response = await send(
            untouched,
            record,
            SMOKE_REQUEST,
            ApiCaller.local_board(),
            Worker(),
            worker_running=False,
        )
        assert response == error(503, "Plugin is not ready (current status: disabled)")

    async def test_routes_need_the_api_routes_capability(self, untouched: Database) -> None:
        worker = Worker()
        record = plugin(*SMOKE.manifest_json["apiRoutes"], capabilities=("issues.read",))
        response = await send(untouched, record, SMOKE_REQUEST, ApiCaller.local_board(), worker)
        assert response == error(404, "Plugin does not expose scoped API routes")
        assert not worker.called

    @pytest.mark.parametrize(
        ("method", "path"),
        [
            pytest.param("GET", "/nope", id="unknown-path"),
            pytest.param("POST", "/smoke", id="other-method"),
            pytest.param("HEAD", "/smoke", id="head-is-not-get"),
            pytest.param("PUT", "/smoke", id="put"),
            pytest.param("OPTIONS", "/smoke", id="options"),
        ],
    )
    async def test_no_matching_route_is_route_not_found(
        self, untouched: Database, method: str, path: str
    ) -> None:
        worker = Worker()
        response = await send(
            untouched, SMOKE, ApiRequest(method, path), ApiCaller.local_board(), worker
        )
        assert response == error(404, "Plugin API route not found")
        assert not worker.called

    async def test_a_malformed_escape_is_a_bad_request(self, untouched: Database) -> None:
        worker = Worker()
        record = plugin(route("file", "GET", "/files/:name", companyResolution=FROM_QUERY))
        response = await send(
            untouched,
            record,
            ApiRequest("GET", f"/files/%E0%A4%A?companyId={COMPANY_ID}"),
            ApiCaller.local_board(),
            worker,
        )
        assert response == error(400, "Failed to decode param '%E0%A4%A'")
        assert not worker.called


class TestMatchApiRoute:
    """Route matching is plain data: no I/O, no plugin."""

    def test_the_first_route_in_manifest_order_wins(self) -> None:
        routes = [route("x", "GET", "/a/:x"), route("y", "GET", "/a/:y")]
        match = match_api_route(routes, "GET", "/a/1")
        assert match is not None
        assert (match.route["routeKey"], match.params) == ("x", {"x": "1"})

    def test_the_method_picks_between_routes_on_one_path(self) -> None:
        routes = [route("read", "GET", "/a"), route("write", "POST", "/a")]
        match = match_api_route(routes, "POST", "/a")
        assert match is not None
        assert match.route["routeKey"] == "write"
        assert match_api_route(routes, "PATCH", "/a") is None

    @pytest.mark.parametrize("path", ["/a", "/a/b/c", "/"])
    def test_segment_counts_must_be_equal(self, path: str) -> None:
        assert match_api_route([route("r", "GET", "/a/:x")], "GET", path) is None

    @pytest.mark.parametrize(
        ("segment", "value"),
        [
            pytest.param("a%20b", "a b", id="space"),
            pytest.param("a%2Fb", "a/b", id="encoded-slash"),
            pytest.param("caf%C3%A9", "café", id="utf-8"),
            pytest.param("a+b", "a+b", id="plus-kept"),
            pytest.param("PAP-12", "PAP-12", id="plain"),
        ],
    )
    def test_parameters_are_url_decoded(self, segment: str, value: str) -> None:
        match = match_api_route([route("r", "GET", "/files/:name")], "GET", f"/files/{segment}")
        assert match is not None
        assert match.params == {"name": value}

    @pytest.mark.parametrize(
        "path",
        [
            pytest.param("/item%73", id="encoded-literal-is-not-decoded"),
            pytest.param("/Items", id="case-sensitive"),
        ],
    )
    def test_literal_segments_must_equal_the_raw_segment(self, path: str) -> None:
        assert match_api_route([route("r", "GET", "/items")], "GET", path) is None

    @pytest.mark.parametrize("path", ["/a/b/", "//a//b", "/a/b//"])
    def test_empty_segments_do_not_count(self, path: str) -> None:
        assert match_api_route([route("r", "GET", "/a/b")], "GET", path) is not None

    def test_a_declared_trailing_slash_does_not_count_either(self) -> None:
        assert match_api_route([route("r", "GET", "/a/")], "GET", "/a") is not None

    @pytest.mark.parametrize("path", ["/", "", "//"])
    def test_the_root_route(self, path: str) -> None:
        assert match_api_route([route("r", "GET", "/")], "GET", path) is not None

    def test_parameter_names_are_the_rest_of_the_segment_and_literals_may_hold_colons(
        self,
    ) -> None:
        match = match_api_route([route("r", "GET", "/v1:batch/:a.json")], "GET", "/v1:batch/x")
        assert match is not None
        assert match.params == {"a.json": "x"}

    @pytest.mark.parametrize("segment", ["%E0%A4%A", "%zz", "100%", "%FF", "%ED%A0%80"])
    def test_malformed_escapes_in_a_parameter_raise(self, segment: str) -> None:
        with pytest.raises(MalformedPath, match=f"^Failed to decode param '{segment}'$"):
            match_api_route([route("r", "GET", "/files/:name")], "GET", f"/files/{segment}")

    def test_every_candidate_is_decoded_before_the_first_match_is_taken(self) -> None:
        """Upstream's order. Only a literal holding "%" can show it, which manifest validation
        refuses; so with valid manifests a later route never spoils an earlier match."""
        routes = [route("first", "GET", "/%zz/b"), route("second", "GET", "/:x/b")]
        assert match_api_route(routes[:1], "GET", "/%zz/b") is not None
        with pytest.raises(MalformedPath):
            match_api_route(routes, "GET", "/%zz/b")

    def test_decoding_stops_where_matching_stops(self) -> None:
        routes = [route("literal-first", "GET", "/a/:x"), route("post", "POST", "/:x/:y")]
        # "/b/%zz": the literal "a" fails first; the POST route is not a candidate for GET
        assert match_api_route(routes, "GET", "/b/%zz") is None
        # a malformed escape in a literal position is just a mismatch
        assert match_api_route([route("r", "GET", "/a/b")], "GET", "/%zz/b") is None


class TestAuthModes:
    """Step 9: the route's ``auth``."""

    @pytest.mark.parametrize(
        ("auth", "caller", "expected"),
        [
            pytest.param("board", BOARD, None, id="board-board"),
            pytest.param("board", AGENT, (403, "Board access required"), id="board-agent"),
            pytest.param("board", NOBODY, (403, "Board access required"), id="board-nobody"),
            pytest.param("agent", AGENT, None, id="agent-agent"),
            pytest.param("agent", BOARD, (403, "Agent access required"), id="agent-board"),
            pytest.param("agent", NOBODY, (401, "Unauthorized"), id="agent-nobody"),
            pytest.param("board-or-agent", BOARD, None, id="either-board"),
            pytest.param("board-or-agent", AGENT, None, id="either-agent"),
            pytest.param("board-or-agent", NOBODY, (401, "Unauthorized"), id="either-nobody"),
            pytest.param("webhook", BOARD, (422, WEBHOOK_MESSAGE), id="webhook-board"),
            pytest.param("webhook", AGENT, (422, WEBHOOK_MESSAGE), id="webhook-agent"),
            pytest.param("webhook", NOBODY, (422, WEBHOOK_MESSAGE), id="webhook-nobody"),
        ],
    )
    async def test_auth_mode(
        self,
        untouched: Database,
        auth: str,
        caller: ApiCaller,
        expected: tuple[int, str] | None,
    ) -> None:
        worker = Worker()
        record = plugin(route("r", "GET", "/r", auth=auth, companyResolution=FROM_QUERY))
        response = await send(untouched, record, query_request("/r"), caller, worker)
        if expected is None:
            assert response == ApiResponse(200, {}, {"ok": True})
        else:
            assert response == error(*expected)
            assert not worker.called


class TestCompanyResolution:
    """Step 10: where the company comes from; nothing resolved is 400."""

    UNRESOLVED = error(400, "Unable to resolve company for plugin API route")

    async def resolve(
        self,
        db: Database,
        resolution: dict[str, Any] | None,
        request: ApiRequest,
        caller: ApiCaller = BOARD,
        path: str = "/r",
    ) -> ApiResponse | str:
        """The company the worker got, or the refusal."""
        extra = {} if resolution is None else {"companyResolution": resolution}
        record = plugin(route("r", request.method, path, auth="board-or-agent", **extra))
        worker = Worker()
        response = await send(db, record, request, caller, worker)
        return worker.last["companyId"] if worker.called else response

    async def test_without_resolution_an_agent_acts_for_its_company(
        self, untouched: Database
    ) -> None:
        assert await self.resolve(untouched, None, ApiRequest("GET", "/r"), AGENT) == COMPANY_ID

    @pytest.mark.parametrize(
        "caller",
        [BOARD, ApiCaller("board", company_id=COMPANY_ID)],
        ids=["board", "board-with-a-company"],
    )
    async def test_without_resolution_a_board_cannot_resolve(
        self, untouched: Database, caller: ApiCaller
    ) -> None:
        resolved = await self.resolve(untouched, None, ApiRequest("GET", "/r"), caller)
        assert resolved == self.UNRESOLVED

    @pytest.mark.parametrize(
        ("body", "expected"),
        [
            pytest.param({"companyId": COMPANY_ID}, COMPANY_ID, id="string"),
            pytest.param({"companyId": 7}, None, id="number"),
            pytest.param({"companyId": ""}, None, id="empty"),
            pytest.param({"other": COMPANY_ID}, None, id="absent"),
            pytest.param([COMPANY_ID], None, id="array"),
            pytest.param(None, None, id="no-body"),
        ],
    )
    async def test_from_the_body(self, untouched: Database, body: Any, expected: Any) -> None:
        resolution = {"from": "body", "key": "companyId"}
        resolved = await self.resolve(untouched, resolution, ApiRequest("POST", "/r", body=body))
        assert resolved == (expected or self.UNRESOLVED)

    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            pytest.param(f"companyId={COMPANY_ID}", COMPANY_ID, id="single"),
            pytest.param("companyId=a&companyId=b", None, id="repeated"),
            pytest.param("companyId=", None, id="empty"),
            pytest.param("other=1", None, id="absent"),
        ],
    )
    async def test_from_the_query(self, untouched: Database, query: str, expected: Any) -> None:
        resolved = await self.resolve(untouched, FROM_QUERY, ApiRequest("GET", f"/r?{query}"))
        assert resolved == (expected or self.UNRESOLVED)

    async def test_a_local_board_passes_any_string_on_to_the_worker(
        self, untouched: Database
    ) -> None:
        resolved = await self.resolve(untouched, FROM_QUERY, ApiRequest("GET", "/r?companyId=acme"))
        assert resolved == "acme"

    @pytest.mark.parametrize("form", ["id", "identifier", "lower-case-identifier"])
    async def test_from_an_issue_named_by_id_or_identifier(self, world: World, form: str) -> None:
        identifier = "PAP-12"  # world prefixes may hold digits, which identifiers may not
        issue_id = await world.issue(identifier=identifier, issue_number=12)
        reference = {"id": issue_id, "identifier": identifier}.get(form, identifier.lower())
        resolved = await self.resolve(
            world.db, FROM_ISSUE, ApiRequest("GET", f"/issues/{reference}"), path="/issues/:issueId"
        )
        assert resolved == world.company_id

    @pytest.mark.parametrize(
        "reference",
        [
            pytest.param("99999999-9999-4999-8999-999999999999", id="missing-id"),
            pytest.param("NOPE-404", id="missing-identifier"),
            pytest.param("not-an-issue", id="neither"),
        ],
    )
    async def test_no_issue_is_unresolved_not_not_found(self, world: World, reference: str) -> None:
        resolved = await self.resolve(
            world.db, FROM_ISSUE, ApiRequest("GET", f"/issues/{reference}"), path="/issues/:issueId"
        )
        assert resolved == self.UNRESOLVED

    async def test_a_resolution_param_missing_from_the_path_is_unresolved(
        self, untouched: Database
    ) -> None:
        resolution = {"from": "issue", "param": "issueId"}
        resolved = await self.resolve(untouched, resolution, ApiRequest("GET", "/r"))
        assert resolved == self.UNRESOLVED

    async def test_issues_are_looked_up_in_every_company(self, world: World) -> None:
        other = await make_world(world.db)
        issue_id = await other.issue()
        request = ApiRequest("GET", f"/issues/{issue_id}")
        resolved = await self.resolve(world.db, FROM_ISSUE, request, path="/issues/:issueId")
        assert resolved == other.company_id
        # ... and the company access check then applies to that company
        agent = ApiCaller.agent(world.agent_id, world.company_id)
        refused = await self.resolve(world.db, FROM_ISSUE, request, agent, path="/issues/:issueId")
        assert refused == error(403, "Agent key cannot access another company")


class TestCompanyAccess:
    """Step 11: may the caller act for the resolved company?"""

    async def access(
        self, untouched: Database, caller: ApiCaller, method: str = "POST"
    ) -> int | str:
        """200, or the refusal's message."""
        worker = Worker()
        record = plugin(
            route("r", method, "/r", auth="board-or-agent", companyResolution=FROM_QUERY)
        )
        response = await send(untouched, record, query_request("/r", method), caller, worker)
        assert worker.called == (response.status == 200)
        return response.status if response.status == 200 else response.body["error"]

    async def test_an_agent_of_another_company_is_refused(self, untouched: Database) -> None:
        caller = ApiCaller.agent(AGENT_ID, "another-company")
        assert await self.access(untouched, caller) == "Agent key cannot access another company"

    async def test_an_agent_of_the_company_is_allowed(self, untouched: Database) -> None:
        assert await self.access(untouched, AGENT) == 200

    async def test_a_local_board_is_always_allowed(self, untouched: Database) -> None:
        caller = ApiCaller("board", user_id="someone")  # local trusted by default
        assert await self.access(untouched, caller) == 200

    @pytest.mark.parametrize("instance_admin", [False, True], ids=["member", "instance-admin"])
    async def test_a_board_needs_the_company_in_its_memberships(
        self, untouched: Database, instance_admin: bool
    ) -> None:
        caller = ApiCaller.board(
            "user-1", company_ids=["another-company"], instance_admin=instance_admin
        )
        assert await self.access(untouched, caller) == "User does not have access to this company"

    @pytest.mark.parametrize(
        ("method", "membership", "instance_admin", "expected"),
        [
            pytest.param("POST", Membership("active", "member"), False, 200, id="member-writes"),
            pytest.param(
                "POST",
                Membership("active", "viewer"),
                False,
                "Viewer access is read-only",
                id="viewer-writes",
            ),
            pytest.param(
                "DELETE",
                Membership("active", "viewer"),
                False,
                "Viewer access is read-only",
                id="viewer-deletes",
            ),
            pytest.param("GET", Membership("active", "viewer"), False, 200, id="viewer-reads"),
            pytest.param("POST", Membership("active", "viewer"), True, 200, id="admin-viewer"),
            pytest.param(
                "PATCH",
                Membership("suspended", "member"),
                False,
                "User does not have active company access",
                id="inactive",
            ),
            pytest.param(
                "POST", None, False, "User does not have active company access", id="no-entry"
            ),
        ],
    )
    async def test_board_writes_need_an_active_non_viewer_membership(
        self,
        untouched: Database,
        method: str,
        membership: Membership | None,
        instance_admin: bool,
        expected: int | str,
    ) -> None:
        memberships = {} if membership is None else {COMPANY_ID: membership}
        caller = ApiCaller.board(
            "user-1",
            company_ids=[COMPANY_ID],
            memberships=memberships,
            instance_admin=instance_admin,
        )
        assert await self.access(untouched, caller, method) == expected

    async def test_without_membership_details_the_company_list_decides(
        self, untouched: Database
    ) -> None:
        caller = ApiCaller.board("user-1", company_ids=[COMPANY_ID], memberships=None)
        assert await self.access(untouched, caller, "DELETE") == 200


class TestCheckoutPolicy:
    """Step 12: agents on checkout-protected routes must own the issue's checkout."""

    async def advance(
        self,
        world: World,
        policy: str | None,
        reference: str,
        caller: ApiCaller,
        **extra: Any,
    ) -> tuple[ApiResponse, Worker]:
        worker = Worker()
        response = await send(
            world.db,
            plugin(advance_route(policy, **extra)),
            ApiRequest("POST", f"/issues/{reference}/advance"),
            caller,
            worker,
            world=world,
        )
        return response, worker

    async def test_boards_are_never_checked(self, world: World) -> None:
        issue_id = await world.issue(status="todo")
        response, worker = await self.advance(
            world, "always-for-agent", issue_id, ApiCaller.local_board(), auth="board"
        )
        assert response.status == 200
        assert worker.called

    async def test_policy_none_checks_nothing(self, world: World) -> None:
        issue_id, _ = await checked_out(world)
        caller = ApiCaller.agent(world.agent_id, world.company_id)  # no run
        response, _ = await self.advance(world, None, issue_id, caller)
        assert response.status == 200

    @pytest.mark.parametrize("case", ["not-in-progress", "assigned-to-another-agent", "no-agent"])
    async def test_required_for_agent_in_progress_is_lenient_elsewhere(
        self, world: World, case: str
    ) -> None:
        """Upstream's rule, kept: only an in-progress issue assigned to the caller is checked,
        so any agent of the company may call the route for the others (even without a run)."""
        other = await create_agent(world.db, company_id=world.company_id, name="Reviewer")
        issue = {
            "not-in-progress": {"status": "todo", "assignee_agent_id": world.agent_id},
            "assigned-to-another-agent": {"assignee_agent_id": other.id},
            "no-agent": {"assignee_agent_id": None, "assignee_user_id": "user-1"},
        }[case]
        issue_id, _ = await checked_out(world, **issue)
        caller = ApiCaller.agent(world.agent_id, world.company_id)
        response, worker = await self.advance(
            world, "required-for-agent-in-progress", issue_id, caller
        )
        assert response.status == 200
        assert worker.called

    @pytest.mark.parametrize("policy", ["required-for-agent-in-progress", "always-for-agent"])
    async def test_the_owning_run_passes(self, world: World, policy: str) -> None:
        issue_id, run_id = await checked_out(world)
        caller = ApiCaller.agent(world.agent_id, world.company_id, run_id=run_id)
        response, _ = await self.advance(world, policy, issue_id, caller)
        assert response.status == 200

    async def test_always_for_agent_refuses_an_issue_not_in_progress(self, world: World) -> None:
        issue_id, run_id = await checked_out(world, status="todo")
        caller = ApiCaller.agent(world.agent_id, world.company_id, run_id=run_id)
        response, worker = await self.advance(world, "always-for-agent", issue_id, caller)
        assert response == error(409, "Issue run ownership conflict")
        assert not worker.called

    @pytest.mark.parametrize("run_id", [None, "", "   "], ids=["none", "empty", "blank"])
    async def test_a_run_id_is_required(self, world: World, run_id: str | None) -> None:
        issue_id, _ = await checked_out(world)
        caller = ApiCaller.agent(world.agent_id, world.company_id, run_id=run_id)
        response, _ = await self.advance(world, "always-for-agent", issue_id, caller)
        assert response == error(401, "Agent run id required")

    async def test_an_agent_id_is_required(self, world: World) -> None:
        issue_id, run_id = await checked_out(world)
        caller = ApiCaller("agent", company_id=world.company_id, run_id=run_id)
        response, worker = await self.advance(world, "always-for-agent", issue_id, caller)
        assert response == error(403, "Agent authentication required")
        assert not worker.called

    async def test_a_run_id_that_is_no_uuid_owns_nothing(self, world: World) -> None:
        issue_id = await world.issue(status="in_progress", assignee_agent_id=world.agent_id)
        caller = ApiCaller.agent(world.agent_id, world.company_id, run_id="run-1")
        response, worker = await self.advance(world, "always-for-agent", issue_id, caller)
        assert response == error(409, "Issue run ownership conflict")
        assert not worker.called

    async def test_the_issue_id_parameter_is_required(self, world: World) -> None:
        """The host reads ``:issueId``, whatever ``companyResolution.param`` names."""
        issue_id, run_id = await checked_out(world)
        record = plugin(
            route(
                "thing",
                "POST",
                "/things/:thingId",
                auth="agent",
                checkoutPolicy="always-for-agent",
                companyResolution={"from": "issue", "param": "thingId"},
            )
        )
        worker = Worker()
        response = await send(
            world.db,
            record,
            ApiRequest("POST", f"/things/{issue_id}"),
            ApiCaller.agent(world.agent_id, world.company_id, run_id=run_id),
            worker,
        )
        assert response == error(
            422, "Checkout-protected plugin API routes require an issueId route parameter"
        )
        assert not worker.called

    @pytest.mark.parametrize("case", ["missing", "other-company"])
    async def test_the_issue_must_exist_in_the_resolved_company(
        self, world: World, case: str
    ) -> None:
        other = await make_world(world.db)
        issue_id = (
            await other.issue(status="in_progress", assignee_agent_id=other.agent_id)
            if case == "other-company"
            else "99999999-9999-4999-8999-999999999999"
        )
        run_id = await world.run()
        caller = ApiCaller.agent(world.agent_id, world.company_id, run_id=run_id)
        # the company is the agent's own (no resolution), the issue is checked against it
        response, worker = await self.advance(
            world, "always-for-agent", issue_id, caller, companyResolution=None
        )
        assert response == error(404, "Issue not found")
        assert not worker.called

    async def test_an_identifier_in_the_url_is_checked_on_the_resolved_issue(
        self, world: World
    ) -> None:
        identifier = "PAP-3"
        issue_id, run_id = await checked_out(world, identifier=identifier, issue_number=3)
        caller = ApiCaller.agent(world.agent_id, world.company_id, run_id=run_id)
        response, worker = await self.advance(world, "always-for-agent", identifier, caller)
        assert response.status == 200
        assert worker.last["params"] == {"issueId": identifier}
        # and a conflicting run is refused through the identifier as well
        other_run = await world.run()
        caller = ApiCaller.agent(world.agent_id, world.company_id, run_id=other_run)
        response, _ = await self.advance(world, "always-for-agent", identifier, caller)
        assert response == error(409, "Issue run ownership conflict")
        [row] = await world.rows(tables.issues, tables.issues.c.id == issue_id)
        assert str(row["checkout_run_id"]) == run_id

    async def test_a_live_run_adopts_a_stale_checkout_and_logs_it(self, world: World) -> None:
        issue_id, stale_run = await checked_out(world, run_status="failed")
        live_run = await world.run(status="running")
        events: list[LiveEvent] = []
        world.bus.listen(events.append)
        caller = ApiCaller.agent(world.agent_id, world.company_id, run_id=live_run)
        response, worker = await self.advance(
            world, "required-for-agent-in-progress", issue_id, caller
        )
        assert response.status == 200
        assert worker.called
        [row] = await world.rows(tables.issues, tables.issues.c.id == issue_id)
        assert (str(row["checkout_run_id"]), str(row["execution_run_id"])) == (live_run, live_run)
        assert row["execution_locked_at"] is not None
        [activity] = await world.rows(tables.activity_log)
        assert (activity["action"], activity["entity_type"], activity["entity_id"]) == (
            "issue.checkout_lock_adopted",
            "issue",
            issue_id,
        )
        assert (activity["actor_type"], activity["actor_id"]) == ("plugin", PLUGIN_ID)
        assert (str(activity["agent_id"]), str(activity["run_id"])) == (world.agent_id, live_run)
        expected_details = {
            "previousCheckoutRunId": stale_run,
            "checkoutRunId": live_run,
            "reason": "stale_checkout_run",
            "sourcePluginId": PLUGIN_ID,
            "sourcePluginKey": PLUGIN_KEY,
            "initiatingAgentId": world.agent_id,
            "initiatingRunId": live_run,
        }
        assert activity["details"] | expected_details == activity["details"]
        await world.bus.drain()
        assert [event.kind for event in events] == ["activity.logged"]

    async def test_a_finished_run_adopts_nothing(self, world: World) -> None:
        issue_id, stale_run = await checked_out(world, run_status="failed")
        finished_run = await world.run(status="succeeded")
        caller = ApiCaller.agent(world.agent_id, world.company_id, run_id=finished_run)
        response, worker = await self.advance(world, "always-for-agent", issue_id, caller)
        assert response == error(409, "Issue run ownership conflict")
        assert not worker.called
        [row] = await world.rows(tables.issues, tables.issues.c.id == issue_id)
        assert str(row["checkout_run_id"]) == stale_run
        assert await world.rows(tables.activity_log) == []


ECHO = plugin(
    route("echo.post", "POST", "/echo", companyResolution=FROM_QUERY),
    route("echo.patch", "PATCH", "/echo", companyResolution=FROM_QUERY),
    route("echo.delete", "DELETE", "/echo", companyResolution=FROM_QUERY),
    route("echo.get", "GET", "/echo", companyResolution=FROM_QUERY),
)


async def echo(
    untouched: Database, method: str, *, body: Any = None, headers: dict[str, Any] | None = None
) -> tuple[ApiResponse, Worker]:
    worker = Worker()
    request = ApiRequest(method, f"/echo?companyId={COMPANY_ID}", headers or {}, body)
    return await send(untouched, ECHO, request, ApiCaller.local_board(), worker), worker


def json_string_of_bytes(size: int, char: str = "a") -> str:
    """A string whose JSON form (quotes included) is ``size`` bytes of UTF-8."""
    return char * ((size - 2) // len(char.encode()))


class TestRequestChecks:
    """Steps 13-14: JSON only, and at most 1,000,000 bytes of it."""

    @pytest.mark.parametrize("method", ["POST", "PATCH", "DELETE"])
    async def test_non_json_content_is_refused_even_without_a_body(
        self, untouched: Database, method: str
    ) -> None:
        response, worker = await echo(untouched, method, headers={"Content-Type": "text/plain"})
        assert response == error(415, "Plugin API routes accept JSON requests only")
        assert not worker.called

    @pytest.mark.parametrize(
        "content_type",
        ["application/json", "application/json; charset=utf-8", "Application/JSON", ""],
    )
    async def test_json_or_no_content_type_passes(
        self, untouched: Database, content_type: str
    ) -> None:
        response, _ = await echo(
            untouched, "POST", body={"a": 1}, headers={"content-type": content_type}
        )
        assert response.status == 200

    async def test_get_skips_the_content_type_check(self, untouched: Database) -> None:
        response, _ = await echo(untouched, "GET", headers={"content-type": "text/plain"})
        assert response.status == 200

    async def test_a_body_at_the_limit_passes(self, untouched: Database) -> None:
        body = json_string_of_bytes(PLUGIN_API_BODY_LIMIT_BYTES)
        assert len(json.dumps(body)) == PLUGIN_API_BODY_LIMIT_BYTES
        response, worker = await echo(untouched, "POST", body=body)
        assert response.status == 200
        assert worker.last["body"] == body

    @pytest.mark.parametrize("method", ["POST", "GET"])
    async def test_a_body_over_the_limit_is_refused(self, untouched: Database, method: str) -> None:
        body = {"text": json_string_of_bytes(PLUGIN_API_BODY_LIMIT_BYTES)}
        response, worker = await echo(untouched, method, body=body)
        assert response == error(413, "Plugin API request body is too large")
        assert not worker.called

    async def test_the_limit_counts_utf8_bytes(self, untouched: Database) -> None:
        body = json_string_of_bytes(PLUGIN_API_BODY_LIMIT_BYTES + 2, "é")  # 2 bytes each
        assert len(body) < PLUGIN_API_BODY_LIMIT_BYTES
        response, _ = await echo(untouched, "POST", body=body)
        assert response.status == 413

    async def test_the_content_type_is_checked_before_the_size(self, untouched: Database) -> None:
        body = json_string_of_bytes(2 * PLUGIN_API_BODY_LIMIT_BYTES)
        response, _ = await echo(untouched, "POST", body=body, headers={"content-type": "text/csv"})
        assert response.status == 415


class TestWorkerInput:
    """Step 15: the ``PluginApiRequestInput`` the worker receives."""

    async def test_only_allowlisted_request_headers_are_forwarded_lower_cased(
        self, untouched: Database
    ) -> None:
        headers = {
            "Accept": "application/json",
            "Content-Type": "application/json",
            "User-Agent": "tests",
            "X-Paperclip-Run-Id": RUN_ID,
            "X-Request-Id": ["a", "b"],
            "Authorization": "Bearer secret",
            "Cookie": "session=secret",
            "X-Forwarded-For": "10.0.0.1",
        }
        _, worker = await echo(untouched, "POST", headers=headers)
        assert worker.last["headers"] == {
            "accept": "application/json",
            "content-type": "application/json",
            "user-agent": "tests",
            "x-paperclip-run-id": RUN_ID,
            "x-request-id": "a, b",
        }

    async def test_path_stays_encoded_and_query_is_parsed(self, untouched: Database) -> None:
        record = plugin(route("file", "GET", "/files/:name", companyResolution=FROM_QUERY))
        worker = Worker()
        query = f"companyId={COMPANY_ID}&tag=a&tag=b&q=two+words&flag&e=%C3%A9"
        await send(
            untouched,
            record,
            ApiRequest("get", f"/files/a%2Fb/?{query}"),
            ApiCaller.local_board(),
            worker,
        )
        assert worker.last["method"] == "GET"
        assert worker.last["path"] == "/files/a%2Fb/"
        assert worker.last["params"] == {"name": "a/b"}
        assert worker.last["query"] == {
            "companyId": COMPANY_ID,
            "tag": ["a", "b"],
            "q": "two words",
            "flag": "",
            "e": "é",
        }

    async def test_an_empty_path_is_the_root(self, untouched: Database) -> None:
        record = plugin(route("root", "GET", "/", companyResolution=FROM_QUERY))
        worker = Worker()
        request = ApiRequest("GET", f"?companyId={COMPANY_ID}")
        response = await send(untouched, record, request, ApiCaller.local_board(), worker)
        assert response.status == 200
        assert worker.last["path"] == "/"

    @pytest.mark.parametrize(
        ("caller", "actor"),
        [
            pytest.param(
                ApiCaller.local_board(run_id=RUN_ID),
                {"actorType": "user", "actorId": "local-board", "userId": "local-board"},
                id="local-board",
            ),
            pytest.param(
                ApiCaller("board"),
                {"actorType": "user", "actorId": "board", "userId": "board"},
                id="board-without-user",
            ),
            pytest.param(
                ApiCaller("agent", company_id=COMPANY_ID, run_id=RUN_ID),
                {"actorType": "agent", "actorId": "unknown-agent", "userId": None},
                id="agent-without-id",
            ),
        ],
    )
    async def test_actor_fallbacks(
        self, untouched: Database, caller: ApiCaller, actor: dict[str, Any]
    ) -> None:
        # agents act for their own company; boards name it in the query
        resolution = {} if caller.kind == "agent" else {"companyResolution": FROM_QUERY}
        record = plugin(route("r", "GET", "/r", auth="board-or-agent", **resolution))
        request = ApiRequest("GET", "/r") if caller.kind == "agent" else query_request("/r")
        worker = Worker()
        await send(untouched, record, request, caller, worker)
        assert worker.last["actor"] == {"agentId": None, "runId": caller.run_id, **actor}


class TestResponseMapping:
    """Step 16: the worker's ``{status?, headers?, body?}``."""

    @pytest.mark.parametrize(
        ("status", "expected"),
        [
            pytest.param(201, 201, id="201"),
            pytest.param(200, 200, id="200"),
            pytest.param(599, 599, id="599"),
            pytest.param(404, 404, id="404"),
            pytest.param(201.0, 201, id="integral-float"),
            pytest.param(201.5, 200, id="fraction"),
            pytest.param(199, 200, id="199"),
            pytest.param(100, 200, id="1xx"),
            pytest.param(600, 200, id="600"),
            pytest.param("201", 200, id="numeric-string"),
            pytest.param(True, 200, id="boolean"),
            pytest.param(None, 200, id="null"),
        ],
    )
    async def test_status(self, untouched: Database, status: Any, expected: int) -> None:
        worker = Worker({"status": status, "body": {"n": 1}})
        response = await send(untouched, SMOKE, SMOKE_REQUEST, BOARD, worker)
        assert response == ApiResponse(expected, {}, {"n": 1})

    async def test_204_has_no_body(self, untouched: Database) -> None:
        worker = Worker({"status": 204, "body": {"ignored": True}})
        response = await send(untouched, SMOKE, SMOKE_REQUEST, BOARD, worker)
        assert response == ApiResponse(204, {}, None)

    @pytest.mark.parametrize(
        "answer",
        [
            pytest.param(None, id="null-result"),
            pytest.param({}, id="empty-object"),
            pytest.param("text", id="string-result"),
            pytest.param([1, 2], id="array-result"),
        ],
    )
    async def test_anything_else_is_200_with_a_null_body(
        self, untouched: Database, answer: Any
    ) -> None:
        response = await send(untouched, SMOKE, SMOKE_REQUEST, BOARD, Worker(answer))
        assert response == ApiResponse(200, {}, None)

    async def test_response_header_names_are_matched_and_set_lower_case(
        self, untouched: Database
    ) -> None:
        headers = {
            "ETag": '"v1"',
            "Last-Modified": "Wed, 21 Oct 2015 07:28:00 GMT",
            "Cache-Control": 60,
            "X-Request-Id": None,
            "Set-Cookie": "session=stolen",
            "Content-Type": "text/html",
        }
        response = await send(untouched, SMOKE, SMOKE_REQUEST, BOARD, Worker({"headers": headers}))
        assert response.headers == {
            "etag": '"v1"',
            "last-modified": "Wed, 21 Oct 2015 07:28:00 GMT",
            "cache-control": "60",
        }


class Failure(Exception):
    """An error carrying an HTTP status, as upstream's ``HttpError``."""

    def __init__(self, message: str, status: Any) -> None:
        super().__init__(message)
        self.status = status


class TestErrorMapping:
    """What the worker call (or a check) raises becomes a status and ``{"error": message}``."""

    @pytest.mark.parametrize(
        ("raised", "expected"),
        [
            pytest.param(Conflict("Issue is locked"), (409, "Issue is locked"), id="host-409"),
            pytest.param(NotFound("Issue not found"), (404, "Issue not found"), id="host-404"),
            pytest.param(Failure("teapot", 418), (418, "teapot"), id="status-attribute"),
            pytest.param(
                RpcError(-32001, "missing capability"), (403, "missing capability"), id="-32001"
            ),
            pytest.param(RpcError(-32005, "out of scope"), (403, "out of scope"), id="-32005"),
            pytest.param(
                RpcError(-32004, "handleApiRequest is not implemented by this plugin"),
                (501, "handleApiRequest is not implemented by this plugin"),
                id="-32004",
            ),
            pytest.param(WorkerUnavailable("worker exited"), (502, "worker exited"), id="-32000"),
            pytest.param(RpcError(-32002, "handler threw"), (502, "handler threw"), id="-32002"),
            pytest.param(
                RpcTimeout('RPC call "handleApiRequest" timed out after 30000ms'),
                (502, 'RPC call "handleApiRequest" timed out after 30000ms'),
                id="-32003",
            ),
            pytest.param(RpcError(-32099, "unknown"), (502, "unknown"), id="-32099"),
            pytest.param(RpcError(-32603, "internal"), (502, "internal"), id="-32603"),
            pytest.param(RpcError(42, "plugin code"), (502, "plugin code"), id="plugin-code"),
            pytest.param(
                RuntimeError('No worker registered for plugin "x"'),
                (500, 'No worker registered for plugin "x"'),
                id="plain-error",
            ),
            pytest.param(TypeError("bad operand"), (500, "bad operand"), id="type-error"),
            pytest.param(Failure("odd", 200), (500, "odd"), id="non-error-status"),
            pytest.param(Failure("odd", "409"), (500, "odd"), id="string-status"),
            pytest.param(
                DatabaseError("relation secret_table does not exist"),
                (500, "Internal server error"),
                id="storage-error",
            ),
            pytest.param(
                sa_exc.OperationalError("SELECT secret", {}, Exception("driver says")),
                (500, "Internal server error"),
                id="driver-error",
            ),
        ],
    )
    async def test_error_mapping(
        self, untouched: Database, raised: Exception, expected: tuple[int, str]
    ) -> None:
        response = await send(untouched, SMOKE, SMOKE_REQUEST, BOARD, Worker(error=raised))
        assert response == error(*expected)

    async def test_a_real_storage_failure_hides_the_driver_message(
        self, untouched: Database
    ) -> None:
        """The issue lookup fails on a database without tables ("no such table: issues")."""
        record = plugin(route("r", "GET", "/issues/:issueId", companyResolution=FROM_ISSUE))
        worker = Worker()
        response = await send(
            untouched, record, ApiRequest("GET", f"/issues/{RUN_ID}"), BOARD, worker
        )
        assert response == error(500, "Internal server error")
        assert not worker.called

    async def test_cancellation_is_not_an_error_response(self, untouched: Database) -> None:
        with pytest.raises(asyncio.CancelledError):
            await send(
                untouched, SMOKE, SMOKE_REQUEST, BOARD, Worker(error=asyncio.CancelledError())
            )
