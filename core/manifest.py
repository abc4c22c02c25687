"""Plugin manifest v1 (``pluginManifestV1Schema``) and the loader's install checks, with upstream's
messages.

Upstream parses manifests with zod, and its issue list is the contract: the install route
answers ``Invalid plugin manifest: <path>: <message>; ...``. We follow Paperclip 2026.916.1
(``@paperclipai/shared`` dist, zod 4.6) and keep zod's rules for that list:

- every failed check of a value is reported (an empty ``id`` is both too short and malformed),
  in the schema's key order, with zod 4's default wording where upstream has no message; string
  lengths count code points, as zod 4.6 does;
- failed checks only make an object "dirty", so its cross-field rules (zod's ``superRefine``,
  here ``_refinements``) still run; a wrong type, a missing key, a wrong enum or literal value,
  a fraction where an integer belongs, or an array longer than its maximum aborts, and the
  cross-field rules of every enclosing object are skipped;
- ``.optional()`` accepts a missing key, never ``null``; unknown keys are dropped, except in the
  objects upstream declares ``.strict()`` (environment drivers and their nested blocks), where
  they are an issue that does not abort.

Where the published releases differ from the baseline ``9c6f551595``, we follow the release,
which real plugins are built against:

- slot types ``routeSidebar`` and ``companySettingsPage`` (launcher zones are unchanged); both
  need a ``routePath``, may declare one like ``page``, and need ``ui.sidebar.register`` and
  ``instance.settings.register`` (the server's ``UI_SLOT_CAPABILITIES``);
- entity types ``execution_workspace`` and ``project_workspace``; the reserved route segment
  ``workspaces``; reserved company settings segments;
- the 79 capabilities of ``core.capabilities``;
- ``environmentDrivers`` and ``routines``, validated in full.

The release also validates ``agents``, ``projects``, ``skills``, ``localFolders`` and
``objectReferences``. ``PluginManifest`` does not yet: it ignores them, and the host stores and
sends the plugin's raw manifest, so they survive untouched.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType, UnionType
from typing import Annotated, Any, ClassVar, Literal, Self, Union, get_args, get_origin

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
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails, InitErrorDetails, PydanticCustomError

from core.capabilities import PLUGIN_CAPABILITIES
from core.errors import InvalidInput
from core.plugin_database.declaration import PluginDatabaseDeclaration, missing_capability_messages
from core.suggestions import did_you_mean
from db.constants import ISSUE_PRIORITIES, PLUGIN_CATEGORIES, PLUGIN_DATABASE_CORE_READ_TABLES

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
ENVIRONMENT_DRIVER_KINDS = ("environment_driver", "sandbox_provider")
ROUTINE_STATUSES = ("active", "paused", "archived")
ROUTINE_CONCURRENCY_POLICIES = ("coalesce_if_active", "always_enqueue", "skip_if_active")
ROUTINE_CATCH_UP_POLICIES = ("skip_missed", "enqueue_missed_with_cap")
ROUTINE_ACTIVITY_GATE_POLICIES = ("always", "require_external_activity")
ROUTINE_ACTIVITY_GATE_SCOPES = ("company", "project")
ROUTINE_TRIGGER_KINDS = ("schedule", "webhook", "api")
ROUTINE_TRIGGER_SIGNING_MODES = ("bearer", "hmac_sha256", "github_hmac", "none")
ROUTINE_VARIABLE_TYPES = ("text", "textarea", "number", "boolean", "select", "date")
ISSUE_SURFACE_VISIBILITIES = ("default", "plugin_operation")

# Upstream's regular expressions. re.ASCII because JavaScript's \d is [0-9]; fullmatch because
# JavaScript's $ does not match before a trailing newline.
_SEMVER = r"\d+\.\d+\.\d+(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?"
_PLUGIN_ID = r"[a-z0-9][a-z0-9._-]*"
_ROUTE_KEY = r"[a-z0-9][a-z0-9._:-]*"
_API_PATH = r"/[a-zA-Z0-9:_./-]*"
_ROUTE_PATH = r"[a-z0-9][a-z0-9-]*"
_CRON_ITEM = r"(\*(/[0-9]+)?|[0-9]+(-[0-9]+)?(/[0-9]+)?)"
_CRON_FIELD = re.compile(rf"{_CRON_ITEM}(,{_CRON_ITEM})*", re.ASCII)
_MANAGED_KEY = r"[a-z0-9][a-z0-9._:-]*"
_NAMESPACE_SLUG = r"[a-z0-9][a-z0-9_]*"
_TEMPLATE_CONFIG_FIELD = r"[A-Za-z_][A-Za-z0-9_-]*"
_GUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
#: What JavaScript's ``String.prototype.trim`` strips (Python's ``str.strip`` differs).
_JS_WHITESPACE = (
    "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000\ufeff"
)
#: ``Number.MAX_SAFE_INTEGER``: zod 4's ``.int()`` refuses integers beyond it.
_MAX_SAFE_INTEGER = 2**53 - 1

# -- zod's issue kinds ---------------------------------------------------------------------------

#: A failed check: reported, but the enclosing objects are still refined.
_CHECK = "plugin_manifest"
#: A wrong type, enum or literal value: zod stops refining the enclosing objects.
_ABORT = "plugin_manifest_abort"
#: zod's explicit abort (``continue: false``; only ``.int()`` on a fraction raises one): it also
#: stops the length checks of an enclosing array, which run after an ordinary abort.
_STOP = "plugin_manifest_stop"
_KINDS = (_CHECK, _ABORT, _STOP)
#: Validation context key of the pass that rebuilds an object without its checks (see
#: ``_ManifestModel``).
_CHECKS_OFF = "manifest_checks_off"

Loc = tuple[str | int, ...]
Check = Callable[[Any], str | None]

#: Pydantic's type errors and the type zod 4 names in "Invalid input: expected <type>, ...".
#: Every dict in the manifest is a ``z.record``, every nested model a ``z.object``.
_ZOD_EXPECTED = {
    "string_type": "string",
    "tuple_type": "array",
    "list_type": "array",
    "dict_type": "record",
    "model_type": "object",
    "model_attributes_type": "object",
    "bool_type": "boolean",
}


def _zod_type(value: Any) -> str:
    """The type name zod 4's English locale reports for a JSON value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, float) and not math.isfinite(value):
        # Python's json reads NaN and Infinity; zod names them as JavaScript prints them.
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    return "object" if isinstance(value, Mapping) else "unknown"


