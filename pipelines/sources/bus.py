"""Bus GPS: the trackers' daily files (or GTFS-Realtime feeds), and the silver job (Spark, and
the same in DuckDB for one machine, at the end) that cleans the pings and turns them into stop
arrivals, trips and headways against the GTFS feed.

Cleaning: repeated fixes are dropped (one per vehicle and second), jumps (a fix that implies
>120 km/h both to reach it and to leave it, or a spike off the path and back) are dropped, and fixes farther than 400 m from any
stop of the bus's route are kept but marked off-route (depot runs, diversions) and left out
of trips. Each fix is placed on its route by linear referencing: the nearest stop of the
route (in the direction of the scheduled trip, or of the bus's heading), and the distance
along the route's stop pattern. A trip is a run in one direction; a stop arrival is the moment
the bus's distance along the pattern passes the stop's, interpolated between two fixes.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from datetime import date

import duckdb
import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from contracts.districts import ALMATY_BBOX
from contracts.transit import BUS_POSITIONS, GTFS_LANDING_PREFIX
from pipelines import duckdb_io
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


def transit_day(day: date, seed: int, scale: float) -> TransitDay:
    """One simulated day: the truth the day's GPS and card-tap landing files are written from."""
    return simulate_day(day, seed, scale)


class SharedTransitDay:
    """The simulated day both transit landings draw from (the taps come from the same buses as
    the pings): simulated once, and let go as soon as both have taken their part. A full-scale
    day is ~1 GiB of string columns, which a cache would carry through the rest of the run."""

    PARTS = frozenset({"pings", "taps"})

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: tuple[date, int, float] | None = None
        self._day: TransitDay | None = None
        self._taken: set[str] = set()

    def take(self, part: str, day: date, seed: int, scale: float) -> pl.DataFrame:
        assert part in self.PARTS, part
        with self._lock:
            if self._day is None or self._key != (day, seed, scale):
                self._key, self._day, self._taken = (day, seed, scale), None, set()
                self._day = transit_day(day, seed, scale)
            frame: pl.DataFrame = getattr(self._day, part)
            self._taken.add(part)
            if self._taken >= self.PARTS:
                self._key, self._day, self._taken = None, None, set()
            return frame

    @property
    def held(self) -> bool:
        return self._day is not None


shared_transit_day = SharedTransitDay()


def ensure_feed_landed(lake: Lake, seed: int, scale: float) -> str | None:
    """Land the simulated network's GTFS feed, unless a feed is already in the landing zone."""
    if gtfs.feed_versions(lake):
        return None
    return lake.put_file(
        f"{GTFS_LANDING_PREFIX}/{FEED_VERSION}/almaty_gtfs.zip", gtfs_zip(seed, scale)
    )


def write_landing_day(lake: Lake, day: date, seed: int = 42, scale: float = 1.0) -> tuple[str, int]:
    ensure_feed_landed(lake, seed, scale)
    pings = shared_transit_day.take("pings", day, seed, scale)
    return land_file(lake, CONTRACT, day, pings, "bus_positions")


# -- silver ---------------------------------------------------------------------------------
def feeds_in_force(lake: Lake, days: list[date]) -> list[tuple[date, date]]:
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
    return [(d, v) for d, v in pairs if v is not None]


def feed_for_days(spark: SparkSession, lake: Lake, days: list[date]) -> DataFrame:
    """(position_date, feed_version) as a Spark frame."""
    return spark.createDataFrame(
        feeds_in_force(lake, days), "position_date date, feed_version date"
    )


def reference_latitude(lake: Lake, versions: set[date]) -> float:
    """The mean latitude of the feeds' stops: where degrees become metres for the whole city.
    Summed exactly, so that both engines work with the same bits."""
    stops = lake.read("silver", "gtfs_route_patterns", columns=["feed_version", "stop_lat"])
    used = pc.is_in(stops["feed_version"], pa.array(sorted(versions), pa.date32()))
    latitudes = stops.filter(used)["stop_lat"].to_pylist()
    return math.fsum(latitudes) / len(latitudes)


def _patterns(spark: SparkSession, lake: Lake, versions: DataFrame) -> DataFrame:
    patterns = spark.read.format("delta").load(lake.spark_uri("silver", "gtfs_route_patterns"))
    used = versions.select("feed_version").distinct()
    return patterns.join(F.broadcast(used), "feed_version")


