"""Every source's silver job for some days, outside Dagster, and a comparison of two lakes'
silver tables: how the suite proves that a Spark cluster builds the same silver as `local[*]`.

    python -m pipelines.silver_run --days 2020-03-02[,...] [--only bus_gps,...]
        [--engine auto|spark|duckdb] [--out stats.json]

runs the silver jobs in a fresh process on the settings' Spark (`LAKEHOUSE_SPARK_MASTER`,
`LAKEHOUSE_SPARK_REMOTE`), or in DuckDB for the jobs that have a single-node version when the
engine says so (`LAKEHOUSE_SILVER_ENGINE`; `auto` picks DuckDB on a local master), reading
bronze from and writing silver to `LAKEHOUSE_HOME`'s lake. Spark starts only if a job needs it.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

import polars as pl
from pyspark.sql import SparkSession

from pipelines.ingest import ingest_days
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
        for _ in ingest_days(lake, source.contract, days):
            pass
    return landed


def build_silver(
    lake: Lake,
    sources: Sequence[Source],
    days: list[date],
    spark: Callable[[], SparkSession],
    engine: str | None = None,
) -> dict[str, dict[str, float | str]]:
    """Run each source's silver job over the days on the settings' engine (or `engine`);
    per source its statistics, engine and seconds. `spark` is called only if a job needs it."""
    results: dict[str, dict[str, float | str]] = {}
    for source in sources:
        began = time.perf_counter()
        used, stats = source.run_silver(lake, days, spark, engine)
        seconds = round(time.perf_counter() - began, 3)
        results[source.name] = {**stats, "engine": used, "seconds": seconds}
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
            if a[column].equals(b[column], null_equal=True):
                continue  # the common case, in Rust; the loop below names what differs
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
    parser.add_argument(
        "--engine",
        choices=["auto", "spark", "duckdb"],
        default=None,
        help="override LAKEHOUSE_SILVER_ENGINE for the jobs that have both",
    )
    args = parser.parse_args()
    from pipelines.spark import spark_session

    settings = LakehouseSettings()
    days = [date.fromisoformat(d) for d in args.days.split(",")]
    sources = select([n for n in args.only.split(",") if n])
    sessions: list[SparkSession] = []
    started = 0.0

    def spark() -> SparkSession:
        nonlocal started
        if not sessions:
            began = time.perf_counter()
            sessions.append(spark_session(settings, app_name="lakehouse-silver"))
            started = time.perf_counter() - began
        return sessions[0]

    results = build_silver(Lake(settings), sources, days, spark, args.engine)
    record = {
        "master": settings.spark_remote or (sessions[0].sparkContext.master if sessions else ""),
        "session_start_s": round(started, 3),
        "sources": results,
    }
    for session in sessions:
        session.stop()
    if args.out:
        args.out.write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
