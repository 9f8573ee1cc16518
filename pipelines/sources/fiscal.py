"""Fiscal receipts: simulator of the operators' daily outlet files, and the silver job (Spark,
and the same in DuckDB for one machine): per district per category per day, and pharmacy
demand as its own table."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from contracts.districts import DISTRICTS
from contracts.fiscal_receipts import FISCAL_RECEIPTS, OUTLET_CATEGORIES
from pipelines import duckdb_io
from pipelines.lake import Lake
from pipelines.simulation.city import EPOCH, epidemic, restriction_level
from pipelines.sources import Source, land_file
from pipelines.spark_districts import assert_districts_known, with_canonical_district
from pipelines.spark_io import one_delivery_per_key, read_bronze_days, replace_days_spark

CONTRACT = FISCAL_RECEIPTS
OUTLETS_PER_RESIDENT = 0.0125  # ~24,000 outlets with online cash registers in the city
CATEGORY_SHARE = dict(
    zip(OUTLET_CATEGORIES, (0.06, 0.35, 0.14, 0.12, 0.05, 0.03, 0.15, 0.10), strict=True)
)
RECEIPTS_PER_DAY = dict(zip(OUTLET_CATEGORIES, (180, 250, 120, 40, 25, 300, 30, 50), strict=True))
TICKET_KZT = dict(
    zip(OUTLET_CATEGORIES, (3200, 3500, 5500, 15000, 40000, 9000, 7000, 4000), strict=True)
)
# How much of a category's trade a full lockdown takes away (negative: it gains).
LOCKDOWN_LOSS = dict(
    zip(OUTLET_CATEGORIES, (0.0, -0.05, 0.85, 0.75, 0.5, 0.5, 0.6, 0.4), strict=True)
)
WEEKDAY = dict(
    zip(
        OUTLET_CATEGORIES,
        (
            (1, 1, 1, 1, 1.02, 0.95, 0.85),
            (0.95, 0.95, 0.97, 1, 1.08, 1.12, 0.98),
            (0.85, 0.88, 0.92, 0.98, 1.15, 1.25, 1.1),
            (0.85, 0.9, 0.92, 0.95, 1.05, 1.3, 1.2),
            (0.9, 0.9, 0.95, 0.95, 1.05, 1.2, 1.1),
            (1, 1, 1, 1, 1.05, 1, 0.95),
            (1.05, 1.05, 1.05, 1.05, 1.05, 0.95, 0.6),
            (1, 1, 1, 1, 1, 1, 0.9),
        ),
        strict=True,
    )
)
PANIC_BUYING = (date(2020, 3, 13), date(2020, 3, 21))  # masks, drugs, flour before the lockdown
PHARMACY_LEAD_DAYS = 3  # people buy remedies in the days before they become a registered case
PHARMACY_PER_CASE_RATE = 900.0  # demand multiplier per registered case per resident


def outlets(seed: int, scale: float = 1.0) -> pl.DataFrame:
    """The city's outlets, fixed for a seed: id, category, district, size."""
    rng = np.random.default_rng([seed, 0xF15C])
    frames = []
    for index, district in enumerate(DISTRICTS):
        n = int(district.population * OUTLETS_PER_RESIDENT * scale)
        categories = rng.choice(len(OUTLET_CATEGORIES), size=n, p=list(CATEGORY_SHARE.values()))
        frames.append(
            pl.DataFrame(
                {
                    "outlet_id": [f"OFD-{district.code}-{i:06d}" for i in range(n)],
                    "category": [OUTLET_CATEGORIES[c] for c in categories],
                    "district_index": index,
                    "size": rng.lognormal(0, 0.6, size=n),
                }
            )
        )
    return pl.concat(frames)


