"""Latency of the city dashboard's queries (`pipelines.dashboards.DASHBOARD_QUERIES`) the way a
BI tool runs them, through SQLAlchemy + duckdb-engine (Superset's driver), beside the same
queries through the `duckdb` Python API: both read-only, one connection each, warm.

    .venv/bin/python benchmarks/dashboard_latency.py [WAREHOUSE] [--runs 20] [--out FILE]

WAREHOUSE defaults to the embedded warehouse (`LakehouseSettings().warehouse_path`). Each query
runs once cold (reported as `first_ms`), then `--runs` times; p50/p95 are over those runs.
Prints a Markdown table and writes benchmarks/results/dashboard_latency.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402
from sqlalchemy import text  # noqa: E402

from pipelines.dashboards import DASHBOARD_QUERIES, read_only_engine  # noqa: E402
from pipelines.settings import LakehouseSettings  # noqa: E402


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def summarise(first: float, samples: list[float], rows: int) -> dict[str, float | int]:
    if len(samples) > 1:
        p95 = statistics.quantiles(samples, n=100, method="inclusive")[94]
    else:
        p95 = samples[0]
    return {
        "rows": rows,
        "first_ms": _ms(first),
        "p50_ms": _ms(statistics.median(samples)),
        "p95_ms": _ms(p95),
        "max_ms": _ms(max(samples)),
    }


def measure(run: Callable[[str], int], runs: int) -> dict[str, dict[str, float | int]]:
    """Time every dashboard query through `run(sql) -> rows fetched`."""
    results = {}
    for name, sql in DASHBOARD_QUERIES.items():
        began = time.perf_counter()
        rows = run(sql)
        first = time.perf_counter() - began
        samples = []
        for _ in range(runs):
            began = time.perf_counter()
            run(sql)
            samples.append(time.perf_counter() - began)
        results[name] = summarise(first, samples, rows)
    return results


def through_sqlalchemy(warehouse: Path, runs: int) -> tuple[float, dict]:  # type: ignore[type-arg]
    began = time.perf_counter()
    engine = read_only_engine(warehouse)
    try:
        with engine.connect() as conn:
            connect_s = time.perf_counter() - began
            return connect_s, measure(lambda sql: len(conn.execute(text(sql)).fetchall()), runs)
    finally:
        engine.dispose()


def through_duckdb(warehouse: Path, runs: int) -> tuple[float, dict]:  # type: ignore[type-arg]
    began = time.perf_counter()
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        connect_s = time.perf_counter() - began
        return connect_s, measure(lambda sql: len(conn.execute(sql).fetchall()), runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("warehouse", nargs="?", type=Path, default=None)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument(
        "--out", type=Path, default=ROOT / "benchmarks" / "results" / "dashboard_latency.json"
    )
    args = parser.parse_args()
    warehouse: Path = (args.warehouse or LakehouseSettings().warehouse_path).resolve()
    if not warehouse.exists():
        raise SystemExit(f"no warehouse at {warehouse}; build the marts first (lakehouse run)")

    # One side at a time: DuckDB refuses a second in-process connection to the same file with
    # a different configuration (duckdb-engine sets its own user agent).
    sqlalchemy_connect_s, by_sqlalchemy = through_sqlalchemy(warehouse, args.runs)
    duckdb_connect_s, by_duckdb = through_duckdb(warehouse, args.runs)

    record = {
        "command": " ".join(["benchmarks/dashboard_latency.py", *sys.argv[1:]]),
        "warehouse": str(warehouse),
        "warehouse_mb": round(warehouse.stat().st_size / 2**20, 1),
        "runs": args.runs,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
        "versions": {p: version(p) for p in ("duckdb", "duckdb-engine", "sqlalchemy")},
        "connect_ms": {
            "sqlalchemy_duckdb_engine": _ms(sqlalchemy_connect_s),
            "duckdb": _ms(duckdb_connect_s),
        },
        "queries": {
            name: {"sqlalchemy_duckdb_engine": by_sqlalchemy[name], "duckdb": by_duckdb[name]}
            for name in DASHBOARD_QUERIES
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n")

    print(
        f"\nDashboard queries on {warehouse} ({record['warehouse_mb']} MB), "
        f"{args.runs} warm runs each; ms\n"
    )
    print("| query | rows | SQLAlchemy p50 | SQLAlchemy p95 | duckdb p50 | duckdb p95 |")
    print("|---|---|---|---|---|---|")
    for name in DASHBOARD_QUERIES:
        a, b = by_sqlalchemy[name], by_duckdb[name]
        print(
            f"| `{name}` | {a['rows']:,} | {a['p50_ms']} | {a['p95_ms']} "
            f"| {b['p50_ms']} | {b['p95_ms']} |"
        )
    print(
        f"\nconnect: SQLAlchemy + duckdb-engine {record['connect_ms']['sqlalchemy_duckdb_engine']} ms, "
        f"duckdb {record['connect_ms']['duckdb']} ms; written to {args.out}"
    )


if __name__ == "__main__":
    main()