def _js_primitive(value: object) -> str:
    """zod 4's ``stringifyPrimitive``: strings in double quotes, not escaped."""
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _invalid_type(expected: str, value: Any) -> str:
    return f"Invalid input: expected {expected}, received {_zod_type(value)}"


def _invalid_value(options: Sequence[object]) -> str:
    """zod 4's message for a value outside an enum or a literal (it no longer names the value)."""
    if len(options) == 1:
        return f"Invalid input: expected {_js_primitive(options[0])}"
    return f"Invalid option: expected one of {'|'.join(_js_primitive(o) for o in options)}"


def _unrecognized(keys: Sequence[str]) -> str:
    plural = "s" if len(keys) > 1 else ""
    return f"Unrecognized key{plural}: {', '.join(_js_primitive(key) for key in keys)}"


def _is_array_index(key: str) -> bool:
    canonical = key.isascii() and key.isdigit() and (key == "0" or key[0] != "0")
    return canonical and int(key) < 2**32 - 1


def _js_key_order(data: Mapping[str, Any]) -> list[str]:
    """The order JavaScript enumerates an object's keys in: array indexes first, ascending."""
    keys = [str(key) for key in data]
    indexes = sorted((key for key in keys if _is_array_index(key)), key=int)
    return indexes + [key for key in keys if not _is_array_index(key)]


def _checks_off(info: ValidationInfo) -> bool:
    return bool(info.context and info.context.get(_CHECKS_OFF))


def _issue(kind: str, message: str, value: Any, loc: Loc = ()) -> InitErrorDetails:
    return InitErrorDetails(type=PydanticCustomError(kind, message), loc=loc, input=value)


def _raise(kind: str, messages: Sequence[str], value: Any, loc: Loc = ()) -> None:
    raise ValidationError.from_exception_data(
        "PluginManifest", [_issue(kind, message, value, loc) for message in messages]
    )


def _reissue(error: ErrorDetails, loc: Loc | None = None) -> InitErrorDetails:
    """One of our issues for a pydantic error: ours keep their kind, a type error aborts."""
    kind, message = error["type"], str(error["msg"])
    if kind not in _KINDS:
        expected = _ZOD_EXPECTED.get(kind)
        if expected is not None:
            message = _invalid_type(expected, error["input"])
        kind = _ABORT
    return _issue(kind, message, error["input"], error["loc"] if loc is None else loc)


# -- checks: dirty issues ------------------------------------------------------------------------


def _min_length(limit: int) -> Check:
    """zod 4.6 counts code points, as Python's ``len`` does (a lone surrogate counts one)."""
    return lambda text: (
        None if len(text) >= limit else f"Too small: expected string to have >={limit} characters"
    )


def _max_length(limit: int) -> Check:
    return lambda text: (
        None if len(text) <= limit else f"Too big: expected string to have <={limit} characters"
    )


