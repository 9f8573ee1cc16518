"""ONAY card taps: the validators' daily files, and the silver job (Spark, and the same in
DuckDB for one machine) that finds each boarding's stop from the bus's GPS and chains a card's
boardings into journeys.

Boarding stop: the stop the tapped bus last reached, by its GPS-derived stop arrivals, at most
10 minutes before the tap (and at most 30 s after it, for a fix that lagged). A tap with no
such arrival keeps its row with `gps_match = 'no_gps'`, so rows are never lost.

Journeys: a card's boardings on one day, in time order; a boarding starts a new journey when
it comes more than 60 minutes after the previous one or is on the same route again (riding
back), otherwise it is a transfer and continues the journey.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import date, timedelta

import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from contracts.transit import CARD_TAPS
from pipelines import duckdb_io
from pipelines.lake import Lake
from pipelines.sources import Source, land_file
from pipelines.sources.bus import shared_transit_day
from pipelines.spark_io import one_delivery_per_key, read_bronze_days, replace_days_spark

CONTRACT = CARD_TAPS
LOOKBACK_S = 600  # a tap belongs to a stop the bus reached at most 10 minutes before
LOOKAHEAD_S = 30
BUCKET_S = 300
TRANSFER_WINDOW_S = 60 * 60
SLICE_TAPS = 1_200_000  # about this many taps at once (a day of Almaty's is a million)


def write_landing_day(lake: Lake, day: date, seed: int = 42, scale: float = 1.0) -> tuple[str, int]:
    taps = shared_transit_day.take("taps", day, seed, scale).select(CONTRACT.column_names)
    return land_file(lake, CONTRACT, day, taps, "onay_taps")


def boarding_stops(taps: DataFrame, arrivals: DataFrame) -> DataFrame:
    """Each tap with the stop its bus last reached (by GPS) when the card was tapped."""
    tap_epoch = F.col("tap_ts").cast("double")
    epoch = F.col("tap_epoch")
    buckets = F.sequence(
        F.floor((epoch - LOOKBACK_S) / BUCKET_S), F.floor((epoch + LOOKAHEAD_S) / BUCKET_S)
    )
    candidates = (
        taps.select("tap_id", "vehicle_id", tap_epoch.alias("tap_epoch"))
        .withColumn("bucket", F.explode(buckets))
        .join(
            arrivals.select(
                "vehicle_id",
                F.col("route_id").alias("gps_route_id"),
                "direction_id",
                "trip_key",
                F.col("stop_id").alias("boarding_stop_id"),
                F.col("stop_sequence").alias("boarding_stop_sequence"),
                "arrival_ts",
                F.col("arrival_ts").cast("double").alias("arrival_epoch"),
            ).withColumn("bucket", F.floor(F.col("arrival_epoch") / BUCKET_S)),
            ["vehicle_id", "bucket"],
        )
        .where(
            F.col("arrival_epoch").between(
                F.col("tap_epoch") - LOOKBACK_S, F.col("tap_epoch") + LOOKAHEAD_S
            )
        )
    )
    # The latest arrival per tap by a hash aggregation (max of a struct led by the time).
    latest = F.max(
        F.struct(
            "arrival_epoch",
            "gps_route_id",
            "direction_id",
            "trip_key",
            "boarding_stop_id",
            "boarding_stop_sequence",
            "arrival_ts",
            "tap_epoch",
        )
    ).alias("best")
    best = (
        candidates.groupBy("tap_id")
        .agg(latest)
        .select(
            "tap_id",
            "best.gps_route_id",
            "best.direction_id",
            "best.trip_key",
            "best.boarding_stop_id",
            "best.boarding_stop_sequence",
            F.col("best.arrival_ts").alias("stop_arrival_ts"),
            F.round(F.col("best.tap_epoch") - F.col("best.arrival_epoch"), 0).alias(
                "seconds_after_arrival"
            ),
        )
    )
    return (
        taps.join(best, "tap_id", "left")
        .withColumn(
            "gps_match",
            F.when(F.col("boarding_stop_id").isNull(), "no_gps")
            .when(F.col("gps_route_id") != F.col("route_id"), "route_mismatch")
            .otherwise("matched"),
        )
        .drop("gps_route_id")
    )


def chain_journeys(boardings: DataFrame) -> DataFrame:
    """Number each card's boardings of a day into journeys and legs."""
    w = Window.partitionBy("card_id", "tap_date").orderBy("tap_ts", "tap_id")
    gap = F.col("tap_ts").cast("double") - F.lag(F.col("tap_ts").cast("double")).over(w)
    previous_route = F.lag("route_id").over(w)
    new_journey = (
        previous_route.isNull() | (gap > TRANSFER_WINDOW_S) | (F.col("route_id") == previous_route)
    )
    running = w.rowsBetween(Window.unboundedPreceding, 0)
    numbered = (
        boardings.withColumn("new_journey", new_journey.cast("int"))
        .withColumn("journey_no", F.sum("new_journey").over(running))
        .withColumn("tap_no", F.row_number().over(w))
        # The leg within the journey, from the same window: taps since the journey began.
        .withColumn(
            "leg",
            F.col("tap_no")
            - F.last(F.when(F.col("new_journey") == 1, F.col("tap_no")), ignorenulls=True).over(
                running
            )
            + 1,
        )
    )
    return numbered.withColumn(
        "journey_id",
        F.concat_ws(
            "-",
            F.substring("card_id", 1, 19),
            F.date_format("tap_date", "yyyyMMdd"),
            F.col("journey_no").cast("string"),
        ),
    ).drop("new_journey", "journey_no", "tap_no")


