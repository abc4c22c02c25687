"""Parameters as plugins send them: camelCase, validated once, refused with one-line messages.

Every worker-to-host method has a ``WireParams`` model. The bridge validates a call's params
with it before any service runs; Python callers build the same models with snake_case names.
A malformed value raises ``InvalidInput`` naming the field as the plugin spelled it
(``title must be a string``) instead of a pydantic report; a field with an upstream message of
its own declares it in ``messages``. Fields upstream ignores are ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import ErrorDetails

from core.errors import InvalidInput
from core.ids import require_company

#: What a value of the wrong type must be, by pydantic's error type.
_EXPECTED = {
    "string_type": "a string",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "bool_type": "a boolean",
    "bool_parsing": "a boolean",
    "list_type": "a list",
    "dict_type": "an object",
    "model_type": "an object",
    "model_attributes_type": "an object",
}


class WireParams(BaseModel):
    """Base of every params model: camelCase aliases, snake_case names, unknown keys ignored."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")

    #: Upstream's message for a malformed field, by field name; others get a generic one.
    messages: ClassVar[Mapping[str, str]] = {}
    #: What a malformed value raises.
    error: ClassVar[type[InvalidInput]] = InvalidInput

    @model_validator(mode="wrap")
    @classmethod
    def _one_line_errors(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        if not isinstance(data, Mapping | BaseModel):
            raise cls.error("params must be an object")
        try:
            return handler(data)
        except ValidationError as error:
            raise cls.error(cls._message(error.errors()[0])) from None

    @classmethod
    def _message(cls, error: ErrorDetails) -> str:
        location = [str(part) for part in error["loc"]]
        name = next(
            (
                name
                for name, field in cls.model_fields.items()
                if location and location[0] in (name, field.alias)
            ),
            None,
        )
        if name is not None:
            in_item = any(isinstance(part, int) for part in error["loc"])
            if name in cls.messages and not in_item:
                return cls.messages[name]
            location[0] = cls.model_fields[name].alias or name
        path = ".".join(location) or "params"
        if error["type"] == "missing":
            return f"{path} is required"
        expected = _EXPECTED.get(error["type"])
        if expected is not None:
            return f"{path} must be {expected}"
        if error["type"] == "greater_than_equal":
            return f"{path} must be greater than or equal to {error['ctx']['ge']}"
        return f"{path}: {error['msg']}"


#: The ``companyId`` every company-scoped call names: required, then a UUID (upstream's
#: "companyId is required for this operation"). Its error is raised at once, before any other
#: field's, as upstream checks the company first.
CompanyId = Annotated[str, BeforeValidator(require_company), Field(validate_default=True)]


class NoParams(WireParams):
    """A method that reads no params."""


class CompanyParams(WireParams):
    """A call that names only its company."""

    company_id: CompanyId = None  # type: ignore[assignment]
