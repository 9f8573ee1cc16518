"""Bus GPS: the trackers' daily files (or GTFS-Realtime feeds), and the Spark silver job that
cleans the pings and turns them into stop arrivals, trips and headways against the GTFS feed.

Cleaning: repeated fixes are dropped (one per vehicle and second), jumps (a fix that implies
>120 km/h both to reach it and to leave it, or a spike off the path and back) are dropped, and fixes farther than 400 m from any
stop of the bus's route are kept but marked off-route (depot runs, diversions) and left out
of trips. Each fix is placed on its route by linear referencing: the nearest stop of the
route (in the direction of the scheduled trip, or of the bus's heading), and the distance
along the route's stop pattern. A trip is a run in one direction; a stop arrival is the moment
the bus's distance along the pattern passes the stop's, interpolated between two fixes.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import numpy as np
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from contracts.districts import ALMATY_BBOX
from contracts.transit import BUS_POSITIONS, GTFS_LANDING_PREFIX
from pipelines.ingest import ContractError
from pipelines.lake import Lake
from pipelines.sources import Source, land_file
from pipelines.spark_io import one_delivery_per_key, read_bronze_days, replace_days_spark
from pipelines.transit import gtfs
from pipelines.transit.network import FEED_VERSION, gtfs_zip
from pipelines.transit.simulate import TransitDay, simulate_day

CONTRACT = BUS_POSITIONS
JUMP_KMH = 120.0
SPIKE_M = 1500.0
MATCH_RADIUS_M = 400.0
NEW_TRIP_GAP_S = 15 * 60
BACKWARDS_M = 300.0  # a bus moving back along the pattern this far has turned round


@lru_cache(maxsize=1)
def transit_day(day: date, seed: int, scale: float) -> TransitDay:
    """One simulated day, shared by the GPS and the card-tap landings of the same run."""
    return simulate_day(day, seed, scale)


def ensure_feed_landed(lake: Lake, seed: int, scale: float) -> str | None:
    """Land the simulated network's GTFS feed, unless a feed is already in the landing zone."""
    if gtfs.feed_versions(lake):
        return None
    return lake.put_file(
        f"{GTFS_LANDING_PREFIX}/{FEED_VERSION}/almaty_gtfs.zip", gtfs_zip(seed, scale)
    )


def write_landing_day(lake: Lake, day: date, seed: int = 42, scale: float = 1.0) -> tuple[str, int]:
    ensure_feed_landed(lake, seed, scale)
    return land_file(lake, CONTRACT, day, transit_day(day, seed, scale).pings, "bus_positions")


# -- silver ---------------------------------------------------------------------------------
def feed_for_days(spark: SparkSession, lake: Lake, days: list[date]) -> DataFrame:
    """(position_date, feed_version): the GTFS feed in force on each day."""
    versions = sorted(gtfs.loaded_versions(lake))
    pairs = [(d, gtfs.version_in_force(versions, d)) for d in days]
    missing = [d for d, v in pairs if v is None]
    if missing:
        raise ContractError(
            gtfs.SOURCE,
            f"{lake.root}/{GTFS_LANDING_PREFIX}/",
            f"no GTFS feed loaded in force on {missing[0]} (load the feed before the pings)",
        )
    return spark.createDataFrame(pairs, "position_date date, feed_version date")


def _patterns(spark: SparkSession, lake: Lake, versions: DataFrame) -> DataFrame:
    patterns = spark.read.format("delta").load(lake.spark_uri("silver", "gtfs_route_patterns"))
    used = versions.select("feed_version").distinct()
    return patterns.join(F.broadcast(used), "feed_version")


def _xy(frame: DataFrame, lat: str, lon: str, lat0: float, prefix: str = "") -> DataFrame:
    return frame.withColumn(
        f"{prefix}x", F.col(lon) * F.lit(111_320.0 * float(np.cos(np.radians(lat0))))
    ).withColumn(f"{prefix}y", F.col(lat) * F.lit(110_540.0))


