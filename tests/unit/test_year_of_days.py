"""The dashboard benchmark's full-scale year: a day's facts repeated, a day later per copy."""

from datetime import date, datetime
from pathlib import Path

import duckdb

from benchmarks.year_of_days import repeat_marts


def test_each_fact_by_day_is_repeated_a_day_later_per_copy_monthly_ones_a_month_later(
    tmp_path: Path,
) -> None:
    warehouse = tmp_path / "w.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("CREATE SCHEMA marts")
        con.execute(
            "CREATE TABLE marts.fct_stop_hourly AS SELECT * FROM (VALUES "
            "(DATE '2020-03-02', TIMESTAMPTZ '2020-03-02 08:00:00+06', 'S1', 4),"
            "(DATE '2020-03-02', TIMESTAMPTZ '2020-03-02 09:00:00+06', 'S2', 7)"
            ") t(service_date, hour_start, stop_id, boardings)"
        )
        con.execute(
            "CREATE TABLE marts.fct_calls_daily AS SELECT * FROM (VALUES "
            "(DATE '2020-03-01', 1), (DATE '2020-03-02', 2)) t(call_date, calls)"
        )
        con.execute("CREATE TABLE marts.fct_recovery_monthly AS SELECT DATE '2020-03-01' AS m")
        con.execute("CREATE TABLE marts.fct_skills AS SELECT DATE '2020-03-02' AS as_of, 3 AS gap")
        con.execute("CREATE TABLE marts.dim_stops AS SELECT DATE '2020-01-01' AS feed_version")
        con.execute("CREATE VIEW marts.busiest AS SELECT * FROM marts.fct_stop_hourly")

    counts = repeat_marts(warehouse, days=4)

    assert counts == {
        "fct_calls_daily": {"day_rows": 2, "year_rows": 4},  # spans two days: two copies
        "fct_recovery_monthly": {"day_rows": 1, "year_rows": 12},
        "fct_skills": {"day_rows": 1, "year_rows": 1},  # a snapshot
        "fct_stop_hourly": {"day_rows": 2, "year_rows": 8},
    }
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "SELECT service_date, hour_start AT TIME ZONE 'Asia/Almaty', stop_id, boardings "
            "FROM marts.busiest ORDER BY 2"
        ).fetchall()
        types = con.execute(
            "SELECT data_type FROM information_schema.columns "
            "WHERE table_name = 'fct_stop_hourly' ORDER BY ordinal_position"
        ).fetchall()
        calls = con.execute("SELECT * FROM marts.fct_calls_daily ORDER BY 1").fetchall()
        months = con.execute("SELECT max(m) FROM marts.fct_recovery_monthly").fetchone()
        assert con.execute("SELECT count(*) FROM marts.dim_stops").fetchone() == (1,)
    assert rows == [
        (date(2020, 3, 2 + k), datetime(2020, 3, 2 + k, h), stop, n)
        for k in range(4)
        for h, stop, n in ((8, "S1", 4), (9, "S2", 7))
    ]
    assert [t for (t,) in types] == ["DATE", "TIMESTAMP WITH TIME ZONE", "VARCHAR", "INTEGER"]
    assert calls == [(date(2020, 3, d), n) for d in (1, 2, 3, 4) for n in [2 - d % 2]]
    assert months == (date(2021, 2, 1),)
