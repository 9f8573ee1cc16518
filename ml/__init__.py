"""MLflow-tracked jobs (morbidity forecasts, talent-job embeddings, ULL scoring): plain Python
over the marts, wired into Dagster from `orchestration/`. The tracking URI comes from
`LakehouseSettings.mlflow_tracking_uri` (a local SQLite store by default, or the server that
`python -m infra.mlflow_server start` runs with artifacts on MinIO)."""
