"""The two silver engines write the same tables: every job that has a single-node DuckDB
version (the embedded default's engine) gives, on the same bronze, the same rows, row for row,
and the same statistics as its Spark job, which runs on clusters. Two days, so that the card
taps look up the day before; a bus on a depot run, so that off-route fixes are in it."""

from datetime import date

import polars as pl
import pytest

from pipelines import duckdb_io
from pipelines.ingest import ingest_day
from pipelines.lake import Lake
from pipelines.settings import LakehouseSettings
from pipelines.silver_run import (
    all_sources,
    build_silver,
    silver_snapshot,
    snapshot_differences,
)
from pipelines.sources import bus, land_file, taps
from pipelines.spark import spark_session
from pipelines.transit import gtfs

pytestmark = pytest.mark.integration
DAYS = [date(2020, 3, 2), date(2020, 3, 3)]
# A small city; companies and courses change rarely, so more of them, to have changes to merge.
SCALES = {"ucs_companies": 0.3, "ucs_courses": 0.3}


def land_depot_run(lake: Lake, day: date) -> int:
    """A second tracker file for the day: a bus copying another's first hour, its first 20
    fixes ~2.5 km off the route (a depot run), the rest on it."""
    pings = pl.read_csv(lake.get_file(lake.list_files(f"{bus.CONTRACT.landing_prefix}/{day}")[0]))
    first = pings["vehicle_id"][0]
    run = (
        pings.filter(pl.col("vehicle_id") == first)
        .head(60)
        .with_columns(pl.lit("B9998").alias("vehicle_id"))
        .with_row_index("n")
        .with_columns(pl.when(pl.col("n") < 20).then(pl.col("lon") + 0.03).otherwise(pl.col("lon")))
        .drop("n")
    )
    land_file(lake, bus.CONTRACT, day, run, "depot_run")
    return run.height


def test_duckdb_engine_writes_what_spark_writes(
    local_settings: LakehouseSettings,
    spark_session_for_tests: object,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lake = Lake(local_settings)
    lake.ensure_ready()
    sources = tuple(s for s in all_sources() if s.build_silver_duckdb is not None)
    assert {s.name for s in sources} >= {"ambulance", "telecom_presence", "bus_gps", "onay_taps"}
    for source in sources:  # landed first, so that the depot runs go through bronze too
        for day in DAYS:
            source.write_landing_day(lake, day, 11, SCALES.get(source.name, 0.03))
    for day in DAYS:
        land_depot_run(lake, day)
    gtfs.load_feed(lake, gtfs.feed_versions(lake)[0])
    for source in sources:
        for day in DAYS:
            ingest_day(lake, source.contract, day)

    on_spark = build_silver(lake, sources, DAYS, lambda: spark_session(lake.settings), "spark")
    spark_tables = silver_snapshot(lake, sources)
    on_duckdb = build_silver(lake, sources, DAYS, _no_spark, "duckdb")
    duckdb_tables = silver_snapshot(lake, sources)

    assert snapshot_differences(spark_tables, duckdb_tables) == []
    for source in sources:
        assert (on_spark[source.name]["engine"], on_duckdb[source.name]["engine"]) == (
            "spark",
            "duckdb",
        )
        assert _counts(on_spark[source.name]) == _counts(on_duckdb[source.name]), source.name
    # The data exercised every branch: off-route fixes, jumps, duplicates, taps with no GPS.
    assert on_duckdb["bus_gps"]["off_route_pings"] > 10
    assert on_duckdb["bus_gps"]["jumps_dropped"] > 0
    assert on_duckdb["bus_gps"]["duplicates_dropped"] > 0
    assert on_duckdb["onay_taps"]["no_gps"] > 0
    assert all(frame.height > 0 for frame in duckdb_tables.values())

    # The buses taken a hash slice at a time (split once into Parquet, as more than a few
    # slices are), and the taps a slice of the buses, then of the cards, at a time, as a day
    # several times Almaty's volume is to stay within DuckDB's memory: the same tables.
    slicings: list[list[str]] = []
    real_hash_slices = duckdb_io.hash_slices

    def hash_slices(*args: object) -> list[str]:
        slicings.append(real_hash_slices(*args))  # type: ignore[arg-type]
        return slicings[-1]

    monkeypatch.setattr(duckdb_io, "hash_slices", hash_slices)
    monkeypatch.setattr(bus, "SLICE_PINGS", int(on_duckdb["bus_gps"]["bronze_rows"]) // 6)
    monkeypatch.setattr(taps, "SLICE_TAPS", 5_000)
    assert on_duckdb["onay_taps"]["bronze_rows"] > 4 * 5_000 * len(DAYS)
    sliced = build_silver(lake, (bus.SOURCE, taps.SOURCE), DAYS, _no_spark, "duckdb")
    assert len(slicings) == 1 and len(slicings[0]) > duckdb_io.REREAD_SLICES
    assert snapshot_differences(spark_tables, silver_snapshot(lake, sources)) == []
    for name in ("bus_gps", "onay_taps"):
        assert _counts(sliced[name]) == _counts(on_spark[name]), name


def _no_spark():  # type: ignore[no-untyped-def]
    raise AssertionError("the DuckDB engine must not start Spark")


def _counts(stats: dict[str, float | str]) -> dict[str, float | str]:
    return {
        k: v
        for k, v in stats.items()
        if not k.endswith("version") and k not in ("seconds", "engine")
    }
