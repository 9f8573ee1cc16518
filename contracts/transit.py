"""Contracts: public transport. Bus positions from the fleet's trackers (CSV / JSON lines /
Parquet, or GTFS-Realtime VehiclePosition protobuf), ONAY smart-card taps from the validators,
and the network itself as a GTFS static feed (https://gtfs.org/schedule/reference/)."""

from __future__ import annotations

from contracts.districts import ALMATY_BBOX
from contracts.model import Column, Contract

FARE_TYPES = ("adult", "student", "pensioner", "child", "social")

BUS_POSITIONS = Contract(
    source="bus_avl",
    table="bus_positions",
    description=(
        "Positions reported by the GPS trackers of the city's buses, every 10-30 s while a bus "
        "is in service. One file per day, or GTFS-Realtime VehiclePosition feeds (`.pb`: one "
        "FeedMessage, or a stream of length-delimited FeedMessages as archivers write them)."
    ),
    columns=(
        Column("vehicle_id", "string", "Fleet number of the bus (GTFS-RT `vehicle.id`)."),
        Column("route_id", "string", "Route the bus is serving, as in the GTFS static feed."),
        Column(
            "trip_id",
            "string",
            "Scheduled trip the bus is running, as in the GTFS static feed, when known.",
            nullable=True,
        ),
        Column(
            "position_ts",
            "timestamp",
            "When the tracker took the fix, ISO 8601 with offset (GTFS-RT: POSIX seconds).",
            not_in_future=True,
        ),
        Column(
            "lat",
            "float",
            "Latitude (WGS 84).",
            unit="degrees",
            min_value=ALMATY_BBOX["lat_min"],
            max_value=ALMATY_BBOX["lat_max"],
        ),
        Column(
            "lon",
            "float",
            "Longitude (WGS 84).",
            unit="degrees",
            min_value=ALMATY_BBOX["lon_min"],
            max_value=ALMATY_BBOX["lon_max"],
        ),
        Column(
            "speed_kmh",
            "float",
            "Speed over ground (GTFS-RT gives m/s; converted).",
            unit="km/h",
            nullable=True,
            min_value=0,
            max_value=150,
        ),
        Column(
            "bearing_deg",
            "float",
            "Heading, clockwise from true north.",
            unit="degrees",
            nullable=True,
            min_value=0,
            max_value=360,
        ),
    ),
    keys=("vehicle_id", "position_ts"),
    timestamp_column="position_ts",
    partition_column="position_date",
    formats=("csv", "jsonl", "parquet", "gtfs-rt"),
)

CARD_TAPS = Contract(
    source="onay",
    table="card_taps",
    description=(
        "Taps of ONAY transit cards on the validators of the buses, one row per tap, one file "
        "per day. The card number is pseudonymised at the boundary: bronze never holds it."
    ),
    columns=(
        Column("tap_id", "string", "Transaction id of the validator, unique per tap."),
        Column(
            "card_id",
            "string",
            "Card number (personal identifier).",
            pseudonymise=True,
        ),
        Column("tap_ts", "timestamp", "When the card was tapped, ISO 8601.", not_in_future=True),
        Column("vehicle_id", "string", "Fleet number of the bus the validator is in."),
        Column("validator_id", "string", "Validator (door) id.", nullable=True),
        Column("route_id", "string", "Route the validator was set to."),
        Column("fare_type", "string", "Fare product of the card.", allowed=FARE_TYPES),
        Column(
            "amount_kzt",
            "float",
            "Fare charged (0 for free transfers and free categories).",
            unit="tenge",
            min_value=0,
            max_value=2000,
        ),
    ),
    keys=("tap_id",),
    timestamp_column="tap_ts",
    partition_column="tap_date",
)

# GTFS static: the files and columns the platform needs (others are kept, not required).
GTFS_REQUIRED: dict[str, tuple[str, ...]] = {
    "agency.txt": ("agency_name", "agency_timezone"),
    "routes.txt": ("route_id", "route_type"),
    "stops.txt": ("stop_id", "stop_lat", "stop_lon"),
    "trips.txt": ("route_id", "service_id", "trip_id"),
    "stop_times.txt": ("trip_id", "arrival_time", "departure_time", "stop_id", "stop_sequence"),
}
GTFS_OPTIONAL = ("calendar.txt", "calendar_dates.txt", "shapes.txt")
GTFS_LANDING_PREFIX = "landing/gtfs"
