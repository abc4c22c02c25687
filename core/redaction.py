"""Secret redaction for activity details, as upstream's ``sanitizeRecord``.

A key whose name looks secret (``apiKey``, ``authorization``, ``password``, ... matched anywhere in
the name, case-insensitively) has its value replaced, at any depth; so does any string value
shaped like a JWT. Secret *references* (``{"type": "secret_ref", ...}``) are kept: they name a
secret without containing it.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

REDACTED = "***REDACTED***"

_SECRET_KEY = re.compile(
    r"api[-_]?key|access[-_]?token|auth(_?token)?|authorization|bearer|secret|passwd|password"
    r"|credential|jwt|private[-_]?key|cookie|connectionstring",
    re.IGNORECASE,
)
_JWT = re.compile(r"^eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")


def _is_secret_reference(value: Any) -> bool:
    return isinstance(value, dict) and value.get("type") == "secret_ref"


@lru_cache(maxsize=1024)
def _is_secret_key(key: str) -> bool:
    """Activity details reuse a handful of key names; the regex runs once per name."""
    return _SECRET_KEY.search(key) is not None


def redact(value: Any) -> Any:
    """A copy of ``value`` with secrets replaced by ``***REDACTED***``."""
    if _is_secret_reference(value):
        return value
    if isinstance(value, dict):
        return {
            key: (
                REDACTED
                if _is_secret_key(str(key)) and not _is_secret_reference(item)
                else redact(item)
            )
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [redact(item) for item in value]
    if isinstance(value, str) and value.startswith("eyJ") and _JWT.match(value):
        return REDACTED
    return value
