"""Morbidity forecast: new cases per area 7 and 14 days ahead, with an honest backtest.

The model. For an area and a forecast origin day t, the features are what is known on t:
the growth of the 7-day mean of cases over the last 3 and 7 days, the same growths for
ambulance calls and pharmacy receipts, the change of mobility, the restriction level, and the
weekday profile of the target day. The target is the log ratio of the cases on day t+h to the
7-day mean on day t, so one ridge regression, pooled over the areas of a series, serves small
districts and the whole city alike. Quantiles come from the empirical quantiles of the
training residuals.

Regime turns. Restrictions change the growth of an epidemic at once, and a series holds too
few turns to learn by how much. Regimes are announced a few days before they take force
(`ForecastConfig.notice_days`), so the model knows when a turn is coming: it is trained on
steady-regime days only, and from the announcement of a change until a week after it, it
forecasts the level (as the naive does) instead of carrying the old regime's growth across.

The backtest is rolling-origin: every `step_days` from the first day with `min_train_days` of
training data, the model is refitted on the rows whose target was known by the origin and
forecasts each area h days ahead. Beside it, always:

- naive: the mean of the last 7 days (the level, carried forward);
- seasonal naive: the value on the same weekday of the last observed week.

Metrics per horizon and area: MAE, MASE (scaled by the in-sample MAE of the weekly seasonal
naive), relative MAE against each baseline, and for the model the coverage of its 50/80/95%
intervals and the weighted interval score (WIS). A model without the signals (cases only) is
scored in the same run, so what the signals add is measured, not assumed.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import mlflow
import numpy as np
import pandas as pd
import polars as pl
import sklearn
from mlflow.models import infer_signature
from mlflow.pyfunc import PythonModel
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from ml.forecast_input import CITY_AREA, Series
from ml.gold_tables import FORECAST_TABLE, METRICS_TABLE
from ml.tracking import check_tracking_server, configure, log_data_versions, tracked_run, write_gold
from pipelines.settings import LakehouseSettings

log = logging.getLogger(__name__)

EXPERIMENT = "morbidity_forecast"
QUANTILES = (0.025, 0.1, 0.25, 0.5, 0.75, 0.9, 0.975)
# Central intervals (lower, upper quantile) and their nominal coverage.
INTERVALS = ((0.25, 0.75, 0.5), (0.1, 0.9, 0.8), (0.025, 0.975, 0.95))
BASELINES = ("naive", "seasonal_naive")
# No level among the features: a level above any seen in training (the peak of a wave) would
# be extrapolated by the linear fit into a growth nobody measured.
CASE_FEATURES = ("growth_3", "growth_7", "weekday_factor_log")
SIGNAL_FEATURES = {
    "ambulance_calls": ("ambulance_growth_3", "ambulance_growth_7"),
    "pharmacy_receipts": ("pharmacy_growth_3", "pharmacy_growth_7"),
    "mobility": ("mobility_change_7", "mobility_change_14"),
    "restriction_level": ("restriction_level",),
}


@dataclass(frozen=True)
class ForecastConfig:
    horizons: tuple[int, ...] = (7, 14)
    min_train_days: int = 42
    step_days: int = 1
    ridge_alpha: float = 10.0
    min_train_rows: int = 20
    estimator: str = "ridge"
    # Regimes are announced before they take force (Almaty's second quarantine of 5 July 2020
    # was announced on 30 June): the forecast on day t knows the restriction level up to
    # t + notice_days, never further.
    notice_days: int = 5


# -- features ----------------------------------------------------------------------------------
def complete_days(frame: pl.DataFrame) -> pl.DataFrame:
    """Every day from each area's first to its last, missing days interpolated (`imputed`)."""
    parts = []
    for (area,), rows in frame.sort("date").group_by("area", maintain_order=True):
        first, last = rows["date"].min(), rows["date"].max()
        assert isinstance(first, date) and isinstance(last, date)
        days = pl.date_range(first, last, "1d", eager=True)
        full = pl.DataFrame({"date": days}).join(rows, on="date", how="left")
        numeric = [c for c in full.columns if c not in ("date", "area")]
        parts.append(
            full.with_columns(
                pl.lit(area).alias("area"),
                pl.col("cases").is_null().alias("imputed"),
                *(pl.col(c).cast(pl.Float64).interpolate() for c in numeric),
            )
        )
    return pl.concat(parts)