def _matches(pattern: str, message: str) -> Check:
    compiled = re.compile(pattern, re.ASCII)
    return lambda text: None if compiled.fullmatch(text) else message


def _pattern(pattern: str) -> Check:
    """``.regex(re)`` without a message: zod 4 names the pattern."""
    return _matches(pattern, f"Invalid string: must match pattern /^{pattern}$/")


def _no_nul(name: str) -> Check:
    """A path the host opens: the operating system cannot take a NUL byte in it (upstream has no
    rule; Node's ``fs`` throws on one)."""
    return lambda text: f"{name} must not contain NUL bytes" if "\0" in text else None


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
        if value is not None and not _checks_off(info):
            failures = [message for check in checks if (message := check(value)) is not None]
            if failures:
                _raise(_CHECK, failures, value)
        return value

    return AfterValidator(run)


def _array(*, minimum: int | None = None, maximum: int | None = None) -> WrapValidator:
    """An array's length checks, as zod 4.6 runs them.

    An array longer than its maximum is refused before its elements are parsed, with an issue
    that aborts explicitly. The minimum is checked after the elements, unless one of them
    aborted explicitly, and reported after their issues.
    """

    def run(value: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo) -> Any:
        if not isinstance(value, list | tuple) or _checks_off(info):
            return handler(value)
        if maximum is not None and len(value) > maximum:
            _raise(_STOP, [f"Too big: expected array to have <={maximum} items"], value)
        try:
            result, issues = handler(value), []
        except ValidationError as exc:
            result, issues = None, [_reissue(error) for error in exc.errors()]
        stopped = any(issue["type"].type == _STOP for issue in issues)
        if minimum is not None and len(value) < minimum and not stopped:
            message = f"Too small: expected array to have >={minimum} items"
            issues.append(_issue(_CHECK, message, value))
        if issues:
            raise ValidationError.from_exception_data("PluginManifest", issues)
        return result

    return WrapValidator(run)


def _trim(value: Any) -> Any:
    """zod's ``.trim()``: the checks that follow see the trimmed string, and so does the model."""
    return value.strip(_JS_WHITESPACE) if isinstance(value, str) else value


_TRIM = AfterValidator(_trim)


# -- structural validators: aborting issues ------------------------------------------------------


@dataclass(frozen=True)
class _EnumCheck:
    """zod 4's ``z.enum``: any other value, a missing key or a non-string included, is one
    issue that does not name the value."""

    options: tuple[str, ...]
    nullable: bool

    @property
    def message(self) -> str:
        return _invalid_value(self.options)

    def __call__(self, value: Any) -> Any:
        if value is None and self.nullable:
            return None
        if not isinstance(value, str) or value not in self.options:
            _raise(_ABORT, [self.message], value)
        return value


def _enum(options: Sequence[str], *, nullable: bool = False) -> BeforeValidator:
    return BeforeValidator(_EnumCheck(tuple(options), nullable))


def _literal(expected: int | str) -> BeforeValidator:
    """zod's ``z.literal``: anything else, a missing key included, is the same issue."""

    def check(value: Any) -> int | str:
        if isinstance(value, bool) or value != expected:
            _raise(_ABORT, [_invalid_value([expected])], value)
        return expected

    return BeforeValidator(check)


def _optional(expected: str) -> BeforeValidator:
    """zod's ``.optional()``: a missing key is fine, an explicit null is a type error."""

    def check(value: Any) -> Any:
        if value is None:
            _raise(_ABORT, [_invalid_type(expected, None)], value)
        return value

    return BeforeValidator(check)


def _boolean(value: Any) -> bool:
    """``z.boolean()``: no coercion of ``"true"`` or ``1``."""
    if not isinstance(value, bool):
        _raise(_ABORT, [_invalid_type("boolean", value)], value)
    return value


def _integer(
    *, minimum: int | None = None, maximum: int | None = None, nullable: bool = False
) -> BeforeValidator:
    """zod 4's ``z.number().int()``, then ``.min()`` and ``.max()``.

    A non-number aborts; so does a fraction, explicitly (the enclosing objects are not refined).
    An integer beyond ``Number.MAX_SAFE_INTEGER`` fails a check, as the bounds do.
    """

    def check(value: Any, info: ValidationInfo) -> int | None:
        if value is None and nullable:
            return None
        finite = isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))
        if isinstance(value, bool) or not finite:
            _raise(_ABORT, [_invalid_type("number", value)], value)
        if value != int(value):
            _raise(_STOP, ["Invalid input: expected int, received number"], value)
        number = int(value)
        if _checks_off(info):
            return number
        failures = []
        if number > _MAX_SAFE_INTEGER:
            failures.append(f"Too big: expected int to be <={_MAX_SAFE_INTEGER}")
        elif number < -_MAX_SAFE_INTEGER:
            failures.append(f"Too small: expected int to be >={-_MAX_SAFE_INTEGER}")
        if minimum is not None and number < minimum:
            failures.append(f"Too small: expected number to be >={minimum}")
        if maximum is not None and number > maximum:
            failures.append(f"Too big: expected number to be <={maximum}")
        if failures:
            _raise(_CHECK, failures, value)
        return number

    return BeforeValidator(check)


