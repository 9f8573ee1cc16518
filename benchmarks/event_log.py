"""What Dagster costs to record a run over a range of days: one materialisation per asset and
day (a year of the daily graph: ~60 assets x 306 days, ~18,000 events, each written to the
instance's event log before the step goes on).

    .venv/bin/python benchmarks/event_log.py [--assets 20] [--days 31] [--repeats 3]

The same partitioned multi-asset run over `--days` days (a run with a partition range, as a
backfill or `lakehouse run --start --end` makes) on three instances, each in a fresh home:
- **Dagster's SQLite** storage, the default of a `dagster.yaml` without `storage`;
- **the lakehouse's** (`orchestration.instance_storage`, what `lakehouse run`, the daemon and
  the UI use locally): the same files, connections kept open, WAL commits not synced;
- **in memory** (`DagsterInstance.ephemeral()`, nothing on disk): the reference, what the
  bookkeeping costs in Python alone.
Medians of --repeats, in ms per materialisation event; printed and written to
benchmarks/results/event_log.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)

from orchestration.cli import dagster_yaml
from pipelines.settings import PROJECT_ROOT

RESULTS = PROJECT_ROOT / "benchmarks" / "results" / "event_log.json"
FIRST_DAY = date(2020, 3, 1)
INSTANCES = ("dagster_sqlite", "lakehouse", "in_memory")


def _marts(assets: int) -> dg.AssetsDefinition:
    specs = [dg.AssetSpec(f"mart_{i:02d}") for i in range(assets)]

    @dg.multi_asset(
        specs=specs,
        partitions_def=dg.DailyPartitionsDefinition(start_date=FIRST_DAY.isoformat()),
        backfill_policy=dg.BackfillPolicy.single_run(),
        name="marts",
    )
    def marts() -> object:
        for spec in specs:
            yield dg.MaterializeResult(asset_key=spec.key)

    return marts


def _instance(kind: str, home: Path) -> dg.DagsterInstance:
    if kind == "in_memory":
        return dg.DagsterInstance.ephemeral()
    yaml = dagster_yaml(home) if kind == "lakehouse" else "telemetry:\n  enabled: false\n"
    (home / "dagster.yaml").write_text(yaml)
    return dg.DagsterInstance.from_config(str(home))


def record_once(kind: str, marts: dg.AssetsDefinition, days: int) -> tuple[float, int]:
    """Seconds of one range run on a fresh instance of `kind`, and its materialisations."""
    last = FIRST_DAY + timedelta(days=days - 1)
    with tempfile.TemporaryDirectory() as home, _instance(kind, Path(home)) as instance:
        began = time.perf_counter()
        result = dg.materialize(
            [marts],
            instance=instance,
            tags={
                ASSET_PARTITION_RANGE_START_TAG: FIRST_DAY.isoformat(),
                ASSET_PARTITION_RANGE_END_TAG: last.isoformat(),
            },
            raise_on_error=True,
        )
        seconds = time.perf_counter() - began
        (run,) = instance.get_runs()
        stored = instance.get_records_for_run(
            run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION, limit=100_000
        ).records
        if not result.success or len(stored) != len(marts.keys) * days:
            raise SystemExit(f"{kind}: {len(stored)} materialisations stored")
        return seconds, len(stored)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--assets", type=int, default=20)
    parser.add_argument("--days", type=int, default=31)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    # As `lakehouse run` sets it: a range run plans each asset once, not once per day.
    os.environ["DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS"] = "true"
    marts = _marts(args.assets)
    seconds: dict[str, list[float]] = {kind: [] for kind in INSTANCES}
    events = 0
    for repeat in range(args.repeats):
        for kind in INSTANCES:  # alternating: the machine's speed drifts
            took, events = record_once(kind, marts, args.days)
            seconds[kind].append(took)
            print(f"#{repeat + 1} {kind}: {events} materialisations in {took:.1f} s", flush=True)
    per_event = {k: round(1000 * statistics.median(v) / events, 2) for k, v in seconds.items()}
    record = {
        "command": " ".join(["benchmarks/event_log.py", *sys.argv[1:]]),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, Dagster {dg.__version__}",
        "measured": time.strftime("%Y-%m-%d %H:%M"),
        "assets": args.assets,
        "days": args.days,
        "materialisations_per_run": events,
        "repeats": args.repeats,
        "run_seconds": seconds,
        "ms_per_materialisation": per_event,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=1) + "\n")
    reference = per_event["in_memory"]
    print(f"\n| instance | ms per materialisation (median of {args.repeats}) | vs in memory |")
    print("|---|---|---|")
    for kind in INSTANCES:
        print(f"| {kind} | {per_event[kind]} | {per_event[kind] / reference:.2f}x |")


if __name__ == "__main__":
    main()
