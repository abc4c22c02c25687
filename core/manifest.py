"""Plugin manifest v1 (``pluginManifestV1Schema``) and the loader's install checks, with upstream's
messages.

Upstream parses manifests with zod 3, and its issue list is the contract: the install route
answers ``Invalid plugin manifest: <path>: <message>; ...``. We keep zod's rules for that list:

- every failed check of a value is reported (an empty ``id`` is both too short and malformed),
  in the schema's key order, with zod's default wording where upstream has no message;
- failed checks only make an object "dirty", so its cross-field rules (zod's ``superRefine``,
  here ``_refinements``) still run; a wrong type, a missing key, or a wrong enum or literal
  value aborts, and the cross-field rules of every enclosing object are skipped;
- ``.optional()`` accepts a missing key, never ``null``; unknown keys are dropped.

Where the published release 2026.707.0 (``@paperclipai/shared`` dist) differs from the baseline
``9c6f551595``, we follow the release, which real plugins are built against:

- slot types ``routeSidebar`` and ``companySettingsPage`` (launcher zones are unchanged); both
  need a ``routePath``, may declare one like ``page``, and need ``ui.sidebar.register`` and
  ``instance.settings.register`` (the server's ``UI_SLOT_CAPABILITIES``);
- entity types ``execution_workspace`` and ``project_workspace``; the reserved route segment
  ``workspaces``; reserved company settings segments;
- the 73 capabilities of ``core.capabilities``.

The release also validates new top-level keys (``environmentDrivers``, ``agents``, ``projects``,
``routines``, ``skills``, ``localFolders``, ``objectReferences``). ``PluginManifest`` ignores
them: the host stores and sends the plugin's raw manifest, so they survive untouched.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from types import MappingProxyType
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    PlainValidator,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import ErrorDetails, InitErrorDetails, PydanticCustomError

from core.capabilities import PLUGIN_CAPABILITIES
from core.errors import InvalidInput
from core.plugin_database.declaration import PluginDatabaseDeclaration, missing_capability_messages
from core.suggestions import did_you_mean
from db.constants import PLUGIN_CATEGORIES

#: The version this host reports; ``minimumHostVersion`` is compared with it.
HOST_VERSION = "2026.707.0"

UI_SLOT_TYPES = (
    "page",
    "detailTab",
    "taskDetailView",
    "dashboardWidget",
    "sidebar",
    "routeSidebar",
    "sidebarPanel",
    "projectSidebarItem",
    "globalToolbarButton",
    "toolbarButton",
    "contextMenuItem",
    "commentAnnotation",
    "commentContextMenuItem",
    "settingsPage",
    "companySettingsPage",
)
LAUNCHER_PLACEMENT_ZONES = tuple(
    zone for zone in UI_SLOT_TYPES if zone not in ("routeSidebar", "companySettingsPage")
)
UI_ENTITY_TYPES = (
    "project",
    "issue",
    "agent",
    "goal",
    "run",
    "comment",
    "execution_workspace",
    "project_workspace",
)
LAUNCHER_ACTIONS = (
    "navigate",
    "openModal",
    "openDrawer",
    "openPopover",
    "performAction",
    "deepLink",
)
LAUNCHER_BOUND_SIZES = ("inline", "compact", "default", "wide", "full")
#: Size hints each render environment accepts.
LAUNCHER_BOUNDS = {
    "hostInline": ("inline", "compact", "default"),
    "hostOverlay": ("compact", "default", "wide", "full"),
    "hostRoute": ("default", "wide", "full"),
    "external": (),
    "iframe": ("compact", "default", "wide", "full"),
}
API_ROUTE_METHODS = ("GET", "POST", "PATCH", "DELETE")
API_ROUTE_AUTH_MODES = ("board", "agent", "board-or-agent", "webhook")
API_ROUTE_CHECKOUT_POLICIES = ("none", "required-for-agent-in-progress", "always-for-agent")
#: Company-scoped route segments (``/:companyPrefix/<segment>``) that belong to the host.
RESERVED_ROUTE_SEGMENTS = (
    "dashboard",
    "onboarding",
    "companies",
    "company",
    "settings",
    "plugins",
    "org",
    "agents",
    "projects",
    "issues",
    "goals",
    "approvals",
    "costs",
    "activity",
    "inbox",
    "workspaces",
    "design-guide",
    "tests",
)
#: Segments under ``/:companyPrefix/company/settings/`` that belong to the host.
RESERVED_COMPANY_SETTINGS_SEGMENTS = (
    "general",
    "environments",
    "access",
    "members",
    "invites",
    "secrets",
    "instance",
)
#: The capability each slot type needs; a launcher zone needs the one of the same-named slot.
UI_CAPABILITIES = {
    "page": "ui.page.register",
    "detailTab": "ui.detailTab.register",
    "taskDetailView": "ui.detailTab.register",
    "dashboardWidget": "ui.dashboardWidget.register",
    "sidebar": "ui.sidebar.register",
    "routeSidebar": "ui.sidebar.register",
    "sidebarPanel": "ui.sidebar.register",
    "projectSidebarItem": "ui.sidebar.register",
    "globalToolbarButton": "ui.action.register",
    "toolbarButton": "ui.action.register",
    "contextMenuItem": "ui.action.register",
    "commentAnnotation": "ui.commentAnnotation.register",
    "commentContextMenuItem": "ui.action.register",
    "settingsPage": "instance.settings.register",
    "companySettingsPage": "instance.settings.register",
}
_ENTITY_SCOPED = (
    "detailTab",
    "taskDetailView",
    "contextMenuItem",
    "commentAnnotation",
    "commentContextMenuItem",
    "projectSidebarItem",
)
#: Slot types that must target a given entity type when they declare entity types at all.
_REQUIRED_ENTITY = {
    "projectSidebarItem": "project",
    "commentAnnotation": "comment",
    "commentContextMenuItem": "comment",
}
_ROUTE_SLOT_TYPES = ("page", "routeSidebar", "companySettingsPage")

# Upstream's regular expressions. re.ASCII because JavaScript's \d is [0-9]; fullmatch because
# JavaScript's $ does not match before a trailing newline.
_SEMVER = r"\d+\.\d+\.\d+(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?"
_PLUGIN_ID = r"[a-z0-9][a-z0-9._-]*"
_ROUTE_KEY = r"[a-z0-9][a-z0-9._:-]*"
_API_PATH = r"/[a-zA-Z0-9:_./-]*"
_ROUTE_PATH = r"[a-z0-9][a-z0-9-]*"
_CRON_ITEM = r"(\*(/[0-9]+)?|[0-9]+(-[0-9]+)?(/[0-9]+)?)"
_CRON_FIELD = re.compile(rf"{_CRON_ITEM}(,{_CRON_ITEM})*", re.ASCII)

# -- zod's issue kinds ---------------------------------------------------------------------------

#: A failed check: reported, but the enclosing objects are still refined. The database
#: declaration raises the same type.
_CHECK = "plugin_manifest"
#: A wrong type, enum or literal value: zod stops refining the enclosing objects.
_ABORT = "plugin_manifest_abort"
#: Validation context key of the pass that rebuilds an object without its checks (see
#: ``_ManifestModel``).
_CHECKS_OFF = "manifest_checks_off"

Loc = tuple[str | int, ...]
Check = Callable[[Any], str | None]

#: Pydantic's type errors and the type zod names in "Expected <type>, received <type>".
_ZOD_EXPECTED = {
    "string_type": "string",
    "tuple_type": "array",
    "dict_type": "object",
    "model_type": "object",
}


def _zod_type(value: Any) -> str:
    """The type name zod reports for a JSON value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    return "object" if isinstance(value, Mapping) else "unknown"


