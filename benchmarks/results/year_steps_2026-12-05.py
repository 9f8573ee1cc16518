"""Where test_year's ten-month run goes: the `city_daily` job over a range of days in one run,
as `tests/integration/test_year.py` builds it, each step's wall time from the run's events.

    .venv/bin/python benchmarks/results/year_steps_2026-12-05.py [SCALE] [FIRST] [LAST]

Defaults: 0.01, 2020-03-01, 2020-12-31 (the test's year; ~24 min on this machine). A fresh
home in a temporary folder; the ML jobs track to a local store in it.
"""

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    given, defaults = sys.argv[1:4], ["0.01", "2020-03-01", "2020-12-31"]
    scale, first, last = given + defaults[len(given) :]
    for key in [k for k in os.environ if k.startswith("LAKEHOUSE_")]:
        del os.environ[key]
    home = Path(tempfile.mkdtemp(prefix="year-steps-")) / "home"
    os.environ.update(
        LAKEHOUSE_HOME=str(home),
        LAKEHOUSE_PSEUDONYM_KEY="benchmark-key-not-a-secret",
        LAKEHOUSE_SIMULATION_SCALE=scale,
        DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS="true",  # as the test and `lakehouse run`
    )
    sys.path.insert(0, str(ROOT))
    import dagster as dg
    from dagster._core.storage.tags import (
        ASSET_PARTITION_RANGE_END_TAG,
        ASSET_PARTITION_RANGE_START_TAG,
    )

    from orchestration.definitions import build_definitions
    from pipelines.settings import LakehouseSettings

    began = time.perf_counter()
    job = build_definitions(LakehouseSettings(_env_file=None)).resolve_job_def("city_daily")  # type: ignore[call-arg]
    instance = dg.DagsterInstance.ephemeral()
    result = job.execute_in_process(
        instance=instance,
        tags={ASSET_PARTITION_RANGE_START_TAG: first, ASSET_PARTITION_RANGE_END_TAG: last},
    )
    total = time.perf_counter() - began
    started: dict[str, float] = {}
    seconds: dict[str, float] = {}
    materialised = 0
    for record in instance.all_logs(result.run_id):
        event = record.dagster_event
        if event is None or event.step_key is None:
            continue
        if event.event_type_value == "STEP_START":
            started[event.step_key] = record.timestamp
        elif event.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE"):
            seconds[event.step_key] = record.timestamp - started[event.step_key]
        elif event.event_type_value == "ASSET_MATERIALIZATION":
            materialised += 1
    print(
        f"success {result.success}: {total:.1f} s in all, {sum(seconds.values()):.1f} s in "
        f"steps, {materialised} materialisation events ({home})"
    )
    for step, value in sorted(seconds.items(), key=lambda item: -item[1]):
        print(f"{value:8.1f}  {step}")


if __name__ == "__main__":
    main()