def _log_growth(column: str, days: int) -> pl.Expr:
    mean7 = pl.col(column).rolling_mean(7)
    return (mean7.log1p() - mean7.shift(days).log1p()).over("area")


def build_features(
    frame: pl.DataFrame, signals: list[str], horizon: int, notice_days: int = 5
) -> pl.DataFrame:
    """Features known on each day t, the baselines for t+h and (where known) the target.

    With a restriction signal, `regime_steady` is 0 where the restriction level changed in the
    week before t or a change is announced (known up to `notice_days` ahead) before the target:
    growth measured under the old regime says nothing about the new one, so the model neither
    learns from nor extrapolates across such a turn (see `FittedHorizon.predict`). Without
    one, every day is steady.
    """
    lag = 7 * math.ceil(horizon / 7)  # the seasonal naive reads the same weekday
    level = pl.col("cases").rolling_mean(7).over("area")
    columns: list[pl.Expr] = [
        level.alias("level_7d"),
        _log_growth("cases", 3).alias("growth_3"),
        _log_growth("cases", 7).alias("growth_7"),
    ]
    frame = frame.sort("area", "date").with_columns(columns)
    # Weekday factor of the target day: mean of the same weekday over the last 4 weeks against
    # the mean of those 28 days (1 = an average day).
    same_weekday = (
        sum(pl.col("cases").shift((lag - horizon) + 7 * k).over("area") for k in range(4)) / 4
    )
    frame = frame.with_columns(
        ((same_weekday + 1) / (pl.col("cases").rolling_mean(28).over("area") + 1))
        .log()
        .alias("weekday_factor_log")
    )
    extra: list[pl.Expr] = []
    if "ambulance_calls" in signals:
        extra += [
            _log_growth("ambulance_calls", 3).alias("ambulance_growth_3"),
            _log_growth("ambulance_calls", 7).alias("ambulance_growth_7"),
        ]
    if "pharmacy_receipts" in signals:
        extra += [
            _log_growth("pharmacy_receipts", 3).alias("pharmacy_growth_3"),
            _log_growth("pharmacy_receipts", 7).alias("pharmacy_growth_7"),
        ]
    if "mobility" in signals:
        mobility = pl.col("mobility").rolling_mean(7)
        extra += [
            (mobility - mobility.shift(7)).over("area").alias("mobility_change_7"),
            (mobility - mobility.shift(14)).over("area").alias("mobility_change_14"),
        ]
    if "restriction_level" in signals:
        notice = min(notice_days, horizon)
        window = 8 + notice  # the restriction on days t-7 .. t+notice
        known = pl.col("restriction_level").forward_fill().over("area")
        frame = frame.with_columns(known.alias("restriction_level")).with_columns(
            pl.col("restriction_level")
            .shift(-notice)
            .over("area")
            .fill_null(pl.col("restriction_level"))
            .alias("_announced")
        )
        announced = pl.col("_announced")
        extra += [
            pl.col("restriction_level").fill_null(0.0).alias("restriction_level_f"),
            (
                announced.rolling_max(window, min_samples=1)
                == announced.rolling_min(window, min_samples=1)
            )
            .over("area")
            .cast(pl.Float64)
            .fill_null(1.0)
            .alias("regime_steady"),
        ]
    # A signal an area lacks (suppressed for privacy, or never supplied for it) adds nothing:
    # its changes count as none, rather than dropping the area from the forecast.
    frame = frame.with_columns(expr.fill_null(0.0) for expr in extra)
    if "restriction_level" in signals:
        frame = frame.drop("restriction_level", "_announced").rename(
            {"restriction_level_f": "restriction_level"}
        )
    else:
        frame = frame.with_columns(pl.lit(1.0).alias("regime_steady"))
    target_cases = pl.col("cases").shift(-horizon).over("area")
    return frame.with_columns(
        pl.col("date").alias("origin_date"),
        (pl.col("date") + timedelta(days=horizon)).alias("target_date"),
        target_cases.alias("actual"),
        (target_cases.log1p() - pl.col("level_7d").log1p()).alias("target"),
        pl.col("level_7d").alias("naive"),
        pl.col("cases").shift(lag - horizon).over("area").alias("seasonal_naive"),
    )