def _enum_text(options: Iterable[object]) -> str:
    return " | ".join(f"'{option}'" for option in options)


def _js_length(text: str) -> int:
    """The string's length as JavaScript counts it, in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def _checks_off(info: ValidationInfo) -> bool:
    return bool(info.context and info.context.get(_CHECKS_OFF))


def _raise(kind: str, messages: Sequence[str], value: Any, loc: Loc = ()) -> None:
    raise ValidationError.from_exception_data(
        "PluginManifest",
        [
            InitErrorDetails(type=PydanticCustomError(kind, message), loc=loc, input=value)
            for message in messages
        ],
    )


# -- checks: dirty issues ------------------------------------------------------------------------


def _min_length(limit: int) -> Check:
    return lambda text: (
        None if _js_length(text) >= limit else f"String must contain at least {limit} character(s)"
    )


def _max_length(limit: int) -> Check:
    return lambda text: (
        None if _js_length(text) <= limit else f"String must contain at most {limit} character(s)"
    )


def _matches(pattern: str, message: str) -> Check:
    compiled = re.compile(pattern, re.ASCII)
    return lambda text: None if compiled.fullmatch(text) else message


def _no_nul(name: str) -> Check:
    """A path the host opens: the operating system cannot take a NUL byte in it (upstream has no
    rule; Node's ``fs`` throws on one)."""
    return lambda text: f"{name} must not contain NUL bytes" if "\0" in text else None


def _non_empty_array(items: Sequence[Any]) -> str | None:
    return None if items else "Array must contain at least 1 element(s)"


def _json_schema(schema: Mapping[str, Any]) -> str | None:
    """Upstream's permissive JSON Schema check; a key with a JSON null counts as present."""
    if not schema or isinstance(schema.get("type"), str):
        return None
    if any(keyword in schema for keyword in ("$ref", "oneOf", "anyOf", "allOf")):
        return None
    return (
        "Must be a valid JSON Schema object (requires at least a 'type', '$ref', or composition "
        "keyword)"
    )


def _cron(expression: str) -> str | None:
    fields = re.split(r"\s+", expression.strip())
    if len(fields) == 5 and all(_CRON_FIELD.fullmatch(field) for field in fields):
        return None
    return "schedule must be a valid 5-field cron expression (e.g. '*/15 * * * *')"


def _api_path_in_namespace(path: str) -> str | None:
    escapes = ".." in path or "//" in path
    host_owned = any(path == root or path.startswith(f"{root}/") for root in ("/api", "/plugins"))
    return "path must stay inside the plugin api namespace" if escapes or host_owned else None


def _checked(*checks: Check) -> AfterValidator:
    """Run every check on a well-typed value and report each failure, as zod does."""

    def run(value: Any, info: ValidationInfo) -> Any:
        if not _checks_off(info):
            failures = [message for check in checks if (message := check(value)) is not None]
            if failures:
                _raise(_CHECK, failures, value)
        return value

    return AfterValidator(run)


# -- structural validators: aborting issues ------------------------------------------------------


def _enum(options: Sequence[str]) -> BeforeValidator:
    expected = _enum_text(options)

    def check(value: Any) -> str:
        if not isinstance(value, str):
            _raise(_ABORT, [f"Expected {expected}, received {_zod_type(value)}"], value)
        if value not in options:
            _raise(_ABORT, [f"Invalid enum value. Expected {expected}, received '{value}'"], value)
        return value

    return BeforeValidator(check)


def _literal(expected: int | str) -> BeforeValidator:
    """zod's ``z.literal``: anything else, a missing key included, is the same issue."""

    def check(value: Any) -> int | str:
        if isinstance(value, bool) or value != expected:
            _raise(_ABORT, [f"Invalid literal value, expected {json.dumps(expected)}"], value)
        return expected

    return BeforeValidator(check)


def _optional(expected: str) -> BeforeValidator:
    """zod's ``.optional()``: a missing key is fine, an explicit null is a type error."""

    def check(value: Any) -> Any:
        if value is None:
            _raise(_ABORT, [f"Expected {expected}, received null"], value)
        return value

    return BeforeValidator(check)


def _integer(value: Any, info: ValidationInfo) -> int:
    """zod's ``z.number().int()``: a non-number aborts, a fraction only fails a check."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        _raise(_ABORT, [f"Expected number, received {_zod_type(value)}"], value)
    if value != int(value) and not _checks_off(info):
        _raise(_CHECK, ["Expected integer, received float"], value)
    return int(value)


_Text = Annotated[str, _checked(_min_length(1))]
_OptionalText = Annotated[str | None, _optional("string")]
_OptionalInteger = Annotated[int | None, _optional("number"), BeforeValidator(_integer)]
_OPTIONAL_ARRAY = _optional("array")
_OptionalEntityTypes = Annotated[
    tuple[Annotated[str, _enum(UI_ENTITY_TYPES)], ...] | None, _OPTIONAL_ARRAY
]


# -- the models ----------------------------------------------------------------------------------


def _aborts(error: ErrorDetails) -> bool:
    """Whether zod stops refining the enclosing objects after this issue."""
    if error["type"] != _CHECK:
        return True
    # The database declaration reports its enum issue like a check; zod aborts on it.
    return str(error["msg"]).startswith("Invalid enum value.")


def _zod_message(error: ErrorDetails) -> str:
    """zod's wording for a pydantic error; our own errors already carry it."""
    kind = error["type"]
    if kind == "missing":
        return "Required"
    if kind in _ZOD_EXPECTED:
        return f"Expected {_ZOD_EXPECTED[kind]}, received {_zod_type(error['input'])}"
    return str(error["msg"])


class _ManifestModel(BaseModel):
    """A zod object: checks reported together, cross-field rules run unless something aborted.

    Every error leaving an object is one of ours, with zod's wording and the key's alias in its
    path, so the enclosing objects can tell a failed check from an abort.
    """

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True
    )

    def _refinements(self) -> Iterator[tuple[Loc, str]]:
        """Cross-field issues (zod's ``superRefine``), with paths relative to this object."""
        return iter(())

    @classmethod
    def _zod_issue(cls, error: ErrorDetails) -> InitErrorDetails:
        loc = error["loc"]
        field = cls.model_fields.get(str(loc[0])) if loc else None
        if field is not None and field.alias:
            # A checked default (validate_default) is reported under the field's name.
            loc = (field.alias, *loc[1:])
        kind = _ABORT if _aborts(error) else _CHECK
        return InitErrorDetails(
            type=PydanticCustomError(kind, _zod_message(error)), loc=loc, input=error["input"]
        )

    @model_validator(mode="wrap")
    @classmethod
    def _zod_object(
        cls, data: Any, handler: ModelWrapValidatorHandler[Self], info: ValidationInfo
    ) -> Self:
        if _checks_off(info):
            return handler(data)
        try:
            model = handler(data)
            issues: list[InitErrorDetails] = []
        except ValidationError as exc:
            issues = [cls._zod_issue(error) for error in exc.errors()]
            if any(issue["type"].type == _ABORT for issue in issues):
                raise ValidationError.from_exception_data(cls.__name__, issues) from None
            # Only checks failed, so the structure is sound: rebuild the object without its
            # checks to run the cross-field rules, as zod does.
            model = cls.model_validate(data, context={_CHECKS_OFF: True})
        issues += [
            InitErrorDetails(type=PydanticCustomError(_CHECK, message), loc=loc, input=data)
            for loc, message in model._refinements()
        ]
        if issues:
            raise ValidationError.from_exception_data(cls.__name__, issues)
        return model


