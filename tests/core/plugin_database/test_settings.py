"""Plugin SQL limits: defaults, and overrides from the environment."""

from __future__ import annotations

import pytest

from core.plugin_database import PluginSqlSettings
from core.settings import InvalidSetting


def test_defaults() -> None:
    settings = PluginSqlSettings.from_env({})
    assert (settings.statement_timeout_ms, settings.max_rows) == (5_000, 10_000)
    assert (settings.migration_timeout_ms, settings.cache_size) == (60_000, 512)


def test_environment_overrides() -> None:
    settings = PluginSqlSettings.from_env(
        {
            "SANDBOX_PLUGIN_SQL_TIMEOUT_MS": "250",
            "SANDBOX_PLUGIN_SQL_MAX_ROWS": "50",
            "SANDBOX_PLUGIN_MIGRATION_TIMEOUT_MS": "1000",
            "SANDBOX_PLUGIN_SQL_CACHE_SIZE": "0",
        }
    )
    assert settings == PluginSqlSettings(
        statement_timeout_ms=250, max_rows=50, migration_timeout_ms=1000, cache_size=0
    )


@pytest.mark.parametrize("value", ["0", "-1", "soon"])
def test_bad_values_are_refused_in_one_line_naming_the_variable(value: str) -> None:
    with pytest.raises(InvalidSetting) as refused:
        PluginSqlSettings.from_env({"SANDBOX_PLUGIN_SQL_TIMEOUT_MS": value})

    message = str(refused.value)
    assert message.startswith(f"SANDBOX_PLUGIN_SQL_TIMEOUT_MS={value!r}: ")
    assert "\n" not in message
