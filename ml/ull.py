"""The Urban Living Lab (ULL) score: a smart-city evaluation index per district, ULL area and
month, from the indicator mart `fct_ull_indicators_monthly`.

The index follows Li et al. (2020): seven primary factors (smart economy, people, governance,
mobility, environment, living, infrastructure) made of secondary indicators. The mart carries
twelve indicators of five of them; smart environment and smart infrastructure have no source
in the lake yet (see `ml/config/ull_weights.yaml`, which lists what supports each factor).

1. Each indicator is normalised to S_i in 0-100: min-max over every district-month of the
   scored window (so scores are comparable across months of the window), inverted when lower
   is better. An indicator constant over the window scores 50 everywhere (it tells districts
   and months nothing apart). Fixed bounds in the config replace min-max for an indicator
   (values clipped to them).
2. Weights W_i (summing to 1) come either from expert judgements by AHP - a pairwise matrix
   over the primary factors, optionally one over the indicators within a factor (equal
   weights otherwise), W_i = factor weight x within-factor weight, the matrix rejected when
   its consistency ratio exceeds 0.1 - or from the data by the entropy-weight method over
   all district-months (which also rewards an indicator's spread over months: a city-level
   indicator, the same in every district, can weigh a lot without telling districts apart).
3. E = sum W_i S_i (0-100), renormalised over the indicators present when a district-month
   lacks some (`coverage` = the share of weight present), banded 85+ outstanding, 75-85
   good, 60-75 acceptable, below 60 needs improvement, and ranked per month. A ULL area (a
   named set of districts; ALA_CITY is the whole city) is scored the same way from the
   population-weighted mean of its districts' S_i.
4. The sensitivity of the latest month's district ranking to the factor weights: each factor
   weight moved one at a time by +-10 % and +-20 % (then renormalised), and Monte Carlo
   draws from a Dirichlet around the base weights.

`run_ull_scoring` does all of it as one MLflow run (experiment `ull_scoring`) and writes the
gold tables `ml_ull_scores`, `ml_ull_factor_scores` and `ml_ull_weights`, each replacing only
its method's rows. `score_kz_regions` applies the same AHP arithmetic to a published ranking
of Kazakhstan's regions as a check against real data (`python -m ml.ull kz-regions`).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: no display on servers
import matplotlib.pyplot as plt  # noqa: E402
import mlflow  # noqa: E402
import numpy as np  # noqa: E402
import polars as pl  # noqa: E402
import yaml  # type: ignore[import-untyped]  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from scipy import stats  # noqa: E402

from contracts.districts import DISTRICTS  # noqa: E402
from ml.gold_tables import (  # noqa: E402
    ULL_FACTOR_SCORES_TABLE,
    ULL_SCORES_TABLE,
    ULL_WEIGHTS_TABLE,
)
from ml.tracking import (  # noqa: E402
    log_data_versions,
    log_figure_file,
    read_delta,
    tracked_run,
    write_gold,
)
from pipelines.settings import PROJECT_ROOT, LakehouseSettings  # noqa: E402

LOG = logging.getLogger(__name__)

EXPERIMENT = "ull_scoring"
INPUT_LAYER = "gold"
INPUT_TABLE = "fct_ull_indicators_monthly"
SCORES_TABLE = ULL_SCORES_TABLE
FACTOR_SCORES_TABLE = ULL_FACTOR_SCORES_TABLE
WEIGHTS_TABLE = ULL_WEIGHTS_TABLE
DEFAULT_CONFIG = Path(__file__).resolve().parent / "config" / "ull_weights.yaml"
METHODS = ("ahp", "entropy")

# Li et al. (2020); the mart has no source yet for environment and infrastructure.
LI_2020_FACTORS = (
    "smart_economy",
    "smart_people",
    "smart_governance",
    "smart_mobility",
    "smart_environment",
    "smart_living",
    "smart_infrastructure",
)
INPUT_COLUMNS = (
    "month_start",
    "district_code",
    "indicator",
    "value",
    "primary_factor",
    "secondary_factor",
    "higher_is_better",
)

# Lower thresholds, best first; below the last one a score needs improvement.
BANDS = ((85.0, "outstanding"), (75.0, "good"), (60.0, "acceptable"))
BAND_BELOW = "needs improvement"
BAND_COLOURS = {
    "outstanding": "#1a9850",
    "good": "#91cf60",
    "acceptable": "#fee08b",
    "needs improvement": "#d73027",
}
# Factor colours apart from the band colours (a red factor would read as "needs improvement").
FACTOR_COLOURS = dict(
    zip(
        LI_2020_FACTORS,
        ("#1f78b4", "#6a3d9a", "#b15928", "#33a02c", "#a6cee3", "#ff7f00", "#cab2d6"),
        strict=True,
    )
)
MAX_CONSISTENCY_RATIO = 0.1
# Saaty's random consistency index by matrix order (Saaty 1980).
RANDOM_INDEX = {
    1: 0.0,
    2: 0.0,
    3: 0.58,
    4: 0.90,
    5: 1.12,
    6: 1.24,
    7: 1.32,
    8: 1.41,
    9: 1.45,
    10: 1.49,
}

SCORES_SCHEMA = {
    "month_start": pl.Date,
    "area_code": pl.Utf8,
    "area_name": pl.Utf8,
    "area_kind": pl.Utf8,
    "method": pl.Utf8,
    "score": pl.Float64,
    "band": pl.Utf8,
    "rank": pl.Int64,
    "coverage": pl.Float64,
    "mlflow_run_id": pl.Utf8,
}
FACTOR_SCORES_SCHEMA = {
    "month_start": pl.Date,
    "area_code": pl.Utf8,
    "method": pl.Utf8,
    "primary_factor": pl.Utf8,
    "factor_score": pl.Float64,
    "weight": pl.Float64,
    "contribution": pl.Float64,
}
WEIGHTS_SCHEMA = {
    "method": pl.Utf8,
    "indicator": pl.Utf8,
    "primary_factor": pl.Utf8,
    "secondary_factor": pl.Utf8,
    "factor_weight": pl.Float64,
    "weight": pl.Float64,
}


# --- configuration ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PairwiseMatrix:
    """A pairwise comparison matrix: `values[i][j]` = importance of `order[i]` over `order[j]`."""

    name: str
    order: tuple[str, ...]
    values: tuple[tuple[float, ...], ...]


@dataclass(frozen=True)
class UllArea:
    """A named set of districts scored as one area."""

    code: str
    name: str
    districts: tuple[str, ...]


@dataclass(frozen=True)
class SensitivitySettings:
    steps: tuple[float, ...] = (-0.2, -0.1, 0.1, 0.2)
    draws: int = 500
    concentration: float = 100.0
    seed: int = 2020


@dataclass(frozen=True)
class UllConfig:
    """The scoring job's configuration (see `ml/config/ull_weights.yaml`)."""

    factors: PairwiseMatrix
    indicator_matrices: dict[str, PairwiseMatrix] = field(default_factory=dict)
    bounds: dict[str, tuple[float, float]] = field(default_factory=dict)
    areas: tuple[UllArea, ...] = ()
    sensitivity: SensitivitySettings = SensitivitySettings()
    source: str = "<in memory>"


