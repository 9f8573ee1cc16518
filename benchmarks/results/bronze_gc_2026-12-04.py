"""Bronze ingest of a full-scale day with and without the imports frozen for the collector.

    .venv/bin/python benchmarks/results/bronze_gc_2026-12-04.py land <home> <source>
    .venv/bin/python benchmarks/results/bronze_gc_2026-12-04.py ingest <home> <source> {plain,frozen}

`ingest` runs in a fresh process with the suite's child imports loaded (as its fork server
has them), optionally `gc.collect(); gc.freeze()` after them, then `ingest_day` of the landed
day once to warm up and three times timed; it prints the median and the full collections'
count and seconds (`gc.callbacks`).
"""

import gc
import json
import os
import statistics
import sys
import time
from datetime import date
from pathlib import Path

os.environ.setdefault("LAKEHOUSE_PSEUDONYM_KEY", "benchmark-key-not-a-secret")
import deltalake  # noqa: E402,F401
import duckdb  # noqa: E402,F401
import numpy  # noqa: E402,F401
import polars  # noqa: E402,F401
import pyarrow  # noqa: E402,F401

import pipelines.silver_run  # noqa: E402,F401
from pipelines.ingest import ingest_day  # noqa: E402
from pipelines.lake import Lake  # noqa: E402
from pipelines.settings import LakehouseSettings  # noqa: E402
from pipelines.silver_run import all_sources, land  # noqa: E402

DAY = date(2020, 3, 2)
command, home, name = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
lake = Lake(LakehouseSettings(_env_file=None, home=home, lake_uri=str(home / "lake")))  # type: ignore[call-arg]
source = next(s for s in all_sources() if s.name == name)
if command == "land":
    lake.ensure_ready()
    print(land(lake, source, DAY, 42, 1.0))
    sys.exit()
if sys.argv[4] == "frozen":
    gc.collect()
    gc.freeze()
full = {"n": 0, "s": 0.0}
began: list[float] = []


def watch(phase: str, info: dict) -> None:
    if info["generation"] != 2:
        return
    if phase == "start":
        began.append(time.perf_counter())
    else:
        full["n"] += 1
        full["s"] += time.perf_counter() - began.pop()


ingest_day(lake, source.contract, DAY)
gc.callbacks.append(watch)
seconds = []
for _ in range(3):
    start = time.perf_counter()
    ingest_day(lake, source.contract, DAY)
    seconds.append(time.perf_counter() - start)
print(
    json.dumps(
        {
            "source": name,
            "mode": sys.argv[4],
            "median_s": round(statistics.median(seconds), 3),
            "runs_s": [round(s, 3) for s in seconds],
            "full_collections": full["n"],
            "full_collection_s": round(full["s"], 3),
        }
    )
)
