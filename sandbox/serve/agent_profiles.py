"""Profiles of simulated agents: how long their runs take, how often they fail, what they cost.

A profile file is TOML. ``[defaults]`` applies to every agent; ``[agents."<name or id>"]``
overrides single keys for one agent (an agent id wins over a name)::

    [defaults]
    duration_seconds = [0.2, 1.5]
    failure_rate = 0.05
    timeout_rate = 0.01
    model = "claude-sonnet-4-5"
    provider = "anthropic"
    input_tokens = [2000, 12000]
    output_tokens = [200, 2000]
    input_price_cents_per_million = 300
    output_price_cents_per_million = 1500

    [agents."Engineer"]
    comment = "Done: see the attached change."
    issue_status_on_success = "in_review"
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from db.constants import ISSUE_STATUSES

#: ``cost_events.billing_type`` values (upstream's BILLING_TYPES).
BILLING_TYPES = (
    "metered_api",
    "subscription_included",
    "subscription_overage",
    "credits",
    "fixed",
    "unknown",
)


class ProfileError(ValueError):
    """A profile file that cannot be read or does not validate."""


class AgentProfile(BaseModel):
    """How one simulated agent behaves. Ranges are ``[low, high]``, both inclusive."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    duration_seconds: tuple[float, float] = (0.0, 0.0)
    failure_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    timeout_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    #: The time limit a timed-out run reports (the simulator does not wait for it).
    timeout_seconds: float = Field(default=600.0, gt=0)
    model: str = "claude-sonnet-4-5"
    provider: str = "anthropic"
    biller: str | None = None
    billing_type: str = "metered_api"
    input_tokens: tuple[int, int] = (1_000, 8_000)
    cached_input_tokens: tuple[int, int] = (0, 0)
    output_tokens: tuple[int, int] = (100, 1_500)
    input_price_cents_per_million: float = Field(default=300.0, ge=0)
    cached_input_price_cents_per_million: float = Field(default=30.0, ge=0)
    output_price_cents_per_million: float = Field(default=1_500.0, ge=0)
    #: A comment the agent leaves on its issue after a successful run.
    comment: str | None = None
    #: The status the agent moves its issue to after a successful run.
    issue_status_on_success: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        for name in ("duration_seconds", "input_tokens", "cached_input_tokens", "output_tokens"):
            low, high = getattr(self, name)
            if low < 0 or high < low:
                raise ValueError(f"{name} must be [low, high] with 0 <= low <= high")
        if self.failure_rate + self.timeout_rate > 1.0:
            raise ValueError("failure_rate + timeout_rate must not exceed 1")
        if self.billing_type not in BILLING_TYPES:
            raise ValueError(f"billing_type must be one of {', '.join(BILLING_TYPES)}")
        if self.issue_status_on_success not in (None, *ISSUE_STATUSES):
            raise ValueError(f"issue_status_on_success must be one of {', '.join(ISSUE_STATUSES)}")
        return self


class AgentProfiles(BaseModel):
    """Defaults plus per-agent profiles, keyed by agent id or name."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    defaults: AgentProfile = AgentProfile()
    agents: dict[str, AgentProfile] = {}

    @model_validator(mode="before")
    @classmethod
    def _merge_defaults(cls, data: Any) -> Any:
        """Each agent table overrides single keys of ``[defaults]``."""
        if not isinstance(data, Mapping):
            return data
        defaults = data.get("defaults") or {}
        if isinstance(defaults, AgentProfile):
            defaults = defaults.model_dump()
        agents = data.get("agents") or {}
        if not isinstance(defaults, Mapping) or not isinstance(agents, Mapping):
            return data
        merged = {
            key: {**defaults, **(value.model_dump() if isinstance(value, AgentProfile) else value)}
            if isinstance(value, Mapping | AgentProfile)
            else value
            for key, value in agents.items()
        }
        return {**data, "agents": merged}

    def for_agent(self, agent_id: str, agent_name: str | None = None) -> AgentProfile:
        """The agent's profile: by id, else by name, else the defaults."""
        if agent_id in self.agents:
            return self.agents[agent_id]
        if agent_name is not None and agent_name in self.agents:
            return self.agents[agent_name]
        return self.defaults


def parse_profiles(data: Mapping[str, Any], *, source: str = "profiles") -> AgentProfiles:
    """Validate profile data (a parsed TOML document).

    Raises:
        ProfileError: the data does not validate; the message names ``source`` and each field.
    """
    try:
        return AgentProfiles.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in item['loc']) or '(top)'}: {item['msg']}"
            for item in error.errors()
        )
        raise ProfileError(f"invalid agent profiles in {source}: {problems}") from None


def load_profiles(path: str | Path) -> AgentProfiles:
    """Read and validate a TOML profile file.

    Raises:
        ProfileError: the file is missing, is not TOML, or does not validate.
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ProfileError(f"cannot read agent profiles {path}: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise ProfileError(f"agent profiles {path} are not valid TOML: {error}") from None
    return parse_profiles(data, source=str(path))
