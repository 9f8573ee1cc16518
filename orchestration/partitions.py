"""The calendar every source shares: one partition per local day in Almaty."""

from __future__ import annotations

from datetime import date, timedelta

import dagster as dg

daily_partitions = dg.DailyPartitionsDefinition(start_date="2019-01-01", timezone="Asia/Almaty")

# A backfill of many days runs as one run, so Spark starts once, not once a day.
single_run = dg.BackfillPolicy.single_run()

# A step that meets an unreachable object store (MinIO restarting, a network blip) is tried
# again after about 10, 20 and 40 s. A delivery that breaks its contract is not retried: the
# assets raise it as a `dg.Failure` that allows no retry (`no_retry_on_contract_error`).
lake_retry = dg.RetryPolicy(
    max_retries=3, delay=10, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)


# Concurrency pools (instance config: one step at a time per pool, `orchestration.instance`),
# so that a backfill and the daily schedule can run at once without meeting on shared state:
# the DuckDB warehouse takes one writer and no reader beside it; a source's landing, bronze
# and silver steps of two runs would replace the same tables; the ML jobs share their gold
# tables and MLflow's store.
WAREHOUSE_POOL = "warehouse"
ML_POOL = "ml"

# Steps that hold a full-scale day of the largest sources in memory, ~2.5-3 GiB each at 1x: the
# transit landings (each simulates the city's buses and riders), their bronze and silver, and
# the talent matching (its model and encodings). A run with a process per step runs them one
# at a time (the executor's tag limit, `orchestration.definitions`), so that two of them never
# add up on one node; other steps still run beside them. Two at once took the launched daily
# run's process tree to 5.4 GiB (BENCHMARKS.md, "The daily run as the schedule launches it").
MEMORY_TAG = "lakehouse/memory"
LARGE_MEMORY = {MEMORY_TAG: "large"}
LARGE_MEMORY_SOURCES = frozenset({"bus_gps", "onay_taps"})


def lake_pool(name: str) -> str:
    """The pool of the steps that write one source's (or the transit feed's) tables."""
    return f"lake_{name}"


def partition_days(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> list[date]:
    """The days of the partition (range) a run materialises, in order."""
    window = context.partition_time_window  # type: ignore[union-attr]
    first, end = window.start.date(), window.end.date()
    return [first + timedelta(days=i) for i in range((end - first).days)]


def run_partition_days(context: dg.AssetCheckExecutionContext) -> list[date] | None:
    """The days a check's run materialised (its partition, or its range), from the run's tags;
    None for a run of the check alone, which then covers every day."""
    from dagster._core.storage.tags import (
        ASSET_PARTITION_RANGE_END_TAG,
        ASSET_PARTITION_RANGE_START_TAG,
        PARTITION_NAME_TAG,
    )

    tags = context.run.tags
    if PARTITION_NAME_TAG in tags:
        first = last = tags[PARTITION_NAME_TAG]
    elif ASSET_PARTITION_RANGE_START_TAG in tags:
        first, last = tags[ASSET_PARTITION_RANGE_START_TAG], tags[ASSET_PARTITION_RANGE_END_TAG]
    else:
        return None
    keys = daily_partitions.get_partition_keys_in_range(dg.PartitionKeyRange(first, last))
    return [date.fromisoformat(key) for key in keys]
