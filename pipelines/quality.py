"""Great Expectations suites on the marts, declared in code, and their Data Docs.

Each mart has a `MartSpec`: its grain (one row per combination of these columns), columns that
must never be null, value ranges (counts >= 0, shares in 0..1, indices >= 0), accepted values
(district codes from the dbt seed `districts`) and ordered pairs (priority-1 calls <= calls).
`suite_expectations` turns a spec into GX Core expectations; `validate_marts` reads every mart
present in the DuckDB warehouse (read-only) into pandas, validates it through an ephemeral Data
Context (nothing is written into the repository) and builds the static Data Docs site.

Marts named in `MART_SPECS` that the warehouse does not hold yet are skipped with a note, so the
same code runs at any stage of the project. GX itself is imported lazily: it takes seconds.
"""

from __future__ import annotations

import csv
import logging
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from contracts.ambulance_calls import CALL_REASONS
from pipelines.settings import PROJECT_ROOT, LakehouseSettings
from pipelines.warehouse import connect

if TYPE_CHECKING:
    import pandas as pd
    from great_expectations.data_context import AbstractDataContext
    from great_expectations.expectations import Expectation

log = logging.getLogger(__name__)

MARTS_SCHEMA = "marts"
DISTRICTS_SEED = PROJECT_ROOT / "dbt_project" / "seeds" / "districts.csv"
DOCS_SITE = "marts"
RUN_NAME = "lakehouse-quality"
# What the Data Docs site builder writes into its folder; removed before each build so the
# site shows this validation only (the Data Context is ephemeral, it keeps no history).
_SITE_ENTRIES = ("index.html", "expectations", "validations", "static")


@dataclass(frozen=True)
class MartSpec:
    """What must hold of one mart. Every column named here must exist in the table."""

    grain: tuple[str, ...]
    not_null: tuple[str, ...] = ()  # besides the grain, which is never null
    non_negative: tuple[str, ...] = ()  # counts, minutes, amounts, indices
    shares: tuple[str, ...] = ()  # fractions in 0..1
    ranges: Mapping[str, tuple[float | None, float | None]] = field(default_factory=dict)
    district_columns: tuple[str, ...] = ()  # values are codes of the `districts` seed
    accepted_values: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    # (a, b): a >= b on every row where both are present (a subset never exceeds its total)
    at_least: tuple[tuple[str, str], ...] = ()
    # Empty is right for some marts on short histories (lead-lag needs 28 days or more).
    may_be_empty: bool = False
    # Grain columns that may be null (a segment with no district, e.g. online courses).
    nullable_grain: tuple[str, ...] = ()

    def columns(self) -> set[str]:
        return {
            *self.grain,
            *self.not_null,
            *self.non_negative,
            *self.shares,
            *self.ranges,
            *self.district_columns,
            *self.accepted_values,
            *(c for pair in self.at_least for c in pair),
        }


# The signals the epidemic marts correlate with morbidity.
LEAD_LAG_SIGNALS = (
    "deaths",
    "ambulance_calls",
    "respiratory_calls",
    "pharmacy_receipts",
    "daytime_mobility_index",
    "daytime_activity_index",
)

