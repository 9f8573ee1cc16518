"""Telecom: simulator of the integrator's hourly presence and flow files, and the silver job
(Spark, and the same in DuckDB for one machine) that enforces k-anonymity and derives activity
and mobility indices per district."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from contracts.districts import AGGLOMERATION_TOWNS, DISTRICT_CENTRES, DISTRICTS
from contracts.telecom import TELECOM_FLOWS, TELECOM_PRESENCE, ZONES
from pipelines import duckdb_io
from pipelines.lake import Lake
from pipelines.simulation.city import EPOCH, epidemic, restriction_level
from pipelines.sources import Source, land_file
from pipelines.spark_districts import assert_districts_known, with_canonical_district
from pipelines.spark_io import one_delivery_per_key, read_bronze_days, replace_days_spark

ALMATY = ZoneInfo("Asia/Almaty")
CELL_LAT, CELL_LON = 0.0045, 0.0062  # ~500 m
CELL_RADIUS_KM = 4.6  # cells within this distance of a district centre belong to the city
COVERAGE = 0.75  # share of residents carrying a phone of the integrator's operators
CENTRAL_DISTRICTS = {"Almaly": 2.6, "Medeu": 1.8, "Bostandyk": 1.4}  # jobs per resident, relative
COMMUTERS_SHARE = 0.35  # of an agglomeration town's residents work in the city
# Morning/evening commute profile over local hours.
MORNING = np.array([0, 0, 0, 0, 0, 0.02, 0.1, 0.3, 0.35, 0.15, 0.05, 0.03] + [0.0] * 12)
EVENING = np.roll(MORNING, 10)
AT_WORK = np.array(
    [
        0,
        0,
        0,
        0,
        0,
        0,
        0.05,
        0.3,
        0.7,
        0.95,
        1,
        1,
        0.95,
        0.95,
        1,
        1,
        0.95,
        0.8,
        0.5,
        0.25,
        0.1,
        0.05,
        0,
        0,
    ]
)


def _km(lat1: float, lon1: float, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    return np.hypot((lat2 - lat1) * 111.0, (lon2 - lon1) * 111.0 * np.cos(np.radians(43.25)))


def grid_factor(scale: float) -> int:
    """How many 500 m cells wide a simulated cell is: a small test city gets a coarser grid,
    so its rows shrink with the scale as the other sources' do (1 at full scale)."""
    return int(np.clip(round(1 / np.sqrt(scale)), 1, 8))


@lru_cache(maxsize=8)
def cells(seed: int, factor: int = 1) -> pl.DataFrame:
    """The integrator's grid over the city: cell, centre, district, residents and jobs."""
    rng = np.random.default_rng([seed, 0x7E1])
    lats = np.arange(43.13, 43.40, CELL_LAT * factor)
    lons = np.arange(76.72, 77.07, CELL_LON * factor)
    lat, lon = (a.ravel() for a in np.meshgrid(lats, lons, indexing="ij"))
    names = list(DISTRICT_CENTRES)
    distance = np.stack([_km(*DISTRICT_CENTRES[n], lat, lon) for n in names])
    nearest = distance.argmin(axis=0)
    inside = distance.min(axis=0) <= CELL_RADIUS_KM
    grid = pl.DataFrame({"cell_lat": lat.round(5), "cell_lon": lon.round(5), "d": nearest}).filter(
        pl.Series(inside)
    )
    weight = rng.lognormal(0, 0.8, grid.height)
    grid = grid.with_columns(
        pl.Series("weight", weight),
        pl.format(
            "ALA-{}-{}",
            ((pl.col("cell_lat") - 43.0) / CELL_LAT).round(0).cast(pl.Int32),
            ((pl.col("cell_lon") - 76.5) / CELL_LON).round(0).cast(pl.Int32),
        ).alias("cell_id"),
        pl.col("d").map_elements(lambda i: names[i], return_dtype=pl.Utf8).alias("district"),
    )
    population = {d.name: d.population for d in DISTRICTS}
    total_weight = grid.group_by("district").agg(pl.col("weight").sum().alias("w"))
    grid = grid.join(total_weight, on="district").with_columns(
        (pl.col("weight") / pl.col("w") * pl.col("district").replace_strict(population)).alias(
            "residents"
        ),
    )
    job_factor = pl.col("district").replace_strict(CENTRAL_DISTRICTS, default=0.6)
    grid = grid.with_columns(
        (pl.col("residents") * job_factor * pl.Series(rng.lognormal(0, 0.7, grid.height))).alias(
            "jobs"
        )
    )
    jobs_scale = 0.45 * float(grid["residents"].sum()) / float(grid["jobs"].sum())  # 45% work
    return grid.with_columns(pl.col("jobs") * jobs_scale).select(
        "cell_id", "cell_lat", "cell_lon", "district", "residents", "jobs"
    )