_Text = Annotated[str, _checked(_min_length(1))]
_OptionalText = Annotated[str | None, _optional("string")]
_OptionalInteger = Annotated[int | None, _integer()]
_OptionalBoolean = Annotated[bool | None, BeforeValidator(_boolean)]
_OPTIONAL_ARRAY = _optional("array")
_OptionalEntityTypes = Annotated[
    tuple[Annotated[str, _enum(UI_ENTITY_TYPES)], ...] | None, _OPTIONAL_ARRAY
]


# -- the models ----------------------------------------------------------------------------------


def _expected_type(annotation: Any) -> str:
    """The type zod names for a field that is missing, from the field's annotation."""
    origin = get_origin(annotation)
    if origin in (Union, UnionType):
        annotation = next(arg for arg in get_args(annotation) if arg is not type(None))
        origin = get_origin(annotation)
    if annotation is tuple or origin is tuple:
        return "array"
    if annotation is dict or origin is dict:
        return "record"
    if annotation is str:
        return "string"
    if annotation is bool:
        return "boolean"
    if annotation in (int, float):
        return "number"
    return "object"


def _missing_message(field: FieldInfo) -> str:
    for item in field.metadata:
        if isinstance(item, BeforeValidator) and isinstance(item.func, _EnumCheck):
            return item.func.message
    return f"Invalid input: expected {_expected_type(field.annotation)}, received undefined"


class _ManifestModel(BaseModel):
    """A zod object: checks reported together, cross-field rules run unless something aborted.

    Every error leaving an object is one of ours, with zod's wording and the key's alias in its
    path, so the enclosing objects can tell a failed check from an abort.
    """

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True
    )

    #: zod's ``.strict()``: unknown keys are an issue (after the fields', not aborting).
    zod_strict: ClassVar[bool] = False

    def _refinements(self) -> Iterator[tuple[Loc, str]]:
        """Cross-field issues (zod's ``superRefine``), with paths relative to this object."""
        return iter(())

    def _transformed(self) -> Self:
        """zod's ``.transform``, run once the object is valid; the object itself by default."""
        return self

    @classmethod
    def _field_at(cls, key: str | int) -> FieldInfo | None:
        for name, field in cls.model_fields.items():
            if key in (name, field.alias):
                return field
        return None

    @classmethod
    def _zod_issue(cls, error: ErrorDetails) -> InitErrorDetails:
        loc = error["loc"]
        field = cls._field_at(loc[0]) if loc else None
        if field is not None and field.alias:
            # A checked default (validate_default) is reported under the field's name.
            loc = (field.alias, *loc[1:])
        if error["type"] == "missing" and field is not None and len(loc) == 1:
            return _issue(_ABORT, _missing_message(field), error["input"], loc)
        return _reissue(error, loc)

    @classmethod
    def _unrecognized_keys(cls, data: Any) -> list[str]:
        if not cls.zod_strict or not isinstance(data, Mapping):
            return []
        known = {field.alias or name for name, field in cls.model_fields.items()}
        return [key for key in _js_key_order(data) if key not in known]

    @model_validator(mode="wrap")
    @classmethod
    def _zod_object(
        cls, data: Any, handler: ModelWrapValidatorHandler[Self], info: ValidationInfo
    ) -> Self:
        if _checks_off(info):
            return handler(data)
        model: Self | None
        try:
            model, issues = handler(data), []
        except ValidationError as exc:
            model, issues = None, [cls._zod_issue(error) for error in exc.errors()]
        if unknown := cls._unrecognized_keys(data):
            issues.append(_issue(_CHECK, _unrecognized(unknown), data))
        if any(issue["type"].type != _CHECK for issue in issues):
            raise ValidationError.from_exception_data(cls.__name__, issues) from None
        if model is None:
            # Only checks failed, so the structure is sound: rebuild the object without its
            # checks to run the cross-field rules, as zod does.
            model = cls.model_validate(data, context={_CHECKS_OFF: True})
        issues += [_issue(_CHECK, message, data, loc) for loc, message in model._refinements()]
        if issues:
            raise ValidationError.from_exception_data(cls.__name__, issues)
        return model._transformed()


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
        _raise(_ABORT, [_invalid_type("object", value)], value)
    source = value.get("from")
    variant = _RESOLUTIONS.get(source) if isinstance(source, str) else None
    if variant is None:
        # zod 4's locale keeps zod 3's discriminator wording.
        expected = " | ".join(f"'{option}'" for option in _RESOLUTIONS)
        _raise(_ABORT, [f"Invalid discriminator value. Expected {expected}"], value, loc=("from",))
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
    checkout_policy: Annotated[str | None, _enum(API_ROUTE_CHECKOUT_POLICIES)] = None
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
    params: Annotated[dict[str, Any] | None, _optional("record")] = None

    def _refinements(self) -> Iterator[tuple[Loc, str]]:
        target = ("target",)
        if self.type == "performAction" and "/" in self.target:
            yield target, "performAction launchers must target an action key, not a route or URL"
        if self.type == "navigate" and re.match(r"https?://", self.target):
            yield target, "navigate launchers must target a host route, not an absolute URL"