def feature_names(signals: list[str]) -> list[str]:
    names = list(CASE_FEATURES)
    for signal in signals:
        names += SIGNAL_FEATURES[signal]
    return names


# -- the model -----------------------------------------------------------------------------------
@dataclass
class FittedHorizon:
    """One horizon's ridge regression and the quantiles of its training residuals."""

    horizon: int
    features: list[str]
    pipeline: Pipeline
    residual_quantiles: dict[float, float]
    # The log ratios seen in training: a forecast never extrapolates a trend beyond them.
    target_range: tuple[float, float] = (-math.inf, math.inf)
    # Trained on steady-regime days only; across an announced regime change (`regime_steady`
    # 0) the forecast carries the level, like the naive, instead of extrapolating old trends.
    regime_gated: bool = False

    @property
    def inputs(self) -> list[str]:
        """The columns a row needs: the level, the features and, if gated, the regime flag."""
        return ["level_7d", *self.features, *(["regime_steady"] if self.regime_gated else [])]

    def predict(self, rows: pd.DataFrame) -> pd.DataFrame:
        """Median and quantile forecasts of the cases h days after each row's day."""
        base = np.log1p(rows["level_7d"].to_numpy(dtype=float))
        shift = self.pipeline.predict(rows[self.features].to_numpy(dtype=float))
        shift = np.clip(shift, *self.target_range)
        if self.regime_gated:
            shift = shift * rows["regime_steady"].to_numpy(dtype=float)
        out = {"prediction": np.expm1(base + shift).clip(min=0)}
        for q, r in self.residual_quantiles.items():
            out[_q(q)] = np.expm1(base + shift + r).clip(min=0)
        return pd.DataFrame(out, index=rows.index)


def _q(q: float) -> str:
    return f"q{round(q * 1000):03d}"


def fit_horizon(
    train: pl.DataFrame,
    features: list[str],
    horizon: int,
    alpha: float,
    estimator: str = "ridge",
    regime_gated: bool = False,
) -> FittedHorizon:
    if regime_gated:
        train = train.filter(pl.col("regime_steady") == 1.0)
    x = train.select(features).to_numpy()
    y = train["target"].to_numpy()
    if estimator == "gbm":
        pipeline = make_pipeline(
            StandardScaler(),
            HistGradientBoostingRegressor(
                loss="absolute_error",
                max_iter=150,
                learning_rate=0.05,
                max_depth=3,
                min_samples_leaf=20,
                random_state=0,
            ),
        )
    else:
        pipeline = make_pipeline(StandardScaler(), Ridge(alpha=alpha))
    # A log error costs in proportion to the level it multiplies: weighting rows by their
    # level makes the fit care about cases, not about the wild ratios of near-empty days.
    weight = train["level_7d"].to_numpy() + 1.0
    pipeline.fit(x, y, **{f"{pipeline.steps[-1][0]}__sample_weight": weight})
    residuals = y - pipeline.predict(x)
    quantiles = {q: float(np.quantile(residuals, q)) for q in QUANTILES if q != 0.5}
    low, high = np.quantile(y, [0.05, 0.95])
    return FittedHorizon(
        horizon, features, pipeline, quantiles, (float(low), float(high)), regime_gated
    )


class MorbidityForecaster(PythonModel):  # type: ignore[misc]
    """The registered model: feature rows in (see `feature_names`), cases per horizon out."""

    def __init__(self, fitted: dict[int, FittedHorizon]) -> None:
        self.fitted = fitted

    def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> pd.DataFrame:
        columns = {}
        for horizon, model in sorted(self.fitted.items()):
            predicted = model.predict(model_input)
            for name in predicted.columns:
                columns[f"h{horizon}_{name}"] = predicted[name].to_numpy()
        return pd.DataFrame(columns)


# -- scoring ---------------------------------------------------------------------------------------
def interval_score(y: np.ndarray, lower: np.ndarray, upper: np.ndarray, alpha: float) -> np.ndarray:
    """The interval score of a central (1 - alpha) interval (Gneiting & Raftery 2007)."""
    return (
        (upper - lower)
        + (2 / alpha) * (lower - y) * (y < lower)
        + (2 / alpha) * (y - upper) * (y > upper)
    )


