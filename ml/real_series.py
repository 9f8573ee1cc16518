"""Real public series in the forecast's input format (`contracts/epi_series.py`).

    python -m ml.real_series kz-national <out.csv> [--data ../shared/data]

builds Kazakhstan's daily new cases (JHU CSSE) with Google's national mobility, 2020-03-01 to
2021-06-19 (the last day Google's file covers). Mobility is the mean of the retail and
recreation, transit stations and workplaces changes from the weekday baseline. Cases are the
day-to-day differences of the cumulative count as published, corrections included: a negative
difference breaks the contract (cases >= 0) and is quarantined with its row, which is what a
user's own file with such a correction would meet.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

import polars as pl

from pipelines.settings import PROJECT_ROOT

SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"
MOBILITY_COLUMNS = (
    "retail_and_recreation_percent_change_from_baseline",
    "transit_stations_percent_change_from_baseline",
    "workplaces_percent_change_from_baseline",
)
KZ_FIRST_DAY = date(2020, 3, 1)
KZ_LAST_DAY = date(2021, 6, 19)


def kz_national(data_dir: Path = SHARED_DATA) -> pl.DataFrame:
    """Kazakhstan's daily new cases and deaths with Google mobility, as an epi series."""
    cases_file = data_dir / "covid_kz_national_csse" / "kazakhstan_covid_daily_jhu_csse.csv"
    mobility_file = data_dir / "google_mobility_kz" / "kz_mobility_2020-02-15_2021-06-19.csv"
    for path in (cases_file, mobility_file):
        if not path.exists():
            raise FileNotFoundError(f"{path} not found: the shared real data sets are needed")
    cases = pl.read_csv(cases_file, try_parse_dates=True).select(
        pl.col("date").cast(pl.Date),
        pl.col("new_confirmed").cast(pl.Int64).alias("cases"),
        pl.col("new_deaths").cast(pl.Int64).alias("deaths"),
    )
    mobility = pl.read_csv(mobility_file, try_parse_dates=True, infer_schema_length=None).select(
        pl.col("date").cast(pl.Date),
        pl.mean_horizontal(*(pl.col(c).cast(pl.Float64) for c in MOBILITY_COLUMNS)).alias(
            "mobility"
        ),
    )
    return (
        cases.join(mobility, on="date", how="left")
        .filter(pl.col("date").is_between(KZ_FIRST_DAY, KZ_LAST_DAY))
        .select("date", pl.lit("KZ").alias("area"), "cases", "deaths", "mobility")
        .sort("date")
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m ml.real_series", description=__doc__)
    parser.add_argument("series", choices=["kz-national"])
    parser.add_argument("out", type=Path)
    parser.add_argument("--data", type=Path, default=SHARED_DATA)
    args = parser.parse_args(argv)
    frame = kz_national(args.data)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    frame.write_csv(args.out)
    first, last = frame["date"].min(), frame["date"].max()
    print(f"{args.out}: {frame.height} days, {first!s}..{last!s}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
