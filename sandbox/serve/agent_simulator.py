"""Simulated agents: a host claims queued heartbeat runs and plays them out from profiles.

Each claimed run gets an outcome drawn from its agent's profile (``sandbox.serve.agent_profiles``)
with a random generator seeded by ``(seed, n)``, where ``n`` counts the runs this simulator
claimed. Runs are claimed oldest first, so the same seed over the same queue gives the same
outcomes, whatever the run ids and however long each run takes.

A run waits its drawn duration (real time), then is finished in one transaction
(``core.heartbeat_runs.finish_run``): run, wakeup, issue, cost event and activity together, or
nothing. ``stop()`` lets in-flight runs finish (``drain=True``) or abandons them
(``drain=False``): an abandoned run keeps its lease, and once this host is stopped or stops
beating, a live host recovers it.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from core.event_bus import EventBus
from core.heartbeat_runs import (
    ClaimedRun,
    FinishedRun,
    RunCost,
    RunOutcome,
    claim_queued_runs,
    finish_run,
)
from db import Database, DatabaseError
from db.types import utcnow
from sandbox.serve.agent_profiles import AgentProfile, AgentProfiles

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]

#: Seconds the loop waits before looking for queued runs again when there were none.
DEFAULT_POLL_INTERVAL = 0.1


@dataclass(frozen=True)
class Plan:
    """What a simulated run will do."""

    duration: float
    outcome: RunOutcome


@dataclass(frozen=True)
class SimulatedRun:
    """A run the simulator played out; ``finished`` is None when it was no longer ours."""

    run: ClaimedRun
    plan: Plan
    finished: FinishedRun | None


def plan_run(profile: AgentProfile, rng: random.Random) -> Plan:
    """Draw a run's duration and outcome from its agent's profile."""
    draw = rng.random()
    duration = rng.uniform(*profile.duration_seconds)
    input_tokens = rng.randint(*profile.input_tokens)
    cached = rng.randint(*profile.cached_input_tokens)
    output = rng.randint(*profile.output_tokens)
    cents = round(
        (
            input_tokens * profile.input_price_cents_per_million
            + cached * profile.cached_input_price_cents_per_million
            + output * profile.output_price_cents_per_million
        )
        / 1_000_000
    )
    cost = RunCost(
        provider=profile.provider,
        model=profile.model,
        cost_cents=cents,
        input_tokens=input_tokens,
        cached_input_tokens=cached,
        output_tokens=output,
        biller=profile.biller,
        billing_type=profile.billing_type,
    )
    usage = {
        "inputTokens": input_tokens,
        "cachedInputTokens": cached,
        "outputTokens": output,
        "costCents": cents,
        "model": profile.model,
        "provider": profile.provider,
    }
    if draw < profile.failure_rate:
        outcome = RunOutcome(
            status="failed",
            error="Simulated agent failure",
            error_code="adapter_failed",
            exit_code=1,
            usage=usage,
            cost=cost,
        )
    elif draw < profile.failure_rate + profile.timeout_rate:
        outcome = RunOutcome(
            status="timed_out",
            error=f"Timed out after {profile.timeout_seconds:g}s",
            error_code="timeout",
        )
    else:
        outcome = RunOutcome(
            status="succeeded",
            exit_code=0,
            usage=usage,
            result={"summary": "Simulated run completed", "simulated": True},
            cost=cost,
            comment=profile.comment,
            issue_status=profile.issue_status_on_success,
        )
    return Plan(duration=duration, outcome=outcome)


class AgentSimulator:
    """Claims queued runs for one host and plays them out, at most ``max_concurrent`` at once.

    Args:
        db: the shared database.
        host_id: the registered host (``core.hosts.register_host``) that holds the runs.
        profiles: per-agent behaviour.
        seed: makes outcomes reproducible.
        bus: the host's event bus; subscribed plugins get ``agent.run.*`` events through it.
        clock: the time stamped on runs (tests pass a fake one).
        max_concurrent: runs in flight at once.
        poll_interval: seconds between looks at an empty queue.
    """

    def __init__(
        self,
        db: Database,
        host_id: str,
        profiles: AgentProfiles,
        *,
        seed: int = 0,
        bus: EventBus | None = None,
        clock: Clock = utcnow,
        max_concurrent: int = 4,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
    ) -> None:
        if max_concurrent < 1:
            raise ValueError("max_concurrent must be at least 1")
        self.db = db
        self.host_id = host_id
        self.profiles = profiles
        self.seed = seed
        self.bus = bus
        self.clock = clock
        self.max_concurrent = max_concurrent
        self.poll_interval = poll_interval
        self._claimed = 0
        self._inflight: set[asyncio.Task[SimulatedRun | None]] = set()
        self._loop_task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._slot_freed = asyncio.Event()
        #: Every run this simulator played to the end, in finishing order.
        self.completed: list[SimulatedRun] = []

    @property
    def in_flight(self) -> int:
        """Runs claimed and not yet finished."""
        return len(self._inflight)

    async def _claim(self, limit: int) -> list[tuple[ClaimedRun, Plan]]:
        batch = await claim_queued_runs(
            self.db, host_id=self.host_id, limit=limit, now=self.clock(), bus=self.bus
        )
        planned = []
        for run in batch.claimed:
            rng = random.Random(f"{self.seed}:{self._claimed}")
            self._claimed += 1
            profile = self.profiles.for_agent(run.agent_id, run.agent_name)
            planned.append((run, plan_run(profile, rng)))
        return planned

    async def _execute(self, run: ClaimedRun, plan: Plan) -> SimulatedRun:
        if plan.duration > 0:
            await asyncio.sleep(plan.duration)
        # Once finishing starts it completes: the transaction is never cut half-way.
        finishing = asyncio.ensure_future(
            finish_run(
                self.db,
                run.id,
                host_id=self.host_id,
                outcome=plan.outcome,
                now=self.clock(),
                bus=self.bus,
            )
        )
        try:
            finished = await asyncio.shield(finishing)
        except asyncio.CancelledError:
            await finishing
            raise
        result = SimulatedRun(run, plan, finished)
        self.completed.append(result)
        return result

    async def run_once(self) -> list[SimulatedRun]:
        """Claim what free slots allow, play those runs out, and return them (for tests)."""
        planned = await self._claim(self.max_concurrent - len(self._inflight))
        return list(await asyncio.gather(*(self._execute(run, plan) for run, plan in planned)))

    def start(self) -> None:
        """Start claiming in the background."""
        if self._loop_task is not None:
            raise RuntimeError("the simulator is already started")
        self._stopping.clear()
        self._loop_task = asyncio.create_task(self._loop(), name="agent-simulator")

    async def stop(self, *, drain: bool = True) -> None:
        """Stop claiming; let in-flight runs finish (``drain``) or leave them for recovery."""
        self._stopping.set()
        if self._loop_task is not None:
            await self._loop_task
            self._loop_task = None
        tasks = list(self._inflight)
        if not drain:
            for task in tasks:
                task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _loop(self) -> None:
        while not self._stopping.is_set():
            free = self.max_concurrent - len(self._inflight)
            planned: list[tuple[ClaimedRun, Plan]] = []
            if free > 0:
                try:
                    planned = await self._claim(free)
                except DatabaseError:
                    logger.exception("claiming queued runs failed; retrying")
            for run, plan in planned:
                task = asyncio.create_task(self._execute(run, plan), name=f"run-{run.id}")
                self._inflight.add(task)
                task.add_done_callback(self._done)
            if planned and len(planned) == free:
                continue
            self._slot_freed.clear()
            waiters = [
                asyncio.ensure_future(self._stopping.wait()),
                asyncio.ensure_future(self._slot_freed.wait()),
            ]
            timeout = self.poll_interval if len(self._inflight) < self.max_concurrent else None
            await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waiters:
                waiter.cancel()

    def _done(self, task: asyncio.Task[SimulatedRun | None]) -> None:
        self._inflight.discard(task)
        self._slot_freed.set()
        if not task.cancelled() and task.exception() is not None:
            logger.error("simulated run failed", exc_info=task.exception())