def _judgement(raw: object, where: str) -> float:
    """A pairwise judgement: a number or a fraction written `a/b`."""
    try:
        value = float(Fraction(str(raw).strip()))
    except (ValueError, ZeroDivisionError) as error:
        raise ValueError(f"{where}: {raw!r} is not a number or a fraction such as 1/3") from error
    if not value > 0:
        raise ValueError(f"{where}: judgement {raw!r} must be positive")
    return value


def _pairwise(raw: object, name: str, source: str) -> PairwiseMatrix:
    if not isinstance(raw, Mapping) or "order" not in raw or "pairwise" not in raw:
        raise ValueError(f"{source}: {name} needs `order` and `pairwise`")
    order = tuple(str(item) for item in raw["order"])
    rows = raw["pairwise"]
    if len(set(order)) != len(order):
        raise ValueError(f"{source}: {name} names an item twice in its order {list(order)}")
    if not isinstance(rows, Sequence) or len(rows) != len(order):
        raise ValueError(f"{source}: {name} must have {len(order)} rows, one per item of its order")
    values = []
    for i, row in enumerate(rows):
        if not isinstance(row, Sequence) or len(row) != len(order):
            raise ValueError(f"{source}: {name} row {i + 1} must have {len(order)} entries")
        values.append(
            tuple(
                _judgement(v, f"{source}: {name} row {i + 1} column {j + 1}")
                for j, v in enumerate(row)
            )
        )
    return PairwiseMatrix(name=name, order=order, values=tuple(values))


def load_config(path: Path | None = None) -> UllConfig:
    """Read the weights, bounds, ULL areas and sensitivity settings from a YAML file."""
    path = path or DEFAULT_CONFIG
    source = str(path)
    raw = yaml.safe_load(Path(path).read_text())
    if not isinstance(raw, Mapping) or "primary_factors" not in raw:
        raise ValueError(f"{source}: no `primary_factors` pairwise matrix")
    factors = _pairwise(raw["primary_factors"], "primary_factors", source)
    indicator_matrices = {
        str(factor): _pairwise(matrix, f"indicators.{factor}", source)
        for factor, matrix in (raw.get("indicators") or {}).items()
    }
    bounds: dict[str, tuple[float, float]] = {}
    for indicator, pair in (raw.get("bounds") or {}).items():
        low, high = (float(v) for v in pair)
        if not low < high:
            raise ValueError(f"{source}: bounds.{indicator} must be [low, high] with low < high")
        bounds[str(indicator)] = (low, high)
    areas = []
    for entry in raw.get("ull_areas") or []:
        if not entry.get("districts"):
            raise ValueError(f"{source}: ULL area {entry.get('code')!r} lists no districts")
        areas.append(
            UllArea(
                code=str(entry["code"]),
                name=str(entry.get("name", entry["code"])),
                districts=tuple(str(d) for d in entry["districts"]),
            )
        )
    sensitivity_raw = raw.get("sensitivity") or {}
    defaults = SensitivitySettings()
    sensitivity = SensitivitySettings(
        steps=tuple(float(s) for s in sensitivity_raw.get("steps", defaults.steps)),
        draws=int(sensitivity_raw.get("draws", defaults.draws)),
        concentration=float(sensitivity_raw.get("concentration", defaults.concentration)),
        seed=int(sensitivity_raw.get("seed", defaults.seed)),
    )
    return UllConfig(
        factors=factors,
        indicator_matrices=indicator_matrices,
        bounds=bounds,
        areas=tuple(areas),
        sensitivity=sensitivity,
        source=source,
    )


# --- weights ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class AhpResult:
    """Principal-eigenvector weights of a pairwise matrix and its consistency."""

    weights: np.ndarray
    lambda_max: float
    consistency_index: float  # CI = (lambda_max - n) / (n - 1)
    random_index: float  # RI, Saaty's table
    consistency_ratio: float  # CR = CI / RI (0 for n <= 2, always consistent)


def ahp_weights(matrix: Sequence[Sequence[float]] | np.ndarray, name: str = "matrix") -> AhpResult:
    """AHP weights of a reciprocal pairwise matrix: its principal eigenvector, normalised.

    Raises ValueError (naming `name`) when the matrix is not square, positive and reciprocal,
    or when its consistency ratio CR = CI / RI exceeds 0.1.
    """
    values = np.asarray(matrix, dtype=float)
    if values.ndim != 2 or values.shape[0] != values.shape[1] or values.shape[0] == 0:
        raise ValueError(f"AHP matrix {name}: must be square, got shape {values.shape}")
    n = values.shape[0]
    if not np.all(np.isfinite(values)) or np.any(values <= 0):
        raise ValueError(f"AHP matrix {name}: every judgement must be a positive number")
    if not np.allclose(values * values.T, 1.0, rtol=1e-3, atol=0.0):
        i, j = np.unravel_index(np.argmax(np.abs(values * values.T - 1.0)), values.shape)
        raise ValueError(
            f"AHP matrix {name}: not reciprocal at row {i + 1}, column {j + 1} "
            f"({values[i, j]:g} vs {values[j, i]:g}); write reciprocals as fractions such as 1/3"
        )
    if n not in RANDOM_INDEX:
        raise ValueError(f"AHP matrix {name}: no random index for {n} items (at most 10)")
    eigenvalues, eigenvectors = np.linalg.eig(values)
    principal = int(np.argmax(eigenvalues.real))
    vector = np.abs(eigenvectors[:, principal].real)
    weights = vector / vector.sum()
    lambda_max = float(eigenvalues[principal].real)
    # lambda_max >= n for a positive reciprocal matrix; clip the float noise below it.
    ci = max((lambda_max - n) / (n - 1), 0.0) if n > 1 else 0.0
    ri = RANDOM_INDEX[n]
    cr = ci / ri if ri > 0 else 0.0
    if cr > MAX_CONSISTENCY_RATIO:
        raise ValueError(
            f"AHP matrix {name}: consistency ratio CR = {cr:.3f} exceeds {MAX_CONSISTENCY_RATIO} "
            f"(lambda_max = {lambda_max:.3f}, n = {n}); revise the pairwise judgements"
        )
    return AhpResult(
        weights=weights,
        lambda_max=lambda_max,
        consistency_index=ci,
        random_index=ri,
        consistency_ratio=cr,
    )


