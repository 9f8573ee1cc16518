"""Contract: fiscal cash-register receipts, aggregated per outlet per day by the fiscal data
operators (OFD). The city's business portrait, and pharmacy demand as a morbidity signal."""

from __future__ import annotations

from contracts.districts import normalise_district
from contracts.model import Column, Contract

OUTLET_CATEGORIES = (
    "pharmacy",
    "grocery",
    "restaurant",
    "clothing",
    "electronics",
    "fuel",
    "services",
    "other",
)

FISCAL_RECEIPTS = Contract(
    source="fiscal_data_operators",
    table="fiscal_receipts",
    description=(
        "Receipts printed by online cash registers, summed per outlet and business day by the "
        "fiscal data operators. No buyer data: only the outlet, its category and district."
    ),
    columns=(
        Column("outlet_id", "string", "Operator's outlet identifier (a shop, not a person)."),
        Column(
            "business_date", "date", "Business day of the receipts (local).", not_in_future=True
        ),
        Column(
            "category",
            "string",
            "Outlet category from its activity code.",
            allowed=OUTLET_CATEGORIES,
        ),
        Column(
            "district",
            "string",
            "District of the outlet's address, any spelling the city uses.",
            known=("known_district", normalise_district),
        ),
        Column(
            "receipts",
            "int",
            "Receipts printed that day.",
            unit="receipts",
            min_value=0,
            max_value=100_000,
        ),
        Column(
            "amount_kzt",
            "float",
            "Total of the receipts.",
            unit="tenge (KZT)",
            min_value=0,
            max_value=1e10,
        ),
    ),
    keys=("outlet_id", "business_date"),
    timestamp_column="business_date",
    partition_column="business_date",
)
