"""Servers the lakehouse needs, started by the project itself on loopback: MinIO, MLflow,
Spark standalone. Production deployment: `infra/docker-compose.yml`."""
