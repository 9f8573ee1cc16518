"""Telecom: the contract guards the city's box, and the simulated city moves as it should."""

from datetime import date

import polars as pl

from contracts.telecom import TELECOM_FLOWS, TELECOM_PRESENCE
from pipelines.ingest import read_landing_file, split_file
from pipelines.sources.telecom import mobility_factor, simulate_flows, simulate_presence

DAY = date(2020, 3, 2)


def test_a_simulated_day_passes_its_contracts() -> None:
    for contract, frame, name in (
        (TELECOM_PRESENCE, simulate_presence(DAY, scale=0.05), "presence.csv"),
        (TELECOM_FLOWS, simulate_flows(DAY, scale=0.05), "flows.csv"),
    ):
        result = split_file(
            read_landing_file(frame.write_csv().encode(), name, contract), name, contract, DAY
        )
        assert result.quarantined.height == 0, result.quarantined.head(3)
        assert result.accepted.height == frame.height


def test_cells_outside_the_city_and_negative_counts_are_quarantined() -> None:
    header = "cell_id,cell_lat,cell_lon,district,hour_start,home,work,visitor\n"
    rows = (
        "ALA-1-1,43.25,76.93,Almaly,2020-03-02T10:00:00+06:00,120,300,40\n"
        "ALA-1-2,51.13,71.43,Almaly,2020-03-02T10:00:00+06:00,120,300,40\n"  # Astana
        "ALA-1-3,43.25,76.93,Almaly,2020-03-02T10:00:00+06:00,-5,300,40\n"
    )
    result = split_file(
        read_landing_file((header + rows).encode(), "p.csv", TELECOM_PRESENCE),
        "p.csv",
        TELECOM_PRESENCE,
        DAY,
    )
    assert result.accepted["cell_id"].to_list() == ["ALA-1-1"]
    rules = dict(zip(result.quarantined["row_number"], result.quarantined["rule"], strict=True))
    assert "cell_lat: less_than_or_equal_to(43.45" in rules[2]
    assert "cell_lon: greater_than_or_equal_to(76.7" in rules[2]
    assert "home: greater_than_or_equal_to(0" in rules[3]


def test_mobility_falls_under_lockdown_and_in_waves() -> None:
    monday_before, lockdown, wave = date(2020, 3, 2), date(2020, 4, 13), date(2020, 7, 13)
    assert mobility_factor(42, lockdown) < 0.6 * mobility_factor(42, monday_before)
    assert mobility_factor(42, wave) < mobility_factor(42, date(2020, 9, 14))


def test_commuters_arrive_from_the_agglomeration_in_the_morning() -> None:
    flows = simulate_flows(DAY).with_columns(
        pl.col("subscribers").cast(pl.Int64),
        pl.col("hour_start").str.slice(11, 2).cast(pl.Int32).alias("hour"),
    )
    into_city = flows.filter(pl.col("origin") == "Kaskelen")
    morning = into_city.filter(pl.col("hour").is_between(7, 9))["subscribers"].sum()
    night = into_city.filter(pl.col("hour").is_between(0, 4))["subscribers"].sum()
    assert morning > 20 * max(night, 1)
