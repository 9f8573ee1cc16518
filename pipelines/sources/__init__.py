"""The city's sources, each the same shape: a contract (in `contracts/`), a simulator that
writes landing files in the contract's format, the shared bronze boundary
(`pipelines.ingest`), and a silver job writing one or more silver tables, twice: on Spark (for
a cluster) and in DuckDB (one machine; `pipelines.duckdb_io`), the same rows either way."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import polars as pl
from pyspark.sql import SparkSession

from contracts.model import Contract
from pipelines.lake import Lake
from pipelines.settings import LakehouseSettings

# (lake, day, settings) -> (file uri, rows) landed from a source's API, or None when the
# settings name no API for it (its files are then dropped into the landing zone instead).
LandingFetcher = Callable[[Lake, date, LakehouseSettings], tuple[str, int] | None]


@dataclass(frozen=True)
class Source:
    """Everything the platform needs to carry one source from landing to silver."""

    name: str
    description: str
    contract: Contract
    # Simulate one day into the landing zone: (lake, day, seed, scale) -> (file uri, rows).
    write_landing_day: Callable[[Lake, date, int, float], tuple[str, int]]
    # Rebuild the silver day partitions from bronze: (spark, lake, days) -> statistics.
    build_silver: Callable[[SparkSession, Lake, list[date]], dict[str, int]]
    silver_tables: tuple[str, ...]
    group: str = ""  # the Dagster asset group; a source with several feeds shares one
    # Pull one day from the source's API into the landing zone (see `LandingFetcher`).
    fetch_landing_day: LandingFetcher | None = None
    # Other tables the silver job reads (asset key paths), e.g. bus stop arrivals for card taps.
    silver_inputs: tuple[tuple[str, ...], ...] = ()
    # The same silver job in DuckDB for one machine, (lake, days) -> the same statistics; it
    # writes the same rows as `build_silver` (see `pipelines.duckdb_io`).
    build_silver_duckdb: Callable[[Lake, list[date]], dict[str, int]] | None = None

    @property
    def group_name(self) -> str:
        return self.group or self.name

    def silver_engine(self, settings: LakehouseSettings, engine: str | None = None) -> str:
        """`duckdb` or `spark`: the engine this source's silver job runs on, by the settings
        (`silver_engine`) or as asked; Spark for a job that has no DuckDB version."""
        if self.build_silver_duckdb is None:
            return "spark"
        if engine is None or engine == "auto":
            return "duckdb" if settings.silver_on_duckdb() else "spark"
        return engine

    def run_silver(
        self,
        lake: Lake,
        days: list[date],
        spark: Callable[[], SparkSession],
        engine: str | None = None,
    ) -> tuple[str, dict[str, int]]:
        """Rebuild the silver days on the settings' engine, or `engine` (Spark is started
        only when needed); (engine, statistics)."""
        engine = self.silver_engine(lake.settings, engine)
        if engine == "duckdb":
            assert self.build_silver_duckdb is not None
            return engine, self.build_silver_duckdb(lake, days)
        return engine, self.build_silver(spark(), lake, days)


def land_file(
    lake: Lake, contract: Contract, day: date, frame: pl.DataFrame, stem: str, fmt: str = "csv"
) -> tuple[str, int]:
    """Drop a day's file into the source's landing folder as the sender would; (uri, rows)."""
    uri = lake.write_file(
        f"{contract.landing_prefix}/{day.isoformat()}/{stem}_{day:%Y%m%d}.{fmt}",
        frame.write_csv if fmt == "csv" else frame.write_ndjson,
    )
    return uri, frame.height