def journeys(chained: DataFrame) -> DataFrame:
    ordered = F.sort_array(
        F.collect_list(F.struct("tap_ts", "route_id", "boarding_stop_id", "amount_kzt"))
    )
    return (
        chained.groupBy("journey_id", "card_id", "tap_date")
        .agg(ordered.alias("legs_"))
        .select(
            "journey_id",
            "card_id",
            "tap_date",
            F.col("legs_")[0]["tap_ts"].alias("first_tap_ts"),
            F.element_at("legs_", -1)["tap_ts"].alias("last_tap_ts"),
            F.size("legs_").alias("legs"),
            F.array_join(F.transform("legs_", lambda leg: leg["route_id"]), ">").alias("routes"),
            F.col("legs_")[0]["boarding_stop_id"].alias("origin_stop_id"),
            F.element_at("legs_", -1)["boarding_stop_id"].alias("last_boarding_stop_id"),
            F.aggregate(
                F.transform("legs_", lambda leg: leg["amount_kzt"]), F.lit(0.0), lambda a, b: a + b
            ).alias("fare_kzt"),
        )
    )


def build_silver(spark: SparkSession, lake: Lake, days: list[date]) -> dict[str, int]:
    bronze = read_bronze_days(spark, lake, CONTRACT, days)
    taps = one_delivery_per_key(bronze, ["tap_id"], keep="first").select(
        "tap_id",
        "card_id",
        "tap_ts",
        "tap_date",
        F.hour(F.from_utc_timestamp("tap_ts", CONTRACT.timezone)).alias("tap_hour_local"),
        "vehicle_id",
        "validator_id",
        "route_id",
        "fare_type",
        "amount_kzt",
    )
    around = sorted({d + timedelta(days=k) for d in days for k in (-1, 0)})
    arrivals = (
        spark.read.format("delta")
        .load(lake.spark_uri("silver", "bus_stop_arrivals"))
        .where(F.col("arrival_date").isin([d.isoformat() for d in around]))
    )
    chained = chain_journeys(boarding_stops(taps, arrivals)).cache()
    try:
        trips = journeys(chained).cache()
        boarded, matched, no_gps = chained.agg(
            F.count("*"),
            F.sum((F.col("gps_match") == "matched").cast("int")),
            F.sum((F.col("gps_match") == "no_gps").cast("int")),
        ).first()  # type: ignore[misc]
        stats = {
            "bronze_rows": bronze.count(),
            "card_boardings_rows": boarded,
            "matched_to_gps": matched or 0,
            "no_gps": no_gps or 0,
            "card_journeys_rows": trips.count(),
        }
        stats["duplicates_dropped"] = stats["bronze_rows"] - stats["card_boardings_rows"]
        stats["card_boardings_version"] = replace_days_spark(
            chained, lake, "silver", "card_boardings", "tap_date", days
        )
        stats["card_journeys_version"] = replace_days_spark(
            trips, lake, "silver", "card_journeys", "tap_date", days
        )
        trips.unpersist()
    finally:
        chained.unpersist()
    return stats


