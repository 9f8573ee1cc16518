"""Registered morbidity: the health department's daily cases and deaths per district.

The simulator reports the latent epidemic's registered cases (`pipelines.simulation.city`)
and the deaths that follow them: a share of the cases, about two weeks later (a delay kernel
peaking at 14 days). The lead-lag mart must find that delay again.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from contracts.districts import DISTRICTS
from contracts.morbidity import MORBIDITY_DAILY
from pipelines import duckdb_io
from pipelines.lake import Lake
from pipelines.simulation.city import trailing_cases
from pipelines.sources import Source, land_file
from pipelines.spark_districts import assert_districts_known, with_canonical_district
from pipelines.spark_io import one_delivery_per_key, read_bronze_days, replace_days_spark

CONTRACT = MORBIDITY_DAILY
CASE_FATALITY = 0.03  # deaths per registered case
DEATH_DELAY_DAYS = 14
# Days from registration to death: a bell over 0..28 days centred on 14 (sd 3 days).
_days = np.arange(29)
DEATH_KERNEL = np.exp(-0.5 * ((_days - DEATH_DELAY_DAYS) / 3.0) ** 2)
DEATH_KERNEL /= DEATH_KERNEL.sum()
CORRECTION_SHARE = 0.05  # district-days re-sent the same day with corrected counts


def expected_deaths(seed: int, district_index: int, day: date, scale: float = 1.0) -> float:
    return scale * CASE_FATALITY * trailing_cases(seed, district_index, day, DEATH_KERNEL)


def simulate_day(day: date, seed: int = 42, scale: float = 1.0) -> pl.DataFrame:
    """The day's report: one row per district, plus a few corrected re-sends."""
    rng = np.random.default_rng([seed, day.toordinal(), 0x3B1D])
    rows = []
    for index, district in enumerate(DISTRICTS):
        cases = rng.poisson(scale * trailing_cases(seed, index, day, np.array([1.0])))
        deaths = rng.poisson(expected_deaths(seed, index, day, scale))
        rows.append((day.isoformat(), district.name, int(cases), int(deaths)))
    report = pl.DataFrame(
        rows, schema=["report_date", "district", "new_cases", "deaths"], orient="row"
    )
    corrected = report.filter(pl.Series(rng.random(report.height) < CORRECTION_SHARE)).with_columns(
        pl.col("new_cases") + 1
    )
    return pl.concat([report, corrected])


def write_landing_day(lake: Lake, day: date, seed: int = 42, scale: float = 1.0) -> tuple[str, int]:
    return land_file(lake, CONTRACT, day, simulate_day(day, seed, scale), "morbidity")


def silver_morbidity(spark: SparkSession, bronze: DataFrame) -> DataFrame:
    """One row per day and district: the latest delivery (corrections replace reports)."""
    latest = one_delivery_per_key(bronze, ["report_date", "district"], keep="latest")
    canonical = with_canonical_district(spark, latest)
    # Several spellings of one district in one report are one district: the latest wins again.
    return one_delivery_per_key(canonical, ["report_date", "district_code"], keep="latest").select(
        "report_date",
        "district",
        "district_code",
        F.col("new_cases").cast("long").alias("new_cases"),
        F.col("deaths").cast("long").alias("deaths"),
        F.round(1e5 * F.col("new_cases") / F.col("district_population"), 3).alias("cases_per_100k"),
        "landing_date",
    )


def build_silver(spark: SparkSession, lake: Lake, days: list[date]) -> dict[str, int]:
    bronze = read_bronze_days(spark, lake, CONTRACT, days)
    silver = silver_morbidity(spark, bronze).cache()
    try:
        assert_districts_known(silver, CONTRACT.source)
        rows_in = bronze.count()
        rows_out = silver.count()
        version = replace_days_spark(silver, lake, "silver", CONTRACT.table, "report_date", days)
    finally:
        silver.unpersist()
    return {
        "bronze_rows": rows_in,
        "silver_rows": rows_out,
        "corrections_applied": rows_in - rows_out,
        "delta_version": version,
    }


def build_silver_duckdb(lake: Lake, days: list[date]) -> dict[str, int]:
    """`build_silver` in DuckDB on one node (see `pipelines.duckdb_io`): the same rows."""
    with duckdb_io.connect(lake) as con:
        duckdb_io.scan_bronze_days(con, "bronze", lake, CONTRACT, days)
        duckdb_io.register_districts(con)
        latest = duckdb_io.one_delivery_per_key("bronze", ["report_date", "district"], "latest")
        con.execute(f"CREATE TABLE canonical AS {duckdb_io.with_canonical_district(latest)}")
        # Several spellings of one district in one report are one district: the latest wins.
        once = duckdb_io.one_delivery_per_key(
            "canonical", ["report_date", "district_code"], "latest"
        )
        con.execute(
            f"""
            CREATE TABLE morbidity AS
            SELECT report_date, district, district_code,
                   CAST(new_cases AS BIGINT) AS new_cases, CAST(deaths AS BIGINT) AS deaths,
                   round_decimal(1e5 * new_cases / district_population, 3) AS cases_per_100k,
                   landing_date
            FROM ({once})
            """
        )
        duckdb_io.assert_districts_known(con, "morbidity", CONTRACT.source)
        rows_in = duckdb_io.count(con, "SELECT * FROM bronze")
        rows_out = duckdb_io.count(con, "SELECT * FROM morbidity")
        version = duckdb_io.replace_days(
            con, "SELECT * FROM morbidity", lake, "silver", CONTRACT.table, "report_date", days
        )
    return {
        "bronze_rows": rows_in,
        "silver_rows": rows_out,
        "corrections_applied": rows_in - rows_out,
        "delta_version": version,
    }


SOURCE = Source(
    name="morbidity",
    description="Registered new cases and deaths per district and day (health department).",
    contract=CONTRACT,
    write_landing_day=write_landing_day,
    build_silver=build_silver,
    silver_tables=(CONTRACT.table,),
    group="health",
    build_silver_duckdb=build_silver_duckdb,
)
