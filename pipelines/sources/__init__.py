"""The city's sources, each the same shape: a contract (in `contracts/`), a simulator that
writes landing files in the contract's format, the shared bronze boundary
(`pipelines.ingest`), and a Spark silver job writing one or more silver tables."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import polars as pl
from pyspark.sql import SparkSession

from contracts.model import Contract
from pipelines.lake import Lake


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

    @property
    def group_name(self) -> str:
        return self.group or self.name


def land_file(
    lake: Lake, contract: Contract, day: date, frame: pl.DataFrame, stem: str, fmt: str = "csv"
) -> tuple[str, int]:
    """Drop a day's file into the source's landing folder as the sender would; (uri, rows)."""
    payload = frame.write_csv() if fmt == "csv" else frame.write_ndjson()
    uri = lake.put_file(
        f"{contract.landing_prefix}/{day.isoformat()}/{stem}_{day:%Y%m%d}.{fmt}", payload.encode()
    )
    return uri, frame.height
