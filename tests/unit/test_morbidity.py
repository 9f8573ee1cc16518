"""The health department's morbidity report: the simulator's deaths trail its cases by about
two weeks, and the report passes its own contract."""

from datetime import date, timedelta

import numpy as np
import polars as pl

from contracts.morbidity import MORBIDITY_DAILY
from pipelines.ingest import read_landing_file, split_file
from pipelines.sources.morbidity import DEATH_KERNEL, simulate_day


def city_series(first: date, days: int) -> tuple[np.ndarray, np.ndarray]:
    cases, deaths = [], []
    for offset in range(days):
        report = simulate_day(first + timedelta(days=offset)).unique(
            ["report_date", "district"], keep="first"
        )
        cases.append(report["new_cases"].sum())
        deaths.append(report["deaths"].sum())
    return np.array(cases, float), np.array(deaths, float)


def test_deaths_trail_cases_by_about_two_weeks() -> None:
    assert int(np.argmax(DEATH_KERNEL)) == 14 and np.isclose(DEATH_KERNEL.sum(), 1.0)
    cases, deaths = city_series(date(2020, 5, 15), 120)
    lags = range(0, 22)
    correlation = [np.corrcoef(deaths[lag:], cases[: len(cases) - lag])[0, 1] for lag in lags]
    assert 12 <= int(np.argmax(correlation)) <= 16
    assert 0.015 < deaths.sum() / cases.sum() < 0.045  # ~3 % of registered cases


def test_a_simulated_report_passes_its_contract() -> None:
    day = date(2020, 7, 10)
    report = simulate_day(day)
    assert report.height >= 8  # every district, plus corrected re-sends
    file = "morbidity_20200710.csv"
    raw = read_landing_file(report.write_csv().encode(), file, MORBIDITY_DAILY)
    result = split_file(raw, file, MORBIDITY_DAILY, day, None, None)
    assert result.quarantined.height == 0
    assert result.accepted.height == report.height


def test_negative_counts_and_unknown_districts_are_quarantined_with_their_rule() -> None:
    day = date(2020, 7, 10)
    report = pl.DataFrame(
        {
            "report_date": ["2020-07-10", "2020-07-10", "2020-07-10"],
            "district": ["Medeu", "Gotham", "Алмалинский"],
            "new_cases": ["3", "2", "-1"],
            "deaths": ["", "0", "0"],
        }
    )
    result = split_file(report, "cases.csv", MORBIDITY_DAILY, day, None, None)
    assert result.accepted.height == 1  # deaths may be left empty
    rules = " ".join(result.quarantined["rule"].cast(pl.Utf8).to_list())
    assert "known_district" in rules and "new_cases" in rules