class PluginLauncherRender(_ManifestModel):
    """The container a launcher's destination expects, and its size hint."""

    environment: Annotated[str, _enum(tuple(LAUNCHER_BOUNDS))]
    bounds: Annotated[str | None, _enum(LAUNCHER_BOUND_SIZES)] = None

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
        _array(minimum=1),
    ] = None
    launchers: Annotated[tuple[PluginLauncherDeclaration, ...] | None, _OPTIONAL_ARRAY] = None


def _inside_the_package(path: str) -> str | None:
    if path.startswith("/") or ".." in path or "\\" in path:
        return "migrationsDir must be a relative package path without '..' or backslashes"
    return None


class _DatabaseBlock(_ManifestModel):
    """``database`` as upstream's schema checks it; ``PluginManifest.database`` keeps the values
    as the host's ``PluginDatabaseDeclaration``, whose own validation still words its messages
    as zod 3 did."""

    namespace_slug: Annotated[
        str | None,
        _optional("string"),
        _checked(
            _matches(
                _NAMESPACE_SLUG,
                "namespaceSlug must be lowercase letters, digits, or underscores and start with "
                "a letter or digit",
            ),
            _max_length(40),
        ),
    ] = None
    migrations_dir: Annotated[
        str,
        _checked(
            _min_length(1),
            _inside_the_package,
            _no_nul("migrationsDir"),
        ),
    ]
    core_read_tables: Annotated[
        tuple[Annotated[str, _enum(PLUGIN_DATABASE_CORE_READ_TABLES)], ...] | None,
        _OPTIONAL_ARRAY,
    ] = None


def _database(value: Any, info: ValidationInfo) -> PluginDatabaseDeclaration:
    block = _DatabaseBlock.model_validate(value, context=info.context)
    return PluginDatabaseDeclaration.model_construct(
        namespace_slug=block.namespace_slug,
        migrations_dir=block.migrations_dir,
        core_read_tables=block.core_read_tables,
    )


# -- environment drivers -------------------------------------------------------------------------


class PluginSandboxCapabilities(_ManifestModel):
    """What a sandbox provider supports (``environmentDrivers[].sandboxCapabilities``)."""

    zod_strict = True

    reusable_leases: _OptionalBoolean = None
    native_sync_in: _OptionalBoolean = None
    native_sync_out: _OptionalBoolean = None
    persistent_process_sessions: _OptionalBoolean = None
    independent_control_commands: _OptionalBoolean = None
    incremental_session_output: _OptionalBoolean = None
    concurrent_sync_operations: _OptionalBoolean = None
    duplex_command_stream: _OptionalBoolean = None
    runner_web_socket_ingress: _OptionalBoolean = None


def _not_the_provider_key(field: str) -> str | None:
    if field == "provider":
        return "Template config binding must not replace the sandbox provider key"
    return None


_TemplateConfigField = Annotated[
    str,
    _checked(
        _min_length(1),
        _max_length(100),
        _matches(
            _TEMPLATE_CONFIG_FIELD,
            "Template config binding fields must be top-level config keys using letters, "
            "digits, underscores, or hyphens",
        ),
        _not_the_provider_key,
    ),
]


class PluginTemplateConfigBinding(_ManifestModel):
    """The config field a captured template is written to, and the fields it unsets."""

    zod_strict = True

    config_field: _TemplateConfigField = Field(alias="field")
    unset_fields: Annotated[
        tuple[_TemplateConfigField, ...] | None, _OPTIONAL_ARRAY, _array(maximum=20)
    ] = None

    def _refinements(self) -> Iterator[tuple[Loc, str]]:
        seen: set[str] = set()
        for index, field in enumerate(self.unset_fields or ()):
            if field == self.config_field:
                yield (
                    ("unsetFields", index),
                    "Template config binding cannot unset the same field it sets",
                )
            if field in seen:
                yield ("unsetFields", index), "Template config binding unsetFields must be unique"
            seen.add(field)


