"""The morbidity forecast: scores computed by hand, the input contract, and the backtest on a
synthetic epidemic whose pharmacy signal leads the cases by a known number of days."""

from __future__ import annotations

import math
from datetime import date, timedelta
from pathlib import Path

import mlflow
import numpy as np
import polars as pl
import pytest

from ml.forecast import (
    FORECAST_TABLE,
    METRICS_TABLE,
    ForecastConfig,
    backtest_series,
    build_features,
    complete_days,
    feature_names,
    interval_score,
    run_forecast,
    weighted_interval_score,
)
from ml.forecast_input import Series, land_series, landed_series, parse_series
from ml.tracking import read_delta
from pipelines.ingest import ContractError
from pipelines.settings import LakehouseSettings

LEAD_DAYS = 5


def test_interval_score_by_hand() -> None:
    # 80% interval [10, 20]: inside -> width 10; y=25 above -> 10 + (2/0.2)*5 = 60;
    # y=4 below -> 10 + (2/0.2)*6 = 70.
    y = np.array([15.0, 25.0, 4.0])
    scores = interval_score(y, np.full(3, 10.0), np.full(3, 20.0), alpha=0.2)
    assert scores.tolist() == [10.0, 60.0, 70.0]


def test_weighted_interval_score_by_hand() -> None:
    # y=12, median 10, one 50% interval [8, 11] (alpha 0.5): IS = 3 + (2/0.5)*(12-11) = 7.
    # WIS = (0.5*|12-10| + 0.5/2*7) / (1 + 0.5) = (1 + 1.75) / 1.5 = 1.8333...
    wis = weighted_interval_score(
        np.array([12.0]), np.array([10.0]), [(np.array([8.0]), np.array([11.0]), 0.5)]
    )
    assert wis[0] == pytest.approx(2.75 / 1.5)


def epidemic(days: int = 360, seed: int = 7) -> pl.DataFrame:
    """Two waves of infections; cases are registered as they occur, pharmacy sales rise
    `LEAD_DAYS` before them (people treat themselves first), ambulance calls follow."""
    rng = np.random.default_rng(seed)
    t = np.arange(days + 2 * LEAD_DAYS)
    incidence = 20 + 400 * np.exp(-(((t - 110) / 22) ** 2)) + 700 * np.exp(-(((t - 250) / 30) ** 2))
    weekday = np.array([1.05, 1.1, 1.1, 1.05, 1.0, 0.85, 0.85])[t % 7]
    cases = rng.poisson(incidence * weekday)
    pharmacy = 300 + 2.0 * np.roll(incidence, -LEAD_DAYS) + rng.normal(0, 10, t.size)
    ambulance = rng.poisson(50 + 0.3 * np.roll(incidence, 2))
    start = date(2020, 3, 1)
    return pl.DataFrame(
        {
            "date": [start + timedelta(days=int(i)) for i in t[:days]],
            "area": ["CITY"] * days,
            "cases": cases[:days],
            "deaths": [None] * days,
            "ambulance_calls": ambulance[:days],
            "pharmacy_receipts": pharmacy[:days],
            "mobility": [None] * days,
            "restriction_level": [None] * days,
        },
        schema_overrides={
            "deaths": pl.Int64,
            "mobility": pl.Float64,
            "restriction_level": pl.Float64,
            "cases": pl.Int64,
            "ambulance_calls": pl.Int64,
        },
    )