class PluginJobDeclaration(_ManifestModel):
    """A scheduled job (``jobs[]``)."""

    job_key: _Text
    display_name: _Text
    description: _OptionalText = None
    schedule: Annotated[str | None, _optional("string"), _checked(_cron)] = None


class PluginWebhookDeclaration(_ManifestModel):
    """A webhook endpoint (``webhooks[]``), delivered to ``/api/plugins/:id/webhooks/:key``."""

    endpoint_key: _Text
    display_name: _Text
    description: _OptionalText = None


class PluginToolDeclaration(_ManifestModel):
    """An agent tool (``tools[]``); agents see it as ``<pluginKey>:<name>``."""

    name: _Text
    display_name: _Text
    description: _Text
    parameters_schema: Annotated[dict[str, Any], _checked(_json_schema)]


class CompanyFromBody(_ManifestModel):
    """The company id is the request body's ``key`` field."""

    source: Literal["body"] = Field(alias="from")
    key: _Text


class CompanyFromQuery(_ManifestModel):
    """The company id is the query string's ``key`` parameter."""

    source: Literal["query"] = Field(alias="from")
    key: _Text


class CompanyFromIssue(_ManifestModel):
    """The company is the one of the issue named by the path parameter ``param``."""

    source: Literal["issue"] = Field(alias="from")
    param: _Text


