"""The Urban Living Lab score: normalisation, AHP and entropy weights, E and its bands on an
example computed by hand, the sensitivity of the ranking, the whole job against a small gold
table (gold tables and MLflow run), and the AHP arithmetic against a published ranking of
Kazakhstan's regions."""

import math
from datetime import date
from pathlib import Path

import mlflow
import numpy as np
import polars as pl
import pytest

from ml import ull
from ml.tracking import read_delta, write_gold
from pipelines.settings import LakehouseSettings

ROOT = Path(__file__).resolve().parents[2]
KZ_DATA = ROOT.parent / "shared" / "data" / "kz_city_sustainability_index"
APRIL, MAY = date(2020, 4, 1), date(2020, 5, 1)

# The hand-computed example: factors fa (a1 higher is better, a2 lower is better) and fb
# (b1 higher is better), districts X, Y, Z with 1, 1 and 2 residents, one month.
HAND_VALUES = {
    ("a1", "fa", True): {"X": 10.0, "Y": 20.0, "Z": 30.0},
    ("a2", "fa", False): {"X": 5.0, "Y": 2.0, "Z": 1.0},
    ("b1", "fb", True): {"X": 300.0, "Y": 100.0, "Z": 200.0},
}
HAND_DISTRICTS = pl.DataFrame(
    {
        "district_code": ["X", "Y", "Z"],
        "district": ["Ex", "Why", "Zed"],
        "population": [1.0, 1.0, 2.0],
    }
)


def _hand_rows(drop: tuple[tuple[str, str], ...] = ()) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "month_start": MAY,
                "district_code": district,
                "indicator": indicator,
                "value": value,
                "primary_factor": factor,
                "secondary_factor": f"{factor}_secondary",
                "higher_is_better": higher,
            }
            for (indicator, factor, higher), values in HAND_VALUES.items()
            for district, value in values.items()
            if (district, indicator) not in drop
        ]
    )


def _hand_config(
    factors: ull.PairwiseMatrix | None = None,
    indicator_matrices: dict[str, ull.PairwiseMatrix] | None = None,
) -> ull.UllConfig:
    # fa is 3 times as important as fb: weights 3/4 and 1/4 (a 2x2 matrix is always consistent).
    return ull.UllConfig(
        factors=factors
        or ull.PairwiseMatrix("primary_factors", ("fa", "fb"), ((1.0, 3.0), (1 / 3, 1.0))),
        indicator_matrices=indicator_matrices or {},
        areas=(ull.UllArea("ALL", "all three", ("X", "Y", "Z")),),
    )