# -- silver on one node ------------------------------------------------------------------------
def build_silver_duckdb(lake: Lake, days: list[date]) -> dict[str, int]:
    """`build_silver` in DuckDB on one node (see `pipelines.duckdb_io`): the same rows.

    The taps go through in hash slices of about SLICE_TAPS: by bus to find the boarding
    stops (a tap and its bus's arrivals are in the same slice), then by card to chain the
    journeys. DuckDB's ordered aggregates keep a group's rows in memory and do not spill, and
    its joins and windows over a whole backfill of months, or a day of a city four times
    Almaty's size, spill and grow faster than the rows."""
    around = sorted({d + timedelta(days=k) for d in days for k in (-1, 0)})
    tz = CONTRACT.timezone
    with duckdb_io.connect(lake) as con:
        duckdb_io.scan_bronze_days(con, "bronze", lake, CONTRACT, days)
        duckdb_io.scan(
            con, "arrivals_around", lake, "silver", "bus_stop_arrivals",
            date_column="arrival_date", days=around,
        )  # fmt: skip
        count = duckdb_io.count
        duckdb_io.create_one_delivery_per_key(con, "unique_taps", "bronze", ["tap_id"], "first")
        parts = max(1, math.ceil(count(con, "SELECT * FROM unique_taps") / SLICE_TAPS))
        bus, card = (duckdb_io.slice_number(key, parts) for key in ("vehicle_id", "card_id"))
        con.execute(
            f"""
            CREATE TABLE taps AS
            SELECT tap_id, card_id, tap_ts, tap_date,
                   CAST(hour(timezone('{tz}', tap_ts)) AS INTEGER) AS tap_hour_local,
                   vehicle_id, validator_id, route_id, fare_type, amount_kzt,
                   {bus} AS _bus, {card} AS _card
            FROM unique_taps
            """
        )
        con.execute("DROP TABLE unique_taps")
        con.execute(f"CREATE TABLE arrivals AS SELECT *, {bus} AS _bus FROM arrivals_around")
        stats = {"bronze_rows": count(con, "SELECT * FROM bronze")}
        # boarding_stops: the latest arrival of the tapped bus in [tap - 10 min, tap + 30 s],
        # found through 5-minute buckets (an equi-join) rather than a range join
        for part in range(parts):
            into = "INSERT INTO boardings" if part else "CREATE TABLE boardings AS"
            con.execute(
                f"""
                {into}
                WITH tap_buckets AS (
                    SELECT tap_id, vehicle_id, epoch(tap_ts) AS tap_epoch,
                           unnest(generate_series(
                               CAST(floor((epoch(tap_ts) - {LOOKBACK_S}) / {BUCKET_S}) AS BIGINT),
                               CAST(floor((epoch(tap_ts) + {LOOKAHEAD_S}) / {BUCKET_S}) AS BIGINT)
                           )) AS bucket
                    FROM taps WHERE _bus = {part}
                ), arrival_buckets AS (
                    SELECT vehicle_id, route_id AS gps_route_id, direction_id, trip_key,
                           stop_id AS boarding_stop_id, stop_sequence AS boarding_stop_sequence,
                           arrival_ts, epoch(arrival_ts) AS arrival_epoch,
                           CAST(floor(epoch(arrival_ts) / {BUCKET_S}) AS BIGINT) AS bucket
                    FROM arrivals WHERE _bus = {part}
                ), best AS (
                    SELECT tap_id, max({{
                        'arrival_epoch': a.arrival_epoch, 'gps_route_id': a.gps_route_id,
                        'direction_id': a.direction_id, 'trip_key': a.trip_key,
                        'boarding_stop_id': a.boarding_stop_id,
                        'boarding_stop_sequence': a.boarding_stop_sequence,
                        'arrival_ts': a.arrival_ts, 'tap_epoch': t.tap_epoch}}) AS b
                    FROM tap_buckets t JOIN arrival_buckets a USING (vehicle_id, bucket)
                    WHERE a.arrival_epoch BETWEEN t.tap_epoch - {LOOKBACK_S}
                                              AND t.tap_epoch + {LOOKAHEAD_S}
                    GROUP BY tap_id
                ), matched AS (
                    SELECT tap_id, b.gps_route_id, b.direction_id, b.trip_key, b.boarding_stop_id,
                           b.boarding_stop_sequence, b.arrival_ts AS stop_arrival_ts,
                           round_decimal(b.tap_epoch - b.arrival_epoch, 0) AS seconds_after_arrival
                    FROM best
                )
                SELECT t.*, m.direction_id, m.trip_key, m.boarding_stop_id,
                       m.boarding_stop_sequence, m.stop_arrival_ts, m.seconds_after_arrival,
                       CASE WHEN m.boarding_stop_id IS NULL THEN 'no_gps'
                            WHEN m.gps_route_id != t.route_id THEN 'route_mismatch'
                            ELSE 'matched' END AS gps_match
                FROM (SELECT * FROM taps WHERE _bus = {part}) t LEFT JOIN matched m USING (tap_id)
                """
            )
        con.execute("DROP TABLE taps; DROP TABLE arrivals")
        legs = "ORDER BY tap_ts, route_id, boarding_stop_id NULLS FIRST, amount_kzt NULLS FIRST"
        # A journey of one boarding is that boarding's row; only the others need DuckDB's
        # ordered aggregates, which sort each group on its own (most journeys have one leg).
        journeys = f"""
            SELECT journey_id, card_id, tap_date, tap_ts AS first_tap_ts, tap_ts AS last_tap_ts,
                   1 AS legs, route_id AS routes, boarding_stop_id AS origin_stop_id,
                   boarding_stop_id AS last_boarding_stop_id, amount_kzt AS fare_kzt
            FROM chained WHERE alone
            UNION ALL
            SELECT journey_id, card_id, tap_date,
                   min(tap_ts) AS first_tap_ts, max(tap_ts) AS last_tap_ts,
                   CAST(count(*) AS INTEGER) AS legs,
                   string_agg(route_id, '>' {legs}) AS routes,
                   first(boarding_stop_id {legs}) AS origin_stop_id,
                   last(boarding_stop_id {legs}) AS last_boarding_stop_id,
                   sum(amount_kzt {legs}) AS fare_kzt
            FROM chained WHERE NOT alone
            GROUP BY journey_id, card_id, tap_date
        """
        totals = dict.fromkeys(("card_boardings_rows", "matched_to_gps", "no_gps"), 0)

        def boardings_by_slice() -> Iterator[pa.RecordBatchReader]:
            """chain_journeys, a slice of the cards at a time: each slice's boardings, once
            chained; its journeys go into `journeys`, its counts into `totals`."""
            for part in range(parts):
                # a new journey after an hour, or on the same route again
                con.execute(
                    f"""
                    CREATE TABLE chained AS
                    WITH flagged AS (
                        SELECT *, row_number() OVER w AS tap_no,
                               lag(route_id) OVER w IS NULL
                               OR epoch(tap_ts) - lag(epoch(tap_ts)) OVER w > {TRANSFER_WINDOW_S}
                               OR route_id = lag(route_id) OVER w AS new_journey
                        FROM boardings WHERE _card = {part}
                        WINDOW w AS (PARTITION BY card_id, tap_date ORDER BY tap_ts, tap_id)
                    ), numbered AS (
                        SELECT *,
                               sum(CASE WHEN new_journey THEN 1 ELSE 0 END) OVER running AS journey_no,
                               tap_no - max(CASE WHEN new_journey THEN tap_no END) OVER running + 1
                                   AS leg,
                               -- a journey of this one boarding: the next starts a new one
                               new_journey AND coalesce(lead(new_journey) OVER w, true) AS alone
                        FROM flagged
                        WINDOW w AS (PARTITION BY card_id, tap_date ORDER BY tap_ts, tap_id),
                               running AS (w ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
                    )
                    SELECT * EXCLUDE (tap_no, new_journey, journey_no, leg, _bus, _card),
                           CAST(leg AS INTEGER) AS leg,
                           concat_ws('-', substring(card_id, 1, 19), strftime(tap_date, '%Y%m%d'),
                                     CAST(journey_no AS VARCHAR)) AS journey_id
                    FROM numbered
                    """
                )
                for name, where in (
                    ("card_boardings_rows", "true"),
                    ("matched_to_gps", "gps_match = 'matched'"),
                    ("no_gps", "gps_match = 'no_gps'"),
                ):
                    totals[name] += count(con, f"SELECT * FROM chained WHERE {where}")
                con.execute(
                    f"{'INSERT INTO journeys' if part else 'CREATE TABLE journeys AS'} {journeys}"
                )
                yield con.sql("SELECT * EXCLUDE (alone) FROM chained").fetch_record_batch(
                    duckdb_io.BATCH_ROWS
                )
                con.execute("DROP TABLE chained")

        stats["card_boardings_version"] = lake.replace_days(
            "silver",
            "card_boardings",
            duckdb_io.one_stream(boardings_by_slice()),
            date_column="tap_date",
            days=days,
        )
        stats |= totals
        stats["card_journeys_rows"] = count(con, "SELECT * FROM journeys")
        stats["duplicates_dropped"] = stats["bronze_rows"] - stats["card_boardings_rows"]
        stats["card_journeys_version"] = duckdb_io.replace_days(
            con, "SELECT * FROM journeys", lake, "silver", "card_journeys", "tap_date", days
        )
    return stats


SOURCE = Source(
    name="onay_taps",
    description="ONAY smart-card taps on the buses' validators; card numbers pseudonymised.",
    contract=CONTRACT,
    write_landing_day=write_landing_day,
    build_silver=build_silver,
    silver_tables=("card_boardings", "card_journeys"),
    group="transit",
    silver_inputs=(("silver", "bus_stop_arrivals"),),
    build_silver_duckdb=build_silver_duckdb,
)
