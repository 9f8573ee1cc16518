"""The MLflow tracking server the project starts: SQL backend, artifacts on MinIO."""

from pathlib import Path

import mlflow
import pytest

from infra.mlflow_server import ARTIFACT_BUCKET, MlflowServer

pytestmark = pytest.mark.integration


def test_runs_and_artifacts_land_on_minio(minio_server: object, tmp_path: Path) -> None:
    m = minio_server
    with MlflowServer(tmp_path / "mlflow", m.endpoint, m.access_key, m.secret_key) as server:  # type: ignore[attr-defined]
        client = mlflow.MlflowClient(tracking_uri=server.tracking_uri)
        experiment = client.create_experiment("infra-smoke")
        run = client.create_run(experiment)
        client.log_metric(run.info.run_id, "mae", 1.5)
        report = tmp_path / "report.txt"
        report.write_text("forecast vs actual")
        client.log_artifact(run.info.run_id, str(report))
        client.set_terminated(run.info.run_id)

        assert client.get_run(run.info.run_id).data.metrics == {"mae": 1.5}
        from minio import Minio

        objects = Minio(m.endpoint.split("//")[1], m.access_key, m.secret_key, secure=False)  # type: ignore[attr-defined]
        names = [o.object_name for o in objects.list_objects(ARTIFACT_BUCKET, recursive=True)]
        assert any(name.endswith(f"{run.info.run_id}/artifacts/report.txt") for name in names)
