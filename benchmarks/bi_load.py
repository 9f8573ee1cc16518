"""BI load: many dashboard users at once on the warehouse, the way a BI tool serves them.

    .venv/bin/python benchmarks/bi_load.py [WAREHOUSE] [--clients 20] [--seconds 60]

Each client is a process of its own (a BI server's worker, or a person's desktop tool) with
its own read-only SQLAlchemy + duckdb-engine connection (Superset's driver). For `--seconds`
every client runs the dashboard's queries (`pipelines.dashboards.DASHBOARD_QUERIES`) one
after another, in its own shuffled order, and records each query's latency and any error.
The reference, in the same run on the same file: one client alone for the same time.

Prints a Markdown table and writes benchmarks/results/bi_load.json: per query and overall,
p50/p95/p99 latency, queries served, errors, for the loaded run and the lone client.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import random
import statistics
import sys
import time
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipelines.dashboards import DASHBOARD_QUERIES  # noqa: E402
from pipelines.settings import LakehouseSettings  # noqa: E402


def client(warehouse: str, seconds: float, seed: int, start_at: float, out: mp.Queue) -> None:  # type: ignore[type-arg]
    """One BI user: connect, then run the dashboard queries until the time is up."""
    from sqlalchemy import text

    from pipelines.dashboards import read_only_engine

    samples: list[tuple[str, float]] = []
    errors: list[str] = []
    names = list(DASHBOARD_QUERIES)
    rng = random.Random(seed)
    try:
        engine = read_only_engine(warehouse)
        with engine.connect() as conn:
            while time.time() < start_at:  # every client starts together
                time.sleep(0.01)
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                rng.shuffle(names)
                for name in names:
                    began = time.perf_counter()
                    try:
                        conn.execute(text(DASHBOARD_QUERIES[name])).fetchall()
                        samples.append((name, time.perf_counter() - began))
                    except Exception as error:  # recorded, counted, never hidden
                        errors.append(f"{name}: {error}")
        engine.dispose()
    except Exception as error:
        errors.append(f"connect: {error}")
    out.put({"samples": samples, "errors": errors})


def run_clients(warehouse: Path, clients: int, seconds: float) -> dict[str, object]:
    ctx = mp.get_context("spawn")
    queue: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
    start_at = time.time() + 5 + clients * 0.3  # time for every process to import and connect
    procs = [
        ctx.Process(target=client, args=(str(warehouse), seconds, n, start_at, queue))
        for n in range(clients)
    ]
    for p in procs:
        p.start()
    results = [queue.get(timeout=seconds + 300) for _ in procs]
    for p in procs:
        p.join(60)
    samples = [s for r in results for s in r["samples"]]
    errors = [e for r in results for e in r["errors"]]
    return {
        "clients": clients,
        "seconds": seconds,
        "queries_served": len(samples),
        "queries_per_second": round(len(samples) / seconds, 1),
        "errors": len(errors),
        "error_examples": errors[:5],
        "overall": _summary([s for _, s in samples]),
        "per_query": {
            name: _summary([s for n, s in samples if n == name]) for name in DASHBOARD_QUERIES
        },
    }


def _summary(seconds: list[float]) -> dict[str, float | int]:
    if not seconds:
        return {"n": 0}
    ms = sorted(s * 1000 for s in seconds)
    q = statistics.quantiles(ms, n=100, method="inclusive") if len(ms) > 1 else [ms[0]] * 99
    return {
        "n": len(ms),
        "p50_ms": round(statistics.median(ms), 2),
        "p95_ms": round(q[94], 2),
        "p99_ms": round(q[98], 2),
        "max_ms": round(ms[-1], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("warehouse", nargs="?", type=Path, default=None)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument(
        "--out", type=Path, default=ROOT / "benchmarks" / "results" / "bi_load.json"
    )
    args = parser.parse_args()
    warehouse: Path = (args.warehouse or LakehouseSettings().warehouse_path).resolve()
    if not warehouse.exists():
        raise SystemExit(f"no warehouse at {warehouse}; build the marts first (lakehouse run)")

    print(f"one client alone for {args.seconds:.0f} s (the reference) ...", flush=True)
    alone = run_clients(warehouse, 1, args.seconds)
    print(f"{args.clients} clients at once for {args.seconds:.0f} s ...", flush=True)
    loaded = run_clients(warehouse, args.clients, args.seconds)
    record = {
        "command": " ".join(["benchmarks/bi_load.py", *sys.argv[1:]]),
        "warehouse": str(warehouse),
        "warehouse_mb": round(warehouse.stat().st_size / 2**20, 1),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
        "versions": {p: version(p) for p in ("duckdb", "duckdb-engine", "sqlalchemy")},
        "alone": alone,
        "loaded": loaded,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n")

    print(
        f"\n{args.clients} BI clients vs one alone, {args.seconds:.0f} s each, on "
        f"{warehouse} ({record['warehouse_mb']} MB); ms\n"
    )
    print(f"| query | alone p50 | alone p95 | {args.clients} clients p50 | p95 | p99 |")
    print("|---|---|---|---|---|---|")
    for name in DASHBOARD_QUERIES:
        a, b = alone["per_query"][name], loaded["per_query"][name]  # type: ignore[index]
        print(
            f"| `{name}` | {a.get('p50_ms')} | {a.get('p95_ms')} | {b.get('p50_ms')} "
            f"| {b.get('p95_ms')} | {b.get('p99_ms')} |"
        )
    a, b = alone["overall"], loaded["overall"]
    print(
        f"| all queries | {a.get('p50_ms')} | {a.get('p95_ms')} | {b.get('p50_ms')} "
        f"| {b.get('p95_ms')} | {b.get('p99_ms')} |"
    )
    print(
        f"\nserved: alone {alone['queries_served']} ({alone['queries_per_second']}/s), "
        f"{args.clients} clients {loaded['queries_served']} ({loaded['queries_per_second']}/s); "
        f"errors: {alone['errors']} alone, {loaded['errors']} loaded; written to {args.out}"
    )
    if loaded["errors"] or alone["errors"]:
        raise SystemExit(
            f"errors under load: {loaded['error_examples'] or alone['error_examples']}"
        )


if __name__ == "__main__":
    main()
