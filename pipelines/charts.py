"""Charts of the marts that people would rather look at than read, written as PNG files.

Each chart reads one mart from the warehouse and returns the file it wrote, or None when the
mart is missing or empty (a partial build, or a source not yet loaded). Orchestration attaches
the files to the assets' metadata; the functions are plain Python so anyone can redraw them.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import matplotlib

matplotlib.use("Agg")  # files only: no display on servers
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

SIGNAL_LABELS = {
    "deaths": "deaths",
    "ambulance_calls": "ambulance calls",
    "respiratory_calls": "respiratory calls",
    "pharmacy_receipts": "pharmacy receipts",
    "daytime_mobility_index": "mobility",
    "daytime_activity_index": "activity",
}


def _frame(conn: duckdb.DuckDBPyConnection, sql: str) -> pd.DataFrame | None:
    try:
        frame = conn.execute(sql).df()
    except duckdb.CatalogException:
        return None
    return frame if len(frame) else None


def lead_lag_chart(conn: duckdb.DuckDBPyConnection, out: Path, area: str = "CITY") -> Path | None:
    """Correlation of each signal with morbidity by lag, the best lag marked."""
    frame = _frame(
        conn,
        f"""
        select signal, lag_days, correlation, is_best_lag
        from marts.fct_signal_lead_lag where area = '{area}' order by signal, lag_days
        """,
    )
    if frame is None:
        return None
    fig, ax = plt.subplots(figsize=(9, 5))
    for signal, series in frame.groupby("signal"):
        (line,) = ax.plot(
            series["lag_days"], series["correlation"], label=SIGNAL_LABELS.get(str(signal), signal)
        )
        best = series[series["is_best_lag"]]
        ax.scatter(best["lag_days"], best["correlation"], color=line.get_color(), zorder=3)
        for lag, corr in zip(best["lag_days"], best["correlation"], strict=True):
            ax.annotate(f"{lag:+d} d", (lag, corr), textcoords="offset points", xytext=(4, 6))
    ax.axvline(0, color="grey", linewidth=0.8)
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.set_xlabel("lag in days (negative: the signal leads morbidity; positive: it trails)")
    ax.set_ylabel("correlation with new registered cases")
    ax.set_title(f"Which signals lead or trail morbidity ({area.lower()}, 7-day means)")
    ax.legend(loc="lower left", fontsize=8)
    return _save(fig, out)


def epidemic_signals_chart(conn: duckdb.DuckDBPyConnection, out: Path) -> Path | None:
    """The city's signals over time, each scaled to its own maximum, on one axis."""
    frame = _frame(
        conn,
        """
        select signal_date, sum(new_cases) as new_cases, sum(deaths) as deaths,
            sum(ambulance_calls) as ambulance_calls, sum(pharmacy_receipts) as pharmacy_receipts,
            avg(daytime_mobility_index) as daytime_mobility_index,
        from marts.fct_epidemic_signals_daily group by signal_date order by signal_date
        """,
    )
    if frame is None:
        return None
    frame = (
        frame.set_index("signal_date").astype(float).rolling(7, center=True, min_periods=1).mean()
    )
    fig, ax = plt.subplots(figsize=(10, 5))
    for column in frame.columns:
        peak = frame[column].max()
        if peak and peak > 0:
            ax.plot(frame.index, frame[column] / peak, label=SIGNAL_LABELS.get(column, column))
    ax.set_ylabel("share of the series' maximum (7-day mean)")
    ax.set_title("Almaty's epidemic signals side by side")
    ax.legend(fontsize=8)
    fig.autofmt_xdate()
    return _save(fig, out)


def district_activity_chart(conn: duckdb.DuckDBPyConnection, out: Path) -> Path | None:
    """Daytime mobility per district over time (share of people away from home)."""
    frame = _frame(
        conn,
        """
        select signal_date, district, daytime_mobility_index
        from marts.fct_epidemic_signals_daily
        where daytime_mobility_index is not null order by signal_date
        """,
    )
    if frame is None:
        return None
    wide = frame.pivot(index="signal_date", columns="district", values="daytime_mobility_index")
    fig, ax = plt.subplots(figsize=(10, 5))
    wide.rolling(7, center=True, min_periods=1).mean().plot(ax=ax, linewidth=1.2)
    ax.set_ylabel("daytime mobility index (7-day mean)")
    ax.set_xlabel("")
    ax.set_title("District activity: share of people away from home, 08-20")
    ax.legend(fontsize=7, ncol=4)
    return _save(fig, out)


def route_on_time_chart(
    conn: duckdb.DuckDBPyConnection, out: Path, routes: int = 25
) -> Path | None:
    """On-time share of the busiest routes, with headway regularity beside it."""
    frame = _frame(
        conn,
        f"""
        select route_id, sum(trips_observed) as trips,
            avg(on_time_share) as on_time_share, median(headway_cv) as headway_cv
        from marts.fct_route_performance_daily
        group by route_id order by trips desc limit {routes}
        """,
    )
    if frame is None:
        return None
    frame = frame.sort_values("on_time_share")
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 7), sharey=True)
    left.barh(frame["route_id"].astype(str), 100 * frame["on_time_share"], color="#2b8cbe")
    left.set_xlabel("stop arrivals on time, % (1 min early to 5 min late)")
    right.barh(frame["route_id"].astype(str), frame["headway_cv"], color="#f03b20")
    right.set_xlabel("headway coefficient of variation (0 = regular)")
    fig.suptitle(f"On-time performance of the {len(frame)} busiest routes")
    return _save(fig, out)


def _save(fig: plt.Figure, out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


CHARTS = {
    "lead_lag": lead_lag_chart,
    "epidemic_signals": epidemic_signals_chart,
    "district_activity": district_activity_chart,
    "route_on_time": route_on_time_chart,
}