MART_SPECS: dict[str, MartSpec] = {
    "fct_ambulance_calls_daily": MartSpec(
        grain=("call_date", "district_code", "reason"),
        not_null=("district", "calls"),
        non_negative=("priority_1_calls", "calls_per_100k"),
        ranges={
            "calls": (1, None),  # a row exists because at least one call was made
            "median_response_min": (0, 240),  # the contract's bounds on response_min
            "p90_response_min": (0, 240),
        },
        district_columns=("district_code",),
        accepted_values={"reason": CALL_REASONS},
        at_least=(("calls", "priority_1_calls"), ("p90_response_min", "median_response_min")),
    ),
    "fct_district_activity_daily": MartSpec(
        grain=("activity_date", "district_code"),
        not_null=("baseline_kind",),
        non_negative=("daytime_activity_index", "inflow", "outflow", "inflow_from_agglomeration"),
        shares=("daytime_mobility_index",),
        district_columns=("district_code",),
        accepted_values={"baseline_kind": ("pre_pandemic", "first_days")},
        at_least=(("inflow", "inflow_from_agglomeration"), ("inflow", "morning_peak_inflow")),
    ),
    "fct_district_activity_hourly": MartSpec(
        grain=("activity_date", "hour_local", "district_code"),
        non_negative=("presence", "activity_index", "cells_kept", "cells_suppressed"),
        shares=("mobility_index",),
        ranges={"hour_local": (0, 23)},
        district_columns=("district_code",),
    ),
    "fct_commuting_flows_daily": MartSpec(
        grain=("activity_date", "origin_zone", "destination_zone"),
        not_null=("flow_kind", "trips"),
        non_negative=("trips", "morning_peak_trips", "evening_peak_trips"),
        shares=("morning_peak_share",),
        ranges={"hours_reported": (1, 24)},
        accepted_values={"flow_kind": ("intra_city", "into_city", "out_of_city", "outside_city")},
        at_least=(("trips", "morning_peak_trips"), ("trips", "evening_peak_trips")),
    ),
    "fct_functional_city_boundary": MartSpec(
        grain=("town", "month_start"),
        not_null=("in_functional_city",),
        non_negative=("outgoing_trips", "trips_into_almaty", "avg_daily_commuters"),
        shares=("commuting_share",),
        ranges={"commuters_per_1000_flows": (0, 1000)},
        at_least=(("outgoing_trips", "trips_into_almaty"),),
    ),
    "fct_business_daily": MartSpec(
        grain=("business_date", "district_code", "category"),
        not_null=("receipts", "turnover_kzt"),
        non_negative=("outlets", "receipts", "turnover_kzt", "avg_ticket_kzt"),
        district_columns=("district_code",),
    ),
    "fct_business_recovery_monthly": MartSpec(
        grain=("month_start", "district_code", "category"),
        non_negative=("receipts", "turnover_kzt", "recovery_index", "days_observed"),
        district_columns=("district_code",),
        at_least=(("days_observed", "days_with_baseline"),),
    ),
    "fct_most_affected_segments": MartSpec(
        grain=("month_start", "category"),
        not_null=("is_most_affected",),
        non_negative=("turnover_kzt", "districts_observed"),
        ranges={"drop_rank": (1, None), "districts_observed": (1, 8)},
    ),
    "fct_route_ridership_hourly": MartSpec(
        grain=("service_date", "hour_local", "route_id"),
        not_null=("boardings",),
        non_negative=("boardings", "journeys_started", "transfer_boardings", "fare_revenue_kzt"),
        shares=("boarding_stop_share",),
        ranges={"hour_local": (0, 23)},
        at_least=(
            ("boardings", "transfer_boardings"),
            ("boardings", "gps_matched_boardings"),
        ),
    ),
    "fct_route_performance_daily": MartSpec(
        grain=("service_date", "route_id"),
        non_negative=(
            "trips_observed",
            "stop_arrivals",
            "headway_cv",
            "mean_headway_min",
            "average_wait_min",
            "vehicle_km",
        ),
        shares=("on_time_share", "trips_delivered_share"),
        ranges={"mean_speed_kmh": (0, 120)},
        at_least=(
            ("stop_arrivals", "arrivals_with_schedule"),
            ("arrivals_with_schedule", "on_time_arrivals"),
            ("p90_delay_min", "median_delay_min"),
        ),
    ),
    "fct_stop_boardings_hourly": MartSpec(
        grain=("service_date", "hour_local", "stop_id", "route_id"),
        not_null=("boardings",),
        non_negative=("boardings", "transfer_boardings"),
        shares=("route_hour_gps_match_share",),
        ranges={"hour_local": (0, 23)},
        at_least=(("boardings", "transfer_boardings"),),
    ),
    "fct_stop_load_30d": MartSpec(
        grain=("stop_id", "hour_local"),
        not_null=("load_rank", "window_start", "window_end", "boardings"),
        non_negative=("boardings", "transfer_boardings", "boardings_expanded", "boardings_per_day"),
        ranges={"hour_local": (0, 23), "load_rank": (1, None), "service_days": (1, 30)},
        at_least=(("boardings", "transfer_boardings"),),
    ),
    "fct_fleet_utilisation_daily": MartSpec(
        grain=("service_date",),
        not_null=("fleet_size", "buses_in_service"),
        non_negative=("trips", "trips_per_bus", "vehicle_hours_in_service", "vehicle_km"),
        shares=("fleet_in_service_share", "off_route_fix_share"),
        at_least=(("fleet_size", "buses_in_service"), ("trips", "trips_completed")),
    ),
    "fct_skill_supply_demand": MartSpec(
        grain=("skill",),
        non_negative=("talents_with_skill", "jobs_requiring", "open_jobs_requiring"),
        shares=("supply_share", "demand_share"),
        ranges={"gap_rank": (1, None)},
        at_least=(("jobs_requiring", "open_jobs_requiring"),),
    ),
    "fct_talent_pipeline_daily": MartSpec(
        grain=("activity_date",),
        non_negative=("talents_to_date", "companies_to_date", "open_jobs_end_of_day"),
    ),
    "fct_talent_market_snapshot": MartSpec(
        grain=("entity", "segment_type", "segment", "district_code"),
        nullable_grain=("district_code",),
        non_negative=("records",),
        shares=("entity_share",),
    ),
    "fct_epidemic_signals_daily": MartSpec(
        grain=("signal_date", "district_code"),
        not_null=("ambulance_calls",),
        non_negative=(
            "new_cases",
            "deaths",
            "cases_per_100k",
            "ambulance_calls",
            "respiratory_calls",
            "ambulance_calls_per_100k",
            "median_response_min",
            "pharmacy_receipts",
            "pharmacy_receipts_per_10k",
            "daytime_activity_index",
            "daytime_mobility_index",
        ),
        district_columns=("district_code",),
        at_least=(("ambulance_calls", "respiratory_calls"),),
    ),
    "fct_signal_lead_lag": MartSpec(
        grain=("area", "signal", "lag_days"),
        ranges={"correlation": (-1, 1), "lag_days": (-21, 21)},
        non_negative=("days_compared",),
        accepted_values={"signal": LEAD_LAG_SIGNALS},
        may_be_empty=True,
    ),
    "fct_signal_lead_lag_summary": MartSpec(
        grain=("area", "signal"),
        ranges={"correlation": (-1, 1), "best_lag_days": (-21, 21)},
        accepted_values={"signal": LEAD_LAG_SIGNALS},
        may_be_empty=True,
    ),
    "fct_ull_indicators_monthly": MartSpec(
        grain=("month_start", "district_code", "indicator"),
        not_null=("value", "primary_factor", "higher_is_better"),
        district_columns=("district_code",),
        accepted_values={"spatial_level": ("district", "city")},
    ),
    "dim_calendar": MartSpec(grain=("date_day",)),
    "dim_districts": MartSpec(
        grain=("district_code",),
        not_null=("district", "population_2020"),
        shares=("population_share",),
        district_columns=("district_code",),
    ),
}