class PluginEnvironmentDriverDeclaration(_ManifestModel):
    """An environment driver or sandbox provider (``environmentDrivers[]``).

    Parsed as upstream transforms it: the deprecated ``supportsSetupTokenLogin`` is folded into
    ``supports_login_pty`` and then cleared.
    """

    zod_strict = True

    driver_key: Annotated[
        str,
        _checked(
            _min_length(1),
            _matches(
                _PLUGIN_ID,
                "Environment driver key must start with a lowercase alphanumeric and contain "
                "only lowercase letters, digits, dots, hyphens, or underscores",
            ),
        ),
    ]
    kind: Annotated[str | None, _enum(ENVIRONMENT_DRIVER_KINDS)] = None
    display_name: Annotated[str, _checked(_min_length(1), _max_length(100))]
    description: Annotated[str | None, _optional("string"), _checked(_max_length(500))] = None
    supports_reusable_leases: _OptionalBoolean = None
    sandbox_capabilities: Annotated[PluginSandboxCapabilities | None, _optional("object")] = None
    supports_interactive_setup: _OptionalBoolean = None
    interactive_setup_connection_types: Annotated[
        tuple[Annotated[str, _checked(_min_length(1), _max_length(100))], ...] | None,
        _OPTIONAL_ARRAY,
        _array(maximum=10),
    ] = None
    supports_template_capture: _OptionalBoolean = None
    template_ref_kind: Annotated[
        str | None, _optional("string"), _checked(_min_length(1), _max_length(100))
    ] = None
    template_config_binding: Annotated[PluginTemplateConfigBinding | None, _optional("object")] = (
        None
    )
    template_identity_paths: Annotated[
        tuple[Annotated[str, _checked(_min_length(1), _max_length(200))], ...] | None,
        _OPTIONAL_ARRAY,
        _array(maximum=20),
    ] = None
    supports_template_delete: _OptionalBoolean = None
    supports_login_pty: _OptionalBoolean = None
    #: Deprecated alias of ``supportsLoginPty``; always None once parsed.
    supports_setup_token_login: _OptionalBoolean = None
    config_schema: Annotated[dict[str, Any], _checked(_json_schema)]

    def _refinements(self) -> Iterator[tuple[Loc, str]]:
        login_pty, alias = self.supports_login_pty, self.supports_setup_token_login
        if login_pty is not None and alias is not None and login_pty != alias:
            yield (
                ("supportsLoginPty",),
                "supportsSetupTokenLogin is a deprecated alias for supportsLoginPty; the two "
                "flags must not carry different values",
            )

    def _transformed(self) -> Self:
        login_pty = self.supports_login_pty
        folded = self.supports_setup_token_login if login_pty is None else login_pty
        return self.model_copy(
            update={"supports_login_pty": folded, "supports_setup_token_login": None}
        )


# -- routines ------------------------------------------------------------------------------------


def _managed_key(name: str) -> AfterValidator:
    return _checked(
        _min_length(1),
        _max_length(100),
        _matches(
            _MANAGED_KEY,
            f"{name} must start with a lowercase alphanumeric and contain only lowercase letters, "
            "digits, dots, colons, underscores, or hyphens",
        ),
    )


class _ManagedResourceRef(_ManifestModel):
    """A reference to a resource a plugin manages (``pluginManagedResourceRefSchema``)."""

    plugin_key: Annotated[
        str | None, _optional("string"), _checked(_min_length(1), _max_length(100))
    ] = None
    resource_kind: str
    resource_key: Annotated[str, _managed_key("resourceKey")]


class PluginManagedAgentRef(_ManagedResourceRef):
    """A routine's ``assigneeRef``: one of the plugin's managed agents."""

    # Default None so that a missing key reaches the literal check, whose issue zod reports.
    resource_kind: Annotated[Literal["agent"], _literal("agent")] = Field(  # type: ignore[assignment]
        default=None, validate_default=True
    )


class PluginManagedProjectRef(_ManagedResourceRef):
    """A routine's ``projectRef``: one of the plugin's managed projects."""

    resource_kind: Annotated[Literal["project"], _literal("project")] = Field(  # type: ignore[assignment]
        default=None, validate_default=True
    )


def _variable_value(value: Any) -> Any:
    """``z.union([z.string(), z.number().finite(), z.boolean()])``, nullable."""
    finite = isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))
    if value is not None and not isinstance(value, str) and not finite:
        _raise(_ABORT, ["Invalid input"], value)
    return value


