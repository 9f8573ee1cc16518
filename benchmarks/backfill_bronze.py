"""Bronze over a backfill: every source's days loaded in one Delta commit per ~2 million landing
rows (`pipelines.ingest.BATCH_ROWS`, what the bronze assets do) beside one commit per day (the
reference: what they did before), on the same landed files, the same lake, the same run.

    .venv/bin/python benchmarks/backfill_bronze.py [--start 2020-03-01 --end 2020-03-31]
        [--scale 0.02] [--repeat 3]

Prints a Markdown table and writes benchmarks/results/backfill_bronze.json. Both ways must
leave the same bronze tables (row counts per table and day); the script fails otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipelines.ingest import BATCH_ROWS, QUARANTINE_TABLE, ingest_days  # noqa: E402
from pipelines.lake import Lake  # noqa: E402
from pipelines.settings import LakehouseSettings  # noqa: E402
from pipelines.silver_run import all_sources, land  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "backfill_bronze.json"
WAYS = {"batched": BATCH_ROWS, "per_day": 1}  # batch_rows=1: every day is its own batch


def load(lake: Lake, days: list[date], batch_rows: int) -> dict[str, float]:
    """Bronze of every source over the days from scratch; seconds per source."""
    shutil.rmtree(Path(lake.root) / "bronze", ignore_errors=True)
    lake.ensure_ready()
    seconds = {}
    for source in all_sources():
        began = time.perf_counter()
        for _ in ingest_days(lake, source.contract, days, batch_rows=batch_rows):
            pass
        seconds[source.name] = time.perf_counter() - began
    return seconds


def bronze_counts(lake: Lake) -> dict[str, int]:
    counts = {}
    for source in all_sources():
        table = source.contract.table
        counts[table] = lake.read("bronze", table, columns=["landing_date"]).num_rows
    if lake.table_exists("bronze", QUARANTINE_TABLE):
        quarantine = lake.read("bronze", QUARANTINE_TABLE, columns=["rule"])
        counts[QUARANTINE_TABLE] = quarantine.num_rows
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", default="2020-03-01")
    parser.add_argument("--end", default="2020-03-31")
    parser.add_argument("--scale", type=float, default=0.02)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    first, last = date.fromisoformat(args.start), date.fromisoformat(args.end)
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    os.environ.setdefault("LAKEHOUSE_PSEUDONYM_KEY", "benchmark-key-not-a-secret")

    with tempfile.TemporaryDirectory() as tmp:
        settings = LakehouseSettings(_env_file=None, home=Path(tmp))  # type: ignore[call-arg]
        if settings.is_s3:
            raise SystemExit("a local lake only: unset LAKEHOUSE_LAKE_URI")
        lake = Lake(settings)
        lake.ensure_ready()
        landed = {}
        for source in all_sources():
            landed[source.name] = sum(
                land(lake, source, day, settings.simulation_seed, args.scale) for day in days
            )
            print(f"landed {source.name}: {landed[source.name]:,} rows", flush=True)
        runs: dict[str, list[dict[str, float]]] = {way: [] for way in WAYS}
        counts = {}
        for n in range(args.repeat):
            for way, batch_rows in WAYS.items():
                runs[way].append(load(lake, days, batch_rows))
                counts[way] = bronze_counts(lake)
                print(f"run {n + 1} {way}: {sum(runs[way][-1].values()):.1f} s", flush=True)
        if counts["batched"] != counts["per_day"]:
            raise SystemExit(f"bronze differs between the two ways: {counts}")

    median = {
        way: {s: round(statistics.median(r[s] for r in runs[way]), 2) for s in landed}
        for way in WAYS
    }
    result = {
        "command": "benchmarks/backfill_bronze.py " + " ".join(sys.argv[1:]),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}",
        "measured": date.today().isoformat(),
        "days": len(days),
        "scale": args.scale,
        "repeat": args.repeat,
        "batch_rows": BATCH_ROWS,
        "rows_landed": landed,
        "seconds": median,
        "bronze_rows": counts["batched"],
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=1))

    print(f"\n{len(days)} days at scale {args.scale}, medians of {args.repeat} runs\n")
    print("| source | rows landed | one commit per batch (s) | one commit per day (s) | ratio |")
    print("|---|---|---|---|---|")
    for name, rows in landed.items():
        batched, per_day = median["batched"][name], median["per_day"][name]
        print(f"| `{name}` | {rows:,} | {batched} | {per_day} | {per_day / batched:.2f}x |")
    total_b, total_d = sum(median["batched"].values()), sum(median["per_day"].values())
    print(
        f"| all | {sum(landed.values()):,} | {total_b:.1f} | {total_d:.1f} | "
        f"{total_d / total_b:.2f}x |"
    )


if __name__ == "__main__":
    main()
