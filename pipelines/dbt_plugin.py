"""The dbt-duckdb plugin named in `dbt_project/profiles.yml`: every connection dbt opens to the
warehouse reads the lake, with the same extensions and credentials as `pipelines.warehouse`.

A module of its own so that only dbt's process imports dbt's adapter (~0.9 s): the Dagster
definitions, the checks and the charts connect through `pipelines.warehouse` without it.
"""

from __future__ import annotations

from typing import Any

import duckdb
from dbt.adapters.duckdb.plugins import BasePlugin

from pipelines.duckdb_lake import configure
from pipelines.settings import LakehouseSettings


class Plugin(BasePlugin):
    """dbt-duckdb plugin: every dbt connection gets the lake extensions and credentials."""

    def initialize(self, plugin_config: dict[str, Any]) -> None:
        self.settings = LakehouseSettings()

    def configure_connection(self, conn: duckdb.DuckDBPyConnection) -> None:
        configure(conn, self.settings)
