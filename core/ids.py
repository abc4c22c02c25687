"""Ids as plugins send them: UUID strings, and ``PAP-12`` issue identifiers."""

from __future__ import annotations

import re
import uuid
from typing import Any

from core.errors import InvalidInput

_IDENTIFIER = re.compile(r"^[A-Z]+-\d+$", re.IGNORECASE)


def as_uuid(value: Any) -> str | None:
    """The canonical form of a UUID string (or UUID), or None when it is not one."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if not isinstance(value, str):
        return None
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


def require_uuid(value: Any, field: str) -> str:
    """The canonical UUID string, or ``InvalidInput`` naming the field."""
    parsed = as_uuid(value)
    if parsed is None:
        raise InvalidInput(f"{field} must be a UUID, got {value!r}")
    return parsed


def require_company(company_id: Any) -> str:
    """Upstream's first check of every plugin call, then the id's shape."""
    if not company_id:
        raise InvalidInput("companyId is required for this operation")
    return require_uuid(company_id, "companyId")


def optional_uuid(value: Any, field: str) -> str | None:
    """Like ``require_uuid``, but None and "" stay None."""
    if value is None or value == "":
        return None
    return require_uuid(value, field)


def as_identifier(value: Any) -> str | None:
    """An issue identifier (``PAP-12``), upper-cased, or None when ``value`` is not one."""
    if isinstance(value, str) and _IDENTIFIER.match(value):
        return value.upper()
    return None
