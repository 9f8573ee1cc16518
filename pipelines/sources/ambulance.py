"""Ambulance calls: simulator of the dispatch's daily files, and the silver job (on Spark, and
in DuckDB for one machine)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from contracts.ambulance_calls import AGE_BANDS, AMBULANCE_CALLS, CALL_REASONS
from contracts.districts import DISTRICTS
from pipelines import duckdb_io
from pipelines.lake import Lake
from pipelines.simulation.city import district_day, trailing_cases
from pipelines.sources import Source, land_file
from pipelines.spark_districts import assert_districts_known, with_canonical_district
from pipelines.spark_io import one_delivery_per_key, read_bronze_days, replace_days_spark

CONTRACT = AMBULANCE_CALLS
ALMATY = ZoneInfo("Asia/Almaty")

CALLS_PER_RESIDENT_DAY = 0.00072  # ~1,400 calls a day for ~1.9M residents before the pandemic
CALLS_PER_CASE = 0.9  # extra calls per registered case, spread over the residual kernel
# Same-day calls when a case is registered, then residual calls for about two weeks.
RESIDUAL_KERNEL = np.array([0.35] + [0.65 * w for w in (0.5 ** (np.arange(1, 15) / 4.0))])
RESIDUAL_KERNEL[1:] *= 0.65 / RESIDUAL_KERNEL[1:].sum()

BASE_REASON_MIX = np.array([0.09, 0.06, 0.16, 0.06, 0.2, 0.1, 0.07, 0.06, 0.2])
EPIDEMIC_REASON_MIX = np.array([0.6, 0.3, 0.04, 0.01, 0, 0.02, 0, 0, 0.03])
HOURLY_PROFILE = np.array(
    [2, 1.5, 1.2, 1, 1, 1.2, 2, 3, 4, 5, 5.5, 5.5, 5, 5, 4.8, 4.8, 5, 5.5, 6, 6, 5.5, 4.5, 3.5, 2.5]
)
HOURLY_PROFILE = HOURLY_PROFILE / HOURLY_PROFILE.sum()
WEEKDAY_FACTOR = (1.06, 1.0, 0.99, 0.99, 1.02, 0.96, 0.95)
DUPLICATE_SHARE = 0.004  # the dispatch system re-sends some calls


def expected_calls(seed: int, district_index: int, day: date, scale: float = 1.0) -> float:
    """Mean number of calls in a district on a day: baseline, season, week, and morbidity."""
    district = DISTRICTS[district_index]
    season = 1 + 0.08 * np.cos(2 * np.pi * (day.timetuple().tm_yday - 15) / 365.25)
    lockdown = district_day(seed, district_index, day).restriction
    baseline = district.population * CALLS_PER_RESIDENT_DAY * season * WEEKDAY_FACTOR[day.weekday()]
    baseline *= 1 - 0.12 * lockdown  # fewer injuries when the city stays home
    epidemic = CALLS_PER_CASE * trailing_cases(seed, district_index, day, RESIDUAL_KERNEL)
    return scale * (baseline + epidemic)


def simulate_day(day: date, seed: int = 42, scale: float = 1.0) -> pl.DataFrame:
    """All calls of one day, as the dispatch delivers them (strings, local time with offset)."""
    frames = []
    for index, district in enumerate(DISTRICTS):
        rng = np.random.default_rng([seed, day.toordinal(), index])
        baseline = expected_calls(
            seed, index, day, scale
        ) - scale * CALLS_PER_CASE * trailing_cases(seed, index, day, RESIDUAL_KERNEL)
        mean = expected_calls(seed, index, day, scale)
        n = int(rng.poisson(mean))
        if n == 0:
            continue
        epidemic_share = max(0.0, 1 - baseline / mean)
        mix = (1 - epidemic_share) * BASE_REASON_MIX + epidemic_share * EPIDEMIC_REASON_MIX
        reasons = rng.choice(len(CALL_REASONS), size=n, p=mix / mix.sum())
        seconds = rng.choice(24, size=n, p=HOURLY_PROFILE) * 3600 + rng.integers(0, 3600, size=n)
        midnight = datetime.combine(day, time(0), tzinfo=ALMATY)
        stamps = [(midnight + timedelta(seconds=int(s))).isoformat() for s in np.sort(seconds)]
        old = np.isin(reasons, [CALL_REASONS.index(r) for r in ("cardiac", "stroke", "fever")])
        age = np.where(
            old,
            rng.choice(len(AGE_BANDS), size=n, p=[0.03, 0.07, 0.15, 0.35, 0.4]),
            rng.choice(len(AGE_BANDS), size=n, p=[0.18, 0.22, 0.22, 0.22, 0.16]),
        )
        urgent = np.isin(
            reasons, [CALL_REASONS.index(r) for r in ("cardiac", "stroke", "maternity")]
        )
        priority = np.where(
            urgent,
            rng.choice([1, 2], size=n, p=[0.6, 0.4]),
            rng.choice([2, 3, 4], size=n, p=[0.3, 0.5, 0.2]),
        )
        load = mean / (scale * district.population * CALLS_PER_RESIDENT_DAY)
        response = rng.lognormal(np.log(13.0 * load**1.5), 0.4, size=n).clip(2, 180).round(1)
        spellings = (district.name, district.aliases[0] + " район", district.aliases[1])
        spelling = rng.choice(3, size=n, p=[0.8, 0.12, 0.08])
        frames.append(
            pl.DataFrame(
                {
                    "call_id": [f"AMB-{day:%Y%m%d}-{district.code}-{i:05d}" for i in range(n)],
                    "call_ts": stamps,
                    "district": [spellings[k] for k in spelling],
                    "reason": [CALL_REASONS[k] for k in reasons],
                    "age_band": [AGE_BANDS[k] for k in age],
                    "priority": priority.astype(str).tolist(),
                    "response_min": response.astype(str).tolist(),
                }
            )
        )
    calls = pl.concat(frames).sort("call_ts")
    rng = np.random.default_rng([seed, day.toordinal(), 99])
    resent = calls.sample(n=int(calls.height * DUPLICATE_SHARE), seed=int(rng.integers(2**31)))
    return pl.concat([calls, resent])


def write_landing_day(lake: Lake, day: date, seed: int = 42, scale: float = 1.0) -> tuple[str, int]:
    """Simulate a day and drop it into the landing zone as the dispatch would; (uri, rows)."""
    return land_file(lake, CONTRACT, day, simulate_day(day, seed, scale), "ambulance_calls")


# -- silver ---------------------------------------------------------------------------------
def silver_calls(spark: SparkSession, bronze: DataFrame) -> DataFrame:
    """Deduplicated, typed, district-normalised calls (one row per call_id)."""
    deduplicated = one_delivery_per_key(bronze, ["call_id"], keep="first")
    return with_canonical_district(spark, deduplicated).select(
        "call_id",
        F.col("call_ts").cast("timestamp").alias("call_ts"),
        "call_date",
        F.hour(F.from_utc_timestamp("call_ts", CONTRACT.timezone)).alias("call_hour_local"),
        "district",
        "district_code",
        "reason",
        F.col("reason").isin("respiratory", "fever").alias("is_respiratory"),
        "age_band",
        F.col("priority").cast("int").alias("priority"),
        F.col("response_min").cast("double").alias("response_min"),
        "landing_date",
    )


def build_silver(spark: SparkSession, lake: Lake, days: list[date]) -> dict[str, int]:
    """Rebuild the silver day partitions from bronze with Spark; returns row counts."""
    bronze = read_bronze_days(spark, lake, CONTRACT, days)
    silver = silver_calls(spark, bronze).cache()
    try:
        assert_districts_known(silver, CONTRACT.source)
        rows_in = bronze.count()
        rows_out = silver.count()
        version = replace_days_spark(silver, lake, "silver", CONTRACT.table, "call_date", days)
    finally:
        silver.unpersist()
    return {
        "bronze_rows": rows_in,
        "silver_rows": rows_out,
        "duplicates_dropped": rows_in - rows_out,
        "delta_version": version,
    }


def build_silver_duckdb(lake: Lake, days: list[date]) -> dict[str, int]:
    """`build_silver` in DuckDB on one node: the same rows, the same statistics."""
    with duckdb_io.connect(lake) as con:
        duckdb_io.scan_bronze_days(con, "bronze", lake, CONTRACT, days)
        duckdb_io.register_districts(con)
        first = duckdb_io.one_delivery_per_key("bronze", ["call_id"], "first")
        con.execute(
            f"""
            CREATE TABLE calls AS
            SELECT call_id, call_ts, call_date,
                   CAST(hour(timezone('{CONTRACT.timezone}', call_ts)) AS INTEGER)
                       AS call_hour_local,
                   district, district_code, reason,
                   reason IN ('respiratory', 'fever') AS is_respiratory, age_band,
                   CAST(priority AS INTEGER) AS priority,
                   CAST(response_min AS DOUBLE) AS response_min, landing_date
            FROM ({duckdb_io.with_canonical_district(first)})
            """
        )
        duckdb_io.assert_districts_known(con, "calls", CONTRACT.source)
        rows_in = duckdb_io.count(con, "SELECT * FROM bronze")
        rows_out = duckdb_io.count(con, "SELECT * FROM calls")
        version = duckdb_io.replace_days(
            con, "SELECT * FROM calls", lake, "silver", CONTRACT.table, "call_date", days
        )
    return {
        "bronze_rows": rows_in,
        "silver_rows": rows_out,
        "duplicates_dropped": rows_in - rows_out,
        "delta_version": version,
    }


SOURCE = Source(
    name="ambulance",
    description="Ambulance calls from the emergency line (103), one row per call.",
    contract=CONTRACT,
    write_landing_day=write_landing_day,
    build_silver=build_silver,
    silver_tables=(CONTRACT.table,),
    build_silver_duckdb=build_silver_duckdb,
)
