"""The DuckDB warehouse: connections that read the lake's Delta tables, locally or on MinIO.

DuckDB cannot download extensions here, so `delta` and `httpfs` are installed from the
`duckdb-extension-*` packages on PyPI. The same setup serves dbt, through the dbt-duckdb plugin
in `pipelines.dbt_plugin` (named in `dbt_project/profiles.yml`), and ad-hoc clients.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipelines.duckdb_lake import EXTENSIONS, configure, extension_file, open_connection
from pipelines.settings import LakehouseSettings

__all__ = ["EXTENSIONS", "configure", "connect", "extension_file"]


def connect(
    settings: LakehouseSettings,
    path: Path | str | None = None,
    read_only: bool = False,
    lake: bool = True,
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection (the warehouse file by default) that can read the lake; with
    `lake=False`, one that reads only the warehouse's own tables (the marts: checks, charts,
    gold), without the lake's extensions, whose loading costs ~0.5 s per connection."""
    target = str(path if path is not None else settings.warehouse_path)
    if target != ":memory:":
        Path(target).parent.mkdir(parents=True, exist_ok=True)
    if not lake:
        return duckdb.connect(target, read_only=read_only)
    return open_connection(target, settings, read_only=read_only)