def weighted_interval_score(
    y: np.ndarray, median: np.ndarray, intervals: list[tuple[np.ndarray, np.ndarray, float]]
) -> np.ndarray:
    """WIS (Bracher et al. 2021): the median's absolute error and the K interval scores,
    weighted alpha/2, over K + 1/2. `intervals` holds (lower, upper, alpha)."""
    total = 0.5 * np.abs(y - median)
    for lower, upper, alpha in intervals:
        total = total + (alpha / 2) * interval_score(y, lower, upper, alpha)
    return total / (len(intervals) + 0.5)


def seasonal_scale(frame: pl.DataFrame, until: date) -> dict[str, float]:
    """Per area, the in-sample MAE of the weekly seasonal naive up to `until` (MASE's scale)."""
    scales = (
        frame.filter(pl.col("date") <= until)
        .sort("area", "date")
        .with_columns((pl.col("cases") - pl.col("cases").shift(7).over("area")).abs().alias("e"))
        .group_by("area")
        .agg(pl.col("e").mean())
    )
    return {a: float(e) if e else float("nan") for a, e in scales.iter_rows()}


def score(backtest: pl.DataFrame, scales: dict[str, float]) -> pl.DataFrame:
    """Metrics per (horizon, area, model), with `ALL` pooling the areas of the series."""
    rows: list[dict[str, Any]] = []
    models = backtest["model"].unique().to_list()
    for (horizon,), by_h in backtest.group_by("horizon_days", maintain_order=True):
        areas = sorted(by_h["area"].unique().to_list())
        for area in [*areas, "ALL"]:
            part = by_h if area == "ALL" else by_h.filter(pl.col("area") == area)
            errors = {
                m: (
                    part.filter(pl.col("model") == m)["prediction"]
                    - part.filter(pl.col("model") == m)["actual"]
                ).abs()
                for m in models
            }
            mae = {m: float(e.mean()) for m, e in errors.items() if e.len()}  # type: ignore[arg-type]
            for model, value in mae.items():
                if area == "ALL":
                    per_area = [
                        _mae(by_h, a, model) / scales[a]
                        for a in areas
                        if scales.get(a) and not math.isnan(scales[a])
                    ]
                    mase = float(np.mean(per_area)) if per_area else float("nan")
                else:
                    scale = scales.get(area, float("nan"))
                    mase = value / scale if scale else float("nan")
                row: dict[str, Any] = {
                    "horizon_days": horizon,
                    "area": area,
                    "model": model,
                    "n_forecasts": int(errors[model].len()),
                    "mae": value,
                    "mase": mase,
                    "rel_mae_naive": value / mae["naive"] if mae.get("naive") else None,
                    "rel_mae_seasonal_naive": (
                        value / mae["seasonal_naive"] if mae.get("seasonal_naive") else None
                    ),
                    "coverage_50": None,
                    "coverage_80": None,
                    "coverage_95": None,
                    "wis": None,
                }
                quantiled = part.filter(pl.col("model") == model).drop_nulls(_q(0.1))
                if quantiled.height:
                    y = quantiled["actual"].to_numpy()
                    for lo, hi, nominal in INTERVALS:
                        inside = (quantiled[_q(lo)].to_numpy() <= y) & (
                            y <= quantiled[_q(hi)].to_numpy()
                        )
                        row[f"coverage_{round(nominal * 100)}"] = float(inside.mean())
                    row["wis"] = float(
                        weighted_interval_score(
                            y,
                            quantiled["prediction"].to_numpy(),
                            [
                                (
                                    quantiled[_q(lo)].to_numpy(),
                                    quantiled[_q(hi)].to_numpy(),
                                    1 - nominal,
                                )
                                for lo, hi, nominal in INTERVALS
                            ],
                        ).mean()
                    )
                rows.append(row)
    return pl.DataFrame(rows, infer_schema_length=None)


def _mae(backtest: pl.DataFrame, area: str, model: str) -> float:
    part = backtest.filter((pl.col("area") == area) & (pl.col("model") == model))
    return float((part["prediction"] - part["actual"]).abs().mean())  # type: ignore[arg-type]