def _calendar_date(text: str) -> bool:
    """Upstream's ``isValidRoutineDateString``: ``YYYY-MM-DD`` naming a real day."""
    match = _DATE.fullmatch(text)
    if match is None:
        return False
    year, month, day = (int(part) for part in match.groups())
    if not 1 <= month <= 12:
        return False
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    days = (31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)[month - 1]
    return 1 <= day <= days


class PluginRoutineVariable(_ManifestModel):
    """A routine variable (``routineVariableSchema``), with upstream's defaults."""

    name: Annotated[str, _TRIM, _checked(_pattern("[A-Za-z][A-Za-z0-9_]*"))]
    label: Annotated[str | None, _TRIM, _checked(_max_length(120))] = None
    type: Annotated[str, _enum(ROUTINE_VARIABLE_TYPES)] = "text"
    default_value: Annotated[str | float | bool | None, PlainValidator(_variable_value)] = None
    required: Annotated[bool, BeforeValidator(_boolean)] = True
    options: Annotated[
        tuple[Annotated[str, _TRIM, _checked(_min_length(1), _max_length(120))], ...],
        _OPTIONAL_ARRAY,
        _array(maximum=50),
    ] = ()

    def _refinements(self) -> Iterator[tuple[Loc, str]]:
        select, default = self.type == "select", self.default_value
        if select and not self.options:
            yield ("options",), "Select variables require at least one option"
        if not select and self.options:
            yield ("options",), "Only select variables can define options"
        text = default if isinstance(default, str) else None
        if select and default is not None and text not in self.options:
            yield (
                ("defaultValue",),
                "Select variable defaults must match one of the allowed options",
            )
        date = self.type == "date"
        if date and default is not None and not (text is not None and _calendar_date(text)):
            yield (
                ("defaultValue",),
                "Date variable defaults must be valid YYYY-MM-DD calendar dates",
            )


class PluginRoutineTrigger(_ManifestModel):
    """A routine trigger (``routines[].triggers[]``)."""

    kind: Annotated[str, _enum(ROUTINE_TRIGGER_KINDS)]
    label: Annotated[str | None, _TRIM, _checked(_max_length(120))] = None
    enabled: _OptionalBoolean = None
    cron_expression: Annotated[str | None, _TRIM, _checked(_min_length(1))] = None
    timezone: Annotated[str | None, _TRIM, _checked(_min_length(1))] = None
    signing_mode: Annotated[str | None, _enum(ROUTINE_TRIGGER_SIGNING_MODES, nullable=True)] = None
    replay_window_sec: Annotated[
        int | None, _integer(minimum=30, maximum=86_400, nullable=True)
    ] = None


class PluginRoutineIssueTemplate(_ManifestModel):
    """How the issues a routine opens look (``routines[].issueTemplate``)."""

    surface_visibility: Annotated[str | None, _enum(ISSUE_SURFACE_VISIBILITIES)] = None
    origin_id: Annotated[str | None, _TRIM, _checked(_max_length(255))] = None
    billing_code: Annotated[str | None, _TRIM, _checked(_max_length(200))] = None


