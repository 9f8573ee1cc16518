"""The DuckDB warehouse: connections that read the lake's Delta tables, locally or on MinIO.

DuckDB cannot download extensions here, so `delta` and `httpfs` are installed from the
`duckdb-extension-*` packages on PyPI. The same setup serves dbt, through the dbt-duckdb plugin
`Plugin` below (named in `dbt_project/profiles.yml`), and ad-hoc clients.
"""

from __future__ import annotations

from importlib import import_module
from pathlib import Path
from typing import Any

import duckdb
from dbt.adapters.duckdb.plugins import BasePlugin

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


def configure(conn: duckdb.DuckDBPyConnection, settings: LakehouseSettings) -> None:
    """Load the lake extensions and, on MinIO, an S3 secret for the lake's bucket."""
    for name in EXTENSIONS:
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


def connect(
    settings: LakehouseSettings, path: Path | str | None = None, read_only: bool = False
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection (the warehouse file by default) that can read the lake."""
    target = str(path if path is not None else settings.warehouse_path)
    if target != ":memory:":
        Path(target).parent.mkdir(parents=True, exist_ok=True)
    conn = duckdb.connect(target, read_only=read_only)
    configure(conn, settings)
    return conn


class Plugin(BasePlugin):
    """dbt-duckdb plugin: every dbt connection gets the lake extensions and credentials."""

    def initialize(self, plugin_config: dict[str, Any]) -> None:
        self.settings = LakehouseSettings()

    def configure_connection(self, conn: duckdb.DuckDBPyConnection) -> None:
        configure(conn, self.settings)