def _epoch(column: str) -> F.Column:
    return F.col(column).cast("double")


def locate_pings(pings: DataFrame, patterns: DataFrame, lat0: float) -> DataFrame:
    """Each fix with its nearest stop on its route, the distance along the route's pattern and
    the segment it is on; fixes with no stop of their route within 400 m are off-route."""
    cell = MATCH_RADIUS_M
    pings = _xy(pings, "lat", "lon", lat0).withColumns(
        {"cx": F.floor(F.col("x") / cell), "cy": F.floor(F.col("y") / cell)}
    )
    around = F.array(F.lit(-1), F.lit(0), F.lit(1))
    stops = (
        _xy(patterns, "stop_lat", "stop_lon", lat0, prefix="s")
        .withColumn("dx", F.explode(around))
        .withColumn("dy", F.explode(around))
        .select(
            "feed_version",
            "route_id",
            F.col("direction_id").alias("s_direction"),
            "stop_sequence",
            "stop_id",
            "dist_m",
            "bearing_deg",
            "sx",
            "sy",
            (F.floor(F.col("sx") / cell) + F.col("dx")).alias("cx"),
            (F.floor(F.col("sy") / cell) + F.col("dy")).alias("cy"),
        )
        .withColumnRenamed("bearing_deg", "s_bearing")
    )
    distance = F.hypot(F.col("x") - F.col("sx"), F.col("y") - F.col("sy"))
    turn = F.abs(((F.col("bearing_deg") - F.col("s_bearing") + 540) % 360) - 180)
    wrong_way = (
        F.when(F.col("trip_direction").isNotNull(), F.col("trip_direction") != F.col("s_direction"))
        .when(F.col("bearing_deg").isNotNull(), turn > 90)
        .otherwise(F.lit(False))
    )
    key = ["vehicle_id", "position_ts"]
    heading = F.radians("s_bearing")
    along = (
        F.col("dist_m")
        + (F.col("x") - F.col("sx")) * F.sin(heading)
        + (F.col("y") - F.col("sy")) * F.cos(heading)
    )
    # The best candidate per fix by a hash aggregation (min of a struct led by the score):
    # cheaper than ranking in a window, which sorts every candidate.
    best = F.min(
        F.struct(
            F.col("score"),
            F.col("stop_sequence"),
            F.col("s_direction"),
            F.col("stop_id"),
            F.col("distance"),
            along.alias("along"),
            F.col("dist_m"),
        )
    ).alias("best")
    nearest = (
        pings.select(
            *key,
            "feed_version",
            "route_id",
            "trip_direction",
            "bearing_deg",
            "x",
            "y",
            "cx",
            "cy",
        )
        .join(stops, ["feed_version", "route_id", "cx", "cy"])
        .withColumn("distance", distance)
        .where(F.col("distance") <= cell)
        .withColumn("score", F.col("distance") + F.when(wrong_way, 10_000.0).otherwise(0.0))
        .groupBy(*key)
        .agg(best)
        .select(
            *key,
            F.col("best.s_direction").alias("direction_id"),
            F.col("best.stop_id").alias("nearest_stop_id"),
            F.col("best.stop_sequence").alias("nearest_stop_sequence"),
            F.round("best.distance", 1).alias("stop_distance_m"),
            F.round(F.greatest(F.col("best.along"), F.lit(0.0)), 1).alias("along_m"),
            F.when(F.col("best.along") >= F.col("best.dist_m"), F.col("best.stop_sequence"))
            .otherwise(F.greatest(F.col("best.stop_sequence") - 1, F.lit(1)))
            .alias("segment_from_seq"),
        )
    )
    return (
        pings.drop("x", "y", "cx", "cy")
        .join(nearest, key, "left")
        .withColumn("on_route", F.col("nearest_stop_id").isNotNull())
        .withColumn(
            "segment_to_seq",
            F.when(F.col("on_route"), F.col("segment_from_seq") + 1),
        )
    )


