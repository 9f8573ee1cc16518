"""The DuckDB warehouse: connections that read the lake's Delta tables, locally or on MinIO.

DuckDB cannot download extensions here, so `delta` and `httpfs` are installed from the
`duckdb-extension-*` packages on PyPI. The same setup serves dbt, through the dbt-duckdb plugin
`Plugin` below (named in `dbt_project/profiles.yml`), and ad-hoc clients.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
from dbt.adapters.duckdb.plugins import BasePlugin

from pipelines.duckdb_lake import EXTENSIONS, configure, extension_file
from pipelines.settings import LakehouseSettings

__all__ = ["EXTENSIONS", "Plugin", "configure", "connect", "extension_file"]


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
