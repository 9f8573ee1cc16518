"""What a run over a range of days pays per partition in Dagster's event log: two partitioned
assets (single-run backfill policy, no IO manager) over 306 days on an ephemeral instance, with
one "materialisation planned" event per asset and day (Dagster's default) or one per asset
(`DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS`, as `lakehouse run` sets it).

    .venv/bin/python benchmarks/results/planned_events_2026-12-05.py
"""

import os
import subprocess
import sys
import time

CHILD = """
import time
import dagster as dg
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)

days = dg.DailyPartitionsDefinition(start_date="2020-01-01")
policy = dg.BackfillPolicy.single_run()


@dg.asset(partitions_def=days, backfill_policy=policy)
def a() -> None:
    return None


@dg.asset(partitions_def=days, backfill_policy=policy, deps=[a])
def b() -> None:
    return None


job = dg.Definitions(
    assets=[a, b], jobs=[dg.define_asset_job("j", partitions_def=days)]
).resolve_job_def("j")
tags = {ASSET_PARTITION_RANGE_START_TAG: "2020-01-01", ASSET_PARTITION_RANGE_END_TAG: "2020-11-01"}
job.execute_in_process(instance=dg.DagsterInstance.ephemeral(), tags=tags)  # warm
began = time.perf_counter()
job.execute_in_process(instance=dg.DagsterInstance.ephemeral(), tags=tags)
print(round(time.perf_counter() - began, 2))
"""


def main() -> None:
    for _ in range(2):
        for per_range in ("false", "true"):
            env = {**os.environ, "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS": per_range}
            began = time.perf_counter()
            out = subprocess.run(
                [sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, check=True
            )
            seconds = out.stdout.strip().splitlines()[-1]
            print(
                f"planned events per range={per_range}: run {seconds} s "
                f"(process {time.perf_counter() - began:.1f} s)"
            )


if __name__ == "__main__":
    main()