# -- backtest ----------------------------------------------------------------------------------
@dataclass
class ForecastResult:
    series: str
    backtest: pl.DataFrame  # one row per (model, area, origin, horizon)
    forecast: pl.DataFrame  # the forward forecast from the last day
    metrics: pl.DataFrame
    fitted: dict[int, FittedHorizon]
    features: dict[int, pl.DataFrame] = field(default_factory=dict)
    signals: list[str] = field(default_factory=list)


def backtest_series(series: Series, config: ForecastConfig = ForecastConfig()) -> ForecastResult:
    """Rolling-origin backtest of the model, its cases-only variant and the two baselines."""
    frame = complete_days(series.frame)
    signals = series.signals
    gated = "restriction_level" in signals
    days = frame["date"].unique().sort()
    first, last = days[0], days[-1]
    parts: list[pl.DataFrame] = []
    fitted: dict[int, FittedHorizon] = {}
    features_by_h: dict[int, pl.DataFrame] = {}
    for horizon in config.horizons:
        data = build_features(frame, signals, horizon, config.notice_days)
        features_by_h[horizon] = data
        variants = {"model": feature_names(signals), "cases_only": list(CASE_FEATURES)}
        usable = data.drop_nulls([*feature_names(signals), "naive", "seasonal_naive"])
        origin = first + timedelta(days=config.min_train_days + 14)
        origins = []
        while origin + timedelta(days=horizon) <= last:
            origins.append(origin)
            origin += timedelta(days=config.step_days)
        log.info(
            f"[{series.name}] h={horizon}: {len(origins)} origins, "
            f"{frame['area'].n_unique()} areas, signals {signals or 'none'}"
        )
        for i, origin in enumerate(origins):
            train = usable.filter(pl.col("target_date") <= origin).drop_nulls("target")
            today = usable.filter(pl.col("date") == origin).drop_nulls("actual")
            if train.height < config.min_train_rows or today.height == 0:
                continue
            for variant, names in variants.items():
                model = fit_horizon(
                    train,
                    names,
                    horizon,
                    config.ridge_alpha,
                    config.estimator,
                    regime_gated=variant == "model" and gated,
                )
                predicted = model.predict(today.to_pandas())
                parts.append(
                    today.select("area", "origin_date", "target_date", "actual").with_columns(
                        pl.lit(variant).alias("model"),
                        pl.lit(horizon).alias("horizon_days"),
                        pl.Series("prediction", predicted["prediction"].to_numpy()),
                        *(
                            pl.Series(_q(q), predicted[_q(q)].to_numpy())
                            for q in QUANTILES
                            if q != 0.5
                        ),
                    )
                )
            for baseline in BASELINES:
                parts.append(
                    today.select(
                        "area",
                        "origin_date",
                        "target_date",
                        "actual",
                        pl.col(baseline).alias("prediction"),
                    ).with_columns(
                        pl.lit(baseline).alias("model"), pl.lit(horizon).alias("horizon_days")
                    )
                )
            if (i + 1) % 20 == 0:
                log.info(f"[{series.name}] h={horizon}: {i + 1}/{len(origins)} origins")
        train_all = usable.drop_nulls("target")
        if train_all.height >= config.min_train_rows:
            fitted[horizon] = fit_horizon(
                train_all,
                feature_names(signals),
                horizon,
                config.ridge_alpha,
                config.estimator,
                regime_gated=gated,
            )
    if not parts:
        raise ValueError(
            f"[{series.name}] too short for a backtest: {len(days)} days; the forecast needs "
            f"at least {config.min_train_days + 14 + max(config.horizons)} days of cases"
        )
    backtest = pl.concat(parts, how="diagonal_relaxed").with_columns(
        pl.col("actual").cast(pl.Float64), pl.col("prediction").cast(pl.Float64)
    )
    last_origin = backtest["origin_date"].max()
    assert isinstance(last_origin, date)
    metrics = score(backtest, seasonal_scale(frame, last_origin))
    forecast = forward_forecast(features_by_h, fitted, last)
    return ForecastResult(series.name, backtest, forecast, metrics, fitted, features_by_h, signals)


