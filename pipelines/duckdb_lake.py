"""DuckDB's lake extensions (`delta`, `httpfs`), installed from the `duckdb-extension-*`
packages on PyPI (DuckDB cannot download them here), and the S3 secret for a lake on MinIO:
what every DuckDB connection that reads the lake needs, the warehouse's and the silver jobs'."""

from __future__ import annotations

from importlib import import_module
from pathlib import Path

import duckdb

from pipelines.settings import LakehouseSettings

EXTENSIONS = ("httpfs", "delta")


def extension_file(name: str) -> Path:
    package = import_module(f"duckdb_extension_{name}")
    version = duckdb.__version__
    path = (
        Path(str(package.__file__)).parent
        / "extensions"
        / f"v{version}"
        / f"{name}.duckdb_extension"
    )
    if not path.exists():
        raise FileNotFoundError(
            f"DuckDB extension {name} for duckdb {version} not found at {path}; install "
            f"duckdb-extension-{name}=={version}"
        )
    return path


def configure(
    conn: duckdb.DuckDBPyConnection,
    settings: LakehouseSettings,
    extensions: tuple[str, ...] = EXTENSIONS,
) -> None:
    """Load the lake extensions and, on MinIO, an S3 secret for the lake's bucket (the secret
    type comes with `httpfs`, loaded for it)."""
    if settings.is_s3 and "httpfs" not in extensions:
        extensions = ("httpfs", *extensions)
    for name in extensions:
        conn.execute(f"INSTALL '{extension_file(name)}'")
        conn.execute(f"LOAD {name}")
    if settings.is_s3:
        conn.execute(
            """
            CREATE OR REPLACE SECRET lake_s3 (
                TYPE s3, KEY_ID $key, SECRET $secret, REGION $region,
                ENDPOINT $endpoint, URL_STYLE 'path', USE_SSL $ssl, SCOPE $scope
            )
            """.replace("$key", _quote(settings.s3_access_key))
            .replace("$secret", _quote(settings.s3_secret_key.get_secret_value()))
            .replace("$region", _quote(settings.s3_region))
            .replace("$endpoint", _quote(settings.s3_endpoint_host))
            .replace("$ssl", "true" if settings.s3_secure else "false")
            .replace("$scope", _quote(f"s3://{settings.bucket}"))
        )


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