@dataclass
class TableResult:
    """One mart's validation: the suite's outcome and what failed."""

    table: str
    success: bool
    rows: int
    evaluated: int
    failed: list[str] = field(default_factory=list)
    details: list[str] = field(default_factory=list)  # one line per failed expectation


@dataclass
class QualityReport:
    tables: list[TableResult]
    skipped: list[str]  # marts of the spec that are not in the warehouse
    docs_index: Path | None = None

    @property
    def success(self) -> bool:
        return all(t.success for t in self.tables)


@cache
def district_codes() -> tuple[str, ...]:
    """The district codes of the dbt seed `districts`, the city's reference list."""
    with DISTRICTS_SEED.open(newline="", encoding="utf-8") as seed:
        return tuple(row["district_code"] for row in csv.DictReader(seed))


def suite_expectations(spec: MartSpec, present: Iterable[str] | None = None) -> list[Expectation]:
    """The expectations of one mart. Columns of the spec missing from the table (`present`)
    fail one `expect_table_columns_to_match_set`; their column expectations are left out."""
    import great_expectations.expectations as gxe

    have = set(spec.columns() if present is None else present)

    def ok(*columns: str) -> bool:
        return all(c in have for c in columns)

    out: list[Expectation] = [
        gxe.ExpectTableRowCountToBeBetween(min_value=0 if spec.may_be_empty else 1),
        gxe.ExpectTableColumnsToMatchSet(column_set=sorted(spec.columns()), exact_match=False),
    ]
    for column in dict.fromkeys((*spec.grain, *spec.not_null)):
        if ok(column) and column not in spec.nullable_grain:
            out.append(gxe.ExpectColumnValuesToNotBeNull(column=column))
    if ok(*spec.grain):
        if len(spec.grain) == 1:
            out.append(gxe.ExpectColumnValuesToBeUnique(column=spec.grain[0]))
        else:
            out.append(gxe.ExpectCompoundColumnsToBeUnique(column_list=list(spec.grain)))
    bounds: dict[str, tuple[float | None, float | None]] = {
        **{c: (0, None) for c in spec.non_negative},
        **{c: (0, 1) for c in spec.shares},
        **spec.ranges,
    }
    for column, (low, high) in bounds.items():
        if ok(column):
            out.append(
                gxe.ExpectColumnValuesToBeBetween(column=column, min_value=low, max_value=high)
            )
    accepted = {
        **{c: district_codes() for c in spec.district_columns},
        **spec.accepted_values,
    }
    for column, values in accepted.items():
        if ok(column):
            out.append(gxe.ExpectColumnValuesToBeInSet(column=column, value_set=list(values)))
    for larger, smaller in spec.at_least:
        if ok(larger, smaller):
            out.append(
                gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                    column_A=larger,
                    column_B=smaller,
                    or_equal=True,
                    ignore_row_if="either_value_is_missing",
                )
            )
    return out


