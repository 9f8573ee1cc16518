"""Every source's silver job for some days, outside Dagster, and a comparison of two lakes'
silver tables: how the suite proves that a Spark cluster builds the same silver as `local[*]`.

    python -m pipelines.silver_run --days 2020-03-02[,...] [--only bus_gps,...] [--out stats.json]

runs the silver jobs in a fresh process on the settings' Spark (`LAKEHOUSE_SPARK_MASTER`,
`LAKEHOUSE_SPARK_REMOTE`), reading bronze from and writing silver to `LAKEHOUSE_HOME`'s lake.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import polars as pl
from pyspark.sql import SparkSession

from pipelines.ingest import ingest_day
from pipelines.lake import Lake
from pipelines.settings import LakehouseSettings
from pipelines.sources import Source
from pipelines.transit import gtfs


def all_sources() -> tuple[Source, ...]:
    """The platform's sources in dependency order (bus stop arrivals before card taps)."""
    from pipelines.sources import ambulance, bus, fiscal, morbidity, taps, telecom, ucs

    return (
        ambulance.SOURCE,
        morbidity.SOURCE,
        fiscal.SOURCE,
        telecom.PRESENCE,
        telecom.FLOWS,
        bus.SOURCE,
        taps.SOURCE,
        *ucs.SOURCES,
    )


def select(names: Sequence[str] = ()) -> tuple[Source, ...]:
    sources = all_sources()
    unknown = set(names) - {s.name for s in sources}
    if unknown:
        raise ValueError(f"unknown sources {sorted(unknown)}; known: {[s.name for s in sources]}")
    return tuple(s for s in sources if not names or s.name in names)


def land(lake: Lake, source: Source, day: date, seed: int, scale: float) -> int:
    """Simulate a source's day into the landing zone (and, for bus GPS, load the network its
    pings are matched against); rows landed."""
    _, rows = source.write_landing_day(lake, day, seed, scale)
    if source.name == "bus_gps" and not lake.table_exists("silver", "gtfs_feed"):
        gtfs.load_feed(lake, gtfs.feed_versions(lake)[0])
    return rows


def land_and_ingest(
    lake: Lake, sources: Sequence[Source], days: Sequence[date], seed: int, scale: float
) -> dict[str, int]:
    """Simulate the days into the landing zone and take them through bronze; rows landed."""
    landed: dict[str, int] = {}
    for source in sources:
        for day in days:
            landed[source.name] = landed.get(source.name, 0) + land(lake, source, day, seed, scale)
            ingest_day(lake, source.contract, day)
    return landed


def build_silver(
    spark: SparkSession, lake: Lake, sources: Sequence[Source], days: list[date]
) -> dict[str, dict[str, float]]:
    """Run each source's silver job over the days; per source its statistics and seconds."""
    results: dict[str, dict[str, float]] = {}
    for source in sources:
        began = time.perf_counter()
        stats = source.build_silver(spark, lake, days)
        results[source.name] = {**stats, "seconds": round(time.perf_counter() - began, 3)}
        print(f"silver {source.name}: {results[source.name]}", flush=True)
    return results


def silver_snapshot(lake: Lake, sources: Sequence[Source]) -> dict[str, pl.DataFrame]:
    """Every silver table of the sources, rows in a canonical order (all columns sorted)."""
    snapshot = {}
    for source in sources:
        for table in source.silver_tables:
            frame = pl.from_arrow(lake.read("silver", table))
            assert isinstance(frame, pl.DataFrame)
            frame = frame.select(sorted(frame.columns))
            sortable = [
                c for c, t in frame.schema.items() if not isinstance(t, pl.List | pl.Struct)
            ]
            snapshot[table] = frame.sort(sortable, nulls_last=True)
    return snapshot


def _values_differ(a: object, b: object, rel_tol: float) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return not (
            (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=rel_tol, abs_tol=1e-9)
        )
    return a != b


def snapshot_differences(
    left: dict[str, pl.DataFrame], right: dict[str, pl.DataFrame], rel_tol: float = 1e-9
) -> list[str]:
    """What differs between two snapshots, in words (empty when they hold the same rows).

    Floats may differ in the last bits (sums added in another order on other partitions);
    everything else must be equal.
    """
    problems = []
    for table in sorted(set(left) | set(right)):
        if table not in left or table not in right:
            problems.append(f"{table}: only in {'left' if table in left else 'right'}")
            continue
        a, b = left[table], right[table]
        if a.schema != b.schema:
            problems.append(f"{table}: schemas differ: {a.schema} vs {b.schema}")
            continue
        if a.height != b.height:
            problems.append(f"{table}: {a.height} rows vs {b.height}")
            continue
        for column in a.columns:
            differing = [
                i
                for i, (x, y) in enumerate(
                    zip(a[column].to_list(), b[column].to_list(), strict=True)
                )
                if _values_differ(x, y, rel_tol)
            ]
            if differing:
                i = differing[0]
                problems.append(
                    f"{table}.{column}: {len(differing)} of {a.height} rows differ, e.g. row {i}: "
                    f"{a[column][i]!r} vs {b[column][i]!r}"
                )
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", required=True, help="comma-separated ISO days")
    parser.add_argument("--only", default="", help="comma-separated source names")
    parser.add_argument("--out", type=Path, help="write the statistics (JSON) here")
    args = parser.parse_args()
    from pipelines.spark import spark_session

    settings = LakehouseSettings()
    days = [date.fromisoformat(d) for d in args.days.split(",")]
    sources = select([n for n in args.only.split(",") if n])
    began = time.perf_counter()
    spark = spark_session(settings, app_name="lakehouse-silver")
    started = time.perf_counter() - began
    results = build_silver(spark, Lake(settings), sources, days)
    record = {
        "master": settings.spark_remote or spark.sparkContext.master,
        "session_start_s": round(started, 3),
        "sources": results,
    }
    spark.stop()
    if args.out:
        args.out.write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