def forward_forecast(
    features: dict[int, pl.DataFrame], fitted: dict[int, FittedHorizon], last: date
) -> pl.DataFrame:
    """The model's forecast from the last day of data, per area and horizon."""
    parts = []
    for horizon, model in fitted.items():
        today = features[horizon].filter(pl.col("date") == last).drop_nulls(model.features)
        if today.height == 0:
            continue
        predicted = model.predict(today.to_pandas())
        parts.append(
            today.select("area", "origin_date", "target_date").with_columns(
                pl.lit("model").alias("model"),
                pl.lit(horizon).alias("horizon_days"),
                pl.Series("prediction", predicted["prediction"].to_numpy()),
                *(pl.Series(_q(q), predicted[_q(q)].to_numpy()) for q in QUANTILES if q != 0.5),
            )
        )
    return pl.concat(parts) if parts else pl.DataFrame()


# -- plots, MLflow, gold -------------------------------------------------------------------------
def display_area(result: ForecastResult) -> str:
    areas = result.backtest["area"].unique().to_list()
    if CITY_AREA in areas:
        return CITY_AREA
    totals = result.backtest.group_by("area").agg(pl.col("actual").sum()).sort("actual")
    return str(totals["area"][-1])


def plot_forecast(result: ForecastResult, series: Series, out: Path) -> Path:
    """Forecast vs actual for the series' main area: one panel per horizon."""
    area = display_area(result)
    observed = complete_days(series.frame).filter(pl.col("area") == area).sort("date")
    horizons = sorted(result.backtest["horizon_days"].unique().to_list())
    fig, axes = plt.subplots(len(horizons), 1, figsize=(11, 3.6 * len(horizons)), sharex=True)
    axes = np.atleast_1d(axes)
    for ax, horizon in zip(axes, horizons, strict=True):
        ax.plot(observed["date"], observed["cases"], color="0.75", lw=0.8, label="cases (daily)")
        ax.plot(
            observed["date"],
            observed["cases"].rolling_mean(7),
            color="0.3",
            lw=1.2,
            label="cases (7-day mean)",
        )
        part = result.backtest.filter(
            (pl.col("area") == area) & (pl.col("horizon_days") == horizon)
        ).sort("target_date")
        model = part.filter(pl.col("model") == "model")
        ax.fill_between(
            model["target_date"],
            model[_q(0.1)],
            model[_q(0.9)],
            color="tab:blue",
            alpha=0.2,
            label="model 80% interval",
        )
        ax.plot(
            model["target_date"], model["prediction"], "o-", ms=3, color="tab:blue", label="model"
        )
        snaive = part.filter(pl.col("model") == "seasonal_naive")
        ax.plot(
            snaive["target_date"],
            snaive["prediction"],
            "x--",
            ms=3,
            color="tab:orange",
            label="seasonal naive",
        )
        ahead = (
            result.forecast.filter((pl.col("area") == area) & (pl.col("horizon_days") == horizon))
            if result.forecast.height
            else pl.DataFrame()
        )
        if ahead.height:
            ax.errorbar(
                ahead["target_date"],
                ahead["prediction"],
                yerr=[ahead["prediction"] - ahead[_q(0.1)], ahead[_q(0.9)] - ahead["prediction"]],
                fmt="s",
                color="tab:red",
                label="forecast from the last day",
            )
        metrics = result.metrics.filter(
            (pl.col("area") == area)
            & (pl.col("horizon_days") == horizon)
            & (pl.col("model") == "model")
        )
        rel = metrics["rel_mae_seasonal_naive"][0] if metrics.height else None
        ax.set_title(
            f"{result.series} / {area}: {horizon} days ahead (rolling origin); "
            f"relative MAE vs seasonal naive {rel:.2f}"
            if rel is not None
            else f"{horizon} days ahead"
        )
        ax.set_ylabel("new cases per day")
        ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def _requirements() -> list[str]:
    return [
        f"mlflow=={mlflow.__version__}",
        f"scikit-learn=={sklearn.__version__}",
        f"pandas=={pd.__version__}",
        f"numpy=={np.__version__}",
    ]


def registered_model_name(series: str) -> str:
    return f"morbidity_forecast_{series}"