def expectation_name(expectation_type: str, kwargs: Mapping[str, Any]) -> str:
    """`expect_column_values_to_be_between(calls)`: the type and the columns it is about."""
    columns = [
        *([kwargs["column"]] if kwargs.get("column") else []),
        *(kwargs.get("column_list") or []),
        *(kwargs[k] for k in ("column_A", "column_B") if kwargs.get(k)),
    ]
    return f"{expectation_type}({', '.join(map(str, columns))})" if columns else expectation_type


def existing_marts(settings: LakehouseSettings) -> set[str]:
    """Tables and views in the warehouse's marts schema (none when there is no warehouse)."""
    if not settings.warehouse_path.exists():
        return set()
    with connect(settings, read_only=True, lake=False) as conn:
        rows = conn.execute(
            "select table_name from information_schema.tables where table_schema = ?",
            [MARTS_SCHEMA],
        ).fetchall()
    return {name for (name,) in rows}


def read_mart(settings: LakehouseSettings, table: str) -> pd.DataFrame:
    with connect(settings, read_only=True, lake=False) as conn:
        return conn.execute(f'select * from {MARTS_SCHEMA}."{table}"').df()


def _context(docs_dir: Path | None) -> AbstractDataContext:
    """An in-memory Data Context, with one Data Docs site in `docs_dir` when given."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    sites: dict[str, Any] = {}
    if docs_dir is not None:
        sites[DOCS_SITE] = {
            "class_name": "SiteBuilder",
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            "store_backend": {
                "class_name": "TupleFilesystemStoreBackend",
                "base_directory": str(docs_dir),
            },
        }
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        data_docs_sites=sites,
        progress_bars=ProgressBarsConfig(globally=False),
        analytics_enabled=False,
    )
    return gx.get_context(project_config=config, mode="ephemeral")


def _validate_frame(
    context: AbstractDataContext, table: str, spec: MartSpec, frame: pd.DataFrame
) -> TableResult:
    """Run the mart's suite on its rows through a Checkpoint; the result lands in the
    context's validation store, where the Data Docs read it."""
    import great_expectations as gx
    from great_expectations.core.run_identifier import RunIdentifier

    source = context.data_sources.add_pandas(name=table)
    batch = source.add_dataframe_asset(name=table).add_batch_definition_whole_dataframe("all")
    suite = context.suites.add(gx.ExpectationSuite(name=f"{MARTS_SCHEMA}.{table}"))
    for expectation in suite_expectations(spec, present=[str(c) for c in frame.columns]):
        suite.add_expectation(expectation)
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=f"{MARTS_SCHEMA}.{table}", data=batch, suite=suite)
    )
    checkpoint = context.checkpoints.add(
        gx.Checkpoint(
            name=f"{MARTS_SCHEMA}.{table}",
            validation_definitions=[definition],
            result_format="SUMMARY",
        )
    )
    outcome = checkpoint.run(
        batch_parameters={"dataframe": frame}, run_id=RunIdentifier(run_name=RUN_NAME)
    )
    (validation,) = outcome.run_results.values()
    failed: list[str] = []
    details: list[str] = []
    for result in validation.results:
        if result.success:
            continue
        config = result.expectation_config
        name = expectation_name(config.type, config.kwargs) if config else "unknown expectation"
        failed.append(name)
        details.append(f"{name}: {_why(result.result, result.exception_info)}")
    return TableResult(
        table=table,
        success=bool(validation.success),
        rows=len(frame),
        evaluated=int(validation.statistics["evaluated_expectations"]),
        failed=failed,
        details=details,
    )


