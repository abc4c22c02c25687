"""Manifest v1 parses with upstream's rules and zod's messages, and the install checks keep
upstream's order (reference §1; 2026.916.1 rules from ``@paperclipai/shared`` dist, zod 4.6).

The expected messages of the 2026.916.1 cases are the server's, from running the release's own
``pluginManifestValidator`` on the same input."""

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
from db.constants import PLUGIN_DATABASE_CORE_READ_TABLES

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

# zod lists the enum in 2026.916.1's order, which core.capabilities keeps.
CAPABILITY_ENUM = "|".join(f'"{capability}"' for capability in PLUGIN_CAPABILITIES)
SLOT_TYPE_ENUM = (
    '"page"|"detailTab"|"taskDetailView"|"dashboardWidget"|"sidebar"|"routeSidebar"|'
    '"sidebarPanel"|"projectSidebarItem"|"globalToolbarButton"|"toolbarButton"|'
    '"contextMenuItem"|"commentAnnotation"|"commentContextMenuItem"|"settingsPage"|'
    '"companySettingsPage"'
)
ZONE_ENUM = (
    '"page"|"detailTab"|"taskDetailView"|"dashboardWidget"|"sidebar"|"sidebarPanel"|'
    '"projectSidebarItem"|"globalToolbarButton"|"toolbarButton"|"contextMenuItem"|'
    '"commentAnnotation"|"commentContextMenuItem"|"settingsPage"'
)
CORE_TABLE_ENUM = "|".join(f'"{table}"' for table in PLUGIN_DATABASE_CORE_READ_TABLES)
DATABASE_CAPABILITIES = ["database.namespace.migrate", "database.namespace.read"]
ENTITY_TYPE_ENUM = (
    '"project"|"issue"|"agent"|"goal"|"run"|"comment"|"execution_workspace"|"project_workspace"'
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


def driver(**changes: Any) -> dict[str, Any]:
    return {
        "driverKey": "acme-box",
        "displayName": "Acme Box",
        "configSchema": {"type": "object"},
        **changes,
    }


def with_drivers(*drivers: dict[str, Any]) -> dict[str, Any]:
    return manifest(environmentDrivers=list(drivers), capabilities=["environment.drivers.register"])


def routine(**changes: Any) -> dict[str, Any]:
    return {"routineKey": "daily", "title": "Daily", **changes}


def with_routines(*routines: dict[str, Any]) -> dict[str, Any]:
    return manifest(routines=list(routines), capabilities=["routines.managed"])


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
        pytest.param(manifest(displayName="😀" * 51), id="51 emoji are 51 code points"),
        pytest.param(
            with_drivers(
                driver(
                    kind="sandbox_provider",
                    supportsReusableLeases=True,
                    sandboxCapabilities={
                        "reusableLeases": True,
                        "nativeSyncIn": True,
                        "nativeSyncOut": False,
                        "persistentProcessSessions": True,
                        "independentControlCommands": True,
                        "incrementalSessionOutput": True,
                        "concurrentSyncOperations": False,
                        "duplexCommandStream": True,
                        "runnerWebSocketIngress": True,
                    },
                    templateIdentityPaths=["image", "config.region"],
                    supportsLoginPty=True,
                    supportsSetupTokenLogin=True,
                    templateConfigBinding={"field": "template", "unsetFields": ["snapshot"]},
                )
            ),
            id="driver with every 2026.916.1 field",
        ),
        pytest.param(
            with_routines(
                routine(
                    activityGatePolicy="require_external_activity",
                    activityGateScope="project",
                    goalId="00000000-0000-0000-0000-000000000001",
                )
            ),
            id="routine activity gate and a GUID that is no RFC UUID",
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


def test_the_capabilities_added_by_2026_916_1_are_accepted() -> None:
    added = [
        "issue.interactions.read",
        "issue.attachments.read",
        "approvals.read",
        "issue.comments.create_human_attributed",
        "issue.interactions.respond",
        "approvals.respond",
    ]
    assert parse_manifest(manifest(capabilities=added)).capabilities == tuple(added)


def test_the_deprecated_login_alias_is_folded_into_supports_login_pty() -> None:
    parsed = parse_manifest(
        with_drivers(driver(supportsSetupTokenLogin=True), driver(driverKey="b"))
    )
    aliased, plain = parsed.environment_drivers or ()
    assert (aliased.supports_login_pty, aliased.supports_setup_token_login) == (True, None)
    assert (plain.supports_login_pty, plain.supports_setup_token_login) == (None, None)
    dumped = aliased.model_dump(by_alias=True, exclude_none=True)
    assert dumped["supportsLoginPty"] is True
    assert "supportsSetupTokenLogin" not in dumped


def test_routines_parse_with_upstreams_defaults_and_trimmed_text() -> None:
    raw = with_routines(
        routine(
            title="  Daily  ",
            variables=[
                {"name": " pick ", "type": "select", "options": [" a "], "defaultValue": "a"}
            ],
            triggers=[{"kind": "schedule", "cronExpression": " 0 9 * * * "}],
        ),
        routine(routineKey="weekly", variables=[{"name": "note"}]),
    )
    daily, weekly = parse_manifest(raw).routines or ()
    assert daily.title == "Daily"
    assert (daily.variables or ())[0].options == ("a",)
    assert (daily.triggers or ())[0].cron_expression == "0 9 * * *"
    note = (weekly.variables or ())[0]
    assert (note.type, note.required, note.options) == ("text", True, ())


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
    pytest.param(manifest(apiVersion=2), "apiVersion: Invalid input: expected 1", id="apiVersion"),
    pytest.param(
        manifest(apiVersion=DROP),
        "apiVersion: Invalid input: expected 1",
        id="apiVersion missing",
    ),
    pytest.param(
        manifest(apiVersion=True),
        "apiVersion: Invalid input: expected 1",
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
        "displayName: Too big: expected string to have <=100 characters",
        id="displayName too long",
    ),
    pytest.param(
        manifest(displayName="😀" * 101),
        "displayName: Too big: expected string to have <=100 characters",
        id="displayName counted in code points",
    ),
    pytest.param(
        manifest(description=""),
        "description: Too small: expected string to have >=1 characters",
        id="description empty",
    ),
    pytest.param(
        manifest(description="x" * 501),
        "description: Too big: expected string to have <=500 characters",
        id="description too long",
    ),
    pytest.param(
        manifest(author="x" * 201),
        "author: Too big: expected string to have <=200 characters",
        id="author too long",
    ),
    pytest.param(
        manifest(categories=[]),
        "categories: Too small: expected array to have >=1 items",
        id="no categories",
    ),
    pytest.param(
        manifest(categories=["widgets"]),
        'categories.0: Invalid option: expected one of "connector"|"workspace"|"automation"|"ui"',
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
        "capabilities: Too small: expected array to have >=1 items",
        id="no capabilities",
    ),
    pytest.param(
        manifest(capabilities=["issues.delete"]),
        f"capabilities.0: Invalid option: expected one of {CAPABILITY_ENUM}"
        ' -- capabilities.0: did you mean "issues.create" or "issues.update"?',
        id="unknown capability",
    ),
    pytest.param(
        manifest(entrypoints={"worker": ""}),
        "entrypoints.worker: Too small: expected string to have >=1 characters",
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
        "ui.slots: Too small: expected array to have >=1 items",
        id="empty ui slots",
    ),
    # zod's structural messages
    pytest.param(
        manifest(author=DROP),
        "author: Invalid input: expected string, received undefined",
        id="missing key",
    ),
    pytest.param(
        manifest(displayName=7),
        "displayName: Invalid input: expected string, received number",
        id="wrong type",
    ),
    pytest.param(
        manifest(ui=None),
        "ui: Invalid input: expected object, received null",
        id="null for an optional key",
    ),
    pytest.param(
        manifest(jobs={"jobKey": "x"}),
        "jobs: Invalid input: expected array, received object",
        id="object for an array",
    ),
    pytest.param(
        ["not", "a", "manifest"],
        "Invalid input: expected object, received array",
        id="not an object",
    ),
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
        "jobs.0.jobKey: Too small: expected string to have >=1 characters",
        id="empty job key",
    ),
    pytest.param(
        manifest(webhooks=[{"endpointKey": "push"}], capabilities=["webhooks.receive"]),
        "webhooks.0.displayName: Invalid input: expected string, received undefined",
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
        "apiRoutes.0.routeKey: Too big: expected string to have <=100 characters",
        id="route key too long",
    ),
    pytest.param(
        with_routes(route(method="PUT")),
        'apiRoutes.0.method: Invalid option: expected one of "GET"|"POST"|"PATCH"|"DELETE"',
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
        "apiRoutes.0.auth: Invalid option: expected one of "
        '"board"|"agent"|"board-or-agent"|"webhook"',
        id="route auth",
    ),
    pytest.param(
        with_routes({key: value for key, value in route().items() if key != "capability"}),
        'apiRoutes.0.capability: Invalid input: expected "api.routes.register"',
        id="route capability literal",
    ),
    pytest.param(
        with_routes(route(checkoutPolicy="sometimes")),
        "apiRoutes.0.checkoutPolicy: Invalid option: expected one of "
        '"none"|"required-for-agent-in-progress"|"always-for-agent"',
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
        "apiRoutes.0.companyResolution.key: Invalid input: expected string, received undefined",
        id="company resolution without key",
    ),
    pytest.param(
        with_routes(route(companyResolution={"from": "issue", "param": ""})),
        "apiRoutes.0.companyResolution.param: Too small: expected string to have >=1 characters",
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
        f"ui.slots.0.type: Invalid option: expected one of {SLOT_TYPE_ENUM}"
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
        f"ui.slots.0.entityTypes.0: Invalid option: expected one of {ENTITY_TYPE_ENUM} -- "
        'ui.slots.0.entityTypes.0: did you mean "project_workspace" or "execution_workspace"?',
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
        "ui.slots.0.order: Invalid input: expected int, received number",
        id="fractional order",
    ),
    # §1.6 launchers
    pytest.param(
        with_launchers(launcher(placementZone="routeSidebar")),
        f"launchers.0.placementZone: Invalid option: expected one of {ZONE_ENUM}"
        ' -- launchers.0.placementZone: did you mean "sidebar"?',
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
    # zod 4's default messages (2026.916.1), one case per family
    pytest.param(
        manifest(id=DROP), "id: Invalid input: expected string, received undefined", id="id missing"
    ),
    pytest.param(
        manifest(capabilities=DROP),
        "capabilities: Invalid input: expected array, received undefined",
        id="array missing",
    ),
    pytest.param(
        manifest(entrypoints=DROP),
        "entrypoints: Invalid input: expected object, received undefined",
        id="object missing",
    ),
    pytest.param(
        manifest(
            tools=[{"name": "lookup", "displayName": "Lookup", "description": "Finds."}],
            capabilities=["agent.tools.register"],
        ),
        "tools.0.parametersSchema: Invalid input: expected record, received undefined",
        id="record missing",
    ),
    pytest.param(
        manifest(instanceConfigSchema=[]),
        "instanceConfigSchema: Invalid input: expected record, received array",
        id="record wrong type",
    ),
    pytest.param(
        manifest(instanceConfigSchema=None),
        "instanceConfigSchema: Invalid input: expected record, received null",
        id="record null",
    ),
    pytest.param(
        with_launchers(launcher(action={"type": "navigate", "target": "w", "params": []})),
        "launchers.0.action.params: Invalid input: expected record, received array",
        id="launcher params not a record",
    ),
    pytest.param(
        manifest(minimumHostVersion=None),
        "minimumHostVersion: Invalid input: expected string, received null",
        id="string null",
    ),
    pytest.param(
        manifest(categories="ui"),
        "categories: Invalid input: expected array, received string",
        id="array wrong type",
    ),
    pytest.param(
        manifest(ui=[]),
        "ui: Invalid input: expected object, received array",
        id="object wrong type",
    ),
    pytest.param(
        manifest(capabilities=["jobs.schedule"], jobs=["sweep"]),
        "jobs.0: Invalid input: expected object, received string",
        id="array element not an object",
    ),
    pytest.param("manifest", "Invalid input: expected object, received string", id="root string"),
    pytest.param(
        manifest(categories=[7]),
        'categories.0: Invalid option: expected one of "connector"|"workspace"|"automation"|"ui"',
        id="enum given a number",
    ),
    pytest.param(
        manifest(categories=[None]),
        'categories.0: Invalid option: expected one of "connector"|"workspace"|"automation"|"ui"',
        id="enum given null",
    ),
    pytest.param(
        with_routes({key: value for key, value in route().items() if key != "method"}),
        'apiRoutes.0.method: Invalid option: expected one of "GET"|"POST"|"PATCH"|"DELETE"',
        id="enum missing",
    ),
    pytest.param(
        with_routes(route(checkoutPolicy=None)),
        "apiRoutes.0.checkoutPolicy: Invalid option: expected one of "
        '"none"|"required-for-agent-in-progress"|"always-for-agent"',
        id="optional enum null",
    ),
    pytest.param(
        with_launchers(launcher(render={"environment": "hostOverlay", "bounds": None})),
        'launchers.0.render.bounds: Invalid option: expected one of "inline"|"compact"|"default"|'
        '"wide"|"full"',
        id="optional bounds null",
    ),
    pytest.param(
        manifest(apiVersion="1"),
        "apiVersion: Invalid input: expected 1",
        id="literal given a string",
    ),
    pytest.param(
        with_routes(route(companyResolution="issue")),
        "apiRoutes.0.companyResolution: Invalid input: expected object, received string",
        id="discriminated union not an object",
    ),
    pytest.param(
        with_routes(route(companyResolution={"from": 7})),
        "apiRoutes.0.companyResolution.from: Invalid discriminator value. Expected 'body' | "
        "'query' | 'issue'",
        id="discriminator wrong type keeps zod 3 wording",
    ),
    pytest.param(
        manifest(id=""),
        "id: Too small: expected string to have >=1 characters; id: Plugin id must start with a "
        "lowercase alphanumeric and contain only lowercase letters, digits, dots, hyphens, or "
        "underscores",
        id="min and custom regex both reported",
    ),
    pytest.param(
        with_ui(slot(order="1")),
        "ui.slots.0.order: Invalid input: expected number, received string",
        id="number wrong type",
    ),
    pytest.param(
        with_ui(slot(order=10**20)),
        "ui.slots.0.order: Too big: expected int to be <=9007199254740991",
        id="integer beyond the safe range",
    ),
    pytest.param(
        with_ui(slot(order=-(10**20))),
        "ui.slots.0.order: Too small: expected int to be >=-9007199254740991",
        id="integer below the safe range",
    ),
    pytest.param(
        with_ui(slot(type="detailTab", order=10**20)),
        "ui.slots.0.order: Too big: expected int to be <=9007199254740991; "
        "ui.slots.0.entityTypes: detailTab slots require at least one entityType",
        id="safe range is a check: slot refinements still run",
    ),
    pytest.param(
        with_ui(slot(type="detailTab", order=1.5)),
        "ui.slots.0.order: Invalid input: expected int, received number",
        id="fraction aborts: no slot refinements",
    ),
    pytest.param(
        with_ui(slot(order=1.5), entrypoints={"worker": "w.js"}),
        "ui.slots.0.order: Invalid input: expected int, received number",
        id="fraction aborts: no manifest refinements",
    ),
    # database (2026.916.1 wording; the unknown table's path names its index)
    pytest.param(
        manifest(database={"migrationsDir": ""}, capabilities=DATABASE_CAPABILITIES),
        "database.migrationsDir: Too small: expected string to have >=1 characters",
        id="database migrationsDir empty",
    ),
    pytest.param(
        manifest(database={}, capabilities=DATABASE_CAPABILITIES),
        "database.migrationsDir: Invalid input: expected string, received undefined",
        id="database migrationsDir missing",
    ),
    pytest.param(
        manifest(
            database={"namespaceSlug": "a" * 41, "migrationsDir": "m"},
            capabilities=DATABASE_CAPABILITIES,
        ),
        "database.namespaceSlug: Too big: expected string to have <=40 characters",
        id="database namespace slug too long",
    ),
    pytest.param(
        manifest(
            database={"migrationsDir": "m", "coreReadTables": ["issues", "plugins"]},
            capabilities=DATABASE_CAPABILITIES,
        ),
        f"database.coreReadTables.1: Invalid option: expected one of {CORE_TABLE_ENUM}",
        id="database unknown core table at its index",
    ),
    pytest.param(
        manifest(database={"migrationsDir": "m", "coreReadTables": ["issues", "issues"]}),
        "capabilities: Capability 'database.namespace.migrate' is required when database "
        "migrations are declared; capabilities: Capability 'database.namespace.read' is required "
        "when database migrations are declared; database.coreReadTables: Duplicate database "
        "coreReadTables: issues",
        id="database duplicate core tables after the capability rule",
    ),
    pytest.param(
        manifest(database=None),
        "database: Invalid input: expected object, received null",
        id="database null",
    ),
    # environmentDrivers (2026.916.1: strict, sandboxCapabilities, templateIdentityPaths, login)
    pytest.param(
        with_drivers(driver(supportsLoginPTY=True)),
        'environmentDrivers.0: Unrecognized key: "supportsLoginPTY"',
        id="driver unknown key",
    ),
    pytest.param(
        with_drivers(driver(foo=1, bar=2)),
        'environmentDrivers.0: Unrecognized keys: "foo", "bar"',
        id="driver unknown keys",
    ),
    pytest.param(
        manifest(environmentDrivers=[driver(bogus=1)]),
        'environmentDrivers.0: Unrecognized key: "bogus"; capabilities: Capability '
        "'environment.drivers.register' is required when environmentDrivers are declared",
        id="driver unknown key does not abort",
    ),
    pytest.param(
        with_drivers(driver(sandboxCapabilities={"reusableLease": True})),
        'environmentDrivers.0.sandboxCapabilities: Unrecognized key: "reusableLease"',
        id="sandbox capabilities unknown key",
    ),
    pytest.param(
        with_drivers(driver(sandboxCapabilities={"reusableLeases": "yes"})),
        "environmentDrivers.0.sandboxCapabilities.reusableLeases: Invalid input: expected "
        "boolean, received string",
        id="sandbox capability not a boolean",
    ),
    pytest.param(
        with_drivers(driver(supportsLoginPty=True, supportsSetupTokenLogin=False)),
        "environmentDrivers.0.supportsLoginPty: supportsSetupTokenLogin is a deprecated alias for "
        "supportsLoginPty; the two flags must not carry different values",
        id="login flag and its alias disagree",
    ),
    pytest.param(
        with_drivers(driver(bogus=1, supportsLoginPty=True, supportsSetupTokenLogin=False)),
        'environmentDrivers.0: Unrecognized key: "bogus"; environmentDrivers.0.supportsLoginPty: '
        "supportsSetupTokenLogin is a deprecated alias for supportsLoginPty; the two flags must "
        "not carry different values",
        id="unknown key then alias conflict",
    ),
    pytest.param(
        with_drivers(driver(supportsLoginPty="true")),
        "environmentDrivers.0.supportsLoginPty: Invalid input: expected boolean, received string",
        id="login flag not a boolean",
    ),
    pytest.param(
        with_drivers(driver(templateIdentityPaths=[f"p{i}" for i in range(21)])),
        "environmentDrivers.0.templateIdentityPaths: Too big: expected array to have <=20 items",
        id="template identity paths too many",
    ),
    pytest.param(
        manifest(environmentDrivers=[driver(templateIdentityPaths=[""] * 21)]),
        "environmentDrivers.0.templateIdentityPaths: Too big: expected array to have <=20 items",
        id="array over its maximum aborts before its elements",
    ),
    pytest.param(
        with_drivers(driver(templateIdentityPaths=[""])),
        "environmentDrivers.0.templateIdentityPaths.0: Too small: expected string to have >=1 "
        "characters",
        id="template identity path empty",
    ),
    pytest.param(
        with_drivers(driver(templateIdentityPaths=["p" * 201])),
        "environmentDrivers.0.templateIdentityPaths.0: Too big: expected string to have <=200 "
        "characters",
        id="template identity path too long",
    ),
    pytest.param(
        with_drivers(driver(interactiveSetupConnectionTypes=[f"t{i}" for i in range(11)])),
        "environmentDrivers.0.interactiveSetupConnectionTypes: Too big: expected array to have "
        "<=10 items",
        id="connection types too many",
    ),
    pytest.param(
        with_drivers(driver(driverKey="")),
        "environmentDrivers.0.driverKey: Too small: expected string to have >=1 characters; "
        "environmentDrivers.0.driverKey: Environment driver key must start with a lowercase "
        "alphanumeric and contain only lowercase letters, digits, dots, hyphens, or underscores",
        id="driver key empty",
    ),
    pytest.param(
        manifest(environmentDrivers=[driver(kind="vm")]),
        "environmentDrivers.0.kind: Invalid option: expected one of "
        '"environment_driver"|"sandbox_provider"',
        id="driver kind aborts",
    ),
    pytest.param(
        with_drivers({"driverKey": "acme-box", "displayName": "Acme Box"}),
        "environmentDrivers.0.configSchema: Invalid input: expected record, received undefined",
        id="driver config schema missing",
    ),
    pytest.param(
        with_drivers(driver(configSchema={"properties": {}})),
        "environmentDrivers.0.configSchema: Must be a valid JSON Schema object (requires at least "
        "a 'type', '$ref', or composition keyword)",
        id="driver config schema without type",
    ),
    pytest.param(
        with_drivers(driver(templateConfigBinding={"field": "provider"})),
        "environmentDrivers.0.templateConfigBinding.field: Template config binding must not "
        "replace the sandbox provider key",
        id="template binding replaces the provider",
    ),
    pytest.param(
        with_drivers(driver(templateConfigBinding={"field": "a", "unsetFields": ["a", "a"]})),
        "environmentDrivers.0.templateConfigBinding.unsetFields.0: Template config binding cannot "
        "unset the same field it sets; environmentDrivers.0.templateConfigBinding.unsetFields.1: "
        "Template config binding cannot unset the same field it sets; "
        "environmentDrivers.0.templateConfigBinding.unsetFields.1: Template config binding "
        "unsetFields must be unique",
        id="template binding unsets its own field twice",
    ),
    pytest.param(
        with_drivers(driver(templateConfigBinding={"field": "a", "extra": 1})),
        'environmentDrivers.0.templateConfigBinding: Unrecognized key: "extra"',
        id="template binding unknown key",
    ),
    pytest.param(
        manifest(environmentDrivers=[driver()]),
        "capabilities: Capability 'environment.drivers.register' is required when "
        "environmentDrivers are declared",
        id="drivers without their capability",
    ),
    pytest.param(
        with_drivers(driver(), driver()),
        "environmentDrivers: Duplicate environment driver keys: acme-box",
        id="duplicate driver keys",
    ),
    # routines (2026.916.1: activity gate enums, goalId as a GUID)
    pytest.param(
        with_routines(routine(activityGatePolicy="sometimes")),
        "routines.0.activityGatePolicy: Invalid option: expected one of "
        '"always"|"require_external_activity"',
        id="activity gate policy",
    ),
    pytest.param(
        manifest(routines=[routine(activityGatePolicy="sometimes")]),
        "routines.0.activityGatePolicy: Invalid option: expected one of "
        '"always"|"require_external_activity"',
        id="activity gate policy aborts: no capability rule",
    ),
    pytest.param(
        with_routines(routine(activityGatePolicy=None)),
        "routines.0.activityGatePolicy: Invalid option: expected one of "
        '"always"|"require_external_activity"',
        id="activity gate policy null",
    ),
    pytest.param(
        with_routines(routine(activityGateScope="team")),
        'routines.0.activityGateScope: Invalid option: expected one of "company"|"project"',
        id="activity gate scope",
    ),
    pytest.param(
        with_routines(routine(goalId="not-a-uuid")),
        "routines.0.goalId: Invalid GUID",
        id="goal id not a GUID",
    ),
    pytest.param(
        with_routines(routine(routineKey="Daily")),
        "routines.0.routineKey: routineKey must start with a lowercase alphanumeric and contain "
        "only lowercase letters, digits, dots, colons, underscores, or hyphens",
        id="routine key pattern",
    ),
    pytest.param(
        with_routines(routine(title="   ")),
        "routines.0.title: Too small: expected string to have >=1 characters",
        id="routine title trimmed first",
    ),
    pytest.param(
        with_routines(routine(assigneeRef={"resourceKind": "project", "resourceKey": "wiki"})),
        'routines.0.assigneeRef.resourceKind: Invalid input: expected "agent"',
        id="assignee ref kind literal",
    ),
    pytest.param(
        with_routines(routine(status="running")),
        'routines.0.status: Invalid option: expected one of "active"|"paused"|"archived"',
        id="routine status",
    ),
    pytest.param(
        with_routines(routine(triggers=[{"kind": "api"}] * 21)),
        "routines.0.triggers: Too big: expected array to have <=20 items",
        id="routine triggers too many",
    ),
    pytest.param(
        with_routines(routine(triggers=[{"kind": "webhook", "replayWindowSec": 10}])),
        "routines.0.triggers.0.replayWindowSec: Too small: expected number to be >=30",
        id="trigger replay window too small",
    ),
    pytest.param(
        with_routines(routine(triggers=[{"kind": "cron"}])),
        'routines.0.triggers.0.kind: Invalid option: expected one of "schedule"|"webhook"|"api"',
        id="trigger kind",
    ),
    pytest.param(
        with_routines(routine(variables=[{"name": "x", "type": "select"}])),
        "routines.0.variables.0.options: Select variables require at least one option",
        id="select variable without options",
    ),
    pytest.param(
        with_routines(
            routine(variables=[{"name": "1x", "type": "date", "defaultValue": "2023-02-29"}])
        ),
        "routines.0.variables.0.name: Invalid string: must match pattern "
        "/^[A-Za-z][A-Za-z0-9_]*$/; routines.0.variables.0.defaultValue: Date variable defaults "
        "must be valid YYYY-MM-DD calendar dates",
        id="variable name pattern and date default",
    ),
    pytest.param(
        with_routines(routine(variables=[{"name": "x", "defaultValue": {}}])),
        "routines.0.variables.0.defaultValue: Invalid input",
        id="variable default outside the union",
    ),
    pytest.param(
        manifest(routines=[routine()]),
        "capabilities: Capability 'routines.managed' is required when managed routines are "
        "declared",
        id="routines without their capability",
    ),
    pytest.param(
        with_routines(routine(), routine()),
        "routines: Duplicate managed routine keys: daily",
        id="duplicate routine keys",
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
        "Invalid plugin manifest: id: Too small: expected string to have >=1 characters; "
        "id: Plugin id must start with a lowercase alphanumeric and contain only lowercase "
        "letters, digits, dots, hyphens, or underscores; version: Version must follow semver "
        "(e.g. 1.0.0 or 1.0.0-beta.1); displayName: Invalid input: expected string, received "
        "undefined; categories: Too small: expected array to have >=1 items"
    )
    assert error.details["issues"][2:] == [
        {"path": "version", "message": "Version must follow semver (e.g. 1.0.0 or 1.0.0-beta.1)"},
        {
            "path": "displayName",
            "message": "Invalid input: expected string, received undefined",
        },
        {"path": "categories", "message": "Too small: expected array to have >=1 items"},
    ]
    assert error.status == 400


def test_a_root_issue_has_no_path() -> None:
    with pytest.raises(InvalidManifest) as raised:
        parse_manifest(None)  # type: ignore[arg-type]
    assert raised.value.details == {
        "issues": [{"path": "", "message": "Invalid input: expected object, received null"}]
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
        "'*/15 * * * *'); ui.slots.0.displayName: Too small: expected string to have >=1 "
        "characters; "
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
        "Invalid plugin manifest: ui.slots.0.entityTypes.0: Invalid option: expected one of "
        f"{ENTITY_TYPE_ENUM} -- ui.slots.0.entityTypes.0: did you mean "
        '"project_workspace" or "execution_workspace"?'
    )


def test_a_sibling_abort_does_not_hide_failed_checks() -> None:
    assert schema_message(manifest(id="Acme", apiVersion=2, tools=[])) == (
        "Invalid plugin manifest: id: Plugin id must start with a lowercase alphanumeric and "
        "contain only lowercase letters, digits, dots, hyphens, or underscores; apiVersion: "
        "Invalid input: expected 1"
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
