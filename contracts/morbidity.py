"""Contract: registered morbidity (new cases and deaths) per district and day.

The health department's daily report, and the format in which a user brings their own series
to the lakehouse (the forecasting job reads it the same way): one row per day and area.
"""

from __future__ import annotations

from contracts.districts import normalise_district
from contracts.model import Column, Contract

MORBIDITY_DAILY = Contract(
    source="health_department",
    table="morbidity_daily",
    description=(
        "New registered cases of the notifiable respiratory infection, and deaths from it, per "
        "district and day, as the city's health department reports them. Aggregates only: no "
        "patient appears in the file. A later delivery for the same day and district corrects "
        "the earlier one."
    ),
    columns=(
        Column("report_date", "date", "Day the cases were registered (local date, YYYY-MM-DD)."),
        Column(
            "district",
            "string",
            "District of the patients' residence, in any spelling the city uses.",
            known=("known_district", normalise_district),
        ),
        Column(
            "new_cases",
            "int",
            "New cases registered that day.",
            unit="people",
            min_value=0,
            max_value=100_000,
        ),
        Column(
            "deaths",
            "int",
            "Deaths from the infection registered that day; empty where not supplied.",
            unit="people",
            nullable=True,
            min_value=0,
            max_value=10_000,
        ),
    ),
    keys=("report_date", "district"),
    timestamp_column="report_date",
    partition_column="report_date",
)
