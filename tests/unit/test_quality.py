"""Great Expectations suites on the marts: a real DuckDB warehouse, real GX, real Data Docs."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from pipelines.quality import MART_SPECS, MartSpec, district_codes, validate_marts
from pipelines.settings import LakehouseSettings

AMBULANCE = "fct_ambulance_calls_daily"
ROWS = """
    (date '2020-03-01', 'ALT', 'Alatau', 'fever', 3, 1, 10.5, 20.0, 1.0),
    (date '2020-03-01', 'ALM', 'Almaly', 'cardiac', 2, 2, 8.0, 12.0, 0.94),
    (date '2020-03-02', 'ALT', 'Alatau', 'fever', 1, 0, null, null, 0.33)
"""


def _warehouse(settings: LakehouseSettings, rows: str = ROWS) -> None:
    settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(settings.warehouse_path)) as conn:
        conn.execute("create schema if not exists marts")
        conn.execute(f"drop table if exists marts.{AMBULANCE}")
        conn.execute(
            f"""
            create table marts.{AMBULANCE} as select * from (values {rows}) t(
                call_date, district_code, district, reason, calls, priority_1_calls,
                median_response_min, p90_response_min, calls_per_100k
            )
            """
        )


def _insert(settings: LakehouseSettings, row: str) -> None:
    with duckdb.connect(str(settings.warehouse_path)) as conn:
        conn.execute(f"insert into marts.{AMBULANCE} values {row}")


def test_district_codes_come_from_the_seed() -> None:
    assert district_codes() == ("ALT", "ALM", "AUE", "BOS", "MED", "NAU", "TUR", "ZHE")


def test_good_mart_passes_and_docs_are_built(
    local_settings: LakehouseSettings, tmp_path: Path
) -> None:
    _warehouse(local_settings)
    docs = tmp_path / "docs" / "quality"

    report = validate_marts(local_settings, docs)

    assert report.success
    (table,) = report.tables
    assert table.table == AMBULANCE and table.rows == 3 and table.failed == []
    assert table.evaluated >= 15
    # Marts not built yet are skipped, not failed.
    assert set(report.skipped) == set(MART_SPECS) - {AMBULANCE}
    assert report.docs_index == docs / "index.html"
    index = (docs / "index.html").read_text()
    assert AMBULANCE in index
    assert list((docs / "validations").rglob("*.html"))


def test_duplicate_grain_and_out_of_range_values_fail_by_name(
    local_settings: LakehouseSettings, tmp_path: Path
) -> None:
    _warehouse(local_settings)
    # The same (call_date, district_code, reason) again, with more priority-1 calls than calls.
    _insert(local_settings, "(date '2020-03-01', 'ALT', 'Alatau', 'fever', 2, 5, 9.0, 15.0, 0.7)")
    # An unknown district, a negative rate and an unknown reason.
    _insert(local_settings, "(date '2020-03-03', 'XXX', 'Nowhere', 'boredom', 1, 0, 5, 6, -1)")

    report = validate_marts(local_settings, tmp_path / "docs")

    assert not report.success
    (table,) = report.tables
    assert set(table.failed) == {
        "expect_compound_columns_to_be_unique(call_date, district_code, reason)",
        "expect_column_pair_values_a_to_be_greater_than_b(calls, priority_1_calls)",
        "expect_column_values_to_be_in_set(district_code)",
        "expect_column_values_to_be_in_set(reason)",
        "expect_column_values_to_be_between(calls_per_100k)",
    }
    assert any("XXX" in line for line in table.details)
    assert (tmp_path / "docs" / "index.html").exists()


def test_missing_spec_columns_fail_one_expectation(
    local_settings: LakehouseSettings, tmp_path: Path
) -> None:
    _warehouse(local_settings)
    specs = {AMBULANCE: MartSpec(grain=("call_date", "district_code", "hour_local"))}

    report = validate_marts(local_settings, None, specs=specs)

    (table,) = report.tables
    assert table.failed == ["expect_table_columns_to_match_set"]
    assert "hour_local" in table.details[0]
    assert report.docs_index is None


def test_empty_mart_fails_row_count(local_settings: LakehouseSettings) -> None:
    _warehouse(local_settings)
    with duckdb.connect(str(local_settings.warehouse_path)) as conn:
        conn.execute(f"delete from marts.{AMBULANCE}")

    (table,) = validate_marts(local_settings, None, tables=[AMBULANCE]).tables

    assert "expect_table_row_count_to_be_between" in table.failed


@pytest.mark.timeout(300)
def test_dagster_asset_check_reports_the_suite(local_settings: LakehouseSettings) -> None:
    import dagster as dg

    from orchestration.assets.quality import gx_suites
    from orchestration.resources import LakehouseResource

    _warehouse(local_settings)
    _insert(local_settings, "(date '2020-03-01', 'ALT', 'Alatau', 'fever', 2, 1, 9.0, 15.0, 0.7)")
    check = gx_suites([AMBULANCE, "fct_not_built_yet"])
    lakehouse = LakehouseResource.from_settings(local_settings)

    context = dg.build_asset_check_context(resources={"lakehouse": lakehouse})
    result, missing = check(context)

    assert (missing.asset_key, missing.check_name) == (
        dg.AssetKey(["marts", "fct_not_built_yet"]),
        "gx_suite",
    )
    assert not missing.passed and "not in the warehouse" in missing.metadata["note"].value
    assert (result.asset_key, result.check_name) == (dg.AssetKey(["marts", AMBULANCE]), "gx_suite")
    assert not result.passed
    assert result.metadata["failed_expectations"].value == [
        "expect_compound_columns_to_be_unique(call_date, district_code, reason)"
    ]
    assert result.metadata["expectations_evaluated"] == dg.IntMetadataValue(17)
