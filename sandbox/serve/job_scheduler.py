"""The job scheduler: runs plugins' scheduled jobs when they are due (upstream's
``PluginJobScheduler``).

Each ``tick`` claims the due jobs of the plugins whose workers this host runs (a plugin whose
worker is not running is skipped, as upstream does), and for each claimed run: marks it
``running``, calls the worker's ``runJob`` with ``{job: {jobKey, runId, trigger, scheduledAt}}``
under the job timeout, and records ``succeeded``, or ``failed`` with the error message (a timeout
is upstream's ``RPC call "runJob" timed out after <n>ms``). As upstream, a tick waits for the
runs it started, and ticks never overlap.

Claims are exclusive across every scheduler on the database (``core.plugin_jobs.
claim_due_jobs``), so several ``sandbox serve`` hosts sharing one database run each due
occurrence once. Time comes from the ``clock`` given, so tests drive the schedule without
sleeping; only the job timeout and the tick interval are measured in real seconds. A run left
``running`` by a killed host is failed as lost once it is older than the timeout plus
``LOST_RUN_MARGIN``, and its job is claimed again.

Beyond upstream: ``start`` ticks once right away (then every ``tick_interval``), and ``stop``
waits for in-flight runs (or, after ``grace`` seconds, cancels them and records them
``cancelled``, the status upstream gives runs a host abandons) so no run is left ``running``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from core.plugin_jobs import (
    JOB_TIMEOUT,
    LOST_RUN_MARGIN,
    ClaimedRun,
    JobRunRecord,
    claim_due_jobs,
    finish_run,
    start_run,
)
from core.plugin_registry import list_plugins
from sandbox.plugin_host import ActivePlugin, PluginHost
from sandbox.worker_process import WorkerStatus

logger = logging.getLogger(__name__)

#: The error of a run the scheduler gave up on while stopping.
STOPPED_MESSAGE = "Job scheduler stopped before the run finished"


class JobScheduler:
    """Runs due plugin jobs on ``host``'s workers.

    Args:
        host: the plugin host whose running workers get the jobs.
        clock: the current time (aware UTC); decides which jobs are due.
        tick_interval: seconds between ticks of the background loop (``start``).
        max_concurrent: at most this many runs at once.
        timeout: seconds a ``runJob`` call may take before its run is recorded failed.
    """

    def __init__(
        self,
        host: PluginHost,
        *,
        clock: Callable[[], datetime],
        tick_interval: float = 30.0,
        max_concurrent: int = 10,
        timeout: float = JOB_TIMEOUT.total_seconds(),
    ) -> None:
        self.host = host
        self.clock = clock
        self.tick_interval = tick_interval
        self.max_concurrent = max_concurrent
        self.timeout = timeout
        self._in_flight: set[asyncio.Task[JobRunRecord]] = set()
        self._tick_lock = asyncio.Lock()
        self._loop: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def running(self) -> bool:
        """Whether the background loop is running."""
        return self._loop is not None and not self._loop.done()

    async def tick(self) -> list[JobRunRecord]:
        """Claim the jobs due at ``clock()``, run them, and return their finished runs."""
        if self._stopping:
            return []
        async with self._tick_lock:
            workers = await self._running_plugins()
            claimed = await claim_due_jobs(
                self.host.db,
                now=self.clock(),
                plugin_ids=list(workers),
                limit=self.max_concurrent - len(self._in_flight),
                # a run older than any run of ours can last was left by a dead host
                lost_after=timedelta(seconds=self.timeout) + LOST_RUN_MARGIN,
            )
            tasks = [self._spawn(claim, workers[claim.run.plugin_id]) for claim in claimed]
            if not tasks:
                return []
            # asyncio.wait, not gather: a cancelled tick (stop) leaves the runs to finish
            await asyncio.wait(tasks)
            return [task.result() for task in tasks if not task.cancelled()]

    def start(self) -> None:
        """Tick now and then every ``tick_interval`` seconds, in the background (idempotent)."""
        if self.running:
            return
        self._stopping = False
        self._loop = asyncio.create_task(self._run_loop(), name="job-scheduler")

    async def stop(self, *, grace: float | None = None) -> None:
        """Stop claiming; wait for in-flight runs (at most ``grace`` seconds, then cancel them,
        recording them ``cancelled``)."""
        self._stopping = True
        if self._loop is not None:
            self._loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop
            self._loop = None
        pending = set(self._in_flight)
        if not pending:
            return
        _, late = await asyncio.wait(pending, timeout=grace)
        for task in late:
            task.cancel()
        if late:
            await asyncio.wait(late)

    async def _run_loop(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception:  # a tick error must not end the loop; upstream logs it too
                logger.exception("job scheduler tick failed")
            await asyncio.sleep(self.tick_interval)

    async def _running_plugins(self) -> dict[str, ActivePlugin]:
        running: dict[str, ActivePlugin] = {}
        for plugin in await list_plugins(self.host.db):
            active = self.host.active(plugin.id)
            if active is not None and active.worker.status is WorkerStatus.RUNNING:
                running[plugin.id] = active
        return running

    def _spawn(self, claim: ClaimedRun, active: ActivePlugin) -> asyncio.Task[JobRunRecord]:
        task = asyncio.create_task(self._execute(claim, active))
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)
        return task

    async def _execute(self, claim: ClaimedRun, active: ActivePlugin) -> JobRunRecord:
        db = self.host.db
        run = claim.run
        job = {
            "jobKey": run.job_key,
            "runId": run.id,
            "trigger": run.trigger,
            "scheduledAt": claim.scheduled_at.isoformat().replace("+00:00", "Z"),
        }
        try:
            await start_run(db, run.id, now=self.clock())
            await active.worker.call("runJob", {"job": job}, timeout=self.timeout)
        except asyncio.CancelledError:
            await finish_run(
                db, run.id, now=self.clock(), status="cancelled", error=STOPPED_MESSAGE
            )
            raise
        except Exception as error:
            logger.warning("job %s of plugin %s failed: %s", run.job_key, run.plugin_id, error)
            return await finish_run(
                db, run.id, now=self.clock(), status="failed", error=_message(error)
            )
        return await finish_run(db, run.id, now=self.clock(), status="succeeded")


def _message(error: BaseException) -> str:
    message = getattr(error, "message", None)
    return message if isinstance(message, str) else str(error) or type(error).__name__