def mobility_factor(seed: int, day: date) -> float:
    """How much the city moves: down under restrictions and when morbidity is high."""
    cases = epidemic(seed)[(day - EPOCH).days].sum()
    fear = min(1.0, cases / 1500.0)
    weekend = 0.75 if day.weekday() >= 5 else 1.0
    return float(weekend * (1 - 0.55 * restriction_level(day)) * (1 - 0.3 * fear))


def _hours(day: date) -> list[str]:
    start = datetime.combine(day, time(0), tzinfo=ALMATY)
    return [(start + timedelta(hours=h)).isoformat() for h in range(24)]


def simulate_presence(day: date, seed: int = 42, scale: float = 1.0) -> pl.DataFrame:
    rng = np.random.default_rng([seed, day.toordinal(), 0x7E1])
    grid = cells(seed, grid_factor(scale))
    move = mobility_factor(seed, day)
    residents = grid["residents"].to_numpy() * COVERAGE * scale
    jobs = grid["jobs"].to_numpy() * COVERAGE * scale
    frames = []
    for hour, stamp in enumerate(_hours(day)):
        at_work = AT_WORK[hour] * move
        away = 0.1 + 0.25 * move * (1 if 9 <= hour <= 21 else 0.2)
        work = rng.poisson(jobs * at_work)
        # Everyone is somewhere: at work, visiting another cell, or at home.
        visitor = rng.poisson(residents * away * 0.35)
        home = rng.poisson(residents * max(0.05, 1 - 0.45 * at_work - 0.35 * away))
        frames.append(
            pl.DataFrame(
                {
                    "cell_id": grid["cell_id"],
                    "cell_lat": grid["cell_lat"],
                    "cell_lon": grid["cell_lon"],
                    "district": grid["district"],
                    "hour_start": stamp,
                    "home": home,
                    "work": work,
                    "visitor": visitor,
                }
            )
        )
    return pl.concat(frames).with_columns(
        pl.col(c).cast(pl.Utf8) for c in ("cell_lat", "cell_lon", "home", "work", "visitor")
    )


def simulate_flows(day: date, seed: int = 42, scale: float = 1.0) -> pl.DataFrame:
    """Hourly moves between zones: commuting from the agglomeration and between districts."""
    rng = np.random.default_rng([seed, day.toordinal(), 0xF10])
    move = mobility_factor(seed, day)
    grid = cells(seed)
    jobs = grid.group_by("district").agg(pl.col("jobs").sum()).sort("district")
    job_share = dict(
        zip(jobs["district"], (jobs["jobs"] / jobs["jobs"].sum()).to_list(), strict=True)
    )
    residents = {
        **{d.name: d.population for d in DISTRICTS},
        **{t: n * COMMUTERS_SHARE / 0.45 for t, n in AGGLOMERATION_TOWNS.items()},
    }
    rows = []
    for origin in ZONES:
        commuters = residents[origin] * 0.45 * COVERAGE * scale * move
        for destination in DISTRICT_CENTRES:
            if destination == origin:
                continue
            daily = (
                commuters * job_share[destination] * (0.6 if origin in DISTRICT_CENTRES else 1.0)
            )
            there = rng.poisson(daily * MORNING)
            back = rng.poisson(daily * EVENING)
            background = rng.poisson(daily * 0.004, size=24)
            stamps = _hours(day)
            rows += [
                (origin, destination, stamps[h], int(there[h] + background[h])) for h in range(24)
            ]
            if origin not in DISTRICT_CENTRES:  # towns: the evening trip home
                rows += [(destination, origin, stamps[h], int(back[h])) for h in range(24)]
    return pl.DataFrame(
        rows, schema=["origin", "destination", "hour_start", "subscribers"], orient="row"
    ).with_columns(pl.col("subscribers").cast(pl.Utf8))