M_PER_DEG_LAT = 110_540.0


def m_per_deg_lon(lat0: float) -> float:
    """Metres per degree of longitude at the city's latitude (a local flat projection)."""
    return 111_320.0 * float(np.cos(np.radians(lat0)))


# Both engines compute distances and headings with the same IEEE operations (products, sums,
# sqrt; degrees to radians as Java does it), so that a fix midway between two stops goes to
# the same stop on either: hypot() and DuckDB's radians() round differently in the last bit.
DEG_TO_RAD = 0.017453292519943295


def _distance(dx: F.Column, dy: F.Column) -> F.Column:
    return F.sqrt(dx * dx + dy * dy)


def _xy(frame: DataFrame, lat: str, lon: str, lat0: float, prefix: str = "") -> DataFrame:
    return frame.withColumn(f"{prefix}x", F.col(lon) * F.lit(m_per_deg_lon(lat0))).withColumn(
        f"{prefix}y", F.col(lat) * F.lit(M_PER_DEG_LAT)
    )


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
    distance = _distance(F.col("x") - F.col("sx"), F.col("y") - F.col("sy"))
    turn = F.abs(((F.col("bearing_deg") - F.col("s_bearing") + 540) % 360) - 180)
    wrong_way = (
        F.when(F.col("trip_direction").isNotNull(), F.col("trip_direction") != F.col("s_direction"))
        .when(F.col("bearing_deg").isNotNull(), turn > 90)
        .otherwise(F.lit(False))
    )
    key = ["vehicle_id", "position_ts"]
    heading = F.col("s_bearing") * F.lit(DEG_TO_RAD)
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
    d_in = _distance(F.col("x") - prev["x"], F.col("y") - prev["y"])
    d_out = _distance(nxt["x"] - F.col("x"), nxt["y"] - F.col("y"))
    direct = _distance(nxt["x"] - prev["x"], nxt["y"] - prev["y"])
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
    # Two buses at a stop in the same instant: the trip key breaks the tie (0 s for the second).
    headway = Window.partitionBy("route_id", "direction_id", "stop_id", "arrival_date").orderBy(
        "arrival_epoch", "trip_key"
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
    lat0 = reference_latitude(lake, {v for _, v in feeds_in_force(lake, days)})
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


# -- silver on one node ------------------------------------------------------------------------
# The same job in DuckDB (see `pipelines.duckdb_io`), step for step: each table below is the
# Spark frame of the same name above, and `tests/integration/test_silver_engines.py` holds the
# two to the same rows.


SLICE_PINGS = 4_000_000  # about this many pings at once (a day of Almaty's is 6.8 million)

# The stop passings of the slice's trips (stop_arrivals before the headways, which compare
# buses), and the trips' summaries: gathered over the slices.
TIMED_ARRIVALS = """
    WITH pairs AS (
        SELECT trip_key, vehicle_id, route_id, direction_id, trip_id, feed_version,
               along_m AS a0, next_along_m AS a1,
               epoch(position_ts) AS t0, next_epoch AS t1,
               greatest(nearest_stop_sequence - 1, 1) AS s_from,
               next_stop_sequence + 1 AS s_to
        FROM trips
    ), passed AS (
        SELECT * EXCLUDE (s_from, s_to),
               unnest(generate_series(least(s_from, s_to), greatest(s_from, s_to)))
                   AS stop_sequence
        FROM pairs WHERE a1 > a0
    ), crossed AS (
        SELECT p.*, s.stop_id, s.dist_m
        FROM passed p
        JOIN patterns s USING (feed_version, route_id, direction_id, stop_sequence)
        WHERE s.dist_m BETWEEN p.a0 AND p.a1
    ), timed AS (
        SELECT trip_key, vehicle_id, route_id, direction_id, feed_version,
               stop_sequence, stop_id,
               min(t0 + (t1 - t0) * (dist_m - a0) / (a1 - a0)) AS arrival_epoch,
               max(trip_id) AS trip_id
        FROM crossed
        GROUP BY trip_key, vehicle_id, route_id, direction_id, feed_version,
                 stop_sequence, stop_id
    )
    SELECT * FROM timed
"""
TRIP_SUMMARIES = """
    SELECT trip_key, vehicle_id, route_id, direction_id, feed_version,
           max(trip_id) AS trip_id, min(position_ts) AS start_ts,
           max(position_ts) AS end_ts, count(*) AS pings,
           max(along_m) - min(along_m) AS distance_m
    FROM trips
    GROUP BY trip_key, vehicle_id, route_id, direction_id, feed_version
"""


def _locate_and_segment(con: duckdb.DuckDBPyConnection, kx: str, ky: str) -> None:
    """`drop_jumps`, `locate_pings` and `segment_trips` of the pings in `unique_pings`: the
    tables `marked`, `located` and `trips`."""
    cell = MATCH_RADIUS_M
    # drop_jumps
    con.execute(
        f"""
        CREATE TABLE marked AS
        WITH pings AS (
            SELECT u.vehicle_id, u.route_id, u.trip_id, t.direction_id AS trip_direction,
                   u.position_ts, u.position_date, u.lat, u.lon, u.speed_kmh, u.bearing_deg,
                   v.feed_version,
                   u.lon * {kx} AS x, u.lat * {ky} AS y, epoch(u.position_ts) AS t
            FROM unique_pings u
            JOIN versions v USING (position_date)
            LEFT JOIN gtfs_trips t ON t.feed_version = v.feed_version AND t.trip_id = u.trip_id
        ), around AS (
            SELECT *, lag(x) OVER w AS px, lag(y) OVER w AS py, lag(t) OVER w AS pt,
                   lead(x) OVER w AS nx, lead(y) OVER w AS ny, lead(t) OVER w AS nt
            FROM pings
            WINDOW w AS (PARTITION BY vehicle_id, position_date ORDER BY position_ts)
        ), legs AS (
            SELECT *, sqrt((x - px) * (x - px) + (y - py) * (y - py)) AS d_in,
                   sqrt((nx - x) * (nx - x) + (ny - y) * (ny - y)) AS d_out,
                   sqrt((nx - px) * (nx - px) + (ny - py) * (ny - py)) AS direct,
                   greatest(t - pt, 1.0) AS dt_in, greatest(nt - t, 1.0) AS dt_out
            FROM around
        )
        SELECT vehicle_id, route_id, trip_id, trip_direction, position_ts, position_date,
               lat, lon, speed_kmh, bearing_deg, feed_version,
               coalesce(
                   (d_in / dt_in * 3.6 > {JUMP_KMH} AND d_out / dt_out * 3.6 > {JUMP_KMH})
                   OR (d_in + d_out - direct > {SPIKE_M} AND dt_in + dt_out <= 300), false
               ) AS jump
        FROM legs
        """
    )
    con.execute("DROP TABLE unique_pings")
    # locate_pings: the best stop of the route within 400 m (grid cells of 400 m around).
    # The best candidate per fix is the min of (score, the stop's rank in its route's
    # pattern by sequence and direction), the order Spark's job breaks ties in; aggregating
    # two numbers per fix by its row id, then fetching the stop, is 1.4x faster than
    # aggregating the stop's whole record by (vehicle, time).
    wrong_way = """CASE WHEN trip_direction IS NOT NULL THEN trip_direction != s_direction
                        WHEN bearing_deg IS NOT NULL
                            THEN abs(((bearing_deg - s_bearing + 540) % 360) - 180) > 90
                        ELSE false END"""
    con.execute(
        f"""
        CREATE TABLE located AS
        WITH stops AS (
            SELECT feed_version, route_id, direction_id AS s_direction, stop_sequence,
                   stop_id, dist_m, bearing_deg AS s_bearing,
                   stop_lon * {kx} AS sx, stop_lat * {ky} AS sy,
                   row_number() OVER (PARTITION BY feed_version, route_id
                                      ORDER BY stop_sequence, direction_id) AS stop_rank
            FROM patterns
        ), stop_cells AS (
            SELECT feed_version, route_id, s_direction, s_bearing, sx, sy, stop_rank,
                   CAST(floor(sx / {cell}) AS BIGINT) + dx AS cx,
                   CAST(floor(sy / {cell}) AS BIGINT) + dy AS cy
            FROM stops, (VALUES (-1), (0), (1)) a(dx), (VALUES (-1), (0), (1)) b(dy)
        ), cells AS (
            SELECT rowid AS ping, feed_version, route_id, trip_direction, bearing_deg,
                   lon * {kx} AS x, lat * {ky} AS y,
                   CAST(floor(lon * {kx} / {cell}) AS BIGINT) AS cx,
                   CAST(floor(lat * {ky} / {cell}) AS BIGINT) AS cy
            FROM marked WHERE NOT jump
        ), candidates AS (
            SELECT c.ping, c.trip_direction, c.bearing_deg, s.s_direction, s.s_bearing,
                   s.stop_rank,
                   sqrt((c.x - s.sx) * (c.x - s.sx) + (c.y - s.sy) * (c.y - s.sy))
                       AS distance
            FROM cells c JOIN stop_cells s USING (feed_version, route_id, cx, cy)
        ), best AS (
            SELECT ping,
                   min({{'score': distance + CASE WHEN {wrong_way} THEN 10000.0 ELSE 0.0 END,
                        'stop_rank': stop_rank}}).stop_rank AS stop_rank
            FROM candidates WHERE distance <= {cell}
            GROUP BY ping
        ), nearest AS (
            SELECT m.*, s.s_direction AS direction_id, s.stop_id AS nearest_stop_id,
                   s.stop_sequence AS nearest_stop_sequence, s.dist_m,
                   sqrt((m.lon * {kx} - s.sx) * (m.lon * {kx} - s.sx)
                        + (m.lat * {ky} - s.sy) * (m.lat * {ky} - s.sy)) AS distance,
                   s.dist_m + (m.lon * {kx} - s.sx) * sin(s.s_bearing * {DEG_TO_RAD})
                            + (m.lat * {ky} - s.sy) * cos(s.s_bearing * {DEG_TO_RAD})
                       AS along
            FROM marked m
            LEFT JOIN best b ON b.ping = m.rowid
            LEFT JOIN stops s ON s.feed_version = m.feed_version
                             AND s.route_id = m.route_id AND s.stop_rank = b.stop_rank
            WHERE NOT m.jump
        )
        SELECT * EXCLUDE (dist_m, distance, along),
               round_decimal(distance, 1) AS stop_distance_m,
               CASE WHEN along IS NOT NULL
                    THEN round_decimal(greatest(along, 0.0), 1) END AS along_m,
               CASE WHEN along >= dist_m THEN nearest_stop_sequence
                    WHEN along IS NOT NULL THEN greatest(nearest_stop_sequence - 1, 1)
               END AS segment_from_seq,
               nearest_stop_id IS NOT NULL AS on_route
        FROM nearest
        """
    )
    # segment_trips: a new trip on a change of route, direction or scheduled trip, a turn
    # back along the pattern, or 15 minutes of silence
    con.execute(
        f"""
        CREATE TABLE trips AS
        WITH flagged AS (
            SELECT *,
                   CASE WHEN lag(route_id) OVER w IS NULL
                             OR route_id != lag(route_id) OVER w
                             OR direction_id != lag(direction_id) OVER w
                             OR coalesce(trip_id != lag(trip_id) OVER w, false)
                             OR epoch(position_ts) - lag(epoch(position_ts)) OVER w
                                > {NEW_TRIP_GAP_S}
                             OR along_m < lag(along_m) OVER w - {BACKWARDS_M}
                        THEN position_ts END AS trip_begins
            FROM located WHERE on_route
            WINDOW w AS (PARTITION BY vehicle_id, position_date ORDER BY position_ts)
        )
        SELECT * EXCLUDE (trip_begins),
               concat_ws('-', vehicle_id, strftime(max(trip_begins) OVER (w
                   ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW), '%Y%m%d%H%M%S'))
                   AS trip_key,
               -- the trip's next fix (none after its last), which stop_arrivals pairs
               -- each fix with: read in this pass over the fixes rather than sorting
               -- them again by trip
               CASE WHEN lead(trip_begins) OVER w IS NULL THEN lead(along_m) OVER w END
                   AS next_along_m,
               CASE WHEN lead(trip_begins) OVER w IS NULL
                    THEN lead(epoch(position_ts)) OVER w END AS next_epoch,
               CASE WHEN lead(trip_begins) OVER w IS NULL
                    THEN lead(nearest_stop_sequence) OVER w END AS next_stop_sequence
        FROM flagged
        WINDOW w AS (PARTITION BY vehicle_id, position_date ORDER BY position_ts)
        """
    )


def build_silver_duckdb(lake: Lake, days: list[date]) -> dict[str, int]:
    tz = CONTRACT.timezone
    pairs = feeds_in_force(lake, days)
    used = {v for _, v in pairs}
    lat0 = reference_latitude(lake, used)
    kx, ky = repr(m_per_deg_lon(lat0)), repr(M_PER_DEG_LAT)
    in_days = duckdb_io.sql_days(days)
    with duckdb_io.connect(lake) as con:
        con.register(
            "versions",
            pa.table(
                {
                    "position_date": pa.array([d for d, _ in pairs], pa.date32()),
                    "feed_version": pa.array([v for _, v in pairs], pa.date32()),
                }
            ),
        )
        duckdb_io.scan_bronze_days(con, "bronze", lake, CONTRACT, days)
        duckdb_io.scan(
            con, "all_patterns", lake, "silver", "gtfs_route_patterns",
            date_column="feed_version", days=used,
        )  # fmt: skip
        duckdb_io.scan(
            con, "gtfs_trips", lake, "silver", "gtfs_trips", date_column="feed_version", days=used
        )
        duckdb_io.scan(
            con, "stop_times", lake, "silver", "gtfs_stop_times",
            date_column="feed_version", days=used,
        )  # fmt: skip
        con.execute("CREATE TABLE patterns AS SELECT * FROM all_patterns")
        count = duckdb_io.count
        # Everything before the arrivals' headways is one bus's work: the buses go through in
        # hash slices of about SLICE_PINGS pings, each slice within the memory limit.
        bronze_rows = count(con, "SELECT * FROM bronze")
        slices = duckdb_io.hash_slices(con, "bronze", "vehicle_id", bronze_rows, SLICE_PINGS)
        totals = dict.fromkeys(("unique", "jumps", "located", "off_route"), 0)
        positions = """
            SELECT vehicle_id, route_id, trip_id, trip_key, direction_id, position_ts,
                   position_date, lat, lon, speed_kmh, bearing_deg, on_route, nearest_stop_id,
                   stop_distance_m, along_m, segment_from_seq, segment_to_seq, feed_version
            FROM (
                SELECT *, segment_from_seq + 1 AS segment_to_seq FROM trips
                UNION ALL BY NAME
                SELECT *, NULL AS trip_key, NULL AS segment_to_seq
                FROM located WHERE NOT on_route
            )
        """

        def positions_by_slice() -> Iterator[pa.RecordBatchReader]:
            """Each slice's positions, once its tables are built; its stop passings and trips
            go into `timed_arrivals` and `trip_summaries`, its counts into `totals`."""
            for number, pings in enumerate(slices):
                con.execute(f"CREATE TABLE bronze_pings AS SELECT * FROM {pings}")  # read once
                duckdb_io.create_one_delivery_per_key(
                    con, "unique_pings", "bronze_pings", ["vehicle_id", "position_ts"], "first"
                )
                con.execute("DROP TABLE bronze_pings")  # what each step no longer needs, as it goes
                _locate_and_segment(con, kx, ky)
                totals["unique"] += count(con, "SELECT * FROM marked")
                totals["jumps"] += count(con, "SELECT * FROM marked WHERE jump")
                con.execute("DROP TABLE marked")
                totals["located"] += count(con, "SELECT * FROM located")
                totals["off_route"] += count(con, "SELECT * FROM located WHERE NOT on_route")
                for table, query in (
                    ("timed_arrivals", TIMED_ARRIVALS), ("trip_summaries", TRIP_SUMMARIES)
                ):  # fmt: skip
                    into = f"INSERT INTO {table}" if number else f"CREATE TABLE {table} AS"
                    con.execute(f"{into} {query}")
                yield con.sql(positions).fetch_record_batch(duckdb_io.BATCH_ROWS)
                con.execute("DROP TABLE located; DROP TABLE trips")

        # One commit of every slice's positions, each slice built as the writer asks for it.
        stats = {
            "bus_positions_version": lake.replace_days(
                "silver",
                "bus_positions",
                duckdb_io.one_stream(positions_by_slice()),
                date_column="position_date",
                days=days,
            )
        }
        stats |= {
            "bronze_rows": bronze_rows,
            "duplicates_dropped": bronze_rows - totals["unique"],
            "jumps_dropped": totals["jumps"],
            "off_route_pings": totals["off_route"],
            "bus_positions_rows": totals["located"],
        }
        # stop_arrivals + with_schedule: the moment each trip passed each stop of its pattern
        con.execute(
            f"""
            CREATE TABLE arrivals AS
            WITH dated AS (
                SELECT *, to_timestamp(round_decimal(arrival_epoch, 0)) AS arrival_ts,
                       CAST(timezone('{tz}', to_timestamp(round_decimal(arrival_epoch, 0))) AS DATE)
                           AS arrival_date
                FROM timed_arrivals
            ), headways AS (
                SELECT *, round_decimal(arrival_epoch - lag(arrival_epoch) OVER (
                           PARTITION BY route_id, direction_id, stop_id, arrival_date
                           ORDER BY arrival_epoch, trip_key), 0) AS headway_s
                FROM dated
            ), scheduled AS (
                SELECT feed_version, trip_id, stop_id, min(arrival_s) AS scheduled_s
                FROM stop_times GROUP BY ALL
            ), with_schedule AS (
                SELECT h.*, to_timestamp(epoch(timezone('{tz}', CAST(h.arrival_date AS TIMESTAMP)))
                           + s.scheduled_s) AS scheduled_arrival_ts
                FROM headways h
                LEFT JOIN scheduled s USING (feed_version, trip_id, stop_id)
            )
            SELECT feed_version, trip_id, stop_id, trip_key, vehicle_id, route_id, direction_id,
                   stop_sequence, arrival_epoch, arrival_ts, arrival_date, headway_s,
                   scheduled_arrival_ts,
                   round_decimal(arrival_epoch - epoch(scheduled_arrival_ts), 0) AS delay_s
            FROM with_schedule
            WHERE arrival_date IN ({in_days})
            """
        )
        trip_rows = f"""
            WITH timed AS (
                SELECT *, CAST(timezone('{tz}', start_ts) AS DATE) AS trip_date,
                       epoch(end_ts) - epoch(start_ts) AS duration_s
                FROM trip_summaries
            ), served AS (
                SELECT trip_key, count(*) AS stops_served FROM arrivals GROUP BY trip_key
            ), pattern_size AS (
                SELECT feed_version, route_id, direction_id, count(*) AS pattern_stops
                FROM patterns GROUP BY ALL
            )
            SELECT t.feed_version, t.route_id, t.direction_id, t.trip_key, t.vehicle_id,
                   t.trip_id, t.start_ts, t.end_ts, t.pings, t.distance_m, t.trip_date,
                   t.duration_s,
                   round_decimal(t.distance_m / greatest(t.duration_s, 1.0) * 3.6, 1) AS mean_speed_kmh,
                   coalesce(s.stops_served, 0) AS stops_served, p.pattern_stops
            FROM timed t
            LEFT JOIN served s USING (trip_key)
            LEFT JOIN pattern_size p USING (feed_version, route_id, direction_id)
            WHERE t.trip_date IN ({in_days})
        """
        stats["bus_stop_arrivals_rows"] = count(con, "SELECT * FROM arrivals")
        stats["bus_stop_arrivals_version"] = duckdb_io.replace_days(
            con,
            "SELECT * EXCLUDE (arrival_epoch) FROM arrivals",
            lake,
            "silver",
            "bus_stop_arrivals",
            "arrival_date",
            days,
        )
        stats["bus_trips_rows"] = count(con, trip_rows)
        stats["bus_trips_version"] = duckdb_io.replace_days(
            con, trip_rows, lake, "silver", "bus_trips", "trip_date", days
        )
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
    build_silver_duckdb=build_silver_duckdb,
)

GTFS_BBOX = ALMATY_BBOX  # the city's box: a feed with stops outside it is refused
