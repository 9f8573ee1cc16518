"""What a mart's Great Expectations check costs in the daily run, and the DuckDB connection under
it: a connection that loads the lake's `delta` extension with DuckDB's signature check (what
every warehouse connection did), one that skips an extension already checked in this process,
and one that reads only the warehouse's own tables (what the checks, charts and gold now open).

    .venv/bin/python benchmarks/mart_checks.py --home .lakehouse [--repeats 3]

Needs a built warehouse in the home (`make run` builds one). Medians of --repeats, printed and
written to benchmarks/results/mart_checks.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from pipelines import duckdb_lake
from pipelines.quality import MART_SPECS, existing_marts, validate_mart
from pipelines.settings import PROJECT_ROOT, LakehouseSettings
from pipelines.warehouse import connect

RESULTS = PROJECT_ROOT / "benchmarks" / "results" / "mart_checks.json"


def median_s(run, repeats: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        run()
        times.append(time.perf_counter() - began)
    return round(statistics.median(times), 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    settings = LakehouseSettings(_env_file=None, home=args.home.resolve())  # type: ignore[call-arg]
    marts = sorted(set(MART_SPECS) & existing_marts(settings))
    if not marts:
        raise SystemExit(f"no marts in {settings.warehouse_path}: build them first (make run)")

    def open_close(**kwargs: bool) -> None:
        connect(settings, read_only=True, **kwargs).close()

    def checked_each_time() -> None:
        duckdb_lake._CHECKED.clear()  # as before: every connection checked the signature
        open_close(lake=True)

    validate_mart(settings, marts[0])  # imports and the first load out of the way
    record = {
        "home": str(settings.home),
        "repeats": args.repeats,
        "connection_s": {
            "lake extensions, signature checked (every connection before)": median_s(
                checked_each_time, args.repeats
            ),
            "lake extensions, checked once per process (now)": median_s(
                lambda: open_close(lake=True), args.repeats
            ),
            "warehouse tables only (checks, charts, gold now)": median_s(
                lambda: open_close(lake=False), args.repeats
            ),
        },
        "check_s": {
            m: median_s(lambda m=m: validate_mart(settings, m), args.repeats) for m in marts
        },
    }
    record["checks"] = len(marts)
    record["checks_total_s"] = round(sum(record["check_s"].values()), 2)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(record, indent=1))
    print(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