def write_presence_day(
    lake: Lake, day: date, seed: int = 42, scale: float = 1.0
) -> tuple[str, int]:
    return land_file(lake, TELECOM_PRESENCE, day, simulate_presence(day, seed, scale), "presence")


def write_flows_day(lake: Lake, day: date, seed: int = 42, scale: float = 1.0) -> tuple[str, int]:
    flows = simulate_flows(day, seed, scale)
    return land_file(lake, TELECOM_FLOWS, day, flows, "od_flows", fmt="jsonl")


# -- silver ---------------------------------------------------------------------------------
def suppress_presence(presence: DataFrame, k: int) -> DataFrame:
    """k-anonymity: cell-hours under k subscribers flagged for removal, counts under k blanked.

    Totals downstream add only the counts left, so a blanked count cannot be recovered by
    subtracting the others from a total.
    """
    total = F.col("home") + F.col("work") + F.col("visitor")
    blank = {c: F.when(F.col(c) >= k, F.col(c)) for c in ("home", "work", "visitor")}
    return presence.withColumn("suppressed", total < k).withColumns(blank)


def build_presence_silver(spark: SparkSession, lake: Lake, days: list[date]) -> dict[str, int]:
    k = lake.settings.k_anonymity
    bronze = read_bronze_days(spark, lake, TELECOM_PRESENCE, days)
    cell_hours = suppress_presence(
        one_delivery_per_key(bronze, ["cell_id", "hour_start"], keep="latest"), k
    )
    cell_hours = with_canonical_district(spark, cell_hours).cache()
    try:
        assert_districts_known(cell_hours, TELECOM_PRESENCE.source)
        kept = cell_hours.where(~F.col("suppressed"))
        published = {c: F.coalesce(F.col(c), F.lit(0)) for c in ("home", "work", "visitor")}
        hourly = (
            kept.groupBy(
                "activity_date", "hour_start", "district", "district_code", "district_population"
            )
            .agg(
                # Null when every cell's count was blanked: a 0 would claim "nobody".
                F.sum("home").alias("home"),
                F.sum("work").alias("work"),
                F.sum("visitor").alias("visitor"),
                F.count("*").alias("cells_kept"),
            )
            .join(
                cell_hours.where("suppressed")
                .groupBy("hour_start", "district_code")
                .agg(F.count("*").alias("cells_suppressed")),
                ["hour_start", "district_code"],
                "left",
            )
            .fillna({"cells_suppressed": 0})
            # Only published counts add up: a total over blanked ones would reveal them.
            .withColumn("total", published["home"] + published["work"] + published["visitor"])
            .withColumn(
                "hour_local", F.hour(F.from_utc_timestamp("hour_start", TELECOM_PRESENCE.timezone))
            )
            .withColumn("activity_index", F.round(F.col("total") / F.col("district_population"), 4))
            .withColumn(
                "mobility_index",
                F.round(
                    (published["work"] + published["visitor"])
                    / F.greatest(F.col("total"), F.lit(1)),
                    4,
                ),
            )
            .drop("district_population")
        ).cache()
        daytime = F.col("hour_local").between(8, 20)
        daily = hourly.groupBy("activity_date", "district", "district_code").agg(
            F.round(F.avg("total"), 1).alias("mean_hourly_subscribers"),
            F.max("total").alias("peak_hourly_subscribers"),
            F.round(F.avg(F.when(daytime, F.col("activity_index"))), 4).alias(
                "daytime_activity_index"
            ),
            F.round(F.avg(F.when(daytime, F.col("mobility_index"))), 4).alias(
                "daytime_mobility_index"
            ),
            F.sum("cells_suppressed").alias("cell_hours_suppressed"),
        )
        stats = {
            "bronze_rows": bronze.count(),
            "cell_hours": cell_hours.count(),
            "cell_hours_suppressed": cell_hours.where("suppressed").count(),
            "k_anonymity": k,
            "telecom_district_hourly_rows": hourly.count(),
            "telecom_district_daily_rows": daily.count(),
        }
        for name, frame in (("telecom_district_hourly", hourly), ("telecom_district_daily", daily)):
            stats[f"{name}_version"] = replace_days_spark(
                frame, lake, "silver", name, "activity_date", days
            )
        hourly.unpersist()
    finally:
        cell_hours.unpersist()
    return stats