class PluginRoutineDeclaration(_ManifestModel):
    """A routine the plugin manages (``routines[]``)."""

    routine_key: Annotated[str, _managed_key("routineKey")]
    title: Annotated[str, _TRIM, _checked(_min_length(1), _max_length(200))]
    description: Annotated[str | None, _checked(_max_length(10_000))] = None
    assignee_ref: PluginManagedAgentRef | None = None
    project_ref: PluginManagedProjectRef | None = None
    #: zod 4's ``.guid()``: any 8-4-4-4-12 hex string, whatever its version bits.
    goal_id: Annotated[str | None, _checked(_matches(_GUID, "Invalid GUID"))] = None
    status: Annotated[str | None, _enum(ROUTINE_STATUSES)] = None
    priority: Annotated[str | None, _enum(ISSUE_PRIORITIES)] = None
    concurrency_policy: Annotated[str | None, _enum(ROUTINE_CONCURRENCY_POLICIES)] = None
    catch_up_policy: Annotated[str | None, _enum(ROUTINE_CATCH_UP_POLICIES)] = None
    activity_gate_policy: Annotated[str | None, _enum(ROUTINE_ACTIVITY_GATE_POLICIES)] = None
    activity_gate_scope: Annotated[str | None, _enum(ROUTINE_ACTIVITY_GATE_SCOPES)] = None
    variables: Annotated[tuple[PluginRoutineVariable, ...] | None, _OPTIONAL_ARRAY] = None
    triggers: Annotated[
        tuple[PluginRoutineTrigger, ...] | None, _OPTIONAL_ARRAY, _array(maximum=20)
    ] = None
    issue_template: Annotated[PluginRoutineIssueTemplate | None, _optional("object")] = None


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

    Keys this model does not know, including the blocks it does not validate yet (``agents``,
    ``projects``, ``skills``, ``localFolders``, ``objectReferences``), are dropped here; keep the
    raw manifest to send or store it.
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
    categories: Annotated[tuple[Annotated[str, _enum(PLUGIN_CATEGORIES)], ...], _array(minimum=1)]
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
        tuple[Annotated[str, _enum(PLUGIN_CAPABILITIES)], ...], _array(minimum=1)
    ]
    entrypoints: PluginEntrypoints
    instance_config_schema: Annotated[
        dict[str, Any] | None, _optional("record"), _checked(_json_schema)
    ] = None
    jobs: Annotated[tuple[PluginJobDeclaration, ...] | None, _OPTIONAL_ARRAY] = None
    webhooks: Annotated[tuple[PluginWebhookDeclaration, ...] | None, _OPTIONAL_ARRAY] = None
    tools: Annotated[tuple[PluginToolDeclaration, ...] | None, _OPTIONAL_ARRAY] = None
    database: Annotated[PluginDatabaseDeclaration | None, PlainValidator(_database)] = None
    api_routes: Annotated[tuple[PluginApiRouteDeclaration, ...] | None, _OPTIONAL_ARRAY] = None
    environment_drivers: Annotated[
        tuple[PluginEnvironmentDriverDeclaration, ...] | None, _OPTIONAL_ARRAY
    ] = None
    routines: Annotated[tuple[PluginRoutineDeclaration, ...] | None, _OPTIONAL_ARRAY] = None
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
            (self.environment_drivers, "environment.drivers.register", "environmentDrivers"),
            (self.routines, "routines.managed", "managed routines"),
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
            if repeated := _duplicates(self.database.core_read_tables or ()):
                yield (
                    ("database", "coreReadTables"),
                    f"Duplicate database coreReadTables: {', '.join(repeated)}",
                )
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
            (
                ("environmentDrivers",),
                "environment driver keys",
                [driver.driver_key for driver in self.environment_drivers or ()],
            ),
            (
                ("routines",),
                "managed routine keys",
                [routine.routine_key for routine in self.routines or ()],
            ),
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


_ENUM_ISSUE = "Invalid option: expected one of "


def _suggestion(error: ErrorDetails) -> str | None:
    """``did you mean "issues.create"?`` for an enum issue whose value is close to an option.

    zod 4's message lists the options but not the value, so the value comes from the input.
    """
    message, value = str(error["msg"]), error["input"]
    if not message.startswith(_ENUM_ISSUE) or not isinstance(value, str):
        return None
    return did_you_mean(value, re.findall(r'"([^"]*)"', message.removeprefix(_ENUM_ISSUE)))


class InvalidManifest(InvalidInput):
    """The manifest breaks the v1 schema; ``details["issues"]`` lists each path and message.

    The message is upstream's (``Invalid plugin manifest: <path>: <message>; ...``), followed
    by ``-- <path>: did you mean "..."?`` for each enum value close to an allowed one.
    """

    def __init__(
        self, issues: Sequence[tuple[str, str]], *, hints: Sequence[tuple[str, str]] = ()
    ) -> None:
        """``issues`` are upstream's ``(path, message)`` pairs; ``hints`` are ours, by path."""
        joined = "; ".join(f"{path}: {message}" if path else message for path, message in issues)
        hint_text = "; ".join(f"{path}: {hint}" if path else hint for path, hint in hints)
        super().__init__(
            f"Invalid plugin manifest: {joined}" + (f" -- {hint_text}" if hints else ""),
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
        errors = exc.errors()
        paths = [".".join(str(part) for part in error["loc"]) for error in errors]
        issues = [(path, str(error["msg"])) for path, error in zip(paths, errors, strict=True)]
        hints = [
            (path, hint)
            for path, error in zip(paths, errors, strict=True)
            if (hint := _suggestion(error)) is not None
        ]
        raise InvalidManifest(issues, hints=hints) from None


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
    "PluginEnvironmentDriverDeclaration",
    "PluginJobDeclaration",
    "PluginLauncherAction",
    "PluginLauncherDeclaration",
    "PluginLauncherRender",
    "PluginManagedAgentRef",
    "PluginManagedProjectRef",
    "PluginManifest",
    "PluginRoutineDeclaration",
    "PluginRoutineIssueTemplate",
    "PluginRoutineTrigger",
    "PluginRoutineVariable",
    "PluginSandboxCapabilities",
    "PluginTemplateConfigBinding",
    "PluginToolDeclaration",
    "PluginUiDeclaration",
    "PluginUiSlotDeclaration",
    "PluginWebhookDeclaration",
    "check_route_path_conflicts",
    "missing_capabilities",
    "parse_manifest",
    "validate_manifest",
]