def _score(
    rows: pl.DataFrame, config: ull.UllConfig, method: str = "ahp"
) -> tuple[pl.DataFrame, ull.UllWeights, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Normalised rows, weights, area S_i, scores and factor scores of the example."""
    normalised = ull.normalise_indicators(rows, config.bounds)
    weights = ull.indicator_weights(
        ull.indicator_catalogue(rows),
        config,
        method,
        district_scores=normalised.select("month_start", "district_code", "indicator", "s"),
    )
    area_scores = ull.area_indicator_scores(normalised, config.areas, HAND_DISTRICTS)
    scores, factor_scores = ull.score_areas(area_scores, weights)
    return normalised, weights, area_scores, scores, factor_scores


def _by_area(scores: pl.DataFrame, column: str) -> dict[str, object]:
    return dict(scores.select("area_code", column).iter_rows())


def test_hand_computed_example() -> None:
    normalised, weights, _, scores, factor_scores = _score(_hand_rows(), _hand_config())
    # S by min-max: a1 (10..30) -> 0, 50, 100; a2 (1..5, lower is better) -> 0, 75, 100;
    # b1 (100..300) -> 100, 0, 50.
    s = {(r["indicator"], r["district_code"]): r["s"] for r in normalised.iter_rows(named=True)}
    assert s == {
        ("a1", "X"): 0.0, ("a1", "Y"): 50.0, ("a1", "Z"): 100.0,
        ("a2", "X"): 0.0, ("a2", "Y"): 75.0, ("a2", "Z"): 100.0,
        ("b1", "X"): 100.0, ("b1", "Y"): 0.0, ("b1", "Z"): 50.0,
    }  # fmt: skip
    # W: fa 3/4 shared equally by a1 and a2 (3/8 each), fb 1/4 all on b1.
    assert dict(weights.frame.select("indicator", "weight").iter_rows()) == pytest.approx(
        {"a1": 0.375, "a2": 0.375, "b1": 0.25}
    )
    assert weights.ahp["primary_factors"].consistency_ratio == 0.0
    # E_X = 3/8*0 + 3/8*0 + 1/4*100 = 25; E_Y = 3/8*50 + 3/8*75 + 0 = 46.875;
    # E_Z = 3/8*100 + 3/8*100 + 1/4*50 = 87.5. The area ALL (populations 1, 1, 2):
    # S_a1 = (0 + 50 + 2*100)/4 = 62.5, S_a2 = (0 + 75 + 200)/4 = 68.75,
    # S_b1 = (100 + 0 + 2*50)/4 = 50 -> E = 23.4375 + 25.78125 + 12.5 = 61.71875.
    assert _by_area(scores, "score") == pytest.approx(
        {"X": 25.0, "Y": 46.875, "Z": 87.5, "ALL": 61.71875}
    )
    assert _by_area(scores, "band") == {
        "X": "needs improvement",
        "Y": "needs improvement",
        "Z": "outstanding",
        "ALL": "acceptable",
    }
    assert _by_area(scores, "rank") == {"Z": 1, "Y": 2, "X": 3, "ALL": 1}
    assert _by_area(scores, "coverage") == pytest.approx({"X": 1, "Y": 1, "Z": 1, "ALL": 1})
    assert set(scores["method"]) == {"ahp"}
    # Factor parts of Z: fa = (100 + 100)/2 = 100 at weight 3/4 -> 75; fb = 50 at 1/4 -> 12.5.
    z = factor_scores.filter(pl.col("area_code") == "Z")
    assert dict(z.select("primary_factor", "factor_score").iter_rows()) == {"fa": 100.0, "fb": 50.0}
    assert dict(z.select("primary_factor", "contribution").iter_rows()) == pytest.approx(
        {"fa": 75.0, "fb": 12.5}
    )
    totals = factor_scores.group_by("area_code").agg(pl.col("contribution").sum())
    assert _by_area(totals, "contribution") == pytest.approx(_by_area(scores, "score"))


def test_missing_indicator_renormalises_the_weights_and_reports_coverage() -> None:
    _, _, _, scores, factor_scores = _score(_hand_rows(drop=(("Y", "b1"),)), _hand_config())
    # b1 now spans X 300 and Z 200 only: S_b1 X 100, Z 0. Y has 3/4 of the weight:
    # E_Y = (3/8*50 + 3/8*75) / (3/4) = 62.5; E_Z = 3/8*100 + 3/8*100 + 0 = 75; E_X = 25.
    assert _by_area(scores, "score") == pytest.approx(
        {"X": 25.0, "Y": 62.5, "Z": 75.0, "ALL": 0.375 * 62.5 + 0.375 * 68.75 + 0.25 * 100 / 3}
    )
    assert _by_area(scores, "coverage") == pytest.approx({"X": 1, "Y": 0.75, "Z": 1, "ALL": 1})
    assert _by_area(scores, "band") == {
        "X": "needs improvement",
        "Y": "acceptable",
        "Z": "good",
        "ALL": "needs improvement",
    }
    y = factor_scores.filter(pl.col("area_code") == "Y")
    assert y["primary_factor"].to_list() == ["fa"]
    assert y["weight"].to_list() == [1.0]


@pytest.mark.parametrize(
    ("score", "expected"),
    [
        (100.0, "outstanding"),
        (85.0, "outstanding"),
        (84.99, "good"),
        (75.0, "good"),
        (74.99, "acceptable"),
        (60.0, "acceptable"),
        (59.99, "needs improvement"),
        (0.0, "needs improvement"),
        (85.0 - 1e-12, "outstanding"),  # float noise of a weighted sum
    ],
)
def test_band_boundaries(score: float, expected: str) -> None:
    assert ull.band(score) == expected
    banded = pl.DataFrame({"score": [score]}).select(ull._band_expr(pl.col("score")))
    assert banded.item() == expected


def test_bounds_clip_and_constant_indicator_scores_fifty() -> None:
    rows = _hand_rows().vstack(
        pl.DataFrame(
            [
                {
                    "month_start": MAY,
                    "district_code": d,
                    "indicator": "c1",
                    "value": 7.0,
                    "primary_factor": "fb",
                    "secondary_factor": "fb_secondary",
                    "higher_is_better": True,
                }
                for d in "XYZ"
            ]
        )
    )
    normalised = ull.normalise_indicators(rows, {"a1": (0.0, 25.0)})
    s = {(r["indicator"], r["district_code"]): r["s"] for r in normalised.iter_rows(named=True)}
    # a1 on fixed bounds 0..25: 10 -> 40, 20 -> 80, 30 clipped to 25 -> 100.
    assert [s[("a1", d)] for d in "XYZ"] == pytest.approx([40.0, 80.0, 100.0])
    assert [s[("c1", d)] for d in "XYZ"] == [50.0, 50.0, 50.0]


def test_consistent_ahp_matrix_gives_known_weights() -> None:
    result = ull.ahp_weights([[1, 2, 4], [1 / 2, 1, 2], [1 / 4, 1 / 2, 1]])
    assert result.weights == pytest.approx([4 / 7, 2 / 7, 1 / 7])
    assert result.lambda_max == pytest.approx(3.0)
    assert result.consistency_index == pytest.approx(0.0, abs=1e-12)
    assert result.random_index == 0.58
    assert result.consistency_ratio == pytest.approx(0.0, abs=1e-12)


def test_inconsistent_ahp_matrix_is_rejected() -> None:
    # A beats B 9:1, B beats C 9:1, yet C beats A 9:1.
    cyclic = [[1, 9, 1 / 9], [1 / 9, 1, 9], [9, 1 / 9, 1]]
    with pytest.raises(ValueError, match=r"AHP matrix cyclic judges: consistency ratio CR = \d"):
        ull.ahp_weights(cyclic, name="cyclic judges")
    with pytest.raises(ValueError, match="not reciprocal at row 1, column 2"):
        ull.ahp_weights([[1, 3], [1 / 2, 1]], name="typo")
    config = _hand_config(
        factors=ull.PairwiseMatrix("primary_factors", ("fa", "fb", "fc"), tuple(map(tuple, cyclic)))
    )
    with pytest.raises(ValueError, match="primary_factors .*consistency ratio"):
        ull.indicator_weights(ull.indicator_catalogue(_hand_rows()), config, "ahp")


def test_within_factor_matrix_splits_the_factor_weight() -> None:
    within = ull.PairwiseMatrix("indicators.fa", ("a1", "a2"), ((1.0, 3.0), (1 / 3, 1.0)))
    _, weights, _, scores, _ = _score(_hand_rows(), _hand_config(indicator_matrices={"fa": within}))
    # a1 = 3/4 * 3/4, a2 = 3/4 * 1/4, b1 = 1/4.
    assert dict(weights.frame.select("indicator", "weight").iter_rows()) == pytest.approx(
        {"a1": 0.5625, "a2": 0.1875, "b1": 0.25}
    )
    # E_Y = 0.5625*50 + 0.1875*75 + 0 = 42.1875.
    assert _by_area(scores, "score")["Y"] == pytest.approx(42.1875)
    wrong = ull.PairwiseMatrix("indicators.fa", ("a1", "zz"), ((1.0, 3.0), (1 / 3, 1.0)))
    with pytest.raises(ValueError, match="indicators.fa orders"):
        _score(_hand_rows(), _hand_config(indicator_matrices={"fa": wrong}))


def test_entropy_weights_by_hand() -> None:
    scores = np.array([[0.0, 100.0, 0.0], [50.0, 100.0, 0.0], [50.0, 100.0, 100.0]])
    # Column 1: p = (0, 1/2, 1/2), e = ln 2 / ln 3, d = 1 - ln 2 / ln 3.
    # Column 2: constant, p = 1/3 each, e = 1, d = 0. Column 3: p = (0, 0, 1), e = 0, d = 1.
    d1 = 1 - math.log(2) / math.log(3)
    assert ull.entropy_weights(scores) == pytest.approx([d1 / (d1 + 1), 0.0, 1 / (d1 + 1)])
    assert ull.entropy_weights(np.full((3, 2), 40.0)) == pytest.approx([0.5, 0.5])
    # A missing observation: column 1 over its two present values (0, 50) -> e = 0, d = 1.
    with_gap = np.array([[0.0, 10.0], [50.0, 10.0], [np.nan, 20.0]])
    p = np.array([1 / 4, 1 / 4, 1 / 2])
    d2 = 1 + float(np.sum(p * np.log(p))) / math.log(3)
    assert ull.entropy_weights(with_gap) == pytest.approx([1 / (1 + d2), d2 / (1 + d2)])


def test_entropy_method_weights_indicators_and_sums_factors() -> None:
    _, weights, _, scores, _ = _score(_hand_rows(), _hand_config(), method="entropy")
    frame = weights.frame
    assert frame["weight"].sum() == pytest.approx(1.0)
    fa = frame.filter(pl.col("primary_factor") == "fa")
    assert fa["factor_weight"].to_list() == pytest.approx([fa["weight"].sum()] * 2)
    # a1 (0, 50, 100) and b1 (100, 0, 50) hold the same values, so the same weight.
    by_indicator = dict(frame.select("indicator", "weight").iter_rows())
    assert by_indicator["a1"] == pytest.approx(by_indicator["b1"])
    assert set(scores["method"]) == {"entropy"}
    assert weights.ahp == {}


def test_sensitivity_of_the_hand_example() -> None:
    config = _hand_config()
    _, weights, area_scores, scores, _ = _score(_hand_rows(), config)
    districts = area_scores.filter(pl.col("area_kind") == "district")
    settings = ull.SensitivitySettings(steps=(-0.9, -0.2, 0.2), draws=400, seed=7)
    result = ull.weight_sensitivity(districts, weights, settings)
    base = dict(result.monte_carlo.select("area_code", "base_score").iter_rows())
    assert base == pytest.approx({k: v for k, v in _by_area(scores, "score").items() if k != "ALL"})
    oat = {
        (r["primary_factor"], r["change"]): r for r in result.one_at_a_time.iter_rows(named=True)
    }
    # fa -90 %: weights 0.075 and 0.25 -> 0.2308 and 0.7692; X = 76.9, Y = 14.4, Z = 61.5.
    # Ranks go from (X 3, Y 2, Z 1) to (X 1, Y 3, Z 2): sum d^2 = 6, rho = 1 - 36/24 = -0.5.
    assert oat[("fa", -0.9)]["spearman_rho"] == pytest.approx(-0.5)
    assert oat[("fa", -0.9)]["max_rank_change"] == 2
    assert oat[("fa", -0.9)]["leader"] == "X"
    # +-20 % leaves the order: Y overtakes X only once fb's weight passes 0.385.
    for change in (-0.2, 0.2):
        assert oat[("fa", change)]["spearman_rho"] == pytest.approx(1.0)
        assert oat[("fb", change)]["max_rank_change"] == 0
    keep = dict(result.monte_carlo.select("area_code", "keep_rank_share").iter_rows())
    assert keep["Z"] == 1.0
    assert keep["X"] > 0.95 and keep["Y"] > 0.95
    assert result.summary["oat_min_spearman"] == pytest.approx(-0.5)
    again = ull.weight_sensitivity(districts, weights, settings)
    assert again.monte_carlo.equals(result.monte_carlo)  # fixed seed


def test_the_shipped_config_is_consistent_and_covers_the_city() -> None:
    config = ull.load_config()
    result = ull.ahp_weights(config.factors.values, name="shipped")
    assert result.consistency_ratio <= 0.1
    assert set(config.factors.order) <= set(ull.LI_2020_FACTORS)
    city = next(a for a in config.areas if a.code == "ALA_CITY")
    assert set(city.districts) == set(ull.district_frame()["district_code"])


def test_config_reads_fractions(tmp_path: Path) -> None:
    path = tmp_path / "weights.yaml"
    path.write_text(
        "primary_factors:\n  order: [fa, fb]\n  pairwise: [[1, 3], [1/3, 1]]\n"
        "bounds:\n  a1: [0, 25]\n"
    )
    config = ull.load_config(path)
    assert config.factors.values == ((1.0, 3.0), (1 / 3, 1.0))
    assert config.bounds == {"a1": (0.0, 25.0)}
    path.write_text("primary_factors:\n  order: [fa, fb]\n  pairwise: [[1, x], [1/3, 1]]\n")
    with pytest.raises(ValueError, match="row 1 column 2: 'x' is not a number"):
        ull.load_config(path)


def _synthetic_mart() -> pl.DataFrame:
    """Two months of one indicator per supported factor for Almaty's eight districts; one
    district lacks the people indicator in May."""
    rng = np.random.default_rng(11)
    catalogue = [
        ("business_recovery_index", "smart_economy", "business_activity", True, "district"),
        ("talents_per_1000_residents", "smart_people", "human_capital", True, "district"),
        ("ambulance_median_response_min", "smart_governance", "public_services", False, "district"),
        ("bus_on_time_share", "smart_mobility", "public_transport", True, "city"),
        ("new_cases_per_100k", "smart_living", "health", False, "district"),
    ]
    districts = ull.district_frame()["district_code"].to_list()
    rows = []
    for month in (APRIL, MAY):
        for indicator, factor, secondary, higher, level in catalogue:
            city_value = float(rng.uniform(0.5, 0.9))
            for district in districts:
                if (month, district, indicator) == (MAY, "NAU", "talents_per_1000_residents"):
                    continue
                rows.append(
                    {
                        "month_start": month,
                        "district_code": district,
                        "indicator": indicator,
                        "value": city_value if level == "city" else float(rng.uniform(10, 90)),
                        "primary_factor": factor,
                        "secondary_factor": secondary,
                        "unit": "index",
                        "higher_is_better": higher,
                        "spatial_level": level,
                    }
                )
    return pl.DataFrame(rows)


def test_run_ull_scoring_writes_gold_and_logs_the_run(local_settings: LakehouseSettings) -> None:
    input_version = write_gold(local_settings, ull.INPUT_TABLE, _synthetic_mart())
    first = ull.run_ull_scoring(local_settings, method="ahp")
    entropy = ull.run_ull_scoring(local_settings, method="entropy")
    summary = ull.run_ull_scoring(local_settings, method="ahp")  # a re-run replaces its rows

    areas = 8 + len(ull.load_config().areas)
    assert summary["latest_month"] == "2020-05-01"
    assert summary["rows_written"][ull.SCORES_TABLE] == 2 * areas
    assert summary["rows_written"][ull.WEIGHTS_TABLE] == 5
    assert summary["consistency_ratio"] <= 0.1 and entropy["consistency_ratio"] is None
    assert sorted(d["rank"] for d in summary["districts"].values()) == list(range(1, 9))
    assert summary["districts"]["NAU"]["coverage"] < 1.0
    assert summary["mean_score_latest"] == pytest.approx(
        np.mean([d["score"] for d in summary["districts"].values()])
    )
    assert "best district" in summary["headline"]
    assert Path(summary["chart"]).stat().st_size > 10_000

    scores, _ = read_delta(local_settings, "gold", ull.SCORES_TABLE)
    assert scores.height == 2 * 2 * areas
    assert scores.group_by("method").len().sort("method").rows() == [
        ("ahp", 2 * areas),
        ("entropy", 2 * areas),
    ]
    assert set(scores.filter(pl.col("method") == "ahp")["mlflow_run_id"]) == {summary["run_id"]}
    assert first["run_id"] != summary["run_id"]
    assert scores.filter(
        pl.col("month_start") == MAY, pl.col("area_code") == "ALT", pl.col("method") == "ahp"
    )["score"].item() == pytest.approx(summary["districts"]["ALT"]["score"])
    factors, _ = read_delta(local_settings, "gold", ull.FACTOR_SCORES_TABLE)
    totals = (
        factors.group_by("month_start", "area_code", "method")
        .agg(pl.col("contribution").sum())
        .join(scores, on=["month_start", "area_code", "method"])
    )
    assert totals.height == scores.height
    assert np.abs(totals["contribution"].to_numpy() - totals["score"].to_numpy()).max() < 1e-9
    weights, _ = read_delta(local_settings, "gold", ull.WEIGHTS_TABLE)
    assert weights.group_by("method").agg(pl.col("weight").sum()).sort("method")[
        "weight"
    ].to_list() == pytest.approx([1.0, 1.0])

    run = mlflow.MlflowClient().get_run(summary["run_id"])
    assert run.info.status == "FINISHED"
    assert run.data.params["data_version.gold/fct_ull_indicators_monthly"] == str(input_version)
    assert run.data.params["method"] == "ahp"
    assert "ahp.factor_matrix" in run.data.params
    assert run.data.metrics["cr"] == pytest.approx(summary["consistency_ratio"])
    assert run.data.metrics["mean_score_latest"] == pytest.approx(summary["mean_score_latest"])
    assert run.data.metrics["score_latest.ALA_CITY"] == pytest.approx(
        summary["ull_areas"]["ALA_CITY"]["score"]
    )
    assert "sensitivity.mc_mean_keep_rank_share" in run.data.metrics
    artifacts = {
        f.path
        for folder in ("plots", "tables")
        for f in mlflow.MlflowClient().list_artifacts(summary["run_id"], folder)
    }
    assert {
        "plots/ull_scorecard_ahp.png",
        "tables/ull_weights_ahp.csv",
        "tables/ull_sensitivity_oat_ahp.csv",
        "tables/ull_sensitivity_monte_carlo_ahp.csv",
    } <= artifacts


@pytest.mark.skipif(not KZ_DATA.exists(), reason=f"KZ regions data not found at {KZ_DATA}")
def test_kz_regions_against_the_published_ranking() -> None:
    result = ull.score_kz_regions(KZ_DATA)
    assert result.table.height == 19
    # Their main matrix: lambda_max 4.034, CR 0.0126.
    assert result.ahp.consistency_ratio == pytest.approx(0.0126, abs=1e-4)
    # Equal weights reproduce the published equal-weight scores: the hierarchy is theirs.
    assert result.equal_weight_max_abs_diff < 1e-12
    # Without their sub-criteria matrices the ranking still follows theirs (measured 0.960).
    assert result.spearman_rho >= 0.95
    assert (result.almaty_rank, result.almaty_published_rank) == (2, 3)
    # The committed results file is what `python -m ml.ull kz-regions` writes.
    assert ull.KZ_RESULTS.read_text() == ull.kz_regions_markdown(result)