def headline(metrics: pl.DataFrame, area: str, horizon: int) -> dict[str, float | None]:
    def pick(model: str, column: str) -> float | None:
        row = metrics.filter(
            (pl.col("area") == area)
            & (pl.col("horizon_days") == horizon)
            & (pl.col("model") == model)
        )
        return row[column][0] if row.height else None

    return {
        "rel_mae": pick("model", "rel_mae_seasonal_naive"),
        "rel_mae_naive": pick("model", "rel_mae_naive"),
        "rel_mae_cases_only": pick("cases_only", "rel_mae_seasonal_naive"),
        "mae": pick("model", "mae"),
        "mae_seasonal_naive": pick("seasonal_naive", "mae"),
        "mae_naive": pick("naive", "mae"),
        "mase": pick("model", "mase"),
        "mase_seasonal_naive": pick("seasonal_naive", "mase"),
        "coverage_80": pick("model", "coverage_80"),
        "wis": pick("model", "wis"),
    }


def run_forecast(
    settings: LakehouseSettings,
    series: Series,
    config: ForecastConfig = ForecastConfig(),
    out_dir: Path | None = None,
) -> dict[str, Any]:
    """Backtest, fit and register the forecast of one series; MLflow run, plot and gold rows."""
    check_tracking_server(configure(settings))  # before minutes of backtesting, not after
    out_dir = out_dir or settings.home / "ml" / "forecast"
    result = backtest_series(series, config)
    area = display_area(result)
    computed_at = datetime.now(UTC)
    with tracked_run(
        settings, EXPERIMENT, run_name=series.name, tags={"series": series.name}
    ) as run:
        mlflow.log_params(
            {
                "series": series.name,
                "source": series.source,
                "horizons": ",".join(map(str, config.horizons)),
                "min_train_days": config.min_train_days,
                "step_days": config.step_days,
                "ridge_alpha": config.ridge_alpha,
                "signals": ",".join(result.signals) or "none",
                "areas": series.frame["area"].n_unique(),
                "first_day": str(series.frame["date"].min()),
                "last_day": str(series.frame["date"].max()),
                "rows_in": series.rows_in,
                "rows_quarantined": series.quarantined.height,
                "target": "new cases on day t+h",
            }
        )
        log_data_versions(series.data_versions)  # type: ignore[arg-type]
        metrics: dict[str, float] = {}
        for horizon in config.horizons:
            for where in (area, "ALL"):
                for name, value in headline(result.metrics, where, horizon).items():
                    if value is not None and not math.isnan(value):
                        metrics[f"h{horizon}.{where}.{name}"] = float(value)
            for row in result.metrics.filter(
                (pl.col("horizon_days") == horizon) & (pl.col("model") == "model")
            ).iter_rows(named=True):
                if row["rel_mae_seasonal_naive"] is not None:
                    metrics[f"h{horizon}.{row['area']}.rel_mae"] = float(
                        row["rel_mae_seasonal_naive"]
                    )
        metrics["origins"] = float(result.backtest["origin_date"].n_unique())
        mlflow.log_metrics(metrics)
        plot = plot_forecast(result, series, out_dir / f"forecast_{series.name}.png")
        mlflow.log_artifact(str(plot), artifact_path="plots")
        tables = out_dir / series.name
        tables.mkdir(parents=True, exist_ok=True)
        result.metrics.write_csv(tables / "metrics.csv")
        result.backtest.write_csv(tables / "backtest.csv")
        mlflow.log_artifacts(str(tables), artifact_path="backtest")
        model_version = None
        if result.fitted:
            any_h = min(result.fitted)
            example = (
                result.features[any_h]
                .drop_nulls(result.fitted[any_h].features)
                .select(result.fitted[any_h].inputs)
                .tail(5)
                .to_pandas()
            )
            forecaster = MorbidityForecaster(result.fitted)
            info = mlflow.pyfunc.log_model(
                name="model",
                python_model=forecaster,
                signature=infer_signature(example, forecaster.predict(None, example)),
                input_example=example,
                registered_model_name=registered_model_name(series.name),
                pip_requirements=_requirements(),
            )
            model_version = info.registered_model_version
        run_id = run.info.run_id
    schemas = {table: frame.schema for table, frame in empty_gold_tables().items()}
    rows = _conform(_gold_rows(result, run_id, computed_at), schemas[FORECAST_TABLE])
    forecast_version = write_gold(
        settings, FORECAST_TABLE, rows, replace_where=f"series = '{series.name}'"
    )
    metric_rows = result.metrics.with_columns(
        pl.lit(series.name).alias("series"),
        pl.lit(run_id).alias("mlflow_run_id"),
        pl.lit(computed_at).alias("computed_at"),
    )
    metric_rows = _conform(metric_rows, schemas[METRICS_TABLE])
    metrics_version = write_gold(
        settings, METRICS_TABLE, metric_rows, replace_where=f"series = '{series.name}'"
    )
    summary = {
        "series": series.name,
        "run_id": run_id,
        "area": area,
        "registered_model": registered_model_name(series.name),
        "model_version": model_version,
        "plot": str(plot),
        "origins": int(result.backtest["origin_date"].n_unique()),
        "gold_rows": rows.height,
        "gold_versions": {FORECAST_TABLE: forecast_version, METRICS_TABLE: metrics_version},
        "rows_quarantined": series.quarantined.height,
        **{f"h{h}": headline(result.metrics, area, h) for h in config.horizons},
    }
    log.info(f"[{series.name}] {summary}")
    return summary