def build_presence_silver_duckdb(lake: Lake, days: list[date]) -> dict[str, int]:
    """`build_presence_silver` in DuckDB on one node: the same rows, the same statistics."""
    k = lake.settings.k_anonymity
    tz = TELECOM_PRESENCE.timezone
    with duckdb_io.connect(lake) as con:
        duckdb_io.scan_bronze_days(con, "bronze", lake, TELECOM_PRESENCE, days)
        duckdb_io.register_districts(con)
        latest = duckdb_io.one_delivery_per_key("bronze", ["cell_id", "hour_start"], "latest")
        con.execute(
            f"""
            CREATE TABLE cell_hours AS
            SELECT activity_date, hour_start, district, district_code, district_population,
                   home + work + visitor < {k} AS suppressed,
                   CASE WHEN home >= {k} THEN home END AS home,
                   CASE WHEN work >= {k} THEN work END AS work,
                   CASE WHEN visitor >= {k} THEN visitor END AS visitor
            FROM ({duckdb_io.with_canonical_district(latest)})
            """
        )
        duckdb_io.assert_districts_known(con, "cell_hours", TELECOM_PRESENCE.source)
        # Null sums when every cell's count was blanked (a 0 would claim "nobody"); totals
        # add only published counts, as in the Spark job.
        con.execute(
            f"""
            CREATE TABLE hourly AS
            WITH kept AS (
                SELECT activity_date, hour_start, district, district_code, district_population,
                       CAST(sum(home) AS BIGINT) AS home, CAST(sum(work) AS BIGINT) AS work,
                       CAST(sum(visitor) AS BIGINT) AS visitor, count(*) AS cells_kept
                FROM cell_hours WHERE NOT suppressed
                GROUP BY ALL
            ), suppressed AS (
                SELECT hour_start, district_code, count(*) AS cells_suppressed
                FROM cell_hours WHERE suppressed GROUP BY ALL
            ), totals AS (
                SELECT k.*, coalesce(s.cells_suppressed, 0) AS cells_suppressed,
                       coalesce(home, 0) + coalesce(work, 0) + coalesce(visitor, 0) AS total,
                       coalesce(work, 0) + coalesce(visitor, 0) AS mobile
                FROM kept k LEFT JOIN suppressed s USING (hour_start, district_code)
            )
            SELECT hour_start, district_code, activity_date, district, home, work, visitor,
                   cells_kept, cells_suppressed, total,
                   CAST(hour(timezone('{tz}', hour_start)) AS INTEGER) AS hour_local,
                   round_decimal(total / district_population, 4) AS activity_index,
                   round_decimal(mobile / greatest(total, 1), 4) AS mobility_index
            FROM totals
            """
        )
        daily = """
            SELECT activity_date, district, district_code,
                   round_decimal(avg(total), 1) AS mean_hourly_subscribers,
                   max(total) AS peak_hourly_subscribers,
                   round_decimal(avg(activity_index) FILTER (hour_local BETWEEN 8 AND 20), 4)
                       AS daytime_activity_index,
                   round_decimal(avg(mobility_index) FILTER (hour_local BETWEEN 8 AND 20), 4)
                       AS daytime_mobility_index,
                   CAST(sum(cells_suppressed) AS BIGINT) AS cell_hours_suppressed
            FROM hourly GROUP BY ALL
        """
        stats = {
            "bronze_rows": duckdb_io.count(con, "SELECT * FROM bronze"),
            "cell_hours": duckdb_io.count(con, "SELECT * FROM cell_hours"),
            "cell_hours_suppressed": duckdb_io.count(
                con, "SELECT * FROM cell_hours WHERE suppressed"
            ),
            "k_anonymity": k,
            "telecom_district_hourly_rows": duckdb_io.count(con, "SELECT * FROM hourly"),
            "telecom_district_daily_rows": duckdb_io.count(con, daily),
        }
        for name, query in (
            ("telecom_district_hourly", "SELECT * FROM hourly"),
            ("telecom_district_daily", daily),
        ):
            stats[f"{name}_version"] = duckdb_io.replace_days(
                con, query, lake, "silver", name, "activity_date", days
            )
    return stats


