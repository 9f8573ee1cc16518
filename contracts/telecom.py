"""Contracts: depersonalised telecom data from the mobile operators, through the city's data
integrator. Counts of subscribers, never a subscriber: presence per ~500 m cell and hour, and
origin-destination flows between districts and agglomeration towns per hour."""

from __future__ import annotations

from contracts.districts import AGGLOMERATION_TOWNS, ALMATY_BBOX, DISTRICT_NAMES, normalise_district
from contracts.model import Column, Contract

ZONES = (*DISTRICT_NAMES, *AGGLOMERATION_TOWNS)

TELECOM_PRESENCE = Contract(
    source="telecom_integrator",
    table="telecom_presence",
    description=(
        "Subscribers present in each ~500 m cell of the city during an hour, split by their "
        "relation to the cell: living there (home), working there (work), or neither (visitor)."
    ),
    columns=(
        Column("cell_id", "string", "Grid cell identifier of the integrator (~500 m square)."),
        Column(
            "cell_lat",
            "float",
            "Latitude of the cell centre.",
            unit="degrees",
            min_value=ALMATY_BBOX["lat_min"],
            max_value=ALMATY_BBOX["lat_max"],
        ),
        Column(
            "cell_lon",
            "float",
            "Longitude of the cell centre.",
            unit="degrees",
            min_value=ALMATY_BBOX["lon_min"],
            max_value=ALMATY_BBOX["lon_max"],
        ),
        Column(
            "district",
            "string",
            "District the cell lies in.",
            known=("known_district", normalise_district),
        ),
        Column(
            "hour_start",
            "timestamp",
            "Start of the hour, ISO 8601 with offset.",
            not_in_future=True,
        ),
        Column(
            "home",
            "int",
            "Subscribers whose night-time location is this cell.",
            unit="subscribers",
            min_value=0,
        ),
        Column(
            "work",
            "int",
            "Subscribers whose daytime weekday location is this cell.",
            unit="subscribers",
            min_value=0,
        ),
        Column("visitor", "int", "Other subscribers present.", unit="subscribers", min_value=0),
    ),
    keys=("cell_id", "hour_start"),
    timestamp_column="hour_start",
    partition_column="activity_date",
)

TELECOM_FLOWS = Contract(
    source="telecom_integrator",
    table="telecom_od_flows",
    description=(
        "Subscribers who moved from an origin zone to a destination zone during an hour; zones "
        "are the city's districts and the agglomeration towns (pendulum migration)."
    ),
    columns=(
        Column("origin", "string", "Origin zone.", allowed=ZONES),
        Column("destination", "string", "Destination zone.", allowed=ZONES),
        Column(
            "hour_start",
            "timestamp",
            "Start of the hour, ISO 8601 with offset.",
            not_in_future=True,
        ),
        Column(
            "subscribers", "int", "Subscribers who made the move.", unit="subscribers", min_value=0
        ),
    ),
    keys=("origin", "destination", "hour_start"),
    timestamp_column="hour_start",
    partition_column="activity_date",
)