def _conform(frame: pl.DataFrame, schema: pl.Schema) -> pl.DataFrame:
    """The frame with exactly the gold table's columns and types, in its order."""
    return frame.select(pl.col(name).cast(dtype) for name, dtype in schema.items())


def empty_gold_tables() -> dict[str, pl.DataFrame]:
    """The two gold tables with their columns and no rows."""
    quantiles = [_q(q) for q in QUANTILES if q != 0.5]
    forecast = pl.DataFrame(
        schema={
            "series": pl.Utf8,
            "area": pl.Utf8,
            "kind": pl.Utf8,
            "model": pl.Utf8,
            "horizon_days": pl.Int32,
            "origin_date": pl.Date,
            "target_date": pl.Date,
            "prediction": pl.Float64,
            **{q: pl.Float64 for q in quantiles},
            "actual": pl.Float64,
            "mlflow_run_id": pl.Utf8,
            "computed_at": pl.Datetime("us", "UTC"),
        }
    )
    metrics = pl.DataFrame(
        schema={
            "series": pl.Utf8,
            "horizon_days": pl.Int64,
            "area": pl.Utf8,
            "model": pl.Utf8,
            "n_forecasts": pl.Int64,
            "mae": pl.Float64,
            "mase": pl.Float64,
            "rel_mae_naive": pl.Float64,
            "rel_mae_seasonal_naive": pl.Float64,
            "coverage_50": pl.Float64,
            "coverage_80": pl.Float64,
            "coverage_95": pl.Float64,
            "wis": pl.Float64,
            "mlflow_run_id": pl.Utf8,
            "computed_at": pl.Datetime("us", "UTC"),
        }
    )
    return {FORECAST_TABLE: forecast, METRICS_TABLE: metrics}


def _gold_rows(result: ForecastResult, run_id: str, computed_at: datetime) -> pl.DataFrame:
    quantiles = [_q(q) for q in QUANTILES if q != 0.5]
    backtest = result.backtest.with_columns(pl.lit("backtest").alias("kind"))
    parts = [backtest]
    if result.forecast.height:
        parts.append(
            result.forecast.with_columns(
                pl.lit("forecast").alias("kind"), pl.lit(None, dtype=pl.Float64).alias("actual")
            )
        )
    rows = pl.concat(parts, how="diagonal_relaxed")
    for q in quantiles:
        if q not in rows.columns:
            rows = rows.with_columns(pl.lit(None, dtype=pl.Float64).alias(q))
    return rows.select(
        pl.lit(result.series).alias("series"),
        "area",
        "kind",
        "model",
        pl.col("horizon_days").cast(pl.Int32),
        "origin_date",
        "target_date",
        pl.col("prediction").cast(pl.Float64),
        *(pl.col(q).cast(pl.Float64) for q in quantiles),
        pl.col("actual").cast(pl.Float64),
        pl.lit(run_id).alias("mlflow_run_id"),
        pl.lit(computed_at).alias("computed_at"),
    ).sort("area", "model", "horizon_days", "origin_date")