def drop_jumps(pings: DataFrame, lat0: float) -> DataFrame:
    """Mark fixes that jump: > JUMP_KMH both on the way in and out, or a spike that leaves the
    path between its neighbours by more than 1.5 km and comes back within five minutes."""
    w = Window.partitionBy("vehicle_id", "position_date").orderBy("position_ts")
    pings = _xy(pings, "lat", "lon", lat0).withColumn("t", _epoch("position_ts"))
    prev = {c: F.lag(c).over(w) for c in ("x", "y", "t")}
    nxt = {c: F.lead(c).over(w) for c in ("x", "y", "t")}
    d_in = F.hypot(F.col("x") - prev["x"], F.col("y") - prev["y"])
    d_out = F.hypot(nxt["x"] - F.col("x"), nxt["y"] - F.col("y"))
    direct = F.hypot(nxt["x"] - prev["x"], nxt["y"] - prev["y"])
    dt_in = F.greatest(F.col("t") - prev["t"], F.lit(1.0))
    dt_out = F.greatest(nxt["t"] - F.col("t"), F.lit(1.0))
    too_fast = (d_in / dt_in * 3.6 > JUMP_KMH) & (d_out / dt_out * 3.6 > JUMP_KMH)
    spike = (d_in + d_out - direct > SPIKE_M) & (dt_in + dt_out <= 300)
    return pings.withColumn("jump", F.coalesce(too_fast | spike, F.lit(False))).drop("x", "y", "t")


def segment_trips(located: DataFrame) -> DataFrame:
    """On-route fixes grouped into trips: a new trip when the bus changes route, direction or
    scheduled trip, turns back along the pattern, or is silent for 15 minutes. A local day is
    the unit (service ends before midnight), which keeps each window group to one bus-day."""
    w = Window.partitionBy("vehicle_id", "position_date").orderBy("position_ts")
    on_route = located.where("on_route")
    previous = {c: F.lag(c).over(w) for c in ("route_id", "direction_id", "trip_id", "along_m")}
    gap = _epoch("position_ts") - F.lag(_epoch("position_ts")).over(w)
    new_trip = (
        previous["route_id"].isNull()
        | (F.col("route_id") != previous["route_id"])
        | (F.col("direction_id") != previous["direction_id"])
        | F.coalesce(F.col("trip_id") != previous["trip_id"], F.lit(False))
        | (gap > NEW_TRIP_GAP_S)
        | (F.col("along_m") < previous["along_m"] - BACKWARDS_M)
    )
    running = w.rowsBetween(Window.unboundedPreceding, 0)
    # The trip's first fix, carried forward in the same window (no second sort per trip).
    start = F.last(F.when(F.col("new_trip") == 1, F.col("position_ts")), ignorenulls=True)
    return (
        on_route.withColumn("new_trip", new_trip.cast("int"))
        .withColumn("trip_start", start.over(running))
        .withColumn(
            "trip_key",
            F.concat_ws("-", "vehicle_id", F.date_format("trip_start", "yyyyMMddHHmmss")),
        )
        .drop("new_trip", "trip_start")
    )


