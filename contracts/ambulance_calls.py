"""Contract: ambulance calls from the city's emergency line (103), one row per call."""

from __future__ import annotations

from contracts.districts import normalise_district
from contracts.model import Column, Contract

CALL_REASONS = (
    "respiratory",
    "fever",
    "cardiac",
    "stroke",
    "injury",
    "gastro",
    "maternity",
    "psychiatric",
    "other",
)
AGE_BANDS = ("0-14", "15-29", "30-44", "45-64", "65+")

AMBULANCE_CALLS = Contract(
    source="emergency_line_103",
    table="ambulance_calls",
    description=(
        "Calls to the ambulance dispatch of Almaty, one row per call, delivered as one file per "
        "day. Depersonalised by the sender: no patient name, phone or address, only the district."
    ),
    columns=(
        Column("call_id", "string", "Dispatch system's call number, unique per call."),
        Column(
            "call_ts",
            "timestamp",
            "When the call was received, ISO 8601 with UTC offset (naive values are read as "
            "Asia/Almaty local time).",
            not_in_future=True,
        ),
        Column(
            "district",
            "string",
            "District of the call's address, in any spelling the city uses (Russian, Kazakh, Latin).",
            known=("known_district", normalise_district),
        ),
        Column(
            "reason", "string", "Reason category assigned by the dispatcher.", allowed=CALL_REASONS
        ),
        Column("age_band", "string", "Patient age band.", allowed=AGE_BANDS),
        Column(
            "priority", "int", "Dispatch priority, 1 = life-threatening.", min_value=1, max_value=4
        ),
        Column(
            "response_min",
            "float",
            "Minutes from the call to the crew's arrival.",
            unit="minutes",
            min_value=0,
            max_value=240,
        ),
    ),
    keys=("call_id",),
    timestamp_column="call_ts",
    partition_column="call_date",
)