def entropy_weights(scores: np.ndarray) -> np.ndarray:
    """Entropy-weight method over `scores` (observations x indicators, non-negative, NaN
    where missing); returns one weight per indicator, summing to 1.

    For indicator j over its m_j present observations: p_ij = S_ij / sum_i S_ij,
    e_j = -(1 / ln m_j) sum_i p_ij ln p_ij (with 0 ln 0 = 0), d_j = 1 - e_j and
    w_j = d_j / sum_k d_k. An indicator that is constant, all zero or observed fewer than
    twice carries no information (e_j = 1, weight 0); if none carries any, weights are equal.
    """
    matrix = np.asarray(scores, dtype=float)
    if matrix.ndim != 2 or matrix.shape[1] == 0:
        raise ValueError(f"entropy weights need observations x indicators, got {matrix.shape}")
    if np.any(matrix[~np.isnan(matrix)] < 0):
        raise ValueError("entropy weights need non-negative scores")
    divergence = np.zeros(matrix.shape[1])
    for j in range(matrix.shape[1]):
        column = matrix[~np.isnan(matrix[:, j]), j]
        total = column.sum()
        if len(column) < 2 or total <= 0:
            continue
        p = column[column > 0] / total
        entropy = -float(np.sum(p * np.log(p))) / math.log(len(column))
        divergence[j] = max(1.0 - entropy, 0.0)
    if divergence.sum() <= 0:
        return np.full(matrix.shape[1], 1.0 / matrix.shape[1])
    return divergence / divergence.sum()


@dataclass(frozen=True)
class UllWeights:
    """Indicator weights (`WEIGHTS_SCHEMA` less `method`) and the AHP results behind them."""

    method: str
    frame: pl.DataFrame
    ahp: dict[str, AhpResult] = field(default_factory=dict)


def indicator_catalogue(indicators: pl.DataFrame) -> pl.DataFrame:
    """One row per indicator of the mart: indicator, primary_factor, secondary_factor."""
    catalogue = indicators.select("indicator", "primary_factor", "secondary_factor").unique()
    clashes = catalogue.group_by("indicator").len().filter(pl.col("len") > 1)
    if clashes.height:
        raise ValueError(
            f"{INPUT_TABLE}: indicators {clashes['indicator'].to_list()} carry more than one "
            "primary or secondary factor"
        )
    return catalogue.sort("primary_factor", "indicator")


def _check_factors(catalogue: pl.DataFrame, config: UllConfig) -> None:
    unknown = sorted(set(catalogue["primary_factor"]) - set(config.factors.order))
    if unknown:
        raise ValueError(
            f"{INPUT_TABLE}: primary factors {unknown} are not in the pairwise matrix of "
            f"{config.source} (order {list(config.factors.order)})"
        )
    missing = [f for f in config.factors.order if f not in set(catalogue["primary_factor"])]
    if missing:
        LOG.warning(
            "factors %s of %s have no indicator in the data: their weight is left out "
            "(coverage < 1)",
            missing,
            config.source,
        )


def indicator_weights(
    catalogue: pl.DataFrame,
    config: UllConfig,
    method: str,
    district_scores: pl.DataFrame | None = None,
) -> UllWeights:
    """W_i per indicator of `catalogue`, by `method`:

    - "ahp": factor weights from the config's primary-factor matrix, within-factor weights
      from the factor's indicator matrix if the config has one (equal otherwise);
      W_i = factor weight x within-factor weight. A factor of the matrix without indicators
      keeps its weight, which then counts as missing in every area's coverage.
    - "entropy": entropy weights of the indicators over `district_scores` (rows
      month_start, district_code, indicator, s); a factor's weight is the sum of its
      indicators' weights.
    """
    if method not in METHODS:
        raise ValueError(f"unknown weighting method {method!r}: use one of {METHODS}")
    _check_factors(catalogue, config)
    factor_rank = {factor: i for i, factor in enumerate(config.factors.order)}
    catalogue = catalogue.sort(
        pl.col("primary_factor").replace_strict(factor_rank, return_dtype=pl.Int64), "indicator"
    )
    ahp: dict[str, AhpResult] = {}
    if method == "ahp":
        factors = ahp_weights(config.factors.values, name=f"primary_factors ({config.source})")
        ahp["primary_factors"] = factors
        factor_weight = dict(zip(config.factors.order, factors.weights.tolist(), strict=True))
        within: dict[str, float] = {}
        for factor, members in (
            catalogue.group_by("primary_factor", maintain_order=True)
            .agg(pl.col("indicator"))
            .iter_rows()
        ):
            matrix = config.indicator_matrices.get(factor)
            if matrix is None:
                within.update({indicator: 1.0 / len(members) for indicator in members})
                continue
            if set(matrix.order) != set(members):
                raise ValueError(
                    f"{config.source}: indicators.{factor} orders {sorted(matrix.order)} but the "
                    f"data's indicators of {factor} are {sorted(members)}"
                )
            result = ahp_weights(matrix.values, name=f"indicators.{factor} ({config.source})")
            ahp[factor] = result
            within.update(dict(zip(matrix.order, result.weights.tolist(), strict=True)))
        frame = catalogue.with_columns(
            pl.col("primary_factor").replace_strict(factor_weight).alias("factor_weight"),
            pl.col("indicator").replace_strict(within, return_dtype=pl.Float64).alias("within"),
        ).with_columns((pl.col("factor_weight") * pl.col("within")).alias("weight"))
    else:
        if district_scores is None or district_scores.is_empty():
            raise ValueError("entropy weights need the districts' normalised scores")
        wide = district_scores.pivot(
            on="indicator", index=["month_start", "district_code"], values="s"
        )
        indicators = catalogue["indicator"].to_list()
        missing = [i for i in indicators if i not in wide.columns]
        if missing:
            raise ValueError(f"entropy weights: no scores for indicators {missing}")
        weights = entropy_weights(wide.select(indicators).to_numpy().astype(float))
        frame = catalogue.with_columns(pl.Series("weight", weights, dtype=pl.Float64))
        frame = frame.with_columns(
            pl.col("weight").sum().over("primary_factor").alias("factor_weight")
        )
    return UllWeights(
        method=method,
        frame=frame.select(
            "indicator",
            "primary_factor",
            "secondary_factor",
            pl.col("factor_weight").cast(pl.Float64),
            pl.col("weight").cast(pl.Float64),
        ),
        ahp=ahp,
    )


# --- scores ----------------------------------------------------------------------------------


def normalise_indicators(
    indicators: pl.DataFrame, bounds: Mapping[str, tuple[float, float]] | None = None
) -> pl.DataFrame:
    """Add `s`, the indicator's score 0-100 (100 = best), to the mart's rows.

    Min-max over all rows of the indicator (every district-month given), or over fixed
    `bounds` with the value clipped to them; inverted when `higher_is_better` is false. An
    indicator constant over the rows scores 50.
    """
    bound_frame = pl.DataFrame(
        {
            "indicator": list((bounds or {}).keys()),
            "bound_low": [low for low, _ in (bounds or {}).values()],
            "bound_high": [high for _, high in (bounds or {}).values()],
        },
        schema={"indicator": pl.Utf8, "bound_low": pl.Float64, "bound_high": pl.Float64},
    )
    value = pl.col("value").cast(pl.Float64)
    return (
        indicators.join(bound_frame, on="indicator", how="left")
        .with_columns(
            pl.coalesce("bound_low", value.min().over("indicator")).alias("_low"),
            pl.coalesce("bound_high", value.max().over("indicator")).alias("_high"),
        )
        .with_columns(
            pl.when(pl.col("_high") > pl.col("_low"))
            .then(
                (value.clip(pl.col("_low"), pl.col("_high")) - pl.col("_low"))
                / (pl.col("_high") - pl.col("_low"))
            )
            .otherwise(0.5)
            .alias("_share")
        )
        .with_columns(
            (
                100.0
                * pl.when(pl.col("higher_is_better"))
                .then(pl.col("_share"))
                .otherwise(1.0 - pl.col("_share"))
            ).alias("s")
        )
        .drop("bound_low", "bound_high", "_low", "_high", "_share")
    )