def stop_arrivals(trips: DataFrame, patterns: DataFrame, timezone: str) -> DataFrame:
    """When each trip passed each stop of its pattern, interpolated between two fixes."""
    w = Window.partitionBy("trip_key").orderBy("position_ts")
    pairs = (
        trips.select(
            "trip_key",
            "vehicle_id",
            "route_id",
            "direction_id",
            "trip_id",
            "feed_version",
            F.col("along_m").alias("a0"),
            F.lead("along_m").over(w).alias("a1"),
            _epoch("position_ts").alias("t0"),
            F.lead(_epoch("position_ts")).over(w).alias("t1"),
            F.col("nearest_stop_sequence").alias("s0"),
            F.lead("nearest_stop_sequence").over(w).alias("s1"),
        )
        .where(F.col("a1") > F.col("a0"))
        .withColumn(
            "stop_sequence",
            F.explode(F.sequence(F.greatest(F.col("s0") - 1, F.lit(1)), F.col("s1") + 1)),
        )
    )
    stops = patterns.select(
        "feed_version", "route_id", "direction_id", "stop_sequence", "stop_id", "dist_m"
    )
    crossed = pairs.join(
        stops, ["feed_version", "route_id", "direction_id", "stop_sequence"]
    ).where(F.col("dist_m").between(F.col("a0"), F.col("a1")))
    when = F.col("t0") + (F.col("t1") - F.col("t0")) * (F.col("dist_m") - F.col("a0")) / (
        F.col("a1") - F.col("a0")
    )
    arrivals = (
        crossed.withColumn("arrival_epoch", when)
        .groupBy(
            "trip_key",
            "vehicle_id",
            "route_id",
            "direction_id",
            "feed_version",
            "stop_sequence",
            "stop_id",
        )
        .agg(F.min("arrival_epoch").alias("arrival_epoch"), F.max("trip_id").alias("trip_id"))
        .withColumn("arrival_ts", F.to_timestamp(F.round("arrival_epoch", 0)))
        .withColumn("arrival_date", F.to_date(F.from_utc_timestamp("arrival_ts", timezone)))
    )
    headway = Window.partitionBy("route_id", "direction_id", "stop_id", "arrival_date").orderBy(
        "arrival_epoch"
    )
    return arrivals.withColumn(
        "headway_s", F.round(F.col("arrival_epoch") - F.lag("arrival_epoch").over(headway), 0)
    )


def with_schedule(arrivals: DataFrame, stop_times: DataFrame, timezone: str) -> DataFrame:
    """Scheduled arrival (GTFS stop_times of the trip the bus was running) and the delay."""
    scheduled = stop_times.groupBy("feed_version", "trip_id", "stop_id").agg(
        F.min("arrival_s").alias("scheduled_s")
    )
    midnight = F.to_utc_timestamp(F.col("arrival_date").cast("timestamp"), timezone)
    scheduled_ts = F.to_timestamp(_epoch_of(midnight) + F.col("scheduled_s"))
    return (
        arrivals.join(scheduled, ["feed_version", "trip_id", "stop_id"], "left")
        .withColumn("scheduled_arrival_ts", scheduled_ts)
        .withColumn(
            "delay_s", F.round(F.col("arrival_epoch") - _epoch_of(F.col("scheduled_arrival_ts")), 0)
        )
        .drop("scheduled_s")
    )


def _epoch_of(column: F.Column) -> F.Column:
    return column.cast("double")