def test_backtest_beats_both_baselines_on_a_planted_lead() -> None:
    frame = epidemic()
    result = backtest_series(Series("synthetic", frame, "test"))
    city = result.metrics.filter((pl.col("area") == "CITY") & (pl.col("horizon_days") == 7))
    by_model = {row["model"]: row for row in city.iter_rows(named=True)}
    model = by_model["model"]
    assert model["rel_mae_seasonal_naive"] < 0.6
    assert model["rel_mae_naive"] < 0.6
    # The leading signal is worth something beyond the cases' own trend, at both horizons.
    assert model["mae"] < 0.85 * by_model["cases_only"]["mae"]
    two_weeks = result.metrics.filter((pl.col("area") == "CITY") & (pl.col("horizon_days") == 14))
    mae_14 = dict(zip(two_weeks["model"], two_weeks["mae"], strict=True))
    assert mae_14["model"] < 0.95 * mae_14["cases_only"]
    assert by_model["seasonal_naive"]["rel_mae_seasonal_naive"] == pytest.approx(1.0)
    # Interval coverage is reported and sane (empirical residual quantiles).
    assert 0.5 <= model["coverage_80"] <= 1.0
    # Every origin forecasts only from rows whose target was known by then.
    model_rows = result.backtest.filter(pl.col("model") == "model")
    assert (
        model_rows["target_date"] - model_rows["origin_date"]
    ).dt.total_days().unique().sort().to_list() == [7, 14]


def test_too_short_a_series_is_refused_with_the_reason() -> None:
    frame = epidemic(days=40)
    with pytest.raises(ValueError, match="too short for a backtest: 40 days"):
        backtest_series(Series("short", frame, "test"), ForecastConfig())


def test_complete_days_interpolates_missing_days() -> None:
    frame = pl.DataFrame(
        {"date": [date(2020, 3, 1), date(2020, 3, 3)], "area": ["A", "A"], "cases": [10, 20]}
    )
    full = complete_days(frame)
    assert full["cases"].to_list() == [10.0, 15.0, 20.0]
    assert full["imputed"].to_list() == [False, True, False]


def test_series_file_rows_are_accepted_or_quarantined_with_their_rule() -> None:
    payload = (
        b"date,area,cases,mobility\n"
        b"2020-03-01,KZ,5,-3.5\n"
        b"2020-03-02,KZ,-2,-4\n"  # a correction: cases >= 0
        b"2020-03-03,KZ,seven,\n"  # not an int
        b"2020-03-01,KZ,6,\n"  # repeats row 1's (date, area)
        b"2020-03-04,KZ,9,\n"
    )
    series = parse_series(payload, "landing/epi_series/2020-03-05/kz.csv")
    assert series.name == "kz"
    assert series.rows_in == 5
    assert series.frame.height + series.quarantined.height == 5
    assert series.frame["cases"].to_list() == [5, 9]
    rules = dict(zip(series.quarantined["row_number"], series.quarantined["rule"], strict=True))
    assert set(rules) == {2, 3, 4}
    assert "cases" in rules[2] and "greater_than_or_equal_to(0)" in rules[2]
    assert rules[3].startswith("cases: not a valid int")
    assert "repeats an earlier row" in rules[4]
    assert series.signals == ["mobility"]  # the other signals were not in the file


def test_a_file_without_cases_fails_naming_the_file() -> None:
    with pytest.raises(
        ContractError, match=r"\[forecast_input\] bad\.csv: missing required column\(s\): cases"
    ):
        parse_series(b"date,area\n2020-03-01,KZ\n", "bad.csv")


def test_run_forecast_tracks_registers_and_writes_gold_idempotently(
    local_settings: LakehouseSettings, tmp_path: Path
) -> None:
    csv = epidemic(days=150).drop("deaths", "mobility", "restriction_level").write_csv()
    land_series(local_settings, csv.encode(), "planted.csv", "2020-08-01")
    (series,) = landed_series(local_settings)
    assert series.name == "planted"
    config = ForecastConfig(step_days=14)
    summary = run_forecast(local_settings, series, config, out_dir=tmp_path / "out")
    assert summary["h7"]["rel_mae"] < 1
    assert Path(summary["plot"]).stat().st_size > 10_000

    client = mlflow.MlflowClient(local_settings.mlflow_tracking_uri)
    run = client.get_run(summary["run_id"])
    assert run.data.params["series"] == "planted"
    assert run.data.params["data_version.landing_sha256"]
    assert math.isclose(run.data.metrics["h7.CITY.rel_mae"], summary["h7"]["rel_mae"])
    artifacts = {a.path for a in client.list_artifacts(summary["run_id"], "plots")}
    assert artifacts == {"plots/forecast_planted.png"}
    model = mlflow.pyfunc.load_model("models:/morbidity_forecast_planted/1")
    assert model.metadata.signature is not None
    local = mlflow.artifacts.download_artifacts("models:/morbidity_forecast_planted/1")
    example = mlflow.models.Model.load(local).load_input_example(local)
    predicted = model.predict(example)
    assert {"h7_prediction", "h14_prediction", "h7_q100", "h7_q900"} <= set(predicted.columns)
    assert (predicted["h7_q100"] <= predicted["h7_prediction"]).all()

    rows, _ = read_delta(local_settings, "gold", FORECAST_TABLE)
    metrics, _ = read_delta(local_settings, "gold", METRICS_TABLE)
    run_forecast(local_settings, series, config, out_dir=tmp_path / "out")  # a re-run replaces
    again, _ = read_delta(local_settings, "gold", FORECAST_TABLE)
    assert again.height == rows.height
    assert set(again["kind"]) == {"backtest", "forecast"}
    assert metrics.filter(pl.col("area") == "ALL").height == 8  # 2 horizons x 4 models


