"""The city dashboard's queries, run the way a BI tool runs them: SQLAlchemy + duckdb-engine.

Superset (and most Python BI tools) reach DuckDB through the `duckdb-engine` SQLAlchemy
dialect. A dashboard only reads, so it connects read-only (`connect_args={"read_only": True}`):
DuckDB then refuses every write and the connection holds only a shared lock on the warehouse
file. Each query is one chart; `benchmarks/dashboard_latency.py` times them.

A BI tool's database URL for the embedded warehouse:

    duckdb:////abs/path/to/.lakehouse/warehouse.duckdb   (engine parameters: {"connect_args": {"read_only": true}})
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import NamedTuple

from sqlalchemy import Engine, create_engine, text

AMBULANCE_MART = "marts.fct_ambulance_calls_daily"

# Named SQL, one per chart. "Last 30 days" counts back from the newest day in the mart, so the
# charts also work on a warehouse of past (or simulated) data.
DASHBOARD_QUERIES: dict[str, str] = {
    "ambulance_calls_per_district_week": f"""
        select
            date_trunc('week', call_date)::date as week,
            district,
            sum(calls) as calls,
            sum(priority_1_calls) as priority_1_calls
        from {AMBULANCE_MART}
        group by all
        order by week, district
    """,
    # The mart keeps a p90 per (day, district, reason); the weekly line is their mean weighted
    # by calls (close to, not equal to, the p90 of the week's calls).
    "ambulance_response_p90_trend": f"""
        select
            date_trunc('week', call_date)::date as week,
            round(sum(p90_response_min * calls) / sum(calls), 1) as p90_response_min,
            round(sum(median_response_min * calls) / sum(calls), 1) as median_response_min,
            sum(calls) as calls
        from {AMBULANCE_MART}
        where p90_response_min is not null
        group by all
        order by week
    """,
    "ambulance_calls_by_reason_30d": f"""
        with latest as (select max(call_date) as last_day from {AMBULANCE_MART})
        select
            reason,
            sum(calls) as calls,
            sum(priority_1_calls) as priority_1_calls,
            round(100.0 * sum(calls) / sum(sum(calls)) over (), 1) as share_pct
        from {AMBULANCE_MART}, latest
        where call_date > latest.last_day - interval 30 day
        group by reason
        order by calls desc, reason
    """,
    "city_epidemic_signals_daily": """
        select
            signal_date,
            sum(new_cases) as new_cases,
            sum(deaths) as deaths,
            sum(ambulance_calls) as ambulance_calls,
            sum(pharmacy_receipts) as pharmacy_receipts,
            round(avg(daytime_mobility_index), 3) as mobility_index
        from marts.fct_epidemic_signals_daily
        group by signal_date
        order by signal_date
    """,
    "signal_lead_lag_city": """
        select signal, best_lag_days, correlation, reading
        from marts.fct_signal_lead_lag_summary
        where area = 'CITY'
        order by best_lag_days
    """,
    "district_activity_vs_baseline_week": """
        select
            date_trunc('week', activity_date)::date as week,
            district,
            round(avg(activity_vs_baseline_pct), 1) as activity_vs_baseline_pct,
            round(avg(mobility_vs_baseline_pct), 1) as mobility_vs_baseline_pct,
            sum(inflow_from_agglomeration) as inflow_from_agglomeration
        from marts.fct_district_activity_daily
        group by all
        order by week, district
    """,
    "route_on_time_ranking_30d": """
        with latest as (select max(service_date) as last_day from marts.fct_route_performance_daily)
        select
            route_id,
            sum(trips_observed) as trips,
            round(sum(on_time_arrivals) / nullif(sum(arrivals_with_schedule), 0), 3)
                as on_time_share,
            round(median(headway_cv), 2) as headway_cv,
            round(avg(excess_wait_min), 1) as excess_wait_min
        from marts.fct_route_performance_daily, latest
        where service_date > latest.last_day - interval 30 day
        group by route_id
        order by on_time_share, route_id
    """,
    # The mart is the 30-day ranking, kept by every run: a month of stop-hour rows is grouped
    # once a day, not on every view of the chart.
    "busiest_stops_by_hour_30d": """
        select load_rank, stop_id, stop_name, hour_local, boardings, boardings_per_day
        from marts.fct_stop_load_30d
        where load_rank <= 50
        order by load_rank
    """,
    "business_recovery_by_category": """
        select
            month_start,
            category,
            round(sum(recovery_index * baseline_turnover_kzt) / nullif(sum(baseline_turnover_kzt), 0), 1)
                as recovery_index
        from marts.fct_business_recovery_monthly
        group by all
        order by month_start, category
    """,
    "skill_shortages_top20": """
        select skill, talents_with_skill, open_jobs_requiring, demand_supply_ratio, courses_teaching
        from marts.fct_skill_supply_demand
        order by gap_rank
        limit 20
    """,
    "ull_indicators_latest_month": """
        select district_code, primary_factor, indicator, value, higher_is_better
        from marts.fct_ull_indicators_monthly
        where month_start = (select max(month_start) from marts.fct_ull_indicators_monthly)
        order by district_code, primary_factor, indicator
    """,
}


class QueryResult(NamedTuple):
    rows: list[tuple]  # type: ignore[type-arg]
    seconds: float


def warehouse_url(url_or_path: str | Path) -> str:
    """A SQLAlchemy URL: given as is (`duckdb:///...`), or built from a warehouse file path."""
    value = str(url_or_path)
    if value.startswith("duckdb:"):
        return value
    path = Path(value).expanduser().resolve()
    if not path.exists():
        raise FileNotFoundError(f"no DuckDB warehouse at {path}")
    return f"duckdb:///{path}"


def read_only_engine(url_or_path: str | Path) -> Engine:
    """A SQLAlchemy engine on the warehouse through duckdb-engine, read-only."""
    return create_engine(warehouse_url(url_or_path), connect_args={"read_only": True})


def run_dashboard_queries(
    url_or_path: str | Path, queries: dict[str, str] | None = None
) -> dict[str, QueryResult]:
    """Run every dashboard query (or `queries`) over one read-only connection.

    Returns, per query, its rows and the seconds it took (execute and fetch).
    """
    engine = read_only_engine(url_or_path)
    results: dict[str, QueryResult] = {}
    try:
        with engine.connect() as conn:
            for name, sql in (queries or DASHBOARD_QUERIES).items():
                began = time.perf_counter()
                rows = [tuple(row) for row in conn.execute(text(sql)).fetchall()]
                results[name] = QueryResult(rows, time.perf_counter() - began)
    finally:
        engine.dispose()
    return results
