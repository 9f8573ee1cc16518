"""DuckDB's lake extensions (`delta`, `httpfs`), installed from the `duckdb-extension-*`
packages on PyPI (DuckDB cannot download them here), and the S3 secret for a lake on MinIO:
what every DuckDB connection that reads the lake needs, the warehouse's and the silver jobs'."""

from __future__ import annotations

from importlib import import_module
from pathlib import Path

import duckdb

from pipelines.settings import LakehouseSettings

# `httpfs` only for a lake on MinIO (`configure` adds it); a local lake needs `delta` alone.
EXTENSIONS = ("delta",)

# DuckDB checks an extension's signature at every LOAD, hashing the whole file: ~0.4 s for
# `delta` (78 MB), paid by every connection. The first connection of a process loads each file
# with the check; later ones load the same, already checked files with the check off.
_CHECKED: set[Path] = set()


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


def _needed(settings: LakehouseSettings, extensions: tuple[str, ...]) -> tuple[str, ...]:
    if settings.is_s3 and "httpfs" not in extensions:
        return ("httpfs", *extensions)
    return extensions


def open_connection(
    target: str,
    settings: LakehouseSettings,
    read_only: bool = False,
    extensions: tuple[str, ...] = EXTENSIONS,
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the lake's extensions loaded (`configure`), their signatures
    checked once per process."""
    checked = all(extension_file(n) in _CHECKED for n in _needed(settings, extensions))
    config: dict[str, str | bool | int | float | list[str]] = (
        {"allow_unsigned_extensions": "true"} if checked else {}
    )
    conn = duckdb.connect(target, read_only=read_only, config=config)
    try:
        configure(conn, settings, extensions)
    except BaseException:
        conn.close()
        raise
    return conn


def configure(
    conn: duckdb.DuckDBPyConnection,
    settings: LakehouseSettings,
    extensions: tuple[str, ...] = EXTENSIONS,
) -> None:
    """Load the lake extensions and, on MinIO, an S3 secret for the lake's bucket (the secret
    type comes with `httpfs`, loaded for it)."""
    for name in _needed(settings, extensions):
        path = extension_file(name)
        if path not in _CHECKED:
            # Installed too (a copy under ~/.duckdb), for clients that autoload it by name.
            conn.execute(f"INSTALL '{path}'")
        conn.execute(f"LOAD '{path}'")  # checked here unless the connection skips the check
        if not _allows_unsigned(conn):
            _CHECKED.add(path)
    if settings.is_s3:
        conn.execute(
            """
            CREATE OR REPLACE SECRET lake_s3 (
                TYPE s3, KEY_ID $key, SECRET $secret, REGION $region,
                ENDPOINT $endpoint, URL_STYLE 'path', USE_SSL $ssl, SCOPE $scope
            )
            """.replace("$key", sql_literal(settings.s3_access_key))
            .replace("$secret", sql_literal(settings.s3_secret_key.get_secret_value()))
            .replace("$region", sql_literal(settings.s3_region))
            .replace("$endpoint", sql_literal(settings.s3_endpoint_host))
            .replace("$ssl", "true" if settings.s3_secure else "false")
            .replace("$scope", sql_literal(f"s3://{settings.bucket}"))
        )


def _allows_unsigned(conn: duckdb.DuckDBPyConnection) -> bool:
    (value,) = conn.execute(
        "select value from duckdb_settings() where name = 'allow_unsigned_extensions'"
    ).fetchone()  # type: ignore[misc]
    return str(value).lower() == "true"


def sql_literal(value: str) -> str:
    """A SQL string literal (DuckDB's and delta-rs's predicates quote alike)."""
    return "'" + value.replace("'", "''") + "'"