def _why(result: Mapping[str, Any], exception: Mapping[str, Any] | None) -> str:
    if exception and exception.get("raised_exception"):
        return f"raised {exception.get('exception_message')}"
    missing = (result.get("details") or {}).get("mismatched", {}).get("missing")
    if missing:
        return f"missing columns {sorted(missing)}"
    if "unexpected_count" in result:
        sample = list(result.get("partial_unexpected_list") or [])[:5]
        return f"{result['unexpected_count']} unexpected of {result.get('element_count')} rows" + (
            f", e.g. {sample}" if sample else ""
        )
    if "observed_value" in result:
        return f"observed {result['observed_value']}"
    if result.get("details"):
        return str(result["details"])
    return "failed"


def validate_marts(
    settings: LakehouseSettings,
    docs_dir: Path | None,
    tables: Iterable[str] | None = None,
    specs: Mapping[str, MartSpec] = MART_SPECS,
) -> QualityReport:
    """Validate each mart of `specs` (or only `tables`) that the warehouse holds; build the
    Data Docs site (static HTML, `index.html`) into `docs_dir` unless it is None."""
    wanted = list(specs if tables is None else tables)
    present = existing_marts(settings)
    skipped = [t for t in wanted if t not in present]
    for table in skipped:
        log.info("quality: %s.%s is not in the warehouse yet; skipped", MARTS_SCHEMA, table)
    context = _context(docs_dir)
    results = [
        _validate_frame(context, table, specs[table], read_mart(settings, table))
        for table in wanted
        if table in present
    ]
    index: Path | None = None
    if docs_dir is not None:
        docs_dir.mkdir(parents=True, exist_ok=True)
        for entry in _SITE_ENTRIES:
            path = docs_dir / entry
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
        context.build_data_docs(site_names=[DOCS_SITE])
        index = docs_dir / "index.html"
    return QualityReport(tables=results, skipped=skipped, docs_index=index)


def validate_mart(settings: LakehouseSettings, table: str) -> TableResult | None:
    """One mart's suite, no Data Docs; None when the warehouse does not hold the mart."""
    report = validate_marts(settings, None, tables=[table])
    return report.tables[0] if report.tables else None