def district_frame() -> pl.DataFrame:
    """Almaty's districts: district_code, district, population."""
    return pl.DataFrame(
        {
            "district_code": [d.code for d in DISTRICTS],
            "district": [d.name for d in DISTRICTS],
            "population": [d.population for d in DISTRICTS],
        },
        schema={"district_code": pl.Utf8, "district": pl.Utf8, "population": pl.Float64},
    )


def area_indicator_scores(
    normalised: pl.DataFrame, areas: Sequence[UllArea], districts: pl.DataFrame
) -> pl.DataFrame:
    """S_i per area and month: each district as itself, and each ULL area as the
    population-weighted mean of the S_i of its districts that have the indicator.

    Columns: month_start, area_code, area_name, area_kind, indicator, primary_factor, s.
    """
    known = set(districts["district_code"])
    unknown_in_data = sorted(set(normalised["district_code"]) - known)
    if unknown_in_data:
        raise ValueError(f"{INPUT_TABLE}: unknown district codes {unknown_in_data}")
    for area in areas:
        unknown = sorted(set(area.districts) - known)
        if unknown:
            raise ValueError(f"ULL area {area.code}: unknown district codes {unknown}")
    with_people = normalised.join(districts, on="district_code", how="left")
    keys = ["month_start", "indicator", "primary_factor"]
    district_rows = with_people.select(
        "month_start",
        pl.col("district_code").alias("area_code"),
        pl.col("district").alias("area_name"),
        pl.lit("district").alias("area_kind"),
        "indicator",
        "primary_factor",
        "s",
    )
    area_rows = [
        with_people.filter(pl.col("district_code").is_in(list(area.districts)))
        .group_by(keys)
        .agg(((pl.col("s") * pl.col("population")).sum() / pl.col("population").sum()).alias("s"))
        .select(
            "month_start",
            pl.lit(area.code).alias("area_code"),
            pl.lit(area.name).alias("area_name"),
            pl.lit("ull_area").alias("area_kind"),
            "indicator",
            "primary_factor",
            "s",
        )
        for area in areas
    ]
    return pl.concat([district_rows, *area_rows]).sort("month_start", "area_kind", "area_code")


def band(score: float) -> str:
    """The band of a score 0-100 (thresholds inclusive from below)."""
    rounded = round(score, 6)  # float noise of a weighted sum must not demote an exact 85
    for threshold, label in BANDS:
        if rounded >= threshold:
            return label
    return BAND_BELOW


def _band_expr(score: pl.Expr) -> pl.Expr:
    rounded = score.round(6)
    expr = pl.lit(BAND_BELOW)
    for threshold, label in reversed(BANDS):
        expr = pl.when(rounded >= threshold).then(pl.lit(label)).otherwise(expr)
    return expr


