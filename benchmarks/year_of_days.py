"""A year of marts at full-scale volume, from the marts of one full-scale day, for the dashboard
latency benchmark (`benchmarks/dashboard_latency.py`).

    .venv/bin/lakehouse run --start 2020-03-02 --end 2020-03-02 --scale 1.0   # one full day
    .venv/bin/python benchmarks/year_of_days.py .lakehouse/warehouse.duckdb /tmp/year.duckdb
    .venv/bin/python benchmarks/dashboard_latency.py /tmp/year.duckdb --runs 30

Building a real year at full scale takes a day of machine time (~4 minutes a day here), so the
day's warehouse is copied and its marts that grow with time are repeated: a fact table by day
or hour (`fct_*_daily`, `fct_*_hourly`) once per day of the year, each copy's dates and
timestamps moved on by the days the table spans (one, for a one-day warehouse); a monthly fact
table (`fct_*_monthly`) once per month. Dimensions, snapshots and tables that already hold
their whole history are left as they are. The values are the day's, repeated: the dashboards'
queries scan, filter and group as many rows as a year of such days holds, which is what their
latency depends on. Marts over a moving window (dbt tag `rolling_window`, e.g. the 30-day stop
load) are then rebuilt by dbt from the repeated facts, as the daily run would rebuild them.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.dbt_vs_sql import DBT, dbt  # noqa: E402

DATED = ("DATE", "TIMESTAMP", "TIMESTAMP WITH TIME ZONE")
ROLLING = "tag:rolling_window"


def repeat_marts(warehouse: Path, days: int, schema: str = "marts") -> dict[str, dict[str, int]]:
    """Repeat the facts of `schema` in `warehouse` (in place) over a year of `days` days (12
    months for the monthly ones); rows per table before and after."""
    counts: dict[str, dict[str, int]] = {}
    with duckdb.connect(str(warehouse)) as con:
        tables = [
            name
            for (name,) in con.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = ? AND table_type = 'BASE TABLE' AND table_name LIKE 'fct%' "
                "ORDER BY table_name",
                [schema],
            ).fetchall()
        ]
        for table in tables:
            columns = dict(
                con.execute(
                    "SELECT column_name, data_type FROM information_schema.columns "
                    "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
                    [schema, table],
                ).fetchall()
            )
            dated = [name for name, kind in columns.items() if kind in DATED]
            relation = f'{schema}."{table}"'
            before = con.execute(f"SELECT count(*) FROM {relation}").fetchone()[0]  # type: ignore[index]
            copies, step = 1, ""
            if dated and table.endswith(("_daily", "_hourly")):
                first, last = con.execute(
                    f'SELECT min(CAST("{dated[0]}" AS DATE)), max(CAST("{dated[0]}" AS DATE)) '
                    f"FROM {relation}"
                ).fetchone()  # type: ignore[misc]
                span = (last - first).days + 1 if first is not None else days
                copies, step = max(1, days // span), f"to_days(CAST(copy * {span} AS INTEGER))"
            elif dated and table.endswith("_monthly"):
                copies, step = 12, "to_months(CAST(copy AS INTEGER))"
            if copies > 1:
                moved = ", ".join(f'CAST("{c}" + {step} AS {columns[c]}) AS "{c}"' for c in dated)
                con.execute(
                    f"CREATE OR REPLACE TABLE {relation} AS "
                    f"SELECT day.* REPLACE ({moved}) FROM {relation} AS day, "
                    f"range({copies}) AS copies(copy)"
                )
            after = con.execute(f"SELECT count(*) FROM {relation}").fetchone()[0]  # type: ignore[index]
            counts[table] = {"day_rows": before, "year_rows": after}
            print(f"  {relation}: {before:,} -> {after:,} rows", flush=True)
        con.execute("CHECKPOINT")
    return counts


def rebuild_rolling_marts(warehouse: Path) -> float:
    """`dbt run` of the marts over a moving window on `warehouse`; its wall seconds."""
    with tempfile.TemporaryDirectory(prefix="year-dbt-") as target:
        return dbt(
            DBT,
            ["run", "--quiet", "--select", ROLLING],
            warehouse.resolve(),
            Path(target),
            dict(os.environ),
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("day_warehouse", type=Path, help="warehouse of one full-scale day")
    parser.add_argument("out", type=Path, help="where to write the year's warehouse")
    parser.add_argument("--days", type=int, default=365)
    args = parser.parse_args()
    if not args.day_warehouse.exists():
        sys.exit(f"no warehouse at {args.day_warehouse}; run one full-scale day first")
    began = time.perf_counter()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(args.day_warehouse, args.out)
    print(f"{args.day_warehouse} -> {args.out}, marts repeated over {args.days} days", flush=True)
    repeat_marts(args.out, args.days)
    seconds = rebuild_rolling_marts(args.out)
    print(f"  marts over a moving window ({ROLLING}) rebuilt by dbt in {seconds:.1f} s", flush=True)
    size = args.out.stat().st_size / 2**20
    print(f"done in {time.perf_counter() - began:.1f} s; {size:.1f} MiB", flush=True)


if __name__ == "__main__":
    main()
