"""Settings a user changes through environment variables: the limits of what plugins may do.

Each settings model names one variable per field in ``ENVIRONMENT``; ``from_env`` reads them
and refuses a bad value in one line that names the variable, and every limit's error message
ends with its variable (``named``), so whoever hits a limit knows what to change.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import ClassVar, Self

from pydantic import BaseModel, ConfigDict, ValidationError


class InvalidSetting(ValueError):
    """An environment variable of a setting holds a value the setting cannot take (a mistake
    of whoever starts the host, so the command line shows it as one line)."""


class EnvironmentSettings(BaseModel):
    """Defaults, overridden by the variables of ``ENVIRONMENT`` that are set."""

    model_config = ConfigDict(frozen=True)

    #: The variable of each field, by field name.
    ENVIRONMENT: ClassVar[Mapping[str, str]] = {}

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Self:
        """The defaults, overridden by the variables that are set.

        Raises:
            InvalidSetting: a variable's value is not one its setting can take.
        """
        given = {
            name: environ[variable]
            for name, variable in cls.ENVIRONMENT.items()
            if variable in environ
        }
        try:
            return cls.model_validate(given)
        except ValidationError as error:
            first = error.errors()[0]
            name = str(first["loc"][0])
            raise InvalidSetting(
                f"{cls.ENVIRONMENT[name]}={given[name]!r}: {first['msg']}"
            ) from None

    @classmethod
    def named(cls, text: str, setting: str) -> str:
        """``text`` followed by the variable that changes ``setting``."""
        return f"{text} ({cls.ENVIRONMENT[setting]})"


__all__ = ["EnvironmentSettings", "InvalidSetting"]