def test_an_announced_regime_change_stops_the_trend_and_nothing_later_leaks() -> None:
    # Growth under the old regime, then a quarantine from day 60 announced 5 days before.
    days = 90
    start = date(2020, 3, 1)
    t = np.arange(days)
    cases = np.round(5 * np.exp(0.05 * np.minimum(t, 60)) * np.exp(-0.08 * np.maximum(t - 60, 0)))
    restriction = np.where(t >= 60, 0.8, 0.2)
    frame = pl.DataFrame(
        {
            "date": [start + timedelta(days=int(i)) for i in t],
            "area": ["CITY"] * days,
            "cases": cases.astype(np.int64),
            "restriction_level": restriction,
        }
    )
    features = build_features(frame, ["restriction_level"], horizon=7, notice_days=5)
    steady = dict(zip(features["date"], features["regime_steady"], strict=True))
    change = start + timedelta(days=60)
    # Off from the announcement (5 days ahead) until a week into the new regime, on outside.
    assert steady[change - timedelta(days=6)] == 1.0
    assert all(steady[change + timedelta(days=k)] == 0.0 for k in range(-5, 7))
    assert steady[change + timedelta(days=7)] == 1.0
    # What lies beyond t + notice_days never reaches day t's features.
    later = frame.with_columns(
        pl.when(pl.col("date") > change + timedelta(days=10))
        .then(0.0)
        .otherwise(pl.col("restriction_level"))
        .alias("restriction_level")
    )
    again = build_features(later, ["restriction_level"], horizon=7, notice_days=5)
    origin = change + timedelta(days=5)
    columns = [*feature_names(["restriction_level"]), "regime_steady"]
    assert (
        again.filter(pl.col("date") == origin)
        .select(columns)
        .equals(features.filter(pl.col("date") == origin).select(columns))
    )
    # Across the turn the model forecasts the level; elsewhere it follows the trend.
    full = frame.with_columns(
        pl.lit(None, dtype=pl.Int64).alias("deaths"),
        pl.lit(None, dtype=pl.Int64).alias("ambulance_calls"),
        pl.lit(None, dtype=pl.Float64).alias("pharmacy_receipts"),
        pl.lit(None, dtype=pl.Float64).alias("mobility"),
    ).select(
        "date",
        "area",
        "cases",
        "deaths",
        "ambulance_calls",
        "pharmacy_receipts",
        "mobility",
        "restriction_level",
    )
    result = backtest_series(
        Series("turn", full, "test"), ForecastConfig(horizons=(7,), min_train_days=28)
    )
    rows = result.backtest.filter(pl.col("model") == "model").join(
        features.select(pl.col("date").alias("origin_date"), "level_7d", "regime_steady"),
        on="origin_date",
    )
    gated = rows.filter(pl.col("regime_steady") == 0.0)
    assert gated.height == 12
    assert (gated["prediction"] - gated["level_7d"]).abs().max() < 1e-9
    growing = rows.filter(pl.col("origin_date") < change - timedelta(days=10))
    assert (growing["prediction"] > growing["level_7d"]).all()
