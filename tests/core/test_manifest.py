"""Manifest v1 parses with upstream's rules and zod's messages, and the install checks keep
upstream's order (reference §1, 2026.707.0 rules from ``@paperclipai/shared`` dist)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from core.capabilities import PLUGIN_CAPABILITIES
from core.errors import InvalidInput
from core.manifest import (
    HOST_VERSION,
    CompanyFromIssue,
    InvalidManifest,
    PluginManifest,
    check_route_path_conflicts,
    missing_capabilities,
    parse_manifest,
    validate_manifest,
)
from core.plugin_database import PluginDatabaseDeclaration

ROOT = Path(__file__).resolve().parents[2]
DROP = object()

#: The orchestration smoke example's manifest (reference §9.1).
SMOKE_MANIFEST: dict[str, Any] = {
    "id": "paperclipai.plugin-orchestration-smoke-example",
    "apiVersion": 1,
    "version": "0.1.0",
    "displayName": "Orchestration Smoke Example",
    "description": "Exercises the plugin orchestration host APIs end to end.",
    "author": "Paperclip",
    "categories": ["automation", "ui"],
    "capabilities": [
        "api.routes.register",
        "database.namespace.migrate",
        "database.namespace.read",
        "database.namespace.write",
        "issues.read",
        "issues.create",
        "issues.wakeup",
        "issue.relations.read",
        "issue.relations.write",
        "issue.documents.read",
        "issue.documents.write",
        "issue.subtree.read",
        "issues.orchestration.read",
        "ui.dashboardWidget.register",
        "ui.detailTab.register",
        "instance.settings.register",
    ],
    "entrypoints": {"worker": "./dist/worker.js", "ui": "./dist/ui"},
    "database": {
        "namespaceSlug": "orchestration_smoke",
        "migrationsDir": "migrations",
        "coreReadTables": ["issues"],
    },
    "apiRoutes": [
        {
            "routeKey": "initialize",
            "method": "POST",
            "path": "/issues/:issueId/smoke",
            "auth": "board-or-agent",
            "capability": "api.routes.register",
            "checkoutPolicy": "required-for-agent-in-progress",
            "companyResolution": {"from": "issue", "param": "issueId"},
        },
        {
            "routeKey": "summary",
            "method": "GET",
            "path": "/issues/:issueId/smoke",
            "auth": "board-or-agent",
            "capability": "api.routes.register",
            "companyResolution": {"from": "issue", "param": "issueId"},
        },
    ],
    "ui": {
        "slots": [
            {
                "type": "dashboardWidget",
                "id": "health-widget",
                "displayName": "Orchestration Smoke Health",
                "exportName": "DashboardWidget",
            },
            {
                "type": "taskDetailView",
                "id": "issue-panel",
                "displayName": "Orchestration Smoke",
                "exportName": "IssuePanel",
                "entityTypes": ["issue"],
            },
            {
                "type": "settingsPage",
                "id": "settings",
                "displayName": "Orchestration Smoke Settings",
                "exportName": "SettingsPage",
            },
        ]
    },
}

BASE: dict[str, Any] = {
    "id": "acme.widgets",
    "apiVersion": 1,
    "version": "1.0.0",
    "displayName": "Widgets",
    "description": "Adds widgets.",
    "author": "Acme",
    "categories": ["ui"],
    "capabilities": ["issues.read"],
    "entrypoints": {"worker": "./dist/worker.js", "ui": "./dist/ui"},
}

# zod lists the enum in 2026.707.0's order, which core.capabilities keeps.
CAPABILITY_ENUM = " | ".join(f"'{capability}'" for capability in PLUGIN_CAPABILITIES)
SLOT_TYPE_ENUM = (
    "'page' | 'detailTab' | 'taskDetailView' | 'dashboardWidget' | 'sidebar' | 'routeSidebar' | "
    "'sidebarPanel' | 'projectSidebarItem' | 'globalToolbarButton' | 'toolbarButton' | "
    "'contextMenuItem' | 'commentAnnotation' | 'commentContextMenuItem' | 'settingsPage' | "
    "'companySettingsPage'"
)
ZONE_ENUM = (
    "'page' | 'detailTab' | 'taskDetailView' | 'dashboardWidget' | 'sidebar' | 'sidebarPanel' | "
    "'projectSidebarItem' | 'globalToolbarButton' | 'toolbarButton' | 'contextMenuItem' | "
    "'commentAnnotation' | 'commentContextMenuItem' | 'settingsPage'"
)


def manifest(**changes: Any) -> dict[str, Any]:
    """``BASE`` with top-level keys replaced, added, or removed (``DROP``)."""
    raw = copy.deepcopy(BASE)
    for key, value in changes.items():
        if value is DROP:
            raw.pop(key, None)
        else:
            raw[key] = value
    return raw


def slot(**changes: Any) -> dict[str, Any]:
    return {"type": "page", "id": "main", "displayName": "Main", "exportName": "Main", **changes}


def launcher(**changes: Any) -> dict[str, Any]:
    return {
        "id": "open",
        "displayName": "Open",
        "placementZone": "toolbarButton",
        "action": {"type": "navigate", "target": "widgets"},
        **changes,
    }


def route(**changes: Any) -> dict[str, Any]:
    return {
        "routeKey": "summary",
        "method": "GET",
        "path": "/summary",
        "auth": "board",
        "capability": "api.routes.register",
        **changes,
    }


def with_ui(*slots: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return manifest(ui={"slots": list(slots)}, **changes)


def with_launchers(*launchers: dict[str, Any]) -> dict[str, Any]:
    return manifest(launchers=list(launchers))


def with_routes(*routes: dict[str, Any]) -> dict[str, Any]:
    return manifest(apiRoutes=list(routes), capabilities=["api.routes.register"])


def schema_message(raw: Any) -> str:
    with pytest.raises(InvalidManifest) as raised:
        parse_manifest(raw)
    return raised.value.message


# -- valid manifests -----------------------------------------------------------------------------


def test_the_smoke_example_manifest_parses_into_typed_declarations() -> None:
    parsed = validate_manifest(SMOKE_MANIFEST, host_version=HOST_VERSION)

    assert parsed.id == "paperclipai.plugin-orchestration-smoke-example"
    assert parsed.api_version == 1
    assert parsed.categories == ("automation", "ui")
    assert parsed.entrypoints.ui == "./dist/ui"
    assert isinstance(parsed.database, PluginDatabaseDeclaration)
    assert parsed.database.namespace_slug == "orchestration_smoke"
    assert parsed.database.read_tables == frozenset({"issues"})
    initialize, summary = parsed.api_routes or ()
    assert (initialize.route_key, initialize.method, initialize.path) == (
        "initialize",
        "POST",
        "/issues/:issueId/smoke",
    )
    assert initialize.checkout_policy == "required-for-agent-in-progress"
    assert initialize.company_resolution == CompanyFromIssue.model_validate(
        {"from": "issue", "param": "issueId"}
    )
    assert summary.checkout_policy is None
    assert [slot.type for slot in parsed.ui_slots] == [
        "dashboardWidget",
        "taskDetailView",
        "settingsPage",
    ]
    assert parsed.ui_slots[1].entity_types == ("issue",)


def test_requires_answers_from_the_declared_capabilities() -> None:
    parsed = parse_manifest(SMOKE_MANIFEST)
    assert parsed.requires("issues.wakeup")
    assert not parsed.requires("issues.update")


@pytest.mark.parametrize(
    "path",
    [
        "fixtures/plugins/wire-probe-js/manifest.json",
        "fixtures/plugins/wire-probe-python/manifest.json",
    ],
)
def test_the_fixture_plugins_pass_the_install_checks(path: str) -> None:
    raw = json.loads((ROOT / path).read_text())
    assert validate_manifest(raw, host_version=HOST_VERSION).id == raw["id"]


def test_the_model_is_frozen_and_accepts_field_names() -> None:
    raw = {key: value for key, value in BASE.items() if key not in ("apiVersion", "displayName")}
    parsed = PluginManifest.model_validate({**raw, "api_version": 1, "display_name": "By name"})
    assert parsed.display_name == "By name"
    with pytest.raises(ValidationError):
        parsed.id = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(manifest(instanceConfigSchema={}), id="empty config schema"),
        pytest.param(manifest(instanceConfigSchema={"$ref": "#/defs/x"}), id="ref schema"),
        pytest.param(manifest(instanceConfigSchema={"anyOf": []}), id="composition schema"),
        pytest.param(manifest(version="1.0.0-beta.1+build.5"), id="prerelease and build"),
        pytest.param(
            manifest(
                jobs=[
                    {
                        "jobKey": "sweep",
                        "displayName": "Sweep",
                        "schedule": "0-30/5,45 1,2 */3 * 1-5",
                    }
                ],
                capabilities=["jobs.schedule"],
            ),
            id="cron lists ranges and steps",
        ),
        pytest.param(
            with_launchers(launcher(placementZone="sidebar")) | {"entrypoints": {"worker": "w"}},
            id="legacy launchers need no ui entrypoint",
        ),
        pytest.param(
            with_launchers(launcher(placementZone="commentAnnotation", entityTypes=["issue"])),
            id="launchers have no comment rule",
        ),
        pytest.param(
            with_ui(
                slot(type="detailTab", entityTypes=["execution_workspace", "project_workspace"])
            ),
            id="workspace entity types",
        ),
        pytest.param(
            with_routes(route(companyResolution={"from": "query", "key": "companyId"})),
            id="company from query",
        ),
        pytest.param(
            with_launchers(
                launcher(
                    action={"type": "openDrawer", "target": "panel"},
                    render={"environment": "iframe", "bounds": "wide"},
                )
            ),
            id="drawer in an iframe",
        ),
    ],
)
def test_valid_variants_parse(raw: dict[str, Any]) -> None:
    assert parse_manifest(raw).id == raw["id"]


# -- the published release's additions (2026.707.0) ----------------------------------------------


def test_new_capabilities_are_accepted() -> None:
    parsed = parse_manifest(
        manifest(capabilities=["issue.interactions.create", "local.folders", "agents.managed"])
    )
    assert parsed.requires("local.folders")


def test_new_top_level_keys_are_ignored_by_the_model_and_kept_in_the_raw_manifest() -> None:
    agents = [{"agentKey": "wiki-keeper", "displayName": "Wiki keeper"}]
    raw = manifest(agents=agents, localFolders=[], capabilities=["agents.managed"])
    before = copy.deepcopy(raw)

    parsed = parse_manifest(raw)

    assert raw == before
    assert "agents" not in parsed.model_dump(by_alias=True)
    assert not hasattr(parsed, "agents")


def test_route_sidebar_and_company_settings_slots_need_their_capabilities() -> None:
    raw = with_ui(
        slot(type="routeSidebar", id="wiki-sidebar", routePath="wiki"),
        slot(type="companySettingsPage", id="permissions", routePath="permissions"),
    )
    assert [slot.route_path for slot in parse_manifest(raw).ui_slots] == ["wiki", "permissions"]

    with pytest.raises(InvalidInput) as raised:
        validate_manifest(raw, host_version=HOST_VERSION)
    assert raised.value.message == (
        "Plugin acme.widgets manifest has inconsistent capabilities. Missing required "
        "capabilities for declared features: ui.sidebar.register, instance.settings.register"
    )

    raw["capabilities"] = ["ui.sidebar.register", "instance.settings.register"]
    assert validate_manifest(raw, host_version=HOST_VERSION).ui_slots[0].type == "routeSidebar"


# -- one case per rule, with upstream's exact message --------------------------------------------

INVALID = [
    # §1.2 top-level fields
    pytest.param(
        manifest(id="Acme.Widgets"),
        "id: Plugin id must start with a lowercase alphanumeric and contain only lowercase "
        "letters, digits, dots, hyphens, or underscores",
        id="id pattern",
    ),
    pytest.param(
        manifest(id="acme.widgets\n"),
        "id: Plugin id must start with a lowercase alphanumeric and contain only lowercase "
        "letters, digits, dots, hyphens, or underscores",
        id="id with a trailing newline",
    ),
    pytest.param(
        manifest(apiVersion=2), "apiVersion: Invalid literal value, expected 1", id="apiVersion"
    ),
    pytest.param(
        manifest(apiVersion=DROP),
        "apiVersion: Invalid literal value, expected 1",
        id="apiVersion missing",
    ),
    pytest.param(
        manifest(apiVersion=True),
        "apiVersion: Invalid literal value, expected 1",
        id="apiVersion true",
    ),
    pytest.param(
        manifest(version="1.0"),
        "version: Version must follow semver (e.g. 1.0.0 or 1.0.0-beta.1)",
        id="version semver",
    ),
    pytest.param(
        manifest(version="\uff11.0.0"),
        "version: Version must follow semver (e.g. 1.0.0 or 1.0.0-beta.1)",
        id="version with a non-ASCII digit",
    ),
    pytest.param(
        manifest(displayName="x" * 101),
        "displayName: String must contain at most 100 character(s)",
        id="displayName too long",
    ),
    pytest.param(
        manifest(displayName="😀" * 51),
        "displayName: String must contain at most 100 character(s)",
        id="displayName counted in UTF-16 units",
    ),
    pytest.param(
        manifest(description=""),
        "description: String must contain at least 1 character(s)",
        id="description empty",
    ),
    pytest.param(
        manifest(description="x" * 501),
        "description: String must contain at most 500 character(s)",
        id="description too long",
    ),
    pytest.param(
        manifest(author="x" * 201),
        "author: String must contain at most 200 character(s)",
        id="author too long",
    ),
    pytest.param(
        manifest(categories=[]),
        "categories: Array must contain at least 1 element(s)",
        id="no categories",
    ),
    pytest.param(
        manifest(categories=["widgets"]),
        "categories.0: Invalid enum value. Expected 'connector' | 'workspace' | 'automation' | "
        "'ui', received 'widgets'",
        id="unknown category",
    ),
    pytest.param(
        manifest(minimumHostVersion="v2026.707.0"),
        "minimumHostVersion: minimumHostVersion must follow semver (e.g. 1.0.0)",
        id="minimumHostVersion semver",
    ),
    pytest.param(
        manifest(minimumPaperclipVersion="2026.707"),
        "minimumPaperclipVersion: minimumPaperclipVersion must follow semver (e.g. 1.0.0)",
        id="minimumPaperclipVersion semver",
    ),
    pytest.param(
        manifest(minimumHostVersion="1.0.0", minimumPaperclipVersion="1.0.1"),
        "minimumHostVersion: minimumHostVersion and minimumPaperclipVersion must match when both "
        "are declared",
        id="minimum versions disagree",
    ),
    pytest.param(
        manifest(capabilities=[]),
        "capabilities: Array must contain at least 1 element(s)",
        id="no capabilities",
    ),
    pytest.param(
        manifest(capabilities=["issues.delete"]),
        f"capabilities.0: Invalid enum value. Expected {CAPABILITY_ENUM}, received 'issues.delete'"
        ' -- capabilities.0: did you mean "issues.create" or "issues.update"?',
        id="unknown capability",
    ),
    pytest.param(
        manifest(entrypoints={"worker": ""}),
        "entrypoints.worker: String must contain at least 1 character(s)",
        id="empty worker entrypoint",
    ),
    pytest.param(
        with_ui(slot(), entrypoints={"worker": "./dist/worker.js"}),
        "entrypoints.ui: entrypoints.ui is required when ui.slots or ui.launchers are declared",
        id="ui entrypoint for slots",
    ),
    pytest.param(
        manifest(ui={"launchers": [launcher()]}, entrypoints={"worker": "./dist/worker.js"}),
        "entrypoints.ui: entrypoints.ui is required when ui.slots or ui.launchers are declared",
        id="ui entrypoint for ui launchers",
    ),
    pytest.param(
        manifest(instanceConfigSchema={"properties": {"apiKey": {"type": "string"}}}),
        "instanceConfigSchema: Must be a valid JSON Schema object (requires at least a 'type', "
        "'$ref', or composition keyword)",
        id="config schema without type",
    ),
    pytest.param(
        manifest(instanceConfigSchema={"type": ["object"]}),
        "instanceConfigSchema: Must be a valid JSON Schema object (requires at least a 'type', "
        "'$ref', or composition keyword)",
        id="config schema type not a string",
    ),
    pytest.param(
        manifest(ui={"slots": []}),
        "ui.slots: Array must contain at least 1 element(s)",
        id="empty ui slots",
    ),
    # zod's structural messages
    pytest.param(manifest(author=DROP), "author: Required", id="missing key"),
    pytest.param(
        manifest(displayName=7), "displayName: Expected string, received number", id="wrong type"
    ),
    pytest.param(
        manifest(ui=None), "ui: Expected object, received null", id="null for an optional key"
    ),
    pytest.param(
        manifest(jobs={"jobKey": "x"}),
        "jobs: Expected array, received object",
        id="object for an array",
    ),
    pytest.param(["not", "a", "manifest"], "Expected object, received array", id="not an object"),
    # §1.3 jobs, webhooks, tools
    pytest.param(
        manifest(
            jobs=[{"jobKey": "sweep", "displayName": "Sweep", "schedule": "*/15 * * *"}],
            capabilities=["jobs.schedule"],
        ),
        "jobs.0.schedule: schedule must be a valid 5-field cron expression (e.g. '*/15 * * * *')",
        id="cron with four fields",
    ),
    pytest.param(
        manifest(
            jobs=[{"jobKey": "sweep", "displayName": "Sweep", "schedule": "0 9 * * MON"}],
            capabilities=["jobs.schedule"],
        ),
        "jobs.0.schedule: schedule must be a valid 5-field cron expression (e.g. '*/15 * * * *')",
        id="cron with a day name",
    ),
    pytest.param(
        manifest(jobs=[{"jobKey": "", "displayName": "Sweep"}], capabilities=["jobs.schedule"]),
        "jobs.0.jobKey: String must contain at least 1 character(s)",
        id="empty job key",
    ),
    pytest.param(
        manifest(webhooks=[{"endpointKey": "push"}], capabilities=["webhooks.receive"]),
        "webhooks.0.displayName: Required",
        id="webhook without display name",
    ),
    pytest.param(
        manifest(
            tools=[
                {
                    "name": "lookup",
                    "displayName": "Lookup",
                    "description": "Finds things.",
                    "parametersSchema": {"properties": {}},
                }
            ],
            capabilities=["agent.tools.register"],
        ),
        "tools.0.parametersSchema: Must be a valid JSON Schema object (requires at least a "
        "'type', '$ref', or composition keyword)",
        id="tool parameters schema",
    ),
    # §1.4 database
    pytest.param(
        manifest(
            database={"migrationsDir": "../migrations"},
            capabilities=["database.namespace.migrate", "database.namespace.read"],
        ),
        "database.migrationsDir: migrationsDir must be a relative package path without '..' or "
        "backslashes",
        id="database migrations outside the package",
    ),
    pytest.param(
        manifest(
            database={"namespaceSlug": "_smoke", "migrationsDir": "migrations"},
            capabilities=["database.namespace.migrate", "database.namespace.read"],
        ),
        "database.namespaceSlug: namespaceSlug must be lowercase letters, digits, or underscores "
        "and start with a letter or digit",
        id="database namespace slug",
    ),
    pytest.param(
        manifest(
            database={"migrationsDir": "migrations", "coreReadTables": ["issues", "issues"]},
            capabilities=["database.namespace.migrate", "database.namespace.read"],
        ),
        "database.coreReadTables: Duplicate database coreReadTables: issues",
        id="database duplicate core tables",
    ),
    pytest.param(
        manifest(
            database={"migrationsDir": "migrations"}, capabilities=["database.namespace.read"]
        ),
        "capabilities: Capability 'database.namespace.migrate' is required when database "
        "migrations are declared",
        id="database without its capabilities",
    ),
    # §1.5 apiRoutes
    pytest.param(
        with_routes(route(routeKey="Summary")),
        "apiRoutes.0.routeKey: routeKey must be lowercase letters, digits, dots, colons, "
        "underscores, or hyphens",
        id="route key pattern",
    ),
    pytest.param(
        with_routes(route(routeKey="r" * 101)),
        "apiRoutes.0.routeKey: String must contain at most 100 character(s)",
        id="route key too long",
    ),
    pytest.param(
        with_routes(route(method="PUT")),
        "apiRoutes.0.method: Invalid enum value. Expected 'GET' | 'POST' | 'PATCH' | 'DELETE', "
        "received 'PUT'",
        id="route method",
    ),
    pytest.param(
        with_routes(route(path="summary")),
        "apiRoutes.0.path: path must start with / and contain only path-safe literal or :param "
        "segments",
        id="route path pattern",
    ),
    pytest.param(
        with_routes(route(path="/api/summary")),
        "apiRoutes.0.path: path must stay inside the plugin api namespace",
        id="route path under /api",
    ),
    pytest.param(
        with_routes(route(path="/plugins")),
        "apiRoutes.0.path: path must stay inside the plugin api namespace",
        id="route path /plugins",
    ),
    pytest.param(
        with_routes(route(path="/a/../b")),
        "apiRoutes.0.path: path must stay inside the plugin api namespace",
        id="route path with ..",
    ),
    pytest.param(
        with_routes(route(path="//summary")),
        "apiRoutes.0.path: path must stay inside the plugin api namespace",
        id="route path with //",
    ),
    pytest.param(
        with_routes(route(auth="admin")),
        "apiRoutes.0.auth: Invalid enum value. Expected 'board' | 'agent' | 'board-or-agent' | "
        "'webhook', received 'admin'",
        id="route auth",
    ),
    pytest.param(
        with_routes({key: value for key, value in route().items() if key != "capability"}),
        'apiRoutes.0.capability: Invalid literal value, expected "api.routes.register"',
        id="route capability literal",
    ),
    pytest.param(
        with_routes(route(checkoutPolicy="sometimes")),
        "apiRoutes.0.checkoutPolicy: Invalid enum value. Expected 'none' | "
        "'required-for-agent-in-progress' | 'always-for-agent', received 'sometimes'",
        id="route checkout policy",
    ),
    pytest.param(
        with_routes(route(companyResolution={"from": "header", "key": "x-company"})),
        "apiRoutes.0.companyResolution.from: Invalid discriminator value. Expected 'body' | "
        "'query' | 'issue'",
        id="company resolution source",
    ),
    pytest.param(
        with_routes(route(companyResolution={"from": "body"})),
        "apiRoutes.0.companyResolution.key: Required",
        id="company resolution without key",
    ),
    pytest.param(
        with_routes(route(companyResolution={"from": "issue", "param": ""})),
        "apiRoutes.0.companyResolution.param: String must contain at least 1 character(s)",
        id="company resolution empty param",
    ),
    pytest.param(
        manifest(apiRoutes=[route()]),
        "capabilities: Capability 'api.routes.register' is required when apiRoutes are declared",
        id="routes without their capability",
    ),
    pytest.param(
        with_routes(
            route(), route(path="/other"), route(routeKey="b", path="/b"), route(routeKey="b")
        ),
        "apiRoutes: Duplicate api route keys: summary, b; apiRoutes: Duplicate api routes: "
        "GET /summary",
        id="duplicate route keys and routes",
    ),
    # §1.6 slots
    pytest.param(
        with_ui(slot(type="sidebarDrawer")),
        f"ui.slots.0.type: Invalid enum value. Expected {SLOT_TYPE_ENUM}, received 'sidebarDrawer'"
        ' -- ui.slots.0.type: did you mean "sidebarPanel" or "sidebar"?',
        id="slot type",
    ),
    pytest.param(
        with_ui(slot(type="detailTab")),
        "ui.slots.0.entityTypes: detailTab slots require at least one entityType",
        id="entity-scoped slot without entity types",
    ),
    pytest.param(
        with_ui(slot(type="contextMenuItem", entityTypes=[])),
        "ui.slots.0.entityTypes: contextMenuItem slots require at least one entityType",
        id="entity-scoped slot with empty entity types",
    ),
    pytest.param(
        with_ui(slot(type="projectSidebarItem", entityTypes=["issue"])),
        'ui.slots.0.entityTypes: projectSidebarItem slots require entityTypes to include "project"',
        id="project sidebar item without project",
    ),
    pytest.param(
        with_ui(slot(type="commentAnnotation", entityTypes=["issue"])),
        'ui.slots.0.entityTypes: commentAnnotation slots require entityTypes to include "comment"',
        id="comment annotation without comment",
    ),
    pytest.param(
        with_ui(slot(type="commentContextMenuItem", entityTypes=["issue"])),
        "ui.slots.0.entityTypes: commentContextMenuItem slots require entityTypes to include "
        '"comment"',
        id="comment context menu item without comment",
    ),
    pytest.param(
        with_ui(slot(entityTypes=["workspace"])),
        "ui.slots.0.entityTypes.0: Invalid enum value. Expected 'project' | 'issue' | 'agent' | "
        "'goal' | 'run' | 'comment' | 'execution_workspace' | 'project_workspace', received "
        "'workspace' -- ui.slots.0.entityTypes.0: did you mean \"project_workspace\" or "
        '"execution_workspace"?',
        id="unknown entity type",
    ),
    pytest.param(
        with_ui(slot(routePath="Widgets")),
        "ui.slots.0.routePath: routePath must be a lowercase single-segment slug (letters, "
        "numbers, hyphens)",
        id="route path slug",
    ),
    pytest.param(
        with_ui(slot(type="sidebar", routePath="widgets")),
        "ui.slots.0.routePath: routePath is only supported for page, routeSidebar, and "
        "companySettingsPage slots",
        id="route path on a sidebar",
    ),
    pytest.param(
        with_ui(slot(routePath="settings")),
        'ui.slots.0.routePath: routePath "settings" is reserved by the host',
        id="reserved route path",
    ),
    pytest.param(
        with_ui(slot(routePath="workspaces")),
        'ui.slots.0.routePath: routePath "workspaces" is reserved by the host',
        id="route path reserved since 2026.707.0",
    ),
    pytest.param(
        with_ui(slot(type="routeSidebar")),
        "ui.slots.0.routePath: routeSidebar slots require routePath",
        id="route sidebar without route path",
    ),
    pytest.param(
        with_ui(slot(type="companySettingsPage", routePath="")),
        "ui.slots.0.routePath: routePath must be a lowercase single-segment slug (letters, "
        "numbers, hyphens); ui.slots.0.routePath: companySettingsPage slots require routePath",
        id="company settings page with empty route path",
    ),
    pytest.param(
        with_ui(slot(type="companySettingsPage", routePath="members")),
        'ui.slots.0.routePath: company settings routePath "members" is reserved by the host',
        id="reserved company settings route path",
    ),
    pytest.param(
        with_ui(slot(order=1.5)),
        "ui.slots.0.order: Expected integer, received float",
        id="fractional order",
    ),
    # §1.6 launchers
    pytest.param(
        with_launchers(launcher(placementZone="routeSidebar")),
        f"launchers.0.placementZone: Invalid enum value. Expected {ZONE_ENUM}, received "
        "'routeSidebar' -- launchers.0.placementZone: did you mean \"sidebar\"?",
        id="route sidebar is not a launcher zone",
    ),
    pytest.param(
        with_launchers(launcher(placementZone="taskDetailView")),
        "launchers.0.entityTypes: taskDetailView launchers require at least one entityType",
        id="entity-scoped launcher without entity types",
    ),
    pytest.param(
        with_launchers(launcher(placementZone="projectSidebarItem", entityTypes=["goal"])),
        "launchers.0.entityTypes: projectSidebarItem launchers require entityTypes to include "
        '"project"',
        id="project sidebar launcher without project",
    ),
    pytest.param(
        with_launchers(launcher(action={"type": "performAction", "target": "widgets/sync"})),
        "launchers.0.action.target: performAction launchers must target an action key, not a "
        "route or URL",
        id="perform action with a route",
    ),
    pytest.param(
        with_launchers(
            launcher(
                action={"type": "performAction", "target": "sync"},
                render={"environment": "hostOverlay"},
            )
        ),
        "launchers.0.render: performAction launchers cannot declare render hints",
        id="perform action with render hints",
    ),
    pytest.param(
        with_launchers(launcher(action={"type": "navigate", "target": "https://example.com"})),
        "launchers.0.action.target: navigate launchers must target a host route, not an "
        "absolute URL",
        id="navigate to an absolute URL",
    ),
    pytest.param(
        with_launchers(launcher(action={"type": "openPopover", "target": "details"})),
        "launchers.0.render: openPopover launchers require render metadata",
        id="popover without render",
    ),
    pytest.param(
        with_launchers(
            launcher(
                action={"type": "openModal", "target": "m"}, render={"environment": "hostInline"}
            )
        ),
        "launchers.0.render.environment: openModal launchers cannot use the hostInline render "
        "environment",
        id="modal inline",
    ),
    pytest.param(
        with_launchers(
            launcher(
                action={"type": "openDrawer", "target": "d"}, render={"environment": "hostRoute"}
            )
        ),
        "launchers.0.render.environment: openDrawer launchers must use hostOverlay or iframe "
        "render environments",
        id="drawer on a route",
    ),
    pytest.param(
        with_launchers(
            launcher(
                action={"type": "openPopover", "target": "p"}, render={"environment": "hostRoute"}
            )
        ),
        "launchers.0.render.environment: openPopover launchers cannot use the hostRoute render "
        "environment",
        id="popover on a route",
    ),
    pytest.param(
        with_launchers(
            launcher(
                action={"type": "openModal", "target": "m"},
                render={"environment": "hostInline", "bounds": "full"},
            )
        ),
        'launchers.0.render.bounds: bounds "full" is not supported for render environment '
        '"hostInline"; launchers.0.render.environment: openModal launchers cannot use the '
        "hostInline render environment",
        id="bounds for the environment",
    ),
    pytest.param(
        with_launchers(launcher(render={"environment": "external", "bounds": "default"})),
        'launchers.0.render.bounds: bounds "default" is not supported for render environment '
        '"external"',
        id="external takes no bounds",
    ),
    # §1.7 capabilities and duplicates
    pytest.param(
        manifest(
            tools=[
                {
                    "name": "lookup",
                    "displayName": "Lookup",
                    "description": "Finds.",
                    "parametersSchema": {"type": "object"},
                }
            ]
        ),
        "capabilities: Capability 'agent.tools.register' is required when tools are declared",
        id="tools without their capability",
    ),
    pytest.param(
        manifest(jobs=[{"jobKey": "sweep", "displayName": "Sweep"}]),
        "capabilities: Capability 'jobs.schedule' is required when jobs are declared",
        id="jobs without their capability",
    ),
    pytest.param(
        manifest(webhooks=[{"endpointKey": "push", "displayName": "Push"}]),
        "capabilities: Capability 'webhooks.receive' is required when webhooks are declared",
        id="webhooks without their capability",
    ),
    pytest.param(
        manifest(
            jobs=[{"jobKey": k, "displayName": k} for k in ("a", "b", "b", "a", "a")],
            capabilities=["jobs.schedule"],
        ),
        "jobs: Duplicate job keys: b, a",
        id="duplicate job keys in order of repetition",
    ),
    pytest.param(
        manifest(
            webhooks=[{"endpointKey": "push", "displayName": "Push"}] * 2,
            capabilities=["webhooks.receive"],
        ),
        "webhooks: Duplicate webhook endpoint keys: push",
        id="duplicate webhook keys",
    ),
    pytest.param(
        manifest(
            tools=[
                {
                    "name": "lookup",
                    "displayName": "Lookup",
                    "description": "Finds.",
                    "parametersSchema": {},
                }
            ]
            * 2,
            capabilities=["agent.tools.register"],
        ),
        "tools: Duplicate tool names: lookup",
        id="duplicate tool names",
    ),
    pytest.param(
        with_ui(slot(), slot()), "ui.slots: Duplicate UI slot ids: main", id="duplicate slot ids"
    ),
    pytest.param(
        manifest(launchers=[launcher()], ui={"launchers": [launcher()]}),
        "ui.launchers: Duplicate launcher ids: open",
        id="duplicate launcher ids across both lists",
    ),
    pytest.param(
        with_launchers(launcher(), launcher()),
        "launchers: Duplicate launcher ids: open",
        id="duplicate legacy launcher ids",
    ),
]


@pytest.mark.parametrize(("raw", "issues"), INVALID)
def test_each_rule_has_upstreams_message(raw: Any, issues: str) -> None:
    assert schema_message(raw) == f"Invalid plugin manifest: {issues}"


def test_issues_are_joined_in_schema_order_and_listed_in_details() -> None:
    raw = manifest(id="", version="1.0", displayName=DROP, categories=[])
    with pytest.raises(InvalidManifest) as raised:
        parse_manifest(raw)
    error = raised.value
    assert error.message == (
        "Invalid plugin manifest: id: String must contain at least 1 character(s); id: Plugin id "
        "must start with a lowercase alphanumeric and contain only lowercase letters, digits, "
        "dots, hyphens, or underscores; version: Version must follow semver (e.g. 1.0.0 or "
        "1.0.0-beta.1); displayName: Required; categories: Array must contain at least 1 "
        "element(s)"
    )
    assert error.details["issues"][2:] == [
        {"path": "version", "message": "Version must follow semver (e.g. 1.0.0 or 1.0.0-beta.1)"},
        {"path": "displayName", "message": "Required"},
        {"path": "categories", "message": "Array must contain at least 1 element(s)"},
    ]
    assert error.status == 400


def test_a_root_issue_has_no_path() -> None:
    with pytest.raises(InvalidManifest) as raised:
        parse_manifest(None)  # type: ignore[arg-type]
    assert raised.value.details == {
        "issues": [{"path": "", "message": "Expected object, received null"}]
    }


def test_cross_field_rules_still_run_after_failed_checks() -> None:
    """zod only marks an object dirty when a check fails, so its refinements still run."""
    raw = with_ui(
        slot(type="detailTab", displayName=""),
        entrypoints={"worker": "./dist/worker.js"},
        version="1.0",
        jobs=[{"jobKey": "sweep", "displayName": "Sweep", "schedule": "hourly"}],
    )
    assert schema_message(raw) == (
        "Invalid plugin manifest: version: Version must follow semver (e.g. 1.0.0 or "
        "1.0.0-beta.1); jobs.0.schedule: schedule must be a valid 5-field cron expression (e.g. "
        "'*/15 * * * *'); ui.slots.0.displayName: String must contain at least 1 character(s); "
        "ui.slots.0.entityTypes: detailTab slots require at least one entityType; entrypoints.ui: "
        "entrypoints.ui is required when ui.slots or ui.launchers are declared; capabilities: "
        "Capability 'jobs.schedule' is required when jobs are declared"
    )


def test_a_failed_database_check_still_lets_the_capability_rule_run() -> None:
    raw = manifest(database={"migrationsDir": "/abs"})
    assert schema_message(raw) == (
        "Invalid plugin manifest: database.migrationsDir: migrationsDir must be a relative "
        "package path without '..' or backslashes; capabilities: Capability "
        "'database.namespace.migrate' is required when database migrations are declared; "
        "capabilities: Capability 'database.namespace.read' is required when database migrations "
        "are declared"
    )


def test_an_aborting_issue_skips_the_cross_field_rules_of_enclosing_objects() -> None:
    """A wrong enum value aborts in zod: neither the slot's nor the manifest's rules run."""
    raw = with_ui(
        slot(type="detailTab", entityTypes=["workspace"]),
        entrypoints={"worker": "./dist/worker.js"},
        jobs=[{"jobKey": "sweep", "displayName": "Sweep"}],
    )
    assert schema_message(raw) == (
        "Invalid plugin manifest: ui.slots.0.entityTypes.0: Invalid enum value. Expected "
        "'project' | 'issue' | 'agent' | 'goal' | 'run' | 'comment' | 'execution_workspace' | "
        "'project_workspace', received 'workspace' -- ui.slots.0.entityTypes.0: did you mean "
        '"project_workspace" or "execution_workspace"?'
    )


def test_a_sibling_abort_does_not_hide_failed_checks() -> None:
    assert schema_message(manifest(id="Acme", apiVersion=2, tools=[])) == (
        "Invalid plugin manifest: id: Plugin id must start with a lowercase alphanumeric and "
        "contain only lowercase letters, digits, dots, hyphens, or underscores; apiVersion: "
        "Invalid literal value, expected 1"
    )


# -- install checks (§1.8) -----------------------------------------------------------------------


def test_install_checks_run_after_the_schema() -> None:
    raw = with_ui(slot(type="dashboardWidget"), version="one")
    with pytest.raises(InvalidManifest, match=r"^Invalid plugin manifest: version: "):
        validate_manifest(raw, host_version=HOST_VERSION)


def test_missing_ui_capabilities_are_listed_once_in_declaration_order() -> None:
    raw = manifest(
        ui={
            "slots": [
                slot(type="dashboardWidget", id="w"),
                slot(id="p"),
                slot(type="sidebar", id="s"),
            ],
            "launchers": [launcher(placementZone="page")],
        },
        launchers=[launcher(id="legacy", placementZone="globalToolbarButton")],
        capabilities=["ui.page.register"],
    )
    with pytest.raises(InvalidInput) as raised:
        validate_manifest(raw, host_version=HOST_VERSION)
    assert raised.value.message == (
        "Plugin acme.widgets manifest has inconsistent capabilities. Missing required "
        "capabilities for declared features: ui.dashboardWidget.register, ui.sidebar.register, "
        "ui.action.register"
    )
    assert missing_capabilities(parse_manifest(raw)) == [
        "ui.dashboardWidget.register",
        "ui.sidebar.register",
        "ui.action.register",
    ]


def test_capabilities_are_checked_before_route_paths() -> None:
    raw = with_ui(slot(id="a", routePath="widgets"), slot(id="b", routePath="widgets"))
    with pytest.raises(InvalidInput, match="inconsistent capabilities"):
        validate_manifest(raw, host_version=HOST_VERSION)

    raw["capabilities"] = ["ui.page.register"]
    with pytest.raises(InvalidInput) as raised:
        validate_manifest(raw, host_version=HOST_VERSION)
    assert raised.value.message == "Plugin acme.widgets declares duplicate page routePath values"


def test_duplicate_route_paths_only_count_page_slots() -> None:
    raw = with_ui(
        slot(id="page", routePath="wiki"),
        slot(type="routeSidebar", id="sidebar", routePath="wiki"),
        capabilities=["ui.page.register", "ui.sidebar.register"],
    )
    assert validate_manifest(raw, host_version=HOST_VERSION).id == "acme.widgets"


def _page_plugin(plugin_id: str, *route_paths: str) -> PluginManifest:
    slots = [slot(id=f"page-{path}", routePath=path) for path in route_paths]
    return parse_manifest(with_ui(*slots, id=plugin_id, capabilities=["ui.page.register"]))


def test_route_paths_must_not_conflict_with_other_installed_plugins() -> None:
    candidate = _page_plugin("acme.widgets", "gadgets", "widgets")
    installed = {
        "acme.tools": _page_plugin("acme.tools", "tools"),
        "acme.pages": _page_plugin("acme.pages", "widgets", "gadgets"),
    }
    with pytest.raises(InvalidInput) as raised:
        check_route_path_conflicts(candidate, installed)
    assert raised.value.message == (
        'Plugin acme.widgets routePath "gadgets" conflicts with installed plugin acme.pages'
    )


def test_an_upgrade_does_not_conflict_with_itself() -> None:
    candidate = _page_plugin("acme.widgets", "widgets")
    check_route_path_conflicts(candidate, {"acme.widgets": _page_plugin("acme.widgets", "widgets")})


def test_route_conflicts_are_checked_before_the_host_version() -> None:
    raw = with_ui(
        slot(routePath="widgets"), capabilities=["ui.page.register"], minimumHostVersion="9999.0.0"
    )
    installed = {"acme.other": _page_plugin("acme.other", "widgets")}
    with pytest.raises(InvalidInput, match="conflicts with installed plugin acme.other"):
        validate_manifest(raw, host_version=HOST_VERSION, installed=installed)
    with pytest.raises(InvalidInput) as raised:
        validate_manifest(raw, host_version=HOST_VERSION)
    assert raised.value.message == (
        "Plugin acme.widgets requires host version 9999.0.0 or newer, but this server is running "
        "2026.707.0"
    )


@pytest.mark.parametrize(
    ("host", "minimum", "accepted"),
    [
        ("2026.707.0", "2026.707.0", True),
        ("2026.707.0", "2026.706.9", True),
        ("2026.707.0", "2026.707.1", False),
        ("2026.707.0", "2026.707.0-canary.3", True),
        ("2026.707.0-canary.3", "2026.707.0", False),
        ("2026.707.0-canary.10", "2026.707.0-canary.9", True),
        ("2026.707.0-canary.9", "2026.707.0-canary.10", False),
        ("1.0.0-alpha.1", "1.0.0-alpha", True),
        ("1.0.0-alpha", "1.0.0-alpha.1", False),
        ("1.0.0-1", "1.0.0-alpha", False),
        ("1.0.0-beta", "1.0.0-alpha.9", True),
        ("1.0.0-rc", "1.0.0-RC", False),
        ("1.0.0+build.9", "1.0.0", True),
        ("10.0.0", "9.99.99", True),
    ],
)
def test_host_version_uses_semver_with_prerelease_ordering(
    host: str, minimum: str, accepted: bool
) -> None:
    raw = manifest(minimumHostVersion=minimum)
    if accepted:
        assert validate_manifest(raw, host_version=host).minimum_host_version == minimum
        return
    with pytest.raises(InvalidInput) as raised:
        validate_manifest(raw, host_version=host)
    assert raised.value.message == (
        f"Plugin acme.widgets requires host version {minimum} or newer, but this server is "
        f"running {host}"
    )


def test_the_legacy_minimum_version_counts_too() -> None:
    raw = manifest(minimumPaperclipVersion="2026.708.0")
    with pytest.raises(InvalidInput, match=r"requires host version 2026\.708\.0 or newer"):
        validate_manifest(raw, host_version=HOST_VERSION)
