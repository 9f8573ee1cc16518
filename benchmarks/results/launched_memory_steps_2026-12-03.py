"""Which steps ran at the memory peaks of the latest run in $DAGSTER_HOME, from the samples of
`tree_memory_2026-12-03.py` and the run's event log; and which of the large-memory steps ran
at the same time.

    DAGSTER_HOME=<home>/dagster .venv/bin/python benchmarks/results/launched_memory_steps_2026-12-03.py OUT.json
"""

import json
import sys

import dagster as dg

LARGE = {
    "landing__bus_positions",
    "landing__card_taps",
    "bronze__bus_positions",
    "bronze__card_taps",
    "silver_bus_gps",
    "silver_onay_taps",
    "talent_matching",
}

with open(sys.argv[1]) as samples_file:
    measured = json.load(samples_file)
instance = dg.DagsterInstance.get()
run = instance.get_runs(limit=1)[0]
spans: dict[str, dict[str, float]] = {}
for record in instance.all_logs(run.run_id):
    event = record.dagster_event
    if event is None or event.step_key is None:
        continue
    kind = event.event_type_value
    if kind in ("STEP_WORKER_STARTING", "STEP_START"):
        spans.setdefault(event.step_key, {}).setdefault("start", record.timestamp)
    if kind in ("STEP_SUCCESS", "STEP_FAILURE"):
        spans[event.step_key]["end"] = record.timestamp


def running(at: float) -> tuple[str, ...]:
    return tuple(
        sorted(k for k, s in spans.items() if s["start"] <= at <= s.get("end", float("inf")))
    )


print(
    f"peak PSS of the tree {measured['peak_pss_gib']:.2f} GiB, RSS summed "
    f"{measured['peak_rss_sum_gib']:.2f}, largest process "
    f"{measured['largest_process_rss_gib']:.2f}; at the peak: {list(running(measured['at_pss']))}"
)
overlapping = sorted(
    (a, b)
    for a in LARGE
    for b in LARGE
    if a < b
    and a in spans
    and b in spans
    and spans[a]["start"] < spans[b].get("end", float("inf"))
    and spans[b]["start"] < spans[a].get("end", float("inf"))
)
print("large steps overlapping:", overlapping)
peaks: list[tuple[float, tuple[str, ...]]] = []
for sample in sorted(measured["samples"], key=lambda s: -s[2]):
    steps = running(sample[0])
    if steps not in [p[1] for p in peaks]:
        peaks.append((round(sample[2] / 2**30, 2), steps))
    if len(peaks) >= 5:
        break
for peak in peaks:
    print(" ", peak)
