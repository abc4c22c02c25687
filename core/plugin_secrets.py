"""Secrets plugins resolve (``ctx.secrets.resolve``, Paperclip 2026.916.1), from a file the user
controls.

Upstream stores secrets per company and binds each to the plugins that may read it
(``company_secret_bindings``). The sandbox reads both from a TOML file, by default
``.sandbox/secrets.toml`` (``SANDBOX_SECRETS_FILE`` names another)::

    [[secret]]
    id = "5b1c6a3e-0f1d-4c8e-9a7b-2f3e4d5c6b7a"  # the secretId plugins reference
    company = "ACM"                               # company id or issue prefix
    plugins = ["acme.tracker"]                    # the plugin keys bound to it
    value_env = "GITHUB_TOKEN"                    # or: value = "..."
    config_path = "githubToken"                   # optional, as a binding's configPath
    version = "latest"                            # optional: "latest" or a version number

A reference is ``{"type": "secret_ref", "secretId": ..., "version": ...}``; plain strings are
refused, and so are unbound secrets, with upstream's messages. Each plugin may resolve at most
30 secrets a minute per company, as upstream.
"""

from __future__ import annotations

import json
import os
import re
import time
import tomllib
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from core.errors import InvalidInput, Unprocessable

#: The variable naming the secrets file.
SECRETS_FILE_SETTING = "SANDBOX_SECRETS_FILE"
DEFAULT_SECRETS_FILE = Path(".sandbox") / "secrets.toml"
RATE_LIMIT = 30
RATE_WINDOW_SECONDS = 60.0

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")

#: Turns a company reference of the file (an id or an issue prefix) into the company's id.
CompanyLookup = Callable[[str], Awaitable[str | None]]


class SecretsFileInvalid(InvalidInput):
    """The secrets file cannot be read or does not have the expected shape."""


class SecretEntry(BaseModel):
    """One ``[[secret]]`` of the file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    company: str
    plugins: tuple[str, ...]
    value: str | None = None
    value_env: str | None = None
    config_path: str | None = None
    version: str | int = "latest"

    @field_validator("id")
    @classmethod
    def _guid(cls, value: str) -> str:
        if not _GUID.match(value):
            raise ValueError("must be a UUID")
        return value.lower()

    @model_validator(mode="after")
    def _one_value(self) -> SecretEntry:
        if (self.value is None) == (self.value_env is None):
            raise ValueError("give exactly one of value and value_env")
        return self


def secrets_file() -> Path:
    """The file the secrets are read from."""
    return Path(os.environ.get(SECRETS_FILE_SETTING) or DEFAULT_SECRETS_FILE)


def read_secrets(path: Path) -> list[SecretEntry]:
    """The file's secrets; none when it does not exist."""
    try:
        document = tomllib.loads(path.read_text())
    except FileNotFoundError:
        return []
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise SecretsFileInvalid(f"cannot read the secrets file {path}: {error}") from None
    try:
        return [SecretEntry.model_validate(entry) for entry in document.get("secret", [])]
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise SecretsFileInvalid(f"secrets file {path}: secret.{where}: {first['msg']}") from None


def _invalid_reference(reference: Any) -> InvalidInput:
    if isinstance(reference, str):
        rendered = reference.strip() or "<empty>"
    elif reference is None:
        rendered = "null"
    else:
        rendered = json.dumps(reference, separators=(",", ":"))
    return InvalidInput(
        f"Invalid secret reference for plugin: {rendered}. "
        'Use { type: "secret_ref", secretId, version? }'
    )


def _parsed_reference(reference: Any) -> tuple[str, str | int]:
    """``(secretId, version)`` of a ``secret_ref`` binding, or upstream's refusal."""
    if not isinstance(reference, Mapping) or reference.get("type") != "secret_ref":
        raise _invalid_reference(reference)
    secret_id, version = reference.get("secretId"), reference.get("version", "latest")
    valid_version = version == "latest" or (
        isinstance(version, int) and not isinstance(version, bool) and version > 0
    )
    if not isinstance(secret_id, str) or not _GUID.match(secret_id) or not valid_version:
        raise _invalid_reference(reference)
    return secret_id.lower(), version


class SecretResolver:
    """Resolves one plugin's secret references; remembers its recent resolutions for the
    rate limit."""

    def __init__(self, plugin_id: str, plugin_key: str) -> None:
        self._plugin_id = plugin_id
        self._plugin_key = plugin_key
        self._recent: dict[str, deque[float]] = {}

    async def resolve(
        self,
        reference: Any,
        *,
        company_id: str,
        config_path: str | None,
        company_of: CompanyLookup,
        path: Path | None = None,
    ) -> str:
        """The secret's value, refused as upstream refuses it."""
        secret_id, version = _parsed_reference(reference)
        self._count(company_id)
        matching = []
        for entry in read_secrets(path or secrets_file()):
            if entry.id != secret_id or self._plugin_key not in entry.plugins:
                continue
            if str(entry.version) != str(version):
                continue
            if config_path and entry.config_path != config_path:
                continue
            if await company_of(entry.company) == company_id:
                matching.append(entry)
        if not matching:
            where = f" at {config_path}" if config_path else ""
            raise Unprocessable(f"Secret is not bound to plugin:{self._plugin_id}{where}")
        if len(matching) > 1:
            raise Unprocessable(
                "Plugin secret reference is ambiguous; pass configPath when resolving this secret"
            )
        return _value(matching[0])

    def _count(self, company_id: str) -> None:
        now = time.monotonic()
        recent = self._recent.setdefault(company_id, deque())
        while recent and now - recent[0] >= RATE_WINDOW_SECONDS:
            recent.popleft()
        if len(recent) >= RATE_LIMIT:
            raise InvalidInput("Rate limit exceeded for secret resolution")
        recent.append(now)


def _value(entry: SecretEntry) -> str:
    if entry.value is not None:
        return entry.value
    assert entry.value_env is not None
    if entry.value_env not in os.environ:
        raise Unprocessable(
            f"Secret {entry.id} has no value: environment variable {entry.value_env} is not set"
        )
    return os.environ[entry.value_env]


__all__ = [
    "SECRETS_FILE_SETTING",
    "SecretEntry",
    "SecretResolver",
    "SecretsFileInvalid",
    "read_secrets",
    "secrets_file",
]
