"""Creating and dropping databases on a PostgreSQL server."""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy.engine import make_url

from db.embedded_postgres import drop_database, ensure_database
from db.errors import DatabaseError
from db.templates import POSTGRES_URL_ENV


@pytest.mark.postgres_only
async def test_create_once_then_drop() -> None:
    server_url = make_url(os.environ[POSTGRES_URL_ENV])
    name = f"sandbox_admin_{uuid.uuid4().hex[:12]}"
    try:
        assert await ensure_database(server_url, name) is True
        assert await ensure_database(server_url, name) is False
    finally:
        await drop_database(server_url, name)
    assert await ensure_database(server_url, name) is True  # it was really gone
    await drop_database(server_url, name)


@pytest.mark.postgres_only
async def test_a_server_error_is_a_database_error() -> None:
    server_url = make_url(os.environ[POSTGRES_URL_ENV])
    name = f"sandbox_admin_{uuid.uuid4().hex[:12]}"
    with pytest.raises(DatabaseError, match='template database "no_such_template" does not exist'):
        await ensure_database(server_url, name, template="no_such_template")


async def test_unsafe_names_are_refused_before_connecting() -> None:
    server_url = make_url("postgresql+asyncpg://nobody@127.0.0.1:1/postgres")
    with pytest.raises(ValueError, match="unsafe database name"):
        await ensure_database(server_url, 'x"; DROP DATABASE postgres; --')
    with pytest.raises(ValueError, match="unsafe database name"):
        await drop_database(server_url, "a b")
