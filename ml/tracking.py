"""What every ML job of the lakehouse shares: MLflow runs, the Delta versions a run read, and
the gold tables its results go to.

The embedded default tracks to a SQLite store under `<home>` with artifacts in
`<home>/mlflow/artifacts`; `LAKEHOUSE_MLFLOW_TRACKING_URI=http://...` sends runs, artifacts
(proxied to MinIO by `infra.mlflow_server`) and registered models to a tracking server.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import mlflow
import polars as pl
import pyarrow as pa
from deltalake import write_deltalake

from ml.gold_tables import GOLD_LAYER
from pipelines.lake import Lake
from pipelines.settings import LakehouseSettings


def configure(settings: LakehouseSettings) -> str:
    """Point the MLflow client (tracking and model registry) at the settings' URI."""
    uri = settings.mlflow_tracking_uri
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return uri


def _artifact_location(settings: LakehouseSettings, experiment: str) -> str | None:
    """Local stores keep artifacts under the home; a server decides for itself (MinIO)."""
    if settings.mlflow_tracking_uri.startswith(("http://", "https://", "databricks")):
        return None
    return (settings.home / "mlflow" / "artifacts" / experiment).resolve().as_uri()


class TrackingServerDown(RuntimeError):
    """The MLflow tracking server does not answer: the job stops before it trains."""


def check_tracking_server(uri: str, timeout_seconds: float = 10.0) -> None:
    """Fail fast, and clearly, when a tracking server is named but does not answer: a job
    that trained for minutes and then could not log would lose its results (and MLflow's own
    client would retry each call for minutes first)."""
    if not uri.startswith(("http://", "https://")):
        return
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"{uri.rstrip('/')}/health", timeout=timeout_seconds):
            return
    except (urllib.error.URLError, OSError) as error:
        raise TrackingServerDown(
            f"MLflow tracking server {uri} does not answer ({error}); the job stopped before "
            "training and logged nothing. Start it (`make mlflow-up`) and re-run, or unset "
            "LAKEHOUSE_MLFLOW_TRACKING_URI to track to the local store."
        ) from error


def experiment_id(settings: LakehouseSettings, experiment: str) -> str:
    """The experiment's id, created on first use."""
    check_tracking_server(configure(settings))
    found = mlflow.get_experiment_by_name(experiment)
    if found is not None:
        return found.experiment_id
    return mlflow.create_experiment(
        experiment, artifact_location=_artifact_location(settings, experiment)
    )


@contextmanager
def tracked_run(
    settings: LakehouseSettings,
    experiment: str,
    run_name: str,
    tags: dict[str, str] | None = None,
) -> Iterator[mlflow.ActiveRun]:
    """An MLflow run in `experiment`; ends FAILED if the job raises."""
    mlflow.set_experiment(experiment_id=experiment_id(settings, experiment))
    with mlflow.start_run(run_name=run_name, tags=tags) as run:
        yield run


def log_data_versions(versions: dict[str, int]) -> None:
    """Record which version of each Delta table a run read (`data_version.<layer>/<table>`)."""
    mlflow.log_params({f"data_version.{name}": version for name, version in versions.items()})


def read_delta(
    settings: LakehouseSettings, layer: str, table: str, columns: list[str] | None = None
) -> tuple[pl.DataFrame, int]:
    """A lake table as a polars frame, and the Delta version that was read."""
    lake = Lake(settings)
    if not lake.table_exists(layer, table):
        raise FileNotFoundError(
            f"no Delta table {layer}/{table} in the lake at {lake.root}: build it first"
        )
    delta = lake.delta_table(layer, table)
    frame = pl.from_arrow(delta.to_pyarrow_dataset().to_table(columns=columns))
    assert isinstance(frame, pl.DataFrame)
    return frame, delta.version()


def write_gold(
    settings: LakehouseSettings,
    table: str,
    frame: pl.DataFrame,
    replace_where: str | None = None,
) -> int:
    """Write a result table to `<lake>/gold/<table>`; returns the Delta version written.

    `replace_where` (a predicate such as `series = 'almaty'`) replaces only the rows it
    matches, so re-running a job for one input never duplicates or drops the others' rows;
    without it the table is overwritten whole.
    """
    lake = Lake(settings)
    lake.ensure_ready()
    data: pa.Table = frame.to_arrow()
    uri = lake.uri(GOLD_LAYER, table)
    if replace_where is not None and lake.table_exists(GOLD_LAYER, table):
        write_deltalake(
            uri,
            data,
            mode="overwrite",
            predicate=replace_where,
            storage_options=lake.storage_options,
        )
    else:
        write_deltalake(
            uri,
            data,
            mode="overwrite",
            schema_mode="overwrite",
            storage_options=lake.storage_options,
        )
    return lake.delta_table(GOLD_LAYER, table).version()


def log_figure_file(path: Path, artifact_path: str = "plots") -> None:
    mlflow.log_artifact(str(path), artifact_path=artifact_path)


def run_summary(run: mlflow.ActiveRun) -> dict[str, Any]:
    """What a Dagster asset shows of a run: its id, experiment and the metrics logged."""
    client = mlflow.MlflowClient()
    data = client.get_run(run.info.run_id).data
    return {
        "run_id": run.info.run_id,
        "experiment_id": run.info.experiment_id,
        "metrics": dict(data.metrics),
    }