CompanyResolution = CompanyFromBody | CompanyFromQuery | CompanyFromIssue
_RESOLUTIONS: dict[str, type[CompanyResolution]] = {
    "body": CompanyFromBody,
    "query": CompanyFromQuery,
    "issue": CompanyFromIssue,
}


def _company_resolution(value: Any, info: ValidationInfo) -> CompanyResolution:
    """zod's discriminated union on ``from``."""
    if not isinstance(value, Mapping):
        _raise(_ABORT, [f"Expected object, received {_zod_type(value)}"], value)
    source = value.get("from")
    variant = _RESOLUTIONS.get(source) if isinstance(source, str) else None
    if variant is None:
        message = f"Invalid discriminator value. Expected {_enum_text(_RESOLUTIONS)}"
        _raise(_ABORT, [message], value, loc=("from",))
    return variant.model_validate(value, context=info.context)


class PluginApiRouteDeclaration(_ManifestModel):
    """A scoped JSON route (``apiRoutes[]``) served under the plugin's api namespace."""

    route_key: Annotated[
        str,
        _checked(
            _min_length(1),
            _max_length(100),
            _matches(
                _ROUTE_KEY,
                "routeKey must be lowercase letters, digits, dots, colons, underscores, or hyphens",
            ),
        ),
    ]
    method: Annotated[str, _enum(API_ROUTE_METHODS)]
    path: Annotated[
        str,
        _checked(
            _min_length(1),
            _matches(
                _API_PATH,
                "path must start with / and contain only path-safe literal or :param segments",
            ),
            _api_path_in_namespace,
        ),
    ]
    auth: Annotated[str, _enum(API_ROUTE_AUTH_MODES)]
    # Default None so that a missing key reaches the literal check, whose issue zod reports.
    capability: Annotated[Literal["api.routes.register"], _literal("api.routes.register")] = Field(
        default=None, validate_default=True
    )
    checkout_policy: Annotated[
        str | None,
        _optional(_enum_text(API_ROUTE_CHECKOUT_POLICIES)),
        _enum(API_ROUTE_CHECKOUT_POLICIES),
    ] = None
    company_resolution: Annotated[CompanyResolution | None, PlainValidator(_company_resolution)] = (
        None
    )


def _lacks(entity_types: tuple[str, ...] | None, entity: str) -> bool:
    """Declared entity types (an empty list included) that leave out ``entity``."""
    return entity_types is not None and entity not in entity_types


