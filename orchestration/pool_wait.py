"""A run whose steps wait for a pool's slot sleeps until its next claim, instead of spinning a core.

Dagster's executors (1.13; in-process and multiprocess) loop over the run's plan until a step
waiting for a pool (the warehouse's, `orchestration.partitions.WAREHOUSE_POOL`) claims a slot.
When nothing else is runnable, the loop never sleeps: the in-process executor sleeps for
`InstanceConcurrencyContext.interval_to_next_pending_claim_check()`, which returns
`min(0, ...)`, never more than 0 (dagster-io/dagster#20367 noticed it and was closed unmerged),
and the multiprocess executor has no sleep at all when no step is in flight. A run waiting for
the warehouse then burns one of this machine's two cores while the run holding the warehouse
builds its marts (a backfill beside the day's run). `install()` wraps the plan's
`get_steps_to_execute`, which both executors call on every turn of that loop: when it finds
nothing to run, no step is in flight and steps wait for a slot (or a retry), it sleeps until
the first of them is due, at most `MAX_WAIT_S`. Claims themselves are unchanged.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence

from dagster._core.execution.plan.active import ActiveExecution
from dagster._core.execution.plan.step import ExecutionStep

MAX_WAIT_S = 1.0  # the longest sleep between two turns of an executor with nothing to do


def seconds_to_next_claim(active: ActiveExecution) -> float:
    """How long a plan with nothing runnable and nothing in flight can sleep: until its first
    waiting step's next claim (or retry) is due, at most `MAX_WAIT_S`; 0 if none waits."""
    concurrency = active._instance_concurrency_context
    due = list(active._waiting_to_retry.values())
    if concurrency is not None and concurrency.has_pending_claims():
        due += list(concurrency._pending_timeouts.values())
    if not due:
        return 0.0
    return min(max(min(due) - time.time(), 0.0), MAX_WAIT_S)


def install() -> None:
    """Wrap `ActiveExecution.get_steps_to_execute` once per process."""
    original = ActiveExecution.get_steps_to_execute
    if getattr(original, "_sleeps_while_waiting", False):
        return

    @functools.wraps(original)
    def get_steps_to_execute(
        self: ActiveExecution, limit: int | None = None
    ) -> Sequence[ExecutionStep]:
        steps = original(self, limit)
        if not steps and not self._in_flight:
            wait = seconds_to_next_claim(self)
            if wait > 0:
                time.sleep(wait)
        return steps

    get_steps_to_execute._sleeps_while_waiting = True  # type: ignore[attr-defined]
    ActiveExecution.get_steps_to_execute = get_steps_to_execute  # type: ignore[method-assign]
