"""The shape of a written source contract, and the pandera schema generated from it.

A contract is data: columns with types, units, ranges, allowed values and keys, the formats a
landing file may come in, and where it lands. `to_pandera` turns it into the schema that
guards the bronze boundary, so the written contract and the enforced one cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Literal

import pandera.polars as pa
import polars as pl

DType = Literal["string", "int", "float", "timestamp", "date"]

POLARS_TYPES: dict[str, pl.DataType] = {
    "string": pl.Utf8(),
    "int": pl.Int64(),
    "float": pl.Float64(),
    "timestamp": pl.Datetime("us", "UTC"),
    "date": pl.Date(),
}


@dataclass(frozen=True)
class Column:
    """One column of a source file as the contract states it."""

    name: str
    dtype: DType
    description: str
    unit: str = ""
    nullable: bool = False
    min_value: float | None = None
    max_value: float | None = None
    allowed: tuple[str, ...] = ()
    not_in_future: bool = False
    # A named rule over string values, e.g. ("known_district", normalise_district).
    known: tuple[str, Callable[[str], object | None]] | None = None
    # A personal identifier: replaced by its keyed-hash pseudonym before bronze is written.
    pseudonymise: bool = False

    def rules(self) -> list[str]:
        """The rules on this column in words, as the written contract lists them."""
        words = [self.dtype + (f" ({self.unit})" if self.unit else "")]
        words.append("nullable" if self.nullable else "required")
        if self.min_value is not None:
            words.append(f">= {self.min_value:g}")
        if self.max_value is not None:
            words.append(f"<= {self.max_value:g}")
        if self.allowed:
            words.append("one of " + ", ".join(self.allowed))
        if self.not_in_future:
            words.append("not in the future")
        if self.known:
            words.append(self.known[0])
        if self.pseudonymise:
            words.append("pseudonymised at the boundary")
        return words


@dataclass(frozen=True)
class Contract:
    """The written contract of one source table at the bronze boundary."""

    source: str
    table: str
    description: str
    columns: tuple[Column, ...]
    keys: tuple[str, ...]
    timestamp_column: str
    partition_column: str
    timezone: str = "Asia/Almaty"
    formats: tuple[str, ...] = ("csv", "jsonl", "parquet")
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def landing_prefix(self) -> str:
        """Landing folder relative to the lake root: `landing/<table>/<YYYY-MM-DD>/<file>`."""
        return f"landing/{self.table}"

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    def to_pandera(self, now: datetime | None = None) -> pa.DataFrameSchema:
        """The pandera schema enforcing this contract on typed polars frames."""
        now = now or datetime.now(UTC)
        columns = {}
        for col in self.columns:
            checks: list[pa.Check] = []
            if col.min_value is not None:
                checks.append(pa.Check.ge(col.min_value))
            if col.max_value is not None:
                checks.append(pa.Check.le(col.max_value))
            if col.allowed:
                checks.append(pa.Check.isin(list(col.allowed)))
            if col.not_in_future:
                checks.append(_not_after_check(now if col.dtype == "timestamp" else now.date()))
            if col.known is not None:
                rule_name, lookup = col.known
                checks.append(_known_values_check(rule_name, lookup))
            columns[col.name] = pa.Column(
                POLARS_TYPES[col.dtype], checks=checks, nullable=col.nullable, coerce=False
            )
        return pa.DataFrameSchema(columns, name=f"{self.source}.{self.table}", strict=False)

    def to_markdown(self) -> str:
        """The contract as a table for people (README, docs)."""
        lines = [
            f"### `{self.table}` ({self.source})",
            "",
            self.description,
            "",
            f"Key: `{', '.join(self.keys)}`. Partitioned by `{self.partition_column}`, the local date "
            f"({self.timezone}) of `{self.timestamp_column}`. Formats: {', '.join(self.formats)}. "
            f"Landing path: `{self.landing_prefix}/<YYYY-MM-DD>/<file>`.",
            "",
            "| column | rules | meaning |",
            "|---|---|---|",
        ]
        lines += [
            f"| `{c.name}` | {'; '.join(c.rules())} | {c.description} |" for c in self.columns
        ]
        return "\n".join(lines) + "\n"


def _known_values_check(rule_name: str, lookup: Callable[[str], object | None]) -> pa.Check:
    def check(data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(
            pl.col(data.key).map_elements(lambda v: lookup(v) is not None, return_dtype=pl.Boolean)
        )

    return pa.Check(check, name=rule_name)


def _not_after_check(now: datetime | date) -> pa.Check:
    def check(data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col(data.key) <= now)

    return pa.Check(check, name="not_in_future")
