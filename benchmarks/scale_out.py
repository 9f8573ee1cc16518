"""The silver jobs on a Spark standalone cluster (a master and two workers on loopback) against
`local[*]` on the same bronze: the same tables, and what each costs.

    .venv/bin/python benchmarks/scale_out.py [--day 2020-03-02] [--scale 0.1] [--workers 2]

One simulated day of every source is landed and taken through bronze once; then every silver
job runs in a fresh process on `local[*]` and its tables are kept; then the same jobs run in a
fresh process on the cluster, over the same bronze, and the two sets of silver tables are
compared row by row. Prints a Markdown table and writes benchmarks/results/scale_out.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from infra.spark_cluster import SparkStandaloneCluster  # noqa: E402
from pipelines.lake import Lake  # noqa: E402
from pipelines.settings import LakehouseSettings  # noqa: E402
from pipelines.silver_run import (  # noqa: E402
    all_sources,
    land_and_ingest,
    silver_snapshot,
    snapshot_differences,
)

SEED = 42


def run_silver(home: Path, day: date, master: str, out: Path) -> tuple[dict, float]:  # type: ignore[type-arg]
    """The silver jobs in a fresh process on `master`; (their statistics, wall seconds)."""
    env = {**os.environ, "LAKEHOUSE_HOME": str(home), "LAKEHOUSE_SPARK_MASTER": master}
    began = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pipelines.silver_run",
            "--days",
            day.isoformat(),
            "--out",
            str(out),
            "--engine",
            "spark",  # Spark on both sides, even where local[*] would pick DuckDB
        ],
        check=True,
        env=env,
        cwd=ROOT,
    )
    return json.loads(out.read_text()), round(time.perf_counter() - began, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--day", default="2020-03-02")
    parser.add_argument("--scale", type=float, default=0.1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-memory", default="3g")
    args = parser.parse_args()
    day = date.fromisoformat(args.day)
    os.environ.setdefault("LAKEHOUSE_PSEUDONYM_KEY", "benchmark-key-not-a-secret")
    sources = all_sources()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        settings = LakehouseSettings(_env_file=None, home=home)  # type: ignore[call-arg]
        lake = Lake(settings)
        lake.ensure_ready()
        landed = land_and_ingest(lake, sources, [day], SEED, args.scale)
        local, local_wall = run_silver(home, day, "local[*]", Path(tmp) / "local.json")
        reference = silver_snapshot(lake, sources)
        with SparkStandaloneCluster(
            Path(tmp) / "cluster", workers=args.workers, worker_memory=args.worker_memory
        ).start() as cluster:
            clustered, cluster_wall = run_silver(
                home, day, cluster.master_url, Path(tmp) / "cluster.json"
            )
            apps = cluster.status()["completedapps"]
        differences = snapshot_differences(reference, silver_snapshot(lake, sources))
    record = {
        "command": " ".join(["benchmarks/scale_out.py", *sys.argv[1:]]),
        "day": args.day,
        "scale": args.scale,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
        "cluster": f"standalone, {args.workers} workers x 1 core x {args.worker_memory}, loopback",
        "rows_landed": landed,
        "silver_tables": {name: frame.height for name, frame in reference.items()},
        "local": {**local, "wall_s": local_wall},
        "cluster_run": {**clustered, "wall_s": cluster_wall},
        "cluster_applications": [{"name": a["name"], "cores": a["cores"]} for a in apps],
        "differences": differences,
    }
    out = ROOT / "benchmarks" / "results" / "scale_out.json"
    out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"\nOne day ({args.day}) at scale {args.scale}; silver seconds per source\n")
    print("| source | rows landed | `local[*]` (s) | standalone cluster (s) |")
    print("|---|---|---|---|")
    for source in sources:
        a, b = local["sources"][source.name], clustered["sources"][source.name]
        print(f"| `{source.name}` | {landed[source.name]:,} | {a['seconds']} | {b['seconds']} |")
    print(
        f"| session start | | {local['session_start_s']} | {clustered['session_start_s']} |\n"
        f"| process wall | | {local_wall} | {cluster_wall} |"
    )
    print(f"\nsilver tables compared: {len(reference)}; differences: {differences or 'none'}")
    if differences:
        sys.exit(1)


if __name__ == "__main__":
    main()
