"""Contract: a daily epidemic series a user brings for the morbidity forecast.

One file is one series (its name is the file's stem): daily new cases per area, and any of the
signals the forecast can use. Only `date`, `area` and `cases` are required; a signal column
may be left out of the file altogether, or left empty on some days.
"""

from __future__ import annotations

from contracts.model import Column, Contract

EPI_SERIES = Contract(
    source="forecast_input",
    table="epi_series",
    description=(
        "A daily series of new cases per area (a district, a city, a country), with optional "
        "signals, for the morbidity forecast. One file per series; the file's stem names it. "
        "Aggregates only: no person appears in the file."
    ),
    columns=(
        Column("date", "date", "Day (YYYY-MM-DD)."),
        Column("area", "string", "Area the counts are for (a district code, CITY, a country)."),
        Column("cases", "int", "New cases registered that day.", unit="people", min_value=0),
        Column(
            "deaths",
            "int",
            "Deaths registered that day.",
            unit="people",
            nullable=True,
            min_value=0,
        ),
        Column(
            "ambulance_calls",
            "int",
            "Ambulance (emergency line) calls that day.",
            unit="calls",
            nullable=True,
            min_value=0,
        ),
        Column(
            "pharmacy_receipts",
            "float",
            "Pharmacy sales that day (receipts, or any volume measure).",
            nullable=True,
            min_value=0,
        ),
        Column(
            "mobility",
            "float",
            "Mobility that day, in any consistent unit (an index, or percent change from a "
            "baseline as Google's reports give it).",
            nullable=True,
        ),
        Column(
            "restriction_level",
            "float",
            "Stringency of the restrictions in force, 0 (none) to 1 (full lockdown).",
            nullable=True,
            min_value=0,
            max_value=1,
        ),
    ),
    keys=("date", "area"),
    timestamp_column="date",
    partition_column="date",
    formats=("csv", "jsonl", "parquet"),
)

REQUIRED = tuple(c.name for c in EPI_SERIES.columns if not c.nullable)
SIGNALS = ("ambulance_calls", "pharmacy_receipts", "mobility", "restriction_level")