def pharmacy_morbidity_factor(seed: int, district_index: int, day: date) -> float:
    """Extra pharmacy demand from the cases of the coming days (pharmacy leads morbidity)."""
    t = (day - EPOCH).days
    ahead = epidemic(seed)[t + 1 : t + 1 + PHARMACY_LEAD_DAYS, district_index]
    per_resident = float(ahead.mean()) / DISTRICTS[district_index].population if ahead.size else 0.0
    return 1 + PHARMACY_PER_CASE_RATE * per_resident


def day_factor(seed: int, category: str, district_index: int, day: date) -> float:
    season = 1 + 0.06 * np.cos(2 * np.pi * (day.timetuple().tm_yday - 355) / 365.25)
    factor = (
        season
        * WEEKDAY[category][day.weekday()]
        * (1 - LOCKDOWN_LOSS[category] * restriction_level(day))
    )
    if PANIC_BUYING[0] <= day <= PANIC_BUYING[1] and category in ("pharmacy", "grocery"):
        factor *= 1.7 if category == "pharmacy" else 1.3
    if category == "pharmacy":
        factor *= pharmacy_morbidity_factor(seed, district_index, day)
    return float(factor)


def simulate_day(day: date, seed: int = 42, scale: float = 1.0) -> pl.DataFrame:
    """One day of the operators' outlet file (strings, as delivered)."""
    rng = np.random.default_rng([seed, day.toordinal(), 0xF15C])
    shops = outlets(seed, scale)
    factors = {
        (c, i): day_factor(seed, c, i, day)
        for c in OUTLET_CATEGORIES
        for i in range(len(DISTRICTS))
    }
    mean = np.array(
        [
            RECEIPTS_PER_DAY[c] * s * factors[(c, i)]
            for c, i, s in shops.select("category", "district_index", "size").iter_rows()
        ]
    )
    receipts = rng.poisson(mean)
    tickets = np.array([TICKET_KZT[c] for c in shops["category"]]) * rng.lognormal(
        0, 0.15, size=shops.height
    )
    spellings = rng.choice(3, size=shops.height, p=[0.85, 0.1, 0.05])
    names = [
        (d.name, d.aliases[0] + " район", d.aliases[1])[k]
        for d, k in zip((DISTRICTS[i] for i in shops["district_index"]), spellings, strict=True)
    ]
    day_file = shops.select("outlet_id", "category").with_columns(
        pl.lit(day.isoformat()).alias("business_date"),
        pl.Series("district", names),
        pl.Series("receipts", receipts.astype(str)),
        pl.Series("amount_kzt", (receipts * tickets).round(2).astype(str)),
    )
    reporting = rng.random(shops.height) > 0.02  # some registers stay offline that day
    day_file = day_file.filter(pl.Series(reporting)).select(CONTRACT.column_names)
    resent = day_file.sample(n=int(day_file.height * 0.002), seed=int(rng.integers(2**31)))
    return pl.concat([day_file, resent])


def write_landing_day(lake: Lake, day: date, seed: int = 42, scale: float = 1.0) -> tuple[str, int]:
    return land_file(lake, CONTRACT, day, simulate_day(day, seed, scale), "receipts")