class PluginUiSlotDeclaration(_ManifestModel):
    """A UI extension slot (``ui.slots[]``) filled by an export of the plugin's UI bundle."""

    type: Annotated[str, _enum(UI_SLOT_TYPES)]
    id: _Text
    display_name: _Text
    export_name: _Text
    entity_types: _OptionalEntityTypes = None
    route_path: Annotated[
        str | None,
        _optional("string"),
        _checked(
            _matches(
                _ROUTE_PATH,
                "routePath must be a lowercase single-segment slug (letters, numbers, hyphens)",
            )
        ),
    ] = None
    order: _OptionalInteger = None

    def _refinements(self) -> Iterator[tuple[Loc, str]]:
        entity_types = ("entityTypes",)
        if self.type in _ENTITY_SCOPED and not self.entity_types:
            yield entity_types, f"{self.type} slots require at least one entityType"
        required_entity = _REQUIRED_ENTITY.get(self.type)
        if required_entity and _lacks(self.entity_types, required_entity):
            yield (
                entity_types,
                f'{self.type} slots require entityTypes to include "{required_entity}"',
            )
        route_path = ("routePath",)
        if self.route_path and self.type not in _ROUTE_SLOT_TYPES:
            yield (
                route_path,
                "routePath is only supported for page, routeSidebar, and companySettingsPage slots",
            )
        if self.type in ("routeSidebar", "companySettingsPage") and not self.route_path:
            yield route_path, f"{self.type} slots require routePath"
        if self.route_path in RESERVED_ROUTE_SEGMENTS:
            yield route_path, f'routePath "{self.route_path}" is reserved by the host'
        if (
            self.type == "companySettingsPage"
            and self.route_path in RESERVED_COMPANY_SETTINGS_SEGMENTS
        ):
            yield (
                route_path,
                f'company settings routePath "{self.route_path}" is reserved by the host',
            )


class PluginLauncherAction(_ManifestModel):
    """What a launcher does when activated."""

    type: Annotated[str, _enum(LAUNCHER_ACTIONS)]
    target: _Text
    params: Annotated[dict[str, Any] | None, _optional("object")] = None

    def _refinements(self) -> Iterator[tuple[Loc, str]]:
        target = ("target",)
        if self.type == "performAction" and "/" in self.target:
            yield target, "performAction launchers must target an action key, not a route or URL"
        if self.type == "navigate" and re.match(r"https?://", self.target):
            yield target, "navigate launchers must target a host route, not an absolute URL"


class PluginLauncherRender(_ManifestModel):
    """The container a launcher's destination expects, and its size hint."""

    environment: Annotated[str, _enum(tuple(LAUNCHER_BOUNDS))]
    bounds: Annotated[
        str | None,
        _optional(_enum_text(LAUNCHER_BOUND_SIZES)),
        _enum(LAUNCHER_BOUND_SIZES),
    ] = None

    def _refinements(self) -> Iterator[tuple[Loc, str]]:
        if self.bounds and self.bounds not in LAUNCHER_BOUNDS[self.environment]:
            yield (
                ("bounds",),
                f'bounds "{self.bounds}" is not supported for render environment '
                f'"{self.environment}"',
            )


class PluginLauncherDeclaration(_ManifestModel):
    """A launcher (``launchers[]`` or ``ui.launchers[]``) placed in a host UI zone."""

    id: _Text
    display_name: _Text
    description: _OptionalText = None
    placement_zone: Annotated[str, _enum(LAUNCHER_PLACEMENT_ZONES)]
    export_name: Annotated[str | None, _optional("string"), _checked(_min_length(1))] = None
    entity_types: _OptionalEntityTypes = None
    order: _OptionalInteger = None
    action: PluginLauncherAction
    render: Annotated[PluginLauncherRender | None, _optional("object")] = None

    def _refinements(self) -> Iterator[tuple[Loc, str]]:
        zone, action = self.placement_zone, self.action.type
        if zone in _ENTITY_SCOPED and not self.entity_types:
            yield ("entityTypes",), f"{zone} launchers require at least one entityType"
        # Unlike slots, launchers have no "comment" rule.
        if zone == "projectSidebarItem" and _lacks(self.entity_types, "project"):
            yield (
                ("entityTypes",),
                'projectSidebarItem launchers require entityTypes to include "project"',
            )
        if action == "performAction" and self.render is not None:
            yield ("render",), "performAction launchers cannot declare render hints"
        if action in ("openModal", "openDrawer", "openPopover") and self.render is None:
            yield ("render",), f"{action} launchers require render metadata"
        environment = self.render.environment if self.render is not None else None
        where = ("render", "environment")
        if action == "openModal" and environment == "hostInline":
            yield where, "openModal launchers cannot use the hostInline render environment"
        if action == "openDrawer" and environment not in (None, "hostOverlay", "iframe"):
            yield where, "openDrawer launchers must use hostOverlay or iframe render environments"
        if action == "openPopover" and environment == "hostRoute":
            yield where, "openPopover launchers cannot use the hostRoute render environment"


class PluginEntrypoints(_ManifestModel):
    """Package-relative paths of the worker script and of the UI bundle directory."""

    worker: Annotated[str, _checked(_min_length(1), _no_nul("entrypoints.worker"))]
    ui: Annotated[
        str | None, _optional("string"), _checked(_min_length(1), _no_nul("entrypoints.ui"))
    ] = None


class PluginUiDeclaration(_ManifestModel):
    """The ``ui`` block: slots and launchers served from ``entrypoints.ui``."""

    slots: Annotated[
        tuple[PluginUiSlotDeclaration, ...] | None,
        _OPTIONAL_ARRAY,
        _checked(_non_empty_array),
    ] = None
    launchers: Annotated[tuple[PluginLauncherDeclaration, ...] | None, _OPTIONAL_ARRAY] = None


