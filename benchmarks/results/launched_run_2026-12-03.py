"""The latest run in $DAGSTER_HOME, read from its event log: the run's wall time; each step's
process start (STEP_WORKER_STARTING -> STEP_START: a fresh Python, the definitions) and own
time; and the time no step was running at all (a step ready but waiting for its pool's slot:
Dagster re-polls a blocked claim at intervals growing to 15 s).

    DAGSTER_HOME=<home>/dagster .venv/bin/python benchmarks/results/launched_run_2026-12-03.py
"""

import statistics
from collections import defaultdict

import dagster as dg

instance = dg.DagsterInstance.get()
run = instance.get_runs(limit=1)[0]
records = instance.all_logs(run.run_id)
steps: dict[str, dict[str, float]] = defaultdict(dict)
for record in records:
    event = record.dagster_event
    if event is None or event.step_key is None:
        continue
    kind = event.event_type_value
    steps[event.step_key].setdefault(kind, record.timestamp)
    if kind in ("STEP_SUCCESS", "STEP_FAILURE"):
        steps[event.step_key]["END"] = record.timestamp
stats = instance.get_run_stats(run.run_id)
starts = [
    s["STEP_START"] - s["STEP_WORKER_STARTING"]
    for s in steps.values()
    if "STEP_WORKER_STARTING" in s
]
own = sum(s["END"] - s["STEP_START"] for s in steps.values())
idle, end = 0.0, records[0].timestamp
for begin, finish in sorted(
    (s.get("STEP_WORKER_STARTING", s["STEP_START"]), s["END"]) for s in steps.values()
):
    idle += max(0.0, begin - end)
    end = max(end, finish)
print(
    f"run {run.run_id[:8]} {run.status.value}: wall {stats.end_time - stats.start_time:.1f} s, {len(steps)} steps"
)
print(f"  steps' own time, summed: {own:.1f} s")
if starts:
    print(
        f"  step process start: median {statistics.median(starts):.2f} s, summed {sum(starts):.1f} s"
    )
print(f"  no step running: {idle:.1f} s")