def build_silver(spark: SparkSession, lake: Lake, days: list[date]) -> dict[str, int]:
    """Per district, category and day; and pharmacy demand per district and day."""
    bronze = read_bronze_days(spark, lake, CONTRACT, days)
    outlet_days = with_canonical_district(
        spark, one_delivery_per_key(bronze, ["outlet_id", "business_date"], keep="latest")
    ).cache()
    try:
        assert_districts_known(outlet_days, CONTRACT.source)
        keys = ["business_date", "district", "district_code", "district_population"]
        by_category = outlet_days.groupBy(*keys, "category").agg(
            F.count("*").alias("outlets"),
            F.sum("receipts").alias("receipts"),
            F.round(F.sum("amount_kzt"), 2).alias("amount_kzt"),
        )
        by_category = by_category.withColumn(
            "avg_ticket_kzt",
            F.round(F.col("amount_kzt") / F.greatest(F.col("receipts"), F.lit(1)), 2),
        ).drop("district_population")
        pharmacy = (
            outlet_days.where(F.col("category") == "pharmacy")
            .groupBy(*keys)
            .agg(
                F.count("*").alias("outlets"),
                F.sum("receipts").alias("receipts"),
                F.round(F.sum("amount_kzt"), 2).alias("amount_kzt"),
            )
            .withColumn(
                "receipts_per_10k",
                F.round(1e4 * F.col("receipts") / F.col("district_population"), 3),
            )
            .drop("district_population")
        )
        stats = {
            "bronze_rows": bronze.count(),
            "outlet_days": outlet_days.count(),
            "fiscal_district_daily_rows": by_category.count(),
            "pharmacy_demand_daily_rows": pharmacy.count(),
        }
        stats["duplicates_dropped"] = stats["bronze_rows"] - stats["outlet_days"]
        stats["fiscal_district_daily_version"] = replace_days_spark(
            by_category, lake, "silver", "fiscal_district_daily", "business_date", days
        )
        stats["pharmacy_demand_daily_version"] = replace_days_spark(
            pharmacy, lake, "silver", "pharmacy_demand_daily", "business_date", days
        )
    finally:
        outlet_days.unpersist()
    return stats


def build_silver_duckdb(lake: Lake, days: list[date]) -> dict[str, int]:
    """`build_silver` in DuckDB on one node (see `pipelines.duckdb_io`): the same rows."""
    with duckdb_io.connect(lake) as con:
        duckdb_io.scan_bronze_days(con, "bronze", lake, CONTRACT, days)
        duckdb_io.register_districts(con)
        latest = duckdb_io.one_delivery_per_key("bronze", ["outlet_id", "business_date"], "latest")
        canonical = duckdb_io.with_canonical_district(latest)
        con.execute(f"CREATE TABLE outlet_days AS {canonical}")
        duckdb_io.assert_districts_known(con, "outlet_days", CONTRACT.source)
        totals = """count(*) AS outlets, CAST(sum(receipts) AS BIGINT) AS receipts,
                    round_decimal(sum(amount_kzt), 2) AS amount_kzt"""
        by_category = f"""
            SELECT business_date, district, district_code, category, {totals},
                   round_decimal(round_decimal(sum(amount_kzt), 2)
                                 / greatest(sum(receipts), 1), 2) AS avg_ticket_kzt
            FROM outlet_days
            GROUP BY business_date, district, district_code, district_population, category
        """
        pharmacy = f"""
            SELECT business_date, district, district_code, {totals},
                   round_decimal(1e4 * sum(receipts) / district_population, 3)
                       AS receipts_per_10k
            FROM outlet_days WHERE category = 'pharmacy'
            GROUP BY business_date, district, district_code, district_population
        """
        count = duckdb_io.count
        stats = {
            "bronze_rows": count(con, "SELECT * FROM bronze"),
            "outlet_days": count(con, "SELECT * FROM outlet_days"),
            "fiscal_district_daily_rows": count(con, by_category),
            "pharmacy_demand_daily_rows": count(con, pharmacy),
        }
        stats["duplicates_dropped"] = stats["bronze_rows"] - stats["outlet_days"]
        for name, query in (
            ("fiscal_district_daily", by_category),
            ("pharmacy_demand_daily", pharmacy),
        ):
            stats[f"{name}_version"] = duckdb_io.replace_days(
                con, query, lake, "silver", name, "business_date", days
            )
    return stats


SOURCE = Source(
    name="fiscal",
    description="Fiscal cash-register receipts per outlet and day.",
    contract=CONTRACT,
    write_landing_day=write_landing_day,
    build_silver=build_silver,
    silver_tables=("fiscal_district_daily", "pharmacy_demand_daily"),
    build_silver_duckdb=build_silver_duckdb,
)