def _database(value: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo) -> Any:
    try:
        return handler(value)
    except ValidationError:
        if not _checks_off(info):
            raise
        # The declaration cannot skip its own checks; they were reported by the checking pass,
        # and the cross-field rules only need to know that the block is there.
        return PluginDatabaseDeclaration.model_construct()


def _duplicates(values: Iterable[str]) -> list[str]:
    """Values seen more than once, in the order of their first repetition (upstream's order)."""
    seen: set[str] = set()
    repeated: list[str] = []
    for value in values:
        if value in seen and value not in repeated:
            repeated.append(value)
        seen.add(value)
    return repeated


class PluginManifest(_ManifestModel):
    """A validated plugin manifest v1 (``PaperclipPluginManifestV1``).

    Keys this model does not know, including the 2026.707.0 additions, are dropped here; keep
    the raw manifest to send or store it.
    """

    id: Annotated[
        str,
        _checked(
            _min_length(1),
            _matches(
                _PLUGIN_ID,
                "Plugin id must start with a lowercase alphanumeric and contain only lowercase "
                "letters, digits, dots, hyphens, or underscores",
            ),
        ),
    ]
    # Default None so that a missing key reaches the literal check, whose issue zod reports.
    api_version: Annotated[Literal[1], _literal(1)] = Field(default=None, validate_default=True)
    version: Annotated[
        str,
        _checked(
            _min_length(1),
            _matches(_SEMVER, "Version must follow semver (e.g. 1.0.0 or 1.0.0-beta.1)"),
        ),
    ]
    display_name: Annotated[str, _checked(_min_length(1), _max_length(100))]
    description: Annotated[str, _checked(_min_length(1), _max_length(500))]
    author: Annotated[str, _checked(_min_length(1), _max_length(200))]
    categories: Annotated[
        tuple[Annotated[str, _enum(PLUGIN_CATEGORIES)], ...], _checked(_non_empty_array)
    ]
    minimum_host_version: Annotated[
        str | None,
        _optional("string"),
        _checked(_matches(_SEMVER, "minimumHostVersion must follow semver (e.g. 1.0.0)")),
    ] = None
    minimum_paperclip_version: Annotated[
        str | None,
        _optional("string"),
        _checked(_matches(_SEMVER, "minimumPaperclipVersion must follow semver (e.g. 1.0.0)")),
    ] = None
    capabilities: Annotated[
        tuple[Annotated[str, _enum(PLUGIN_CAPABILITIES)], ...], _checked(_non_empty_array)
    ]
    entrypoints: PluginEntrypoints
    instance_config_schema: Annotated[
        dict[str, Any] | None, _optional("object"), _checked(_json_schema)
    ] = None
    jobs: Annotated[tuple[PluginJobDeclaration, ...] | None, _OPTIONAL_ARRAY] = None
    webhooks: Annotated[tuple[PluginWebhookDeclaration, ...] | None, _OPTIONAL_ARRAY] = None
    tools: Annotated[tuple[PluginToolDeclaration, ...] | None, _OPTIONAL_ARRAY] = None
    database: Annotated[
        PluginDatabaseDeclaration | None, WrapValidator(_database), _optional("object")
    ] = None
    api_routes: Annotated[tuple[PluginApiRouteDeclaration, ...] | None, _OPTIONAL_ARRAY] = None
    #: Legacy top-level launchers; unlike ``ui.launchers`` they do not require ``entrypoints.ui``.
    launchers: Annotated[tuple[PluginLauncherDeclaration, ...] | None, _OPTIONAL_ARRAY] = None
    ui: Annotated[PluginUiDeclaration | None, _optional("object")] = None

    def requires(self, capability: str) -> bool:
        """Whether the manifest declares ``capability``."""
        return capability in self.capabilities

    @property
    def ui_slots(self) -> tuple[PluginUiSlotDeclaration, ...]:
        """``ui.slots``, empty when not declared."""
        return (self.ui.slots if self.ui else None) or ()

    @property
    def all_launchers(self) -> tuple[PluginLauncherDeclaration, ...]:
        """The legacy top-level launchers, then ``ui.launchers`` (upstream serves both)."""
        return (*(self.launchers or ()), *((self.ui.launchers if self.ui else None) or ()))

    def _refinements(self) -> Iterator[tuple[Loc, str]]:
        ui_launchers = (self.ui.launchers if self.ui else None) or ()
        if (self.ui_slots or ui_launchers) and not self.entrypoints.ui:
            yield (
                ("entrypoints", "ui"),
                "entrypoints.ui is required when ui.slots or ui.launchers are declared",
            )
        if (
            self.minimum_host_version
            and self.minimum_paperclip_version
            and self.minimum_host_version != self.minimum_paperclip_version
        ):
            yield (
                ("minimumHostVersion",),
                "minimumHostVersion and minimumPaperclipVersion must match when both are declared",
            )
        capabilities = ("capabilities",)
        for declared, capability, noun in (
            (self.tools, "agent.tools.register", "tools"),
            (self.jobs, "jobs.schedule", "jobs"),
            (self.webhooks, "webhooks.receive", "webhooks"),
            (self.api_routes, "api.routes.register", "apiRoutes"),
        ):
            if declared and not self.requires(capability):
                message = f"Capability '{capability}' is required when {noun} are declared"
                yield capabilities, message
        if self.database is not None:
            for message in missing_capability_messages(self.capabilities):
                yield capabilities, message
            # Unset when the declaration failed its own checks (see ``_database``).
            migrations_dir = getattr(self.database, "migrations_dir", "")
            if nul := _no_nul("migrationsDir")(migrations_dir):
                yield ("database", "migrationsDir"), nul
        yield from self._duplicate_issues()

    def _duplicate_issues(self) -> Iterator[tuple[Loc, str]]:
        routes = self.api_routes or ()
        # Launcher ids are unique across both lists; the issue names ui.launchers if declared.
        launchers_in_ui = self.ui is not None and self.ui.launchers is not None
        for loc, label, values in (
            (("jobs",), "job keys", [job.job_key for job in self.jobs or ()]),
            (("webhooks",), "webhook endpoint keys", [w.endpoint_key for w in self.webhooks or ()]),
            (("apiRoutes",), "api route keys", [route.route_key for route in routes]),
            (("apiRoutes",), "api routes", [f"{route.method} {route.path}" for route in routes]),
            (("tools",), "tool names", [tool.name for tool in self.tools or ()]),
            (("ui", "slots"), "UI slot ids", [slot.id for slot in self.ui_slots]),
            (
                ("ui", "launchers") if launchers_in_ui else ("launchers",),
                "launcher ids",
                [launcher.id for launcher in self.all_launchers],
            ),
        ):
            repeated = _duplicates(values)
            if repeated:
                yield loc, f"Duplicate {label}: {', '.join(repeated)}"


