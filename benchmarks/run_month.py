"""Wall time of the README's run command for one month of ambulance data, on the embedded
default (local lake) and on MinIO + Spark, beside references measured in the same run:
Spark's own start-up, and a plain `deltalake` write of the same month of calls.

    .venv/bin/python benchmarks/run_month.py [--start 2020-03-01 --end 2020-03-31] [--scale 0.05] [--repeat 1]

Prints a Markdown table and writes benchmarks/results/run_month.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from infra.minio import MinioServer  # noqa: E402
from pipelines.settings import LakehouseSettings  # noqa: E402


def lakehouse_run(env: dict[str, str], start: str, end: str, scale: float) -> float:
    began = time.perf_counter()
    subprocess.run(
        [
            str(Path(sys.executable).parent / "lakehouse"),
            "run",
            "--start",
            start,
            "--end",
            end,
            "--scale",
            str(scale),
        ],
        check=True,
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - began


STEP_DONE = re.compile(r'Finished execution of step "([^"]+)" in ([0-9.]+)(ms|s|m)')


def step_seconds(home: str) -> dict[str, float]:
    """Seconds per Dagster step of the latest run under a lakehouse home, from its log."""
    log = max(Path(home, "logs").glob("run-*.log"))
    unit = {"ms": 0.001, "s": 1.0, "m": 60.0}
    return {
        step: round(float(value) * unit[u], 2)
        for step, value, u in STEP_DONE.findall(log.read_text(errors="replace"))
    }


def spark_startup(env: dict[str, str]) -> float:
    code = (
        "import time; t=time.perf_counter();"
        "from pipelines.settings import LakehouseSettings; from pipelines.spark import spark_session;"
        "s=spark_session(LakehouseSettings()); s.range(1).count();"
        "print(time.perf_counter()-t)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, cwd=ROOT, env=env, capture_output=True, text=True
    ).stdout
    return float(out.strip().splitlines()[-1])


def plain_deltalake_write(
    days: list[date], uri: str, storage_options: dict[str, str], scale: float
) -> float:
    """The practical floor for landing a month: the simulated calls written once with deltalake."""
    import polars as pl
    from deltalake import write_deltalake

    from pipelines.sources.ambulance import simulate_day

    calls = pl.concat(
        [simulate_day(d, scale=scale).with_columns(pl.lit(d).alias("landing_date")) for d in days]
    )
    arrow = calls.to_arrow(compat_level=pl.CompatLevel.oldest())
    began = time.perf_counter()
    write_deltalake(uri, arrow, partition_by=["landing_date"], storage_options=storage_options)
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--start", default="2020-03-01")
    parser.add_argument("--end", default="2020-03-31")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--scale", type=float, default=0.05, help="as `make run`")
    args = parser.parse_args()
    first, last = date.fromisoformat(args.start), date.fromisoformat(args.end)
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_")}
    results: dict[str, list[float]] = {
        k: []
        for k in (
            "local_run",
            "minio_run",
            "spark_startup_local",
            "spark_startup_minio",
            "deltalake_local",
            "deltalake_minio",
        )
    }
    cache = LakehouseSettings(_env_file=None).cache_dir  # type: ignore[call-arg]
    steps: dict[str, dict[str, list[float]]] = {"local": {}, "minio": {}}

    with (
        tempfile.TemporaryDirectory() as tmp,
        MinioServer.create(cache, Path(tmp) / "minio") as minio,
    ):
        for n in range(args.repeat):
            local_env = {**base_env, "LAKEHOUSE_HOME": f"{tmp}/local{n}"}
            results["spark_startup_local"].append(spark_startup(local_env))
            results["local_run"].append(lakehouse_run(local_env, args.start, args.end, args.scale))
            for step, seconds in step_seconds(local_env["LAKEHOUSE_HOME"]).items():
                steps["local"].setdefault(step, []).append(seconds)
            results["deltalake_local"].append(
                plain_deltalake_write(days, f"{tmp}/plain{n}", {}, args.scale)
            )

            s3_env = {
                **base_env,
                "LAKEHOUSE_HOME": f"{tmp}/s3{n}",
                "LAKEHOUSE_PSEUDONYM_KEY": "benchmark-key-not-a-secret",
                **minio.env(f"bench{n}"),
            }
            results["spark_startup_minio"].append(spark_startup(s3_env))
            results["minio_run"].append(lakehouse_run(s3_env, args.start, args.end, args.scale))
            for step, seconds in step_seconds(s3_env["LAKEHOUSE_HOME"]).items():
                steps["minio"].setdefault(step, []).append(seconds)
            from pipelines.lake import Lake

            s3 = LakehouseSettings(
                _env_file=None,
                home=f"{tmp}/s3{n}",
                **{  # type: ignore[call-arg, arg-type]
                    k.removeprefix("LAKEHOUSE_").lower(): v
                    for k, v in minio.env(f"plain{n}").items()
                },
            )
            lake = Lake(s3)
            lake.ensure_ready()
            results["deltalake_minio"].append(
                plain_deltalake_write(
                    days, lake.uri("bronze", "plain"), lake.storage_options, args.scale
                )
            )

    medians = {k: round(statistics.median(v), 2) for k, v in results.items()}
    record = {
        "command": " ".join(["benchmarks/run_month.py", *sys.argv[1:]]),
        "days": len(days),
        "scale": args.scale,
        "repeat": args.repeat,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
        "seconds_median": medians,
        "seconds_all": results,
        "step_seconds_median": {
            where: {k: statistics.median(v) for k, v in per_step.items()}
            for where, per_step in steps.items()
        },
    }
    out = ROOT / "benchmarks" / "results" / "run_month.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"| stage ({len(days)} days, median of {args.repeat}) | local lake | MinIO |")
    print("|---|---|---|")
    print(
        f"| `lakehouse run` (simulate, bronze, Spark silver, dbt, checks) | {medians['local_run']} s | {medians['minio_run']} s |"
    )
    print(
        f"| of which Spark start-up (reference, separate process) | {medians['spark_startup_local']} s | {medians['spark_startup_minio']} s |"
    )
    print(
        f"| plain `deltalake` write of the same calls (reference) | {medians['deltalake_local']} s | {medians['deltalake_minio']} s |"
    )
    print()
    print("| Dagster step | local lake | MinIO |")
    print("|---|---|---|")
    local, minio_steps = (
        record["step_seconds_median"]["local"],
        record["step_seconds_median"]["minio"],
    )
    for step in sorted(local, key=lambda s: -local[s]):
        print(f"| `{step}` | {local[step]} s | {minio_steps.get(step, '-')} s |")


if __name__ == "__main__":
    main()