def build_silver(spark: SparkSession, lake: Lake, days: list[date]) -> dict[str, int]:
    tz = CONTRACT.timezone
    versions = feed_for_days(spark, lake, days)
    patterns = _patterns(spark, lake, versions).cache()
    lat0 = float(patterns.agg(F.avg("stop_lat")).first()[0])  # type: ignore[index]
    gtfs_trips = (
        spark.read.format("delta")
        .load(lake.spark_uri("silver", "gtfs_trips"))
        .select("feed_version", "trip_id", F.col("direction_id").alias("trip_direction"))
    )
    bronze = read_bronze_days(spark, lake, CONTRACT, days)
    unique = one_delivery_per_key(bronze, ["vehicle_id", "position_ts"], keep="first")
    pings = (
        unique.join(F.broadcast(versions), "position_date")
        .join(gtfs_trips, ["feed_version", "trip_id"], "left")
        .select(
            "vehicle_id",
            "route_id",
            "trip_id",
            "trip_direction",
            "position_ts",
            "position_date",
            "lat",
            "lon",
            "speed_kmh",
            "bearing_deg",
            "feed_version",
        )
    )
    in_days = [d.isoformat() for d in days]
    marked = drop_jumps(pings, lat0).cache()
    try:
        located = locate_pings(marked.where(~F.col("jump")), patterns, lat0).cache()
        trips = segment_trips(located).cache()
        arrivals = stop_arrivals(trips, patterns, tz)
        stop_times = spark.read.format("delta").load(lake.spark_uri("silver", "gtfs_stop_times"))
        arrivals = (
            with_schedule(
                arrivals,
                stop_times.join(
                    F.broadcast(versions.select("feed_version").distinct()), "feed_version"
                ),
                tz,
            )
            .where(F.col("arrival_date").isin(in_days))
            .cache()
        )
        positions = trips.unionByName(
            located.where(~F.col("on_route")).withColumn("trip_key", F.lit(None).cast("string"))
        ).select(
            "vehicle_id",
            "route_id",
            "trip_id",
            "trip_key",
            "direction_id",
            "position_ts",
            "position_date",
            "lat",
            "lon",
            "speed_kmh",
            "bearing_deg",
            "on_route",
            "nearest_stop_id",
            "stop_distance_m",
            "along_m",
            "segment_from_seq",
            "segment_to_seq",
            "feed_version",
        )
        served = arrivals.groupBy("trip_key").agg(F.count("*").alias("stops_served"))
        pattern_size = patterns.groupBy("feed_version", "route_id", "direction_id").agg(
            F.count("*").alias("pattern_stops")
        )
        trip_rows = (
            trips.groupBy("trip_key", "vehicle_id", "route_id", "direction_id", "feed_version")
            .agg(
                F.max("trip_id").alias("trip_id"),
                F.min("position_ts").alias("start_ts"),
                F.max("position_ts").alias("end_ts"),
                F.count("*").alias("pings"),
                (F.max("along_m") - F.min("along_m")).alias("distance_m"),
            )
            .withColumn("trip_date", F.to_date(F.from_utc_timestamp("start_ts", tz)))
            .withColumn("duration_s", _epoch("end_ts") - _epoch("start_ts"))
            .withColumn(
                "mean_speed_kmh",
                F.round(F.col("distance_m") / F.greatest(F.col("duration_s"), F.lit(1.0)) * 3.6, 1),
            )
            .join(served, "trip_key", "left")
            .join(pattern_size, ["feed_version", "route_id", "direction_id"], "left")
            .fillna({"stops_served": 0})
            .where(F.col("trip_date").isin(in_days))
        )
        bronze_rows = bronze.count()
        unique_rows, jumps = marked.agg(F.count("*"), F.sum(F.col("jump").cast("int"))).first()  # type: ignore[misc]
        kept, off_route = located.agg(F.count("*"), F.sum((~F.col("on_route")).cast("int"))).first()  # type: ignore[misc]
        stats = {
            "bronze_rows": bronze_rows,
            "duplicates_dropped": bronze_rows - unique_rows,
            "jumps_dropped": jumps or 0,
            "off_route_pings": off_route or 0,
            "bus_positions_rows": kept,
        }
        stats["bus_positions_version"] = replace_days_spark(
            positions, lake, "silver", "bus_positions", "position_date", days
        )
        stats["bus_stop_arrivals_rows"] = arrivals.count()
        stats["bus_stop_arrivals_version"] = replace_days_spark(
            arrivals.drop("arrival_epoch"),
            lake,
            "silver",
            "bus_stop_arrivals",
            "arrival_date",
            days,
        )
        trip_rows = trip_rows.cache()
        stats["bus_trips_rows"] = trip_rows.count()
        stats["bus_trips_version"] = replace_days_spark(
            trip_rows, lake, "silver", "bus_trips", "trip_date", days
        )
        for frame in (trip_rows, arrivals, trips, located):
            frame.unpersist()
    finally:
        marked.unpersist()
        patterns.unpersist()
    return stats


SOURCE = Source(
    name="bus_gps",
    description="GPS positions of the city's buses (every 10-30 s), matched to the GTFS network.",
    contract=CONTRACT,
    write_landing_day=write_landing_day,
    build_silver=build_silver,
    silver_tables=("bus_positions", "bus_stop_arrivals", "bus_trips"),
    group="transit",
    silver_inputs=(("silver", "gtfs_feed"),),
)

GTFS_BBOX = ALMATY_BBOX  # the city's box: a feed with stops outside it is refused
