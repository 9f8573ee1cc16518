"""The MLflow-tracked jobs as assets: each reads the lake, logs a run (parameters, the Delta
versions it read, metrics, plots, a registered model where there is one) and writes gold
tables that the `ml` dbt models serve to BI tools.

Partitioned like `city_daily` so they run in the same job, after the data they read; each run
trains on all the history the lake holds, whatever days it was asked for.

The jobs' modules (MLflow, scikit-learn, torch, matplotlib) are imported by the steps that run
them, not with the definitions: every process that loads the definitions (each step's under the
multiprocess executor, the code server) would otherwise pay ~3 s for them.
"""

import base64
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg

from ml.gold_tables import (
    FORECAST_TABLE,
    GOLD_LAYER,
    MATCHES_TABLE,
    METRICS_TABLE,
    ULL_FACTOR_SCORES_TABLE,
    ULL_SCORES_TABLE,
    ULL_WEIGHTS_TABLE,
)
from orchestration.assets.gold import GOLD_MARTS
from orchestration.partitions import LARGE_MEMORY, ML_POOL, daily_partitions, single_run
from orchestration.resources import LakehouseResource
from pipelines.lake import Lake

UCS_SILVER = ("ucs_talents", "ucs_jobs", "ucs_courses", "ucs_talent_skills", "ucs_job_skills")


def _preview(name: str, path: str | Path) -> dict[str, dg.MetadataValue]:
    image = base64.b64encode(Path(path).read_bytes()).decode()
    return {
        f"{name}_path": dg.MetadataValue.path(str(path)),
        f"{name}_preview": dg.MetadataValue.md(f"![{name}](data:image/png;base64,{image})"),
    }


def _number(value: Any) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def _specs(tables: dict[str, str], deps: list[dg.AssetKey], kinds: set[str]) -> list[dg.AssetSpec]:
    return [
        dg.AssetSpec(
            key=dg.AssetKey(list(table.split("/"))) if "/" in table else [GOLD_LAYER, table],
            deps=deps,
            group_name="ml",
            kinds=kinds,
            description=description,
        )
        for table, description in tables.items()
    ]


FORECAST_KEY = dg.AssetKey([GOLD_LAYER, FORECAST_TABLE])


@dg.multi_asset(
    name="morbidity_forecast",
    specs=_specs(
        {
            FORECAST_TABLE: "New cases per area 7 and 14 days ahead, for the city (from the "
            "epidemic-signal mart) and for every series a user landed in `landing/epi_series/`: "
            "rolling-origin backtest beside the naive and seasonal naive baselines, and the "
            "forecast from the last day; a registered MLflow model per series.",
            METRICS_TABLE: "The forecast's backtest metrics (MAE, MASE, relative MAE vs both "
            "baselines, interval coverage, WIS) per series, horizon, area and model.",
        },
        [GOLD_MARTS],
        {"mlflow", "sklearn", "delta"},
    ),
    partitions_def=daily_partitions,
    backfill_policy=single_run,
    pool=ML_POOL,
)
def morbidity_forecast(
    context: dg.AssetExecutionContext, lakehouse: LakehouseResource
) -> Iterator[dg.MaterializeResult]:
    from ml.forecast import empty_gold_tables, run_forecast
    from ml.forecast_input import city_series, landed_series
    from ml.tracking import write_gold

    settings = lakehouse.settings()
    series = [city_series(settings), *landed_series(settings)]
    metadata: dict[str, Any] = {"tracking_uri": settings.mlflow_tracking_uri}
    done = []
    for one in series:
        context.log.info(
            f"{one.name}: {one.frame.height} rows ({one.quarantined.height} quarantined) "
            f"from {one.source}"
        )
        if one.quarantined.height:
            context.log.warning(
                f"{one.name}: quarantined rows: {one.quarantined.head(10).to_dicts()}"
            )
        try:
            summary = run_forecast(settings, one)
        except ValueError as error:  # a series too short to backtest: said, not fatal
            context.log.warning(str(error))
            metadata[f"{one.name}/skipped"] = str(error)
            continue
        done.append(summary)
        for horizon in (7, 14):
            for name, value in summary[f"h{horizon}"].items():
                if _number(value) is not None:
                    metadata[f"{one.name}/h{horizon}_{name}"] = float(value)
        metadata[f"{one.name}/mlflow_run_id"] = summary["run_id"]
        metadata[f"{one.name}/registered_model"] = (
            f"{summary['registered_model']} v{summary['model_version']}"
        )
        metadata.update(_preview(f"{one.name}_forecast", summary["plot"]))
    # The `ml` models read these tables: a lake where every series was too short to backtest
    # still gets them, empty, so the models build (and show that there is nothing yet).
    lake = Lake(settings)
    for table, empty in empty_gold_tables().items():
        if not lake.table_exists(GOLD_LAYER, table):
            write_gold(settings, table, empty)
    metadata["series_forecast"] = len(done)
    yield dg.MaterializeResult(asset_key=FORECAST_KEY, metadata=metadata)
    yield dg.MaterializeResult(
        asset_key=[GOLD_LAYER, METRICS_TABLE],
        metadata={"series_forecast": len(done)},
    )