# -- errors and entry points ---------------------------------------------------------------------


#: zod's message for a value outside an enum (its option list quotes each option).
_ENUM_ISSUE = re.compile(r"Invalid enum value\. Expected (.*), received '(.*)'", re.DOTALL)


def _suggestion(message: str) -> str | None:
    """``did you mean "issues.create"?`` for an enum issue whose value is close to an option."""
    match = _ENUM_ISSUE.fullmatch(message)
    if match is None:
        return None
    return did_you_mean(match[2], re.findall(r"'([^']*)'", match[1]))


class InvalidManifest(InvalidInput):
    """The manifest breaks the v1 schema; ``details["issues"]`` lists each path and message.

    The message is upstream's (``Invalid plugin manifest: <path>: <message>; ...``), followed
    by ``-- <path>: did you mean "..."?`` for each enum value close to an allowed one.
    """

    def __init__(self, issues: Sequence[tuple[str, str]]) -> None:
        joined = "; ".join(f"{path}: {message}" if path else message for path, message in issues)
        hints = [
            f"{path}: {hint}" if path else hint
            for path, message in issues
            if (hint := _suggestion(message)) is not None
        ]
        super().__init__(
            f"Invalid plugin manifest: {joined}" + (f" -- {'; '.join(hints)}" if hints else ""),
            details={"issues": [{"path": path, "message": message} for path, message in issues]},
        )


def parse_manifest(raw: Mapping[str, Any]) -> PluginManifest:
    """Parse ``raw`` with the v1 schema only (no install checks).

    Raises:
        InvalidManifest: with upstream's message, one ``path: message`` per issue.
    """
    try:
        return PluginManifest.model_validate(raw)
    except ValidationError as exc:
        issues = [
            (".".join(str(part) for part in error["loc"]), str(error["msg"]))
            for error in exc.errors()
        ]
        raise InvalidManifest(issues) from None


def missing_capabilities(manifest: PluginManifest) -> list[str]:
    """The UI capabilities the manifest's slots and launchers need but it does not declare.

    Upstream's ``validateManifestCapabilities`` also requires the capabilities of tools, jobs
    and webhooks, but the schema already refuses a manifest without them.
    """
    missing: list[str] = []
    surfaces = [slot.type for slot in manifest.ui_slots]
    surfaces += [launcher.placement_zone for launcher in manifest.all_launchers]
    for surface in surfaces:
        capability = UI_CAPABILITIES[surface]
        if not manifest.requires(capability) and capability not in missing:
            missing.append(capability)
    return missing


def _page_route_paths(manifest: PluginManifest) -> list[str]:
    """Upstream counts only ``page`` slots here, not ``routeSidebar`` or ``companySettingsPage``."""
    slots = manifest.ui_slots
    return [slot.route_path for slot in slots if slot.type == "page" and slot.route_path]


