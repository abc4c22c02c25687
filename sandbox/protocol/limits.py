"""Limits of what a plugin's code may send the host, with defaults and environment overrides.

Each bound keeps one plugin from stalling the host's event loop or exhausting its memory: the
size of a protocol line, how deep its JSON nests, how many of a worker's calls the host serves
at once, and how much a ``manifest.js`` may print.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field

from sandbox.protocol._codes import (
    DEFAULT_MAX_IN_FLIGHT_REQUESTS,
    DEFAULT_MAX_JSON_DEPTH,
    DEFAULT_MAX_MESSAGE_BYTES,
)

#: Environment variables that override the defaults, by setting name.
ENVIRONMENT = {
    "max_message_bytes": "SANDBOX_PLUGIN_MAX_MESSAGE_BYTES",
    "max_json_depth": "SANDBOX_PLUGIN_MAX_JSON_DEPTH",
    "max_in_flight_requests": "SANDBOX_PLUGIN_MAX_IN_FLIGHT_REQUESTS",
    "max_manifest_bytes": "SANDBOX_PLUGIN_MANIFEST_MAX_BYTES",
}


class WorkerLimits(BaseModel):
    """How big and how deep a protocol line may be, and how many worker calls run at once."""

    model_config = ConfigDict(frozen=True)

    #: The variable of each field, by field name (``core.settings`` has the host's settings;
    #: this module stays free of the host's packages, as the Python SDK imports it).
    ENVIRONMENT: ClassVar[Mapping[str, str]] = ENVIRONMENT

    #: Longest protocol line either end accepts or sends (see ``DEFAULT_MAX_MESSAGE_BYTES``).
    max_message_bytes: int = Field(default=DEFAULT_MAX_MESSAGE_BYTES, gt=0)
    #: Deepest nesting of arrays and objects in a protocol line.
    max_json_depth: int = Field(default=DEFAULT_MAX_JSON_DEPTH, gt=0)
    #: Worker-to-host requests of one worker the host serves at once; more are refused.
    max_in_flight_requests: int = Field(default=DEFAULT_MAX_IN_FLIGHT_REQUESTS, gt=0)
    #: Bytes a manifest module may print (the manifest's JSON).
    max_manifest_bytes: int = Field(default=1024 * 1024, gt=0)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Self:
        """The defaults, overridden by the variables of ``ENVIRONMENT`` that are set."""
        given = {
            name: environ[variable] for name, variable in ENVIRONMENT.items() if variable in environ
        }
        return cls.model_validate(given)


def megabytes(size: int) -> str:
    """A byte count as limit messages show it: ``20.0 MB``, or ``300 bytes`` when small."""
    return f"{size / (1024 * 1024):.1f} MB" if size >= 100 * 1024 else f"{size} bytes"


__all__ = ["ENVIRONMENT", "WorkerLimits", "megabytes"]