def score_areas(
    area_scores: pl.DataFrame, weights: UllWeights
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """E per area and month, and each primary factor's part of it.

    Scores (`SCORES_SCHEMA` less `mlflow_run_id`): score = sum W_i S_i / sum W_i over the
    indicators present, coverage = sum W_i present, band, and rank within month and area kind
    (1 = best). Factor scores (`FACTOR_SCORES_SCHEMA`): factor_score = the factor's weighted
    mean S_i, weight = its share of the weight present, contribution = weight x factor_score
    (the contributions of an area-month add up to its score).
    """
    joined = area_scores.join(
        weights.frame.select("indicator", "weight"), on="indicator", how="inner"
    ).with_columns((pl.col("weight") * pl.col("s")).alias("weighted"))
    area_keys = ["month_start", "area_code", "area_name", "area_kind"]
    scores = (
        joined.group_by(area_keys)
        .agg(
            (pl.col("weighted").sum() / pl.col("weight").sum()).alias("score"),
            pl.col("weight").sum().alias("coverage"),
        )
        .with_columns(
            pl.lit(weights.method).alias("method"),
            _band_expr(pl.col("score")).alias("band"),
            pl.col("score")
            .rank(method="min", descending=True)
            .over("month_start", "area_kind")
            .cast(pl.Int64)
            .alias("rank"),
        )
        .select([c for c in SCORES_SCHEMA if c != "mlflow_run_id"])
        .sort("month_start", "area_kind", "rank", "area_code")
    )
    factor_scores = (
        joined.group_by("month_start", "area_code", "primary_factor")
        .agg(
            (pl.col("weighted").sum() / pl.col("weight").sum()).alias("factor_score"),
            pl.col("weight").sum().alias("factor_weight_present"),
        )
        .join(
            scores.select("month_start", "area_code", "coverage"), on=["month_start", "area_code"]
        )
        .with_columns(
            pl.lit(weights.method).alias("method"),
            (pl.col("factor_weight_present") / pl.col("coverage")).alias("weight"),
        )
        .with_columns((pl.col("weight") * pl.col("factor_score")).alias("contribution"))
        .select(list(FACTOR_SCORES_SCHEMA))
        .sort("month_start", "area_code", "primary_factor")
    )
    return scores, factor_scores


# --- sensitivity -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Sensitivity:
    """How the district ranking of one month moves with the primary-factor weights."""

    one_at_a_time: pl.DataFrame  # primary_factor, change, factor_weight, spearman_rho, ...
    monte_carlo: pl.DataFrame  # area_code, area_name, base_rank, keep_rank_share, ...
    summary: dict[str, float]


def weight_sensitivity(
    district_scores: pl.DataFrame, weights: UllWeights, settings: SensitivitySettings
) -> Sensitivity:
    """One-at-a-time and Monte Carlo sensitivity of the ranking of `district_scores` (one
    month's rows area_code, area_name, indicator, s) to the primary-factor weights.

    One at a time: each factor weight times (1 + step), all factor weights renormalised,
    within-factor weights kept; Spearman rho of the new scores against the base ones and
    the largest rank change. Monte Carlo: factor weights drawn from a Dirichlet with
    alpha = concentration x base weight (fixed seed); per district the share of draws in
    which it keeps its base rank, its mean rank and 5th-95th percentile rank.
    """
    table = weights.frame
    factors = table["primary_factor"].unique(maintain_order=True).to_list()
    base_factor_weights = np.array(
        [table.filter(pl.col("primary_factor") == f)["factor_weight"][0] for f in factors]
    )
    factor_index = np.array([factors.index(f) for f in table["primary_factor"]])
    factor_weight = table["factor_weight"].to_numpy()
    members = np.bincount(factor_index, minlength=len(factors))[factor_index]
    within = np.where(
        factor_weight > 0,
        table["weight"].to_numpy() / np.where(factor_weight > 0, factor_weight, 1),
        1.0 / members,
    )
    wide = district_scores.pivot(on="indicator", index=["area_code", "area_name"], values="s").sort(
        "area_code"
    )
    indicators = table["indicator"].to_list()
    matrix = np.column_stack(
        [
            wide[i].to_numpy().astype(float) if i in wide.columns else np.full(wide.height, np.nan)
            for i in indicators
        ]
    )
    present = ~np.isnan(matrix)
    filled = np.where(present, matrix, 0.0)

    def scores_for(factor_weights: np.ndarray) -> np.ndarray:
        indicator_weights = factor_weights[:, factor_index] * within
        with np.errstate(invalid="ignore", divide="ignore"):
            return (indicator_weights @ filled.T) / (indicator_weights @ present.T)

    def spearman(other: np.ndarray) -> float:
        if len(base) < 2 or np.ptp(other) == 0 or np.ptp(base) == 0:
            return float("nan")
        return float(stats.spearmanr(base, other).statistic)

    base = scores_for(base_factor_weights[None, :])[0]
    base_rank = stats.rankdata(-base, method="min")
    rows = []
    for f, factor in enumerate(factors):
        for step in settings.steps:
            moved = base_factor_weights.copy()
            moved[f] *= 1.0 + step
            moved /= moved.sum()
            scores = scores_for(moved[None, :])[0]
            ranks = stats.rankdata(-scores, method="min")
            rows.append(
                {
                    "primary_factor": factor,
                    "change": step,
                    "factor_weight_base": float(base_factor_weights[f]),
                    "factor_weight": float(moved[f]),
                    "spearman_rho": spearman(scores),
                    "max_rank_change": int(np.max(np.abs(ranks - base_rank))),
                    "leader": str(wide["area_code"][int(np.argmax(scores))]),
                }
            )
    one_at_a_time = pl.DataFrame(rows)

    rng = np.random.default_rng(settings.seed)
    # Dirichlet parameters must be positive: a factor of weight 0 gets a vanishing one.
    alpha = np.maximum(settings.concentration * base_factor_weights, 1e-6)
    draws = rng.dirichlet(alpha, size=settings.draws)
    drawn_scores = scores_for(draws)
    drawn_ranks = stats.rankdata(-drawn_scores, method="min", axis=1)
    rhos = np.array([spearman(scores) for scores in drawn_scores])
    monte_carlo = pl.DataFrame(
        {
            "area_code": wide["area_code"],
            "area_name": wide["area_name"],
            "base_score": base,
            "base_rank": base_rank.astype(np.int64),
            "keep_rank_share": (drawn_ranks == base_rank).mean(axis=0),
            "mean_rank": drawn_ranks.mean(axis=0),
            "rank_p05": np.percentile(drawn_ranks, 5, axis=0),
            "rank_p95": np.percentile(drawn_ranks, 95, axis=0),
        }
    ).sort("base_rank", "area_code")
    leader = int(np.argmin(base_rank))
    summary = {
        "oat_min_spearman": float(np.nanmin(one_at_a_time["spearman_rho"].to_numpy()))
        if one_at_a_time.height
        else float("nan"),
        "oat_max_rank_change": float(one_at_a_time["max_rank_change"].to_numpy().max())
        if one_at_a_time.height
        else 0.0,
        "mc_mean_spearman": float(np.nanmean(rhos)) if np.any(~np.isnan(rhos)) else float("nan"),
        "mc_p05_spearman": float(np.nanpercentile(rhos, 5))
        if np.any(~np.isnan(rhos))
        else float("nan"),
        "mc_mean_keep_rank_share": float(monte_carlo["keep_rank_share"].to_numpy().mean()),
        "mc_leader_keep_share": float(np.mean(drawn_ranks[:, leader] == 1)),
    }
    return Sensitivity(one_at_a_time=one_at_a_time, monte_carlo=monte_carlo, summary=summary)


# --- chart -----------------------------------------------------------------------------------


def plot_scorecard(
    scores: pl.DataFrame, factor_scores: pl.DataFrame, out: Path, method: str
) -> Path:
    """The districts' scorecard as a PNG: the latest month's E by band with the thresholds,
    the factor contributions W_i S_i stacked, and E over the months (the city dashed)."""
    latest = scores["month_start"].sort()[-1]
    districts = scores.filter(pl.col("area_kind") == "district")
    board = districts.filter(pl.col("month_start") == latest).sort("rank", "area_code")
    codes = board["area_code"].to_list()
    names = board["area_name"].to_list()
    positions = np.arange(len(codes))
    fig, (bars, stacks, lines) = plt.subplots(
        1, 3, figsize=(19, 6), gridspec_kw={"width_ratios": [1, 1.15, 1.15]}
    )

    bars.bar(positions, board["score"], color=[BAND_COLOURS[b] for b in board["band"]])
    for x, (value, rank) in enumerate(zip(board["score"], board["rank"], strict=True)):
        bars.annotate(f"{value:.1f}\n#{rank}", (x, value), ha="center", va="bottom", fontsize=8)
    for threshold, _ in BANDS:
        for axis in (bars, lines):
            axis.axhline(threshold, color="grey", linestyle="--", linewidth=0.8)
    bars.set_title(f"ULL score E, {latest:%B %Y}")
    bars.legend(
        handles=[
            Patch(color=BAND_COLOURS[label], label=f"{label} ({span})")
            for label, span in zip(BAND_COLOURS, ("85+", "75-85", "60-75", "below 60"), strict=True)
        ],
        title="band (dashed: thresholds)",
        loc="upper right",
        fontsize=8,
        title_fontsize=8,
    )

    parts = factor_scores.filter(
        (pl.col("month_start") == latest) & pl.col("area_code").is_in(codes)
    )
    bottom = np.zeros(len(codes))
    for factor in parts["primary_factor"].unique(maintain_order=True).sort().to_list():
        by_code = dict(
            parts.filter(pl.col("primary_factor") == factor)
            .select("area_code", "contribution")
            .iter_rows()
        )
        heights = np.array([by_code.get(code, 0.0) for code in codes])
        stacks.bar(
            positions,
            heights,
            bottom=bottom,
            label=factor.removeprefix("smart_"),
            color=FACTOR_COLOURS.get(factor, "grey"),
        )
        bottom += heights
    stacks.set_title("Factor contributions W_i S_i (sum = E)")
    stacks.legend(fontsize=8, loc="upper right")

    for code, name in zip(codes, names, strict=True):
        series = districts.filter(pl.col("area_code") == code).sort("month_start")
        lines.plot(series["month_start"], series["score"], marker="o", label=name)
    city = scores.filter(pl.col("area_code") == "ALA_CITY").sort("month_start")
    if city.height:
        lines.plot(
            city["month_start"], city["score"], color="black", linestyle=":", label="whole city"
        )
    lines.set_title("E over months")
    lines.legend(fontsize=7, ncol=2, loc="lower left")
    months = districts["month_start"].unique().sort()
    lines.set_xticks(months.to_list(), [f"{m:%b %Y}" for m in months])

    for axis in (bars, stacks):
        axis.set_xticks(positions, names, rotation=30, ha="right")
    for axis in (bars, stacks, lines):
        axis.set_ylim(0, 100)
        axis.set_ylabel("score (0-100)")
    fig.suptitle(f"Urban Living Lab scorecard per district ({method} weights)")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


# --- the job ---------------------------------------------------------------------------------


def _check_input(indicators: pl.DataFrame) -> None:
    missing = [c for c in INPUT_COLUMNS if c not in indicators.columns]
    if missing:
        raise ValueError(f"{INPUT_LAYER}/{INPUT_TABLE}: missing columns {missing}")
    if indicators.is_empty():
        raise ValueError(f"{INPUT_LAYER}/{INPUT_TABLE}: no rows to score")
    nulls = [c for c in INPUT_COLUMNS if indicators[c].null_count()]
    if nulls:
        raise ValueError(f"{INPUT_LAYER}/{INPUT_TABLE}: null values in {nulls}")
    duplicated = indicators.select("month_start", "district_code", "indicator").is_duplicated()
    if duplicated.any():
        first = indicators.filter(duplicated).row(0, named=True)
        raise ValueError(
            f"{INPUT_LAYER}/{INPUT_TABLE}: more than one row for month {first['month_start']}, "
            f"district {first['district_code']}, indicator {first['indicator']}"
        )


def _area_summary(scores: pl.DataFrame, month: object, kind: str) -> dict[str, dict[str, Any]]:
    rows = scores.filter((pl.col("month_start") == month) & (pl.col("area_kind") == kind))
    return {
        row["area_code"]: {
            "name": row["area_name"],
            "score": row["score"],
            "band": row["band"],
            "rank": row["rank"],
            "coverage": row["coverage"],
        }
        for row in rows.sort("rank", "area_code").iter_rows(named=True)
    }


def _headline(
    method: str,
    month_label: str,
    districts: dict[str, dict[str, Any]],
    city: dict[str, Any] | None,
    sensitivity: dict[str, float],
) -> str:
    ordered = list(districts.values())
    best, worst = ordered[0], ordered[-1]
    city_part = f"whole city {city['score']:.1f} ({city['band']}); " if city else ""
    return (
        f"{month_label}, {method} weights: {city_part}best district {best['name']} "
        f"{best['score']:.1f} ({best['band']}), last {worst['name']} {worst['score']:.1f} "
        f"({worst['band']}); factor weights +-20 % one at a time keep Spearman rho >= "
        f"{sensitivity['oat_min_spearman']:.2f} (largest rank change "
        f"{sensitivity['oat_max_rank_change']:.0f}), and in Monte Carlo draws a district keeps "
        f"its rank in {100 * sensitivity['mc_mean_keep_rank_share']:.0f} % of draws on average "
        f"(the leader in {100 * sensitivity['mc_leader_keep_share']:.0f} %)"
    )


def run_ull_scoring(
    settings: LakehouseSettings,
    method: str = "ahp",
    config_path: Path | None = None,
    out_dir: Path | None = None,
) -> dict[str, Any]:
    """Score the districts and ULL areas of every month of `fct_ull_indicators_monthly` with
    `method` ("ahp" or "entropy") weights, as one MLflow run of experiment `ull_scoring`, and
    write the gold tables `ml_ull_scores`, `ml_ull_factor_scores` and `ml_ull_weights`
    (replacing that method's rows only).

    Returns run_id, method, data_version, latest_month (ISO date), chart (PNG path),
    rows_written and gold_versions (per table), districts and ull_areas (code -> name,
    score, band, rank, coverage in the latest month), mean_score_latest,
    consistency_ratio (AHP, else None), factor_weights, sensitivity (summary figures) and
    headline (one sentence).
    """
    if method not in METHODS:
        raise ValueError(f"unknown weighting method {method!r}: use one of {METHODS}")
    config = load_config(config_path)
    out_dir = out_dir or settings.home / "ml" / "ull_scoring" / method
    out_dir.mkdir(parents=True, exist_ok=True)
    with tracked_run(settings, EXPERIMENT, run_name=f"ull-{method}") as run:
        run_id = run.info.run_id
        indicators, data_version = read_delta(settings, INPUT_LAYER, INPUT_TABLE)
        log_data_versions({f"{INPUT_LAYER}/{INPUT_TABLE}": data_version})
        _check_input(indicators)
        months = indicators["month_start"].unique().sort()
        latest = months[-1]
        LOG.info(
            "ULL scoring (%s): %d rows of %s version %d, %s to %s",
            method,
            indicators.height,
            INPUT_TABLE,
            data_version,
            months[0],
            latest,
        )
        mlflow.log_params(
            {
                "method": method,
                "config": config.source,
                "window_start": str(months[0]),
                "window_end": str(latest),
                "months": len(months),
                "normalisation": "min-max over the window's district-months, inverted when "
                "lower is better; constant -> 50; fixed bounds clip",
                "bounds": json.dumps(config.bounds),
                "ull_areas": json.dumps({a.code: list(a.districts) for a in config.areas}),
                "sensitivity.steps": json.dumps(list(config.sensitivity.steps)),
                "sensitivity.draws": config.sensitivity.draws,
                "sensitivity.concentration": config.sensitivity.concentration,
                "sensitivity.seed": config.sensitivity.seed,
                "factors_without_source": json.dumps(
                    [f for f in LI_2020_FACTORS if f not in set(indicators["primary_factor"])]
                ),
            }
        )

        normalised = normalise_indicators(indicators, config.bounds)
        catalogue = indicator_catalogue(indicators)
        weights = indicator_weights(
            catalogue,
            config,
            method,
            district_scores=normalised.select("month_start", "district_code", "indicator", "s"),
        )
        factor_weights = dict(
            weights.frame.select("primary_factor", "factor_weight")
            .unique(maintain_order=True)
            .iter_rows()
        )
        mlflow.log_params(
            {
                f"weight.{i}": round(w, 6)
                for i, w in weights.frame.select("indicator", "weight").iter_rows()
            }
        )
        mlflow.log_params({f"factor_weight.{f}": round(w, 6) for f, w in factor_weights.items()})
        consistency_ratio = None
        if method == "ahp":
            primary = weights.ahp["primary_factors"]
            consistency_ratio = primary.consistency_ratio
            mlflow.log_params(
                {
                    "ahp.factor_order": json.dumps(list(config.factors.order)),
                    "ahp.factor_matrix": json.dumps([list(r) for r in config.factors.values]),
                    "ahp.cr": round(primary.consistency_ratio, 6),
                    "ahp.lambda_max": round(primary.lambda_max, 6),
                    "ahp.indicator_matrices": json.dumps(
                        {
                            f: [list(r) for r in m.values]
                            for f, m in config.indicator_matrices.items()
                        }
                    ),
                }
            )
            mlflow.log_metrics(
                {
                    f"cr.{name}" if name != "primary_factors" else "cr": result.consistency_ratio
                    for name, result in weights.ahp.items()
                }
            )
        LOG.info("weights (%s): %s", method, factor_weights)

        area_scores = area_indicator_scores(normalised, config.areas, district_frame())
        scores, factor_scores = score_areas(area_scores, weights)
        sensitivity = weight_sensitivity(
            area_scores.filter(
                (pl.col("month_start") == latest) & (pl.col("area_kind") == "district")
            ),
            weights,
            config.sensitivity,
        )
        districts = _area_summary(scores, latest, "district")
        ull_areas = _area_summary(scores, latest, "ull_area")
        mean_score = float(np.mean([d["score"] for d in districts.values()]))
        headline = _headline(
            method, f"{latest:%B %Y}", districts, ull_areas.get("ALA_CITY"), sensitivity.summary
        )
        LOG.info("headline: %s", headline)

        metrics: dict[str, float] = {
            "mean_score_latest": mean_score,
            "min_coverage": float(scores["coverage"].to_numpy().min()),
            **{f"sensitivity.{k}": v for k, v in sensitivity.summary.items()},
        }
        for code, area in {**districts, **ull_areas}.items():
            metrics[f"score_latest.{code}"] = area["score"]
            metrics[f"rank_latest.{code}"] = area["rank"]
        mlflow.log_metrics(metrics)
        mlflow.set_tag("headline", headline)

        chart = plot_scorecard(
            scores, factor_scores, out_dir / f"ull_scorecard_{method}.png", method
        )
        log_figure_file(chart)
        weights_table = weights.frame.select(pl.lit(method).alias("method"), pl.all()).cast(
            WEIGHTS_SCHEMA  # type: ignore[arg-type]
        )
        tables = {
            f"ull_weights_{method}.csv": weights_table,
            f"ull_scores_{method}.csv": scores,
            f"ull_sensitivity_oat_{method}.csv": sensitivity.one_at_a_time,
            f"ull_sensitivity_monte_carlo_{method}.csv": sensitivity.monte_carlo,
        }
        for name, frame in tables.items():
            frame.write_csv(out_dir / name)
            mlflow.log_artifact(str(out_dir / name), artifact_path="tables")

        gold = {
            SCORES_TABLE: scores.with_columns(pl.lit(run_id).alias("mlflow_run_id")).cast(
                SCORES_SCHEMA  # type: ignore[arg-type]
            ),
            FACTOR_SCORES_TABLE: factor_scores.cast(FACTOR_SCORES_SCHEMA),  # type: ignore[arg-type]
            WEIGHTS_TABLE: weights_table,
        }
        gold_versions = {
            table: write_gold(settings, table, frame, replace_where=f"method = '{method}'")
            for table, frame in gold.items()
        }
        mlflow.log_params({f"gold_version.{t}": v for t, v in gold_versions.items()})
        LOG.info("wrote %s", {t: f.height for t, f in gold.items()})
    return {
        "run_id": run_id,
        "method": method,
        "data_version": data_version,
        "latest_month": latest.isoformat(),
        "chart": str(chart),
        "rows_written": {t: f.height for t, f in gold.items()},
        "gold_versions": gold_versions,
        "districts": districts,
        "ull_areas": ull_areas,
        "mean_score_latest": mean_score,
        "consistency_ratio": consistency_ratio,
        "factor_weights": factor_weights,
        "sensitivity": sensitivity.summary,
        "headline": headline,
    }


# --- real data: Kazakhstan's regions ---------------------------------------------------------

KZ_DATA_DIR = PROJECT_ROOT.parent / "shared" / "data" / "kz_city_sustainability_index"
KZ_RESULTS = PROJECT_ROOT / "ml" / "results" / "ull_kz_regions.md"
KZ_SCALED = "scaled_final.csv"
KZ_PUBLISHED = "weight_with_sustainability_score_environment.csv"
KZ_PUBLISHED_EQUAL = "weight_with_sustainability_score_equal_weight.csv"
KZ_ALMATY = "Almaty city"
# open-data-kazakhstan/city-ranking-main, scripts/city_ranking.py (per SOURCE.txt): the
# criteria, their indicators, and the main pairwise matrix of the "environment" variant.
KZ_CRITERIA: dict[str, tuple[str, ...]] = {
    "economic": ("avg_salary", "gdp", "household_spending"),
    "social": (
        "population",
        "life_expectancy",
        "crime_rate",
        "higher_education",
        "unemployment_rate",
        "clearance_rate",
        "postgraduate_education",
    ),
    "environmental": ("air_pollution",),
    "infrastructure": (
        "entertainment_places_rate",
        "med_institution_rate",
        "car_amount_rate",
        "school_number_rate",
        "transport_quanity_rate",
    ),
}
KZ_MAIN_MATRIX = (
    (1.0, 3.0, 1 / 2, 4.0),
    (1 / 3, 1.0, 1 / 5, 2.0),
    (2.0, 5.0, 1.0, 6.0),
    (1 / 4, 1 / 2, 1 / 6, 1.0),
)


@dataclass(frozen=True)
class KzRegionsResult:
    """Our AHP scores of Kazakhstan's regions against the published ones."""

    table: pl.DataFrame  # region, score, rank, published_score, published_rank
    ahp: AhpResult
    criteria_weights: dict[str, float]
    spearman_rho: float
    almaty_rank: int
    almaty_published_rank: int
    equal_weight_max_abs_diff: float  # our equal-weight scores vs the published ones, 0-1


def _kz_read(data_dir: Path, name: str) -> pl.DataFrame:
    path = data_dir / name
    if not path.exists():
        raise FileNotFoundError(f"KZ regions: {path} not found (see its folder's SOURCE.txt)")
    frame = pl.read_csv(path)
    needed = ["region", *[i for members in KZ_CRITERIA.values() for i in members]]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise ValueError(f"KZ regions: {path} lacks columns {missing}")
    return frame


def _kz_scores(scaled: pl.DataFrame, criteria_weights: Sequence[float]) -> pl.Series:
    """sum over criteria of weight x mean of its (already 0-1 scaled) indicators."""
    return scaled.select(
        pl.sum_horizontal(
            [
                weight * pl.mean_horizontal(list(members))
                for weight, members in zip(criteria_weights, KZ_CRITERIA.values(), strict=True)
            ]
        ).alias("score")
    )["score"]


def score_kz_regions(data_dir: Path = KZ_DATA_DIR) -> KzRegionsResult:
    """Score Kazakhstan's regions with the published main AHP matrix (criteria weights from
    its principal eigenvector, equal weights within a criterion because the sub-criteria
    matrices are not in the data folder) on `scaled_final.csv`, and compare with the
    published `sustainability_score` (environment variant).

    As a check of the hierarchy and the arithmetic, equal criterion weights reproduce the
    published equal-weight scores (`equal_weight_max_abs_diff`).
    """
    scaled = _kz_read(data_dir, KZ_SCALED)
    published = _kz_read(data_dir, KZ_PUBLISHED).select(
        "region", (100 * pl.col("sustainability_score")).alias("published_score")
    )
    published_equal = _kz_read(data_dir, KZ_PUBLISHED_EQUAL)
    ahp = ahp_weights(KZ_MAIN_MATRIX, name="KZ main criteria (city-ranking-main)")
    criteria_weights = dict(zip(KZ_CRITERIA, ahp.weights.tolist(), strict=True))
    table = scaled.select(
        "region", (100 * _kz_scores(scaled, ahp.weights.tolist())).alias("score")
    ).join(published, on="region", how="full")
    unmatched = table.filter(pl.col("score").is_null() | pl.col("published_score").is_null())
    if unmatched.height:
        raise ValueError(
            f"KZ regions: regions not in both {KZ_SCALED} and {KZ_PUBLISHED}: "
            f"{unmatched['region'].drop_nulls().to_list() + unmatched['region_right'].drop_nulls().to_list()}"
        )
    table = (
        table.drop("region_right")
        .with_columns(
            pl.col("score").rank(method="min", descending=True).cast(pl.Int64).alias("rank"),
            pl.col("published_score")
            .rank(method="min", descending=True)
            .cast(pl.Int64)
            .alias("published_rank"),
        )
        .select("region", "score", "rank", "published_score", "published_rank")
        .sort("rank", "region")
    )
    equal = _kz_scores(published_equal, [1 / len(KZ_CRITERIA)] * len(KZ_CRITERIA))
    almaty = table.filter(pl.col("region") == KZ_ALMATY)
    if almaty.height != 1:
        raise ValueError(f"KZ regions: {KZ_ALMATY!r} not found in {KZ_SCALED}")
    return KzRegionsResult(
        table=table,
        ahp=ahp,
        criteria_weights=criteria_weights,
        spearman_rho=float(stats.spearmanr(table["score"], table["published_score"]).statistic),
        almaty_rank=int(almaty["rank"][0]),
        almaty_published_rank=int(almaty["published_rank"][0]),
        equal_weight_max_abs_diff=float(
            (equal - published_equal["sustainability_score"]).abs().max()  # type: ignore[arg-type]
        ),
    )


def kz_regions_markdown(result: KzRegionsResult) -> str:
    """The KZ comparison as the committed results file."""
    weights = ", ".join(f"{c} {w:.3f}" for c, w in result.criteria_weights.items())
    lines = [
        "# ULL scoring on real data: Kazakhstan's regions",
        "",
        "Generated by `.venv/bin/python -m ml.ull kz-regions` (from the repository root); "
        "do not edit by hand.",
        "",
        f"Data: `{KZ_DATA_DIR.relative_to(PROJECT_ROOT.parent)}` (Bureau of National Statistics "
        "indicators, ~2022, compiled by open-data-kazakhstan/city-ranking-main; see its "
        f"SOURCE.txt). {result.table.height} regions (the published files leave out Shymkent "
        f"city). Indicators already min-max scaled to 0-1 with negative ones inverted "
        f"(`{KZ_SCALED}`); scores here are x100.",
        "",
        "Method: the published main AHP matrix (Economic, Social, Environmental, "
        "Infrastructure; `[[1,3,1/2,4],[1/3,1,1/5,2],[2,5,1,6],[1/4,1/2,1/6,1]]`) through "
        "`ml.ull.ahp_weights`, and equal weights within a criterion: the sub-criteria "
        "matrices are in the source's script, not in the data folder, so they are not used. "
        f"Compared with the published `sustainability_score` of `{KZ_PUBLISHED}`.",
        "",
        "| figure | value |",
        "|---|---|",
        f"| lambda_max of the main matrix | {result.ahp.lambda_max:.4f} |",
        f"| consistency index CI | {result.ahp.consistency_index:.4f} |",
        f"| consistency ratio CR (RI = {result.ahp.random_index}) | "
        f"{result.ahp.consistency_ratio:.4f} (accepted, <= 0.1) |",
        f"| criteria weights | {weights} |",
        f"| Spearman rho, our scores vs published | {result.spearman_rho:.4f} |",
        f"| Almaty city's rank, ours / published | {result.almaty_rank} / "
        f"{result.almaty_published_rank} of {result.table.height} |",
        f"| equal weights vs the published equal-weight scores, max abs difference (0-1) | "
        f"{result.equal_weight_max_abs_diff:.1e} |",
        "",
        "The equal-weight check reproduces the published equal-weight scores to float "
        "precision, so the criteria and indicators match the source's hierarchy; the remaining "
        "difference from the environment variant should come from its within-criterion "
        "(sub-criteria) weights.",
        "",
        "| rank | region | score | published score | published rank |",
        "|---:|---|---:|---:|---:|",
    ]
    lines += [
        f"| {row['rank']} | {row['region']} | {row['score']:.1f} | "
        f"{row['published_score']:.1f} | {row['published_rank']} |"
        for row in result.table.iter_rows(named=True)
    ]
    return "\n".join(lines) + "\n"


def _print_kz(result: KzRegionsResult) -> None:
    print(f"{'rank':>4}  {'region':<24} {'score':>6} {'published':>9} {'pub.rank':>8}")
    for row in result.table.iter_rows(named=True):
        print(
            f"{row['rank']:>4}  {row['region']:<24} {row['score']:>6.1f} "
            f"{row['published_score']:>9.1f} {row['published_rank']:>8}"
        )
    print(
        f"CR {result.ahp.consistency_ratio:.4f}; Spearman rho vs published "
        f"{result.spearman_rho:.4f}; Almaty city rank {result.almaty_rank} "
        f"(published {result.almaty_published_rank})"
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ml.ull", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    score = commands.add_parser("score", help="score the lake's ULL indicators (MLflow run)")
    score.add_argument("--method", choices=METHODS, default="ahp")
    score.add_argument("--config", type=Path, default=None)
    score.add_argument("--out-dir", type=Path, default=None)
    kz = commands.add_parser("kz-regions", help="score Kazakhstan's regions, compare, write md")
    kz.add_argument("--data-dir", type=Path, default=KZ_DATA_DIR)
    kz.add_argument("--output", type=Path, default=KZ_RESULTS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if args.command == "score":
        summary = run_ull_scoring(
            LakehouseSettings(), method=args.method, config_path=args.config, out_dir=args.out_dir
        )
        print(json.dumps(summary, indent=2, default=str))
    else:
        result = score_kz_regions(args.data_dir)
        _print_kz(result)
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(kz_regions_markdown(result))
        print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