def check_route_path_conflicts(
    manifest: PluginManifest, installed: Mapping[str, PluginManifest]
) -> None:
    """Refuse page ``routePath`` values that another installed plugin already serves.

    Args:
        manifest: the plugin being installed or upgraded.
        installed: the installed plugins' manifests by plugin key; the plugin's own entry
            (an upgrade) is skipped.

    Raises:
        InvalidInput: upstream's message, naming the first conflicting path.
    """
    requested = _page_route_paths(manifest)
    for plugin_key, other in installed.items():
        if plugin_key == manifest.id:
            continue
        taken = set(_page_route_paths(other))
        conflict = next((path for path in requested if path in taken), None)
        if conflict is not None:
            raise InvalidInput(
                f'Plugin {manifest.id} routePath "{conflict}" conflicts with installed plugin '
                f"{plugin_key}"
            )


_DIGITS = re.compile(r"[0-9]+")
_SEMVER_PARTS = re.compile(
    r"([0-9]+)\.([0-9]+)\.([0-9]+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?"
)


def _compare_identifiers(left: str, right: str) -> int:
    """Prerelease identifiers: numbers by value and before words; words as localeCompare."""
    left_number, right_number = bool(_DIGITS.fullmatch(left)), bool(_DIGITS.fullmatch(right))
    if left_number and right_number:
        return (int(left) > int(right)) - (int(left) < int(right))
    if left_number or right_number:
        return -1 if left_number else 1
    # localeCompare orders letters case-insensitively, lowercase first on a tie.
    left_key, right_key = (left.lower(), left.swapcase()), (right.lower(), right.swapcase())
    return (left_key > right_key) - (left_key < right_key)


def _compare_versions(left: str, right: str) -> int:
    """Upstream's ``compareSemver``: the sign of ``left - right`` with prerelease ordering."""
    left_match, right_match = _SEMVER_PARTS.fullmatch(left), _SEMVER_PARTS.fullmatch(right)
    if left_match is None or right_match is None:
        raise ValueError(f"Invalid semver comparison: '{left}' vs '{right}'")
    left_core = tuple(int(part) for part in left_match.groups()[:3])
    right_core = tuple(int(part) for part in right_match.groups()[:3])
    if left_core != right_core:
        return 1 if left_core > right_core else -1
    left_pre, right_pre = left_match.group(4), right_match.group(4)
    if left_pre is None or right_pre is None:
        return (left_pre is None) - (right_pre is None)
    left_ids, right_ids = left_pre.split("."), right_pre.split(".")
    for left_id, right_id in zip(left_ids, right_ids, strict=False):
        if order := _compare_identifiers(left_id, right_id):
            return order
    return (len(left_ids) > len(right_ids)) - (len(left_ids) < len(right_ids))


def validate_manifest(
    raw: Mapping[str, Any],
    *,
    host_version: str,
    installed: Mapping[str, PluginManifest] = MappingProxyType({}),
) -> PluginManifest:
    """Upstream's install-time checks, in upstream's order.

    1. the v1 schema (``parse_manifest``);
    2. the UI capabilities of slots and launchers (``validateManifestCapabilities``);
    3. page ``routePath`` values: no duplicates, then no conflict with ``installed``
       (``check_route_path_conflicts``);
    4. ``minimumHostVersion`` (or the legacy ``minimumPaperclipVersion``) against
       ``host_version``.

    Raises:
        InvalidManifest: the schema refused the manifest.
        InvalidInput: a later check refused it, with upstream's message.
    """
    manifest = parse_manifest(raw)
    missing = missing_capabilities(manifest)
    if missing:
        raise InvalidInput(
            f"Plugin {manifest.id} manifest has inconsistent capabilities. Missing required "
            f"capabilities for declared features: {', '.join(missing)}"
        )
    route_paths = _page_route_paths(manifest)
    if len(set(route_paths)) != len(route_paths):
        raise InvalidInput(f"Plugin {manifest.id} declares duplicate page routePath values")
    check_route_path_conflicts(manifest, installed)
    minimum = manifest.minimum_host_version or manifest.minimum_paperclip_version
    if minimum and _compare_versions(host_version, minimum) < 0:
        raise InvalidInput(
            f"Plugin {manifest.id} requires host version {minimum} or newer, but this server is "
            f"running {host_version}"
        )
    return manifest


__all__ = [
    "HOST_VERSION",
    "UI_CAPABILITIES",
    "CompanyFromBody",
    "CompanyFromIssue",
    "CompanyFromQuery",
    "CompanyResolution",
    "InvalidManifest",
    "PluginApiRouteDeclaration",
    "PluginEntrypoints",
    "PluginJobDeclaration",
    "PluginLauncherAction",
    "PluginLauncherDeclaration",
    "PluginLauncherRender",
    "PluginManifest",
    "PluginToolDeclaration",
    "PluginUiDeclaration",
    "PluginUiSlotDeclaration",
    "PluginWebhookDeclaration",
    "check_route_path_conflicts",
    "missing_capabilities",
    "parse_manifest",
    "validate_manifest",
]