def build_flows_silver(spark: SparkSession, lake: Lake, days: list[date]) -> dict[str, int]:
    k = lake.settings.k_anonymity
    bronze = read_bronze_days(spark, lake, TELECOM_FLOWS, days)
    flows = one_delivery_per_key(
        bronze, ["origin", "destination", "hour_start"], keep="latest"
    ).cache()
    try:
        towns = list(AGGLOMERATION_TOWNS)
        kept = flows.where(F.col("subscribers") >= k).select(
            "activity_date",
            "hour_start",
            F.hour(F.from_utc_timestamp("hour_start", TELECOM_FLOWS.timezone)).alias("hour_local"),
            "origin",
            "destination",
            F.col("subscribers").cast("long").alias("subscribers"),
            F.col("origin").isin(towns).alias("from_agglomeration"),
            F.col("destination").isin(towns).alias("to_agglomeration"),
        )
        stats = {
            "bronze_rows": bronze.count(),
            "flows": flows.count(),
            "k_anonymity": k,
            "telecom_od_hourly_rows": kept.count(),
        }
        stats["flows_suppressed"] = stats["flows"] - stats["telecom_od_hourly_rows"]
        stats["telecom_od_hourly_version"] = replace_days_spark(
            kept, lake, "silver", "telecom_od_hourly", "activity_date", days
        )
    finally:
        flows.unpersist()
    return stats


def build_flows_silver_duckdb(lake: Lake, days: list[date]) -> dict[str, int]:
    """`build_flows_silver` in DuckDB on one node (see `pipelines.duckdb_io`): the same rows."""
    k = lake.settings.k_anonymity
    towns = ", ".join(f"'{t}'" for t in AGGLOMERATION_TOWNS)
    with duckdb_io.connect(lake) as con:
        duckdb_io.scan_bronze_days(con, "bronze", lake, TELECOM_FLOWS, days)
        latest = duckdb_io.one_delivery_per_key(
            "bronze", ["origin", "destination", "hour_start"], "latest"
        )
        con.execute(f"CREATE TABLE flows AS {latest}")
        kept = f"""
            SELECT activity_date, hour_start,
                   CAST(hour(timezone('{TELECOM_FLOWS.timezone}', hour_start)) AS INTEGER)
                       AS hour_local,
                   origin, destination, CAST(subscribers AS BIGINT) AS subscribers,
                   origin IN ({towns}) AS from_agglomeration,
                   destination IN ({towns}) AS to_agglomeration
            FROM flows WHERE subscribers >= {k}
        """
        stats = {
            "bronze_rows": duckdb_io.count(con, "SELECT * FROM bronze"),
            "flows": duckdb_io.count(con, "SELECT * FROM flows"),
            "k_anonymity": k,
            "telecom_od_hourly_rows": duckdb_io.count(con, kept),
        }
        stats["flows_suppressed"] = stats["flows"] - stats["telecom_od_hourly_rows"]
        stats["telecom_od_hourly_version"] = duckdb_io.replace_days(
            con, kept, lake, "silver", "telecom_od_hourly", "activity_date", days
        )
    return stats


PRESENCE = Source(
    name="telecom_presence",
    description="Subscribers per ~500 m cell and hour (home, work, visitor), from the operators.",
    contract=TELECOM_PRESENCE,
    write_landing_day=write_presence_day,
    build_silver=build_presence_silver,
    silver_tables=("telecom_district_hourly", "telecom_district_daily"),
    group="telecom",
    build_silver_duckdb=build_presence_silver_duckdb,
)
FLOWS = Source(
    name="telecom_flows",
    description="Origin-destination flows per hour between districts and agglomeration towns.",
    contract=TELECOM_FLOWS,
    write_landing_day=write_flows_day,
    build_silver=build_flows_silver,
    silver_tables=("telecom_od_hourly",),
    group="telecom",
    build_silver_duckdb=build_flows_silver_duckdb,
)
