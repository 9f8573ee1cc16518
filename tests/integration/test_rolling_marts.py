"""The marts over a moving window (dbt tag `rolling_window`), built by dbt on a small warehouse
whose answer is known: the 30-day stop load behind the busiest-stops chart."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from benchmarks.year_of_days import rebuild_rolling_marts
from pipelines.dashboards import DASHBOARD_QUERIES
from pipelines.settings import LakehouseSettings

pytestmark = pytest.mark.integration

LAST_DAY = date(2020, 3, 31)


def _warehouse(path: Path) -> None:
    """30 days of one stop-hour with 1 boarding a day, 100 boardings a day before the window,
    two stop-hours that tie with the first on the last day, and one on the window's first day."""
    rows = [(LAST_DAY - timedelta(days=k), 8, "A", "R1", 1, 0, 1.0) for k in range(30)]
    rows += [
        (LAST_DAY - timedelta(days=30), 8, "B", "R1", 100, 10, 100.0),  # 31 days back: out
        (LAST_DAY, 9, "C", "R1", 20, 5, 25.0),
        (LAST_DAY, 9, "C", "R2", 10, 0, 10.0),  # same stop and hour, another route
        (LAST_DAY, 7, "D", "R2", 30, 0, 31.5),  # ties with C at 9
        (LAST_DAY - timedelta(days=29), 18, "D", "R2", 2, 1, 2.0),  # first day of the window
    ]
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute(
            "create table marts.fct_stop_boardings_hourly (service_date date, hour_local integer, "
            "stop_id varchar, route_id varchar, boardings bigint, transfer_boardings bigint, "
            "boardings_expanded double)"
        )
        con.executemany(
            "insert into marts.fct_stop_boardings_hourly values (?, ?, ?, ?, ?, ?, ?)", rows
        )
        con.execute(
            "create table marts.dim_stops as select * from (values "
            "('A', 'Abay'), ('B', 'Baiterek'), ('C', 'Central'), ('D', 'Dostyk')) t(stop_id, stop_name)"
        )


def test_the_30_day_stop_load_ranks_the_window_busiest_first(
    local_settings: LakehouseSettings, tmp_path: Path
) -> None:
    warehouse = tmp_path / "w.duckdb"
    _warehouse(warehouse)

    rebuild_rolling_marts(warehouse)

    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "select load_rank, window_start, window_end, service_days, stop_id, stop_name, "
            "hour_local, boardings, boardings_per_day, transfer_boardings, boardings_expanded "
            "from marts.fct_stop_load_30d"
        ).fetchall()  # stored in rank order: no `order by`
        chart = con.execute(DASHBOARD_QUERIES["busiest_stops_by_hour_30d"]).fetchall()
    start = LAST_DAY - timedelta(days=29)
    window = (start, LAST_DAY, 30)
    assert rows == [
        # three stop-hours tied at 30 boardings: in stop order
        (1, *window, "A", "Abay", 8, 30, 1.0, 0, 30.0),
        (2, *window, "C", "Central", 9, 30, 1.0, 5, 35.0),  # two routes' boardings
        (3, *window, "D", "Dostyk", 7, 30, 1.0, 0, 31.5),
        (4, *window, "D", "Dostyk", 18, 2, 0.1, 1, 2.0),
    ]  # stop B's 100 boardings, 30 days before the last day, are outside the window
    assert chart == [(r[0], r[4], r[5], r[6], r[7], r[8]) for r in rows]
