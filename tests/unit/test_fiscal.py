"""Fiscal receipts: the simulated business portrait and pharmacy as a leading signal."""

from datetime import date, timedelta

import numpy as np
import polars as pl

from contracts.fiscal_receipts import FISCAL_RECEIPTS
from pipelines.ingest import read_landing_file, split_file
from pipelines.simulation.city import EPOCH, epidemic
from pipelines.sources.fiscal import day_factor, simulate_day

DAY = date(2020, 3, 2)


def test_a_simulated_day_passes_its_own_contract() -> None:
    payload = simulate_day(DAY, seed=1, scale=0.05).write_csv().encode()
    raw = read_landing_file(payload, "receipts.csv", FISCAL_RECEIPTS)
    result = split_file(raw, "receipts.csv", FISCAL_RECEIPTS, DAY)
    assert result.quarantined.height == 0
    assert result.accepted["business_date"].unique().to_list() == [DAY]
    assert result.accepted["receipts"].dtype == pl.Int64


def test_negative_amounts_and_unknown_categories_are_quarantined() -> None:
    csv = (
        "outlet_id,business_date,category,district,receipts,amount_kzt\n"
        "OFD-1,2020-03-02,pharmacy,Almaly,10,35000\n"
        "OFD-2,2020-03-02,pharmacy,Almaly,10,-5\n"
        "OFD-3,2020-03-02,casino,Almaly,10,35000\n"
        "OFD-4,2020-13-02,pharmacy,Almaly,10,35000\n"
    )
    result = split_file(
        read_landing_file(csv.encode(), "r.csv", FISCAL_RECEIPTS), "r.csv", FISCAL_RECEIPTS, DAY
    )
    assert result.accepted["outlet_id"].to_list() == ["OFD-1"]
    rules = dict(zip(result.quarantined["row_number"], result.quarantined["rule"], strict=True))
    assert "amount_kzt: greater_than_or_equal_to(0" in rules[2]
    assert "category: isin" in rules[3]
    assert "business_date: not a valid date" in rules[4]


def test_lockdown_empties_restaurants_but_not_pharmacies() -> None:
    before, lockdown = date(2020, 3, 4), date(2020, 4, 15)  # both Wednesdays
    assert day_factor(42, "restaurant", 1, lockdown) < 0.3 * day_factor(42, "restaurant", 1, before)
    assert day_factor(42, "pharmacy", 1, lockdown) > 0.9 * day_factor(42, "pharmacy", 1, before)


def test_pharmacy_demand_leads_morbidity_by_a_few_days() -> None:
    days = [date(2020, 5, 15) + timedelta(days=i) for i in range(150)]
    pharmacy = np.array([day_factor(42, "pharmacy", 2, d) for d in days])
    cases = np.array([epidemic(42)[(d - EPOCH).days, 2] for d in days])

    def correlation(lag: int) -> float:  # pharmacy at t against cases at t + lag
        a, b = (
            (pharmacy[: len(days) - lag], cases[lag:])
            if lag >= 0
            else (pharmacy[-lag:], cases[:lag])
        )
        return float(np.corrcoef(np.diff(a), np.diff(b))[0, 1])

    best = max(range(-7, 8), key=correlation)
    assert 1 <= best <= 4  # pharmacy moves first; cases follow a couple of days later
