"""Rows per second per source for one simulated day at full city scale: into bronze (the
contract, quarantine, pseudonymisation, Delta write) and through the Spark silver job, on the
local lake and on MinIO, beside a reference measured in the same run: a plain `deltalake`
write of the same Arrow rows that bronze accepted.

    .venv/bin/python benchmarks/source_day.py [--day 2020-03-02] [--scale 1.0] [--only bus_gps,...]

Prints a Markdown table and writes benchmarks/results/source_day.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from deltalake import write_deltalake  # noqa: E402

from infra.minio import MinioServer  # noqa: E402
from pipelines.ingest import ingest_day  # noqa: E402
from pipelines.lake import Lake  # noqa: E402
from pipelines.settings import LakehouseSettings  # noqa: E402
from pipelines.spark import spark_session  # noqa: E402
from pipelines.transit import gtfs  # noqa: E402

SEED = 42


def _timed(fn):  # type: ignore[no-untyped-def]
    began = time.perf_counter()
    value = fn()
    return value, round(time.perf_counter() - began, 2)


def measure(settings: LakehouseSettings, sources, day: date, scale: float, spark) -> dict:  # type: ignore[no-untyped-def]
    lake = Lake(settings)
    lake.ensure_ready()
    results = {}
    for source in sources:
        (_, landed), land_s = _timed(lambda s=source: s.write_landing_day(lake, day, SEED, scale))
        if source.name == "bus_gps":  # the network the pings are matched against
            _, gtfs_s = _timed(lambda: gtfs.load_feed(lake, gtfs.feed_versions(lake)[0]))
            results["gtfs_feed"] = {"load_s": gtfs_s}
        report, bronze_s = _timed(lambda s=source: ingest_day(lake, s.contract, day))
        accepted = lake.read("bronze", source.contract.table)
        reference_uri = lake.uri("bronze", f"_benchmark_plain_{source.contract.table}")
        _, plain_s = _timed(
            lambda a=accepted, u=reference_uri: write_deltalake(
                u, a, partition_by=["landing_date"], storage_options=lake.storage_options
            )
        )
        stats, silver_s = _timed(lambda s=source: s.build_silver(spark, lake, [day]))
        silver_rows = sum(v for k, v in stats.items() if k.endswith("_rows") and k != "bronze_rows")
        results[source.name] = {
            "rows_landed": landed,
            "rows_accepted": report.rows_accepted,
            "rows_quarantined": report.rows_quarantined,
            "silver_rows_written": silver_rows,
            "landing_s": land_s,
            "bronze_s": bronze_s,
            "plain_deltalake_s": plain_s,
            "silver_s": silver_s,
            "bronze_rows_per_s": round(report.rows_in / max(bronze_s, 1e-3)),
            "plain_deltalake_rows_per_s": round(accepted.num_rows / max(plain_s, 1e-3)),
            "silver_rows_per_s": round(report.rows_accepted / max(silver_s, 1e-3)),
        }
        print(f"{settings.lake_uri} {source.name}: {results[source.name]}", flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--day", default="2020-03-02")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--only", default="", help="comma-separated source names")
    args = parser.parse_args()
    day = date.fromisoformat(args.day)
    os.environ.setdefault("LAKEHOUSE_PSEUDONYM_KEY", "benchmark-key-not-a-secret")
    saved = dict(os.environ)
    from orchestration.definitions import SOURCES

    os.environ.clear()  # loading the definitions exports the default home's paths; undo that
    os.environ.update(saved)

    sources = [s for s in SOURCES if not args.only or s.name in args.only.split(",")]
    cache = LakehouseSettings(_env_file=None).cache_dir  # type: ignore[call-arg]
    record: dict[str, object] = {
        "command": " ".join(["benchmarks/source_day.py", *sys.argv[1:]]),
        "day": args.day,
        "scale": args.scale,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
    }
    with (
        tempfile.TemporaryDirectory() as tmp,
        MinioServer.create(cache, Path(tmp) / "minio") as minio,
    ):
        local = LakehouseSettings(
            _env_file=None,  # type: ignore[call-arg]
            home=Path(tmp) / "local",
            spark_driver_memory="6g",
        )
        spark = spark_session(local, app_name="benchmark")
        spark.range(2_000_000).selectExpr("id % 97 as k").groupBy("k").count().collect()  # JIT
        record["local"] = measure(local, sources, day, args.scale, spark)
        s3 = LakehouseSettings(
            _env_file=None,  # type: ignore[call-arg]
            home=Path(tmp) / "s3",
            spark_driver_memory="6g",
            **{k.removeprefix("LAKEHOUSE_").lower(): v for k, v in minio.env("bench").items()},
        )
        spark = spark_session(s3, app_name="benchmark")
        record["minio"] = measure(s3, sources, day, args.scale, spark)
    out = ROOT / "benchmarks" / "results" / "source_day.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2) + "\n")

    print(f"\nOne day ({args.day}) at scale {args.scale}; rows/s (seconds)\n")
    print(
        "| source | rows landed | bronze, local | plain deltalake, local | silver (Spark), local "
        "| bronze, MinIO | plain deltalake, MinIO | silver (Spark), MinIO |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for source in sources:
        a, b = record["local"][source.name], record["minio"][source.name]  # type: ignore[index]
        cells = [
            f"{r[k + '_rows_per_s']:,} ({r[k + '_s']} s)"
            for r in (a, b)
            for k in ("bronze", "plain_deltalake", "silver")
        ]
        print(f"| `{source.name}` | {a['rows_landed']:,} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