MATCHES_KEY = dg.AssetKey([GOLD_LAYER, MATCHES_TABLE])
EMBEDDINGS_KEY = dg.AssetKey(["silver", "ucs_embeddings"])


@dg.multi_asset(
    name="talent_matching",
    specs=_specs(
        {
            "silver/ucs_embeddings": "Talents' profiles, job postings and courses embedded with "
            "all-MiniLM-L6-v2 (offline), with the model's name and version; only new or "
            "changed texts are embedded again.",
            MATCHES_TABLE: "The current top open jobs per talent, with the skills the "
            "talent lacks and the courses that teach them; recall@k and MRR on the simulator's "
            "known matches, beside TF-IDF, in MLflow.",
        },
        [dg.AssetKey(["silver", table]) for table in UCS_SILVER],
        {"mlflow", "pytorch", "delta"},
    ),
    partitions_def=daily_partitions,
    backfill_policy=single_run,
    pool=ML_POOL,
    op_tags=LARGE_MEMORY,
)
def talent_matching(
    context: dg.AssetExecutionContext, lakehouse: LakehouseResource
) -> Iterator[dg.MaterializeResult]:
    from ml import embeddings

    settings = lakehouse.settings()
    summary = embeddings.run_talent_matching(settings, evaluate_esco_set=False)
    context.log.info(f"talent matching: {summary}")
    metadata: dict[str, Any] = {"tracking_uri": settings.mlflow_tracking_uri}
    for key, value in summary.items():
        if isinstance(value, int | float | str) and _number(value) is not None:
            metadata[key] = value
        elif isinstance(value, dict):
            for sub, number in value.items():
                if isinstance(number, int | float) and _number(number) is not None:
                    metadata[f"{key}/{sub}"] = number
    if summary.get("chart"):
        metadata.update(_preview("evaluation", summary["chart"]))
    yield dg.MaterializeResult(asset_key=MATCHES_KEY, metadata=metadata)
    yield dg.MaterializeResult(asset_key=EMBEDDINGS_KEY)


ESCO_KEY = dg.AssetKey(["ml", "esco_retrieval_evaluation"])


@dg.asset(
    key=ESCO_KEY,
    group_name="ml",
    pool=ML_POOL,
    kinds={"mlflow", "pytorch"},
    description="The talent embeddings against TF-IDF on a real labelled set: ESCO's 2,942 "
    "occupations and 2,903 alternative-label queries (recall@1/5/10, MRR), one MLflow run. "
    "Not part of `city_daily` (the set does not change from day to day); materialise it "
    "after a model change.",
)
def esco_retrieval_evaluation(
    context: dg.AssetExecutionContext, lakehouse: LakehouseResource
) -> dg.MaterializeResult:
    from ml import embeddings

    summary = embeddings.run_esco_evaluation(lakehouse.settings())
    context.log.info(summary["headline"])
    return dg.MaterializeResult(
        metadata={
            "mlflow_run_id": summary["run_id"],
            "headline": summary["headline"],
            **{name: float(value) for name, value in summary["metrics"].items()},
            **_preview("evaluation", summary["chart"]),
        }
    )


ULL_TABLES = (ULL_SCORES_TABLE, ULL_FACTOR_SCORES_TABLE, ULL_WEIGHTS_TABLE)


@dg.multi_asset(
    name="ull_scoring",
    specs=_specs(
        {
            ULL_SCORES_TABLE: "The Urban Living Lab evaluation index E = sum W_i x S_i (0-100) "
            "per district, ULL area and month from the ULL indicator mart, with AHP weights "
            "(expert matrix in `ml/config/ull_weights.yaml`, CR checked) and entropy weights; "
            "band and rank; scorecard chart and sensitivity analysis in MLflow.",
            ULL_FACTOR_SCORES_TABLE: "Each primary factor's score and weighted contribution to E.",
            ULL_WEIGHTS_TABLE: "The indicator weights W_i of each method.",
        },
        [GOLD_MARTS],
        {"mlflow", "delta"},
    ),
    partitions_def=daily_partitions,
    backfill_policy=single_run,
    pool=ML_POOL,
)
def ull_scoring(
    context: dg.AssetExecutionContext, lakehouse: LakehouseResource
) -> Iterator[dg.MaterializeResult]:
    from ml import ull

    settings = lakehouse.settings()
    metadata: dict[str, Any] = {"tracking_uri": settings.mlflow_tracking_uri}
    for method in ("ahp", "entropy"):
        summary = ull.run_ull_scoring(settings, method=method)
        context.log.info(f"ULL scoring ({method}): {summary}")
        for key, value in summary.items():
            if isinstance(value, int | float | str) and _number(value) is not None:
                metadata[f"{method}/{key}"] = value
        chart = summary.get("chart") or summary.get("chart_path")
        if chart:
            metadata.update(_preview(f"{method}_scorecard", chart))
    for table in ULL_TABLES:
        yield dg.MaterializeResult(
            asset_key=[GOLD_LAYER, table], metadata=metadata if table == ULL_TABLES[0] else None
        )


defs = dg.Definitions(
    assets=[morbidity_forecast, talent_matching, ull_scoring, esco_retrieval_evaluation]
)
