"""The series the morbidity forecast reads: the city's own marts, or a user's files.

Two ways in, one shape out (`date, area, cases` and the signals of `contracts.epi_series`):

- `city_series` reads the gold copy of `fct_epidemic_signals_daily` (cases, ambulance calls,
  pharmacy receipts and daytime mobility per district and day) and `dim_calendar` (the
  restriction regimes), and adds the city as the area `CITY`.
- `landed_series` reads every file under `landing/epi_series/` (one series per file, named by
  its stem; the newest delivery of a name wins). Rows that break the contract are returned
  as quarantine rows with the file, row number and rule, never silently dropped.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import PurePosixPath

import polars as pl

from contracts.epi_series import EPI_SERIES, REQUIRED, SIGNALS
from ml.tracking import read_delta
from pipelines.ingest import ContractError, _contract_failures, _typed, read_landing_file
from pipelines.lake import Lake
from pipelines.settings import LakehouseSettings

CITY_SERIES = "almaty"
CITY_AREA = "CITY"
SERIES_COLUMNS = ("date", "area", "cases", "deaths", *SIGNALS)


@dataclass
class Series:
    """One series, validated: accepted rows, quarantined rows, and where it came from."""

    name: str
    frame: pl.DataFrame  # SERIES_COLUMNS, one row per (date, area), sorted
    source: str  # the landing file, or the gold tables read
    data_versions: dict[str, int | str] = field(default_factory=dict)
    quarantined: pl.DataFrame = field(
        default_factory=lambda: pl.DataFrame(
            schema={"file": pl.Utf8, "row_number": pl.Int64, "rule": pl.Utf8}
        )
    )
    rows_in: int = 0

    @property
    def signals(self) -> list[str]:
        """The signals this series carries (a column with at least one value)."""
        return [s for s in SIGNALS if self.frame[s].drop_nulls().len() > 0]


def city_series(settings: LakehouseSettings) -> Series:
    """The simulated (or real) city's series from the gold marts, districts and CITY."""
    signals, signals_version = read_delta(settings, "gold", "fct_epidemic_signals_daily")
    calendar, calendar_version = read_delta(
        settings, "gold", "dim_calendar", columns=["date_day", "restriction_level"]
    )
    districts = signals.select(
        pl.col("signal_date").alias("date"),
        pl.col("district_code").alias("area"),
        pl.col("new_cases").cast(pl.Int64).alias("cases"),
        pl.col("deaths").cast(pl.Int64),
        pl.col("ambulance_calls").cast(pl.Int64),
        pl.col("pharmacy_receipts").cast(pl.Float64),
        pl.col("daytime_mobility_index").cast(pl.Float64).alias("mobility"),
    )
    # The city: counts add up; mobility is the mean of the districts' indices.
    city = districts.group_by("date").agg(
        pl.lit(CITY_AREA).alias("area"),
        pl.col("cases").sum(),
        pl.col("deaths").sum(),
        pl.col("ambulance_calls").sum(),
        pl.col("pharmacy_receipts").sum(),
        pl.col("mobility").mean(),
    )
    frame = (
        pl.concat([districts, city.select(districts.columns)])
        .join(
            calendar.select(
                pl.col("date_day").alias("date"),
                pl.col("restriction_level").cast(pl.Float64),
            ),
            on="date",
            how="left",
        )
        .select(SERIES_COLUMNS)
        .sort("area", "date")
    )
    return Series(
        name=CITY_SERIES,
        frame=frame,
        source="gold/fct_epidemic_signals_daily + gold/dim_calendar",
        data_versions={
            "gold/fct_epidemic_signals_daily": signals_version,
            "gold/dim_calendar": calendar_version,
        },
        rows_in=frame.height,
    )


def series_name(uri: str) -> str:
    """A series is named by its file's stem: `kz_national.csv` -> `kz_national`."""
    stem = PurePosixPath(uri).stem
    name = "".join(ch if ch.isalnum() or ch in "_-" else "_" for ch in stem.lower())
    if not name:
        raise ContractError(EPI_SERIES.source, uri, "cannot name a series after this file")
    return name


def parse_series(payload: bytes, file: str, now: datetime | None = None) -> Series:
    """Validate one series file against `contracts.epi_series`.

    A file without `date`, `area` or `cases`, or one that cannot be parsed, raises
    `ContractError` naming the file; a row breaking a rule (a negative count, a bad date, a
    repeated (date, area)) is quarantined with its row number and rule.
    """
    raw = read_landing_file(payload, file, EPI_SERIES)
    missing = [c for c in REQUIRED if c not in raw.columns]
    if missing:
        raise ContractError(
            EPI_SERIES.source, file, f"missing required column(s): {', '.join(missing)}"
        )
    # Signals are optional: a column left out of the file is a signal not supplied.
    raw = raw.with_columns(
        pl.lit(None, dtype=pl.Utf8).alias(c) for c in EPI_SERIES.column_names if c not in raw
    )
    raw = raw.select(EPI_SERIES.column_names).with_row_index("_source_row", offset=1)
    raw = raw.with_columns(pl.col("_source_row").cast(pl.Int64))
    typed = raw.with_columns(
        _typed(c.name, c.dtype, EPI_SERIES.timezone).alias(c.name) for c in EPI_SERIES.columns
    )
    reasons = [
        typed.filter(pl.col(c.name).is_null() & raw[c.name].str.strip_chars().ne("")).select(
            "_source_row", pl.lit(f"{c.name}: not a valid {c.dtype}").alias("rule")
        )
        for c in EPI_SERIES.columns
    ]
    reasons.append(_contract_failures(typed, EPI_SERIES, now or datetime.now(UTC)))
    repeated = typed.filter(
        pl.struct("date", "area").is_duplicated()
        & (pl.col("_source_row") > pl.col("_source_row").min().over("date", "area"))
    )
    reasons.append(
        repeated.select(
            "_source_row", pl.lit("date, area: repeats an earlier row of the file").alias("rule")
        )
    )
    failures = (
        pl.concat(reasons)
        .group_by("_source_row")
        .agg(pl.col("rule").unique().sort().str.join("; "))
    )
    accepted = typed.join(failures, on="_source_row", how="anti")
    quarantined = failures.sort("_source_row").select(
        pl.lit(file).alias("file"), pl.col("_source_row").alias("row_number"), "rule"
    )
    frame = accepted.select(SERIES_COLUMNS).sort("area", "date")
    if frame.height + quarantined.height != raw.height:
        raise AssertionError(f"row accounting broken for {file}")
    return Series(
        name=series_name(file),
        frame=frame,
        source=file,
        data_versions={"landing_sha256": hashlib.sha256(payload).hexdigest()[:16]},
        quarantined=quarantined,
        rows_in=raw.height,
    )


def landed_series(settings: LakehouseSettings) -> list[Series]:
    """Every series file under `landing/epi_series/`; the newest delivery of a name wins."""
    lake = Lake(settings)
    files = lake.stat_files(EPI_SERIES.landing_prefix)
    newest: dict[str, str] = {}
    for file in sorted(files, key=lambda f: (f.uri, f.modified)):
        if file.uri.endswith(".partial"):
            continue
        newest[series_name(file.uri)] = file.uri
    return [parse_series(lake.get_file(uri), uri) for uri in newest.values()]


def land_series(settings: LakehouseSettings, payload: bytes, name: str, day: str) -> str:
    """Put a user's series file into the landing zone (`landing/epi_series/<day>/<name>`)."""
    lake = Lake(settings)
    lake.ensure_ready()
    return lake.put_file(f"{EPI_SERIES.landing_prefix}/{day}/{name}", payload)
