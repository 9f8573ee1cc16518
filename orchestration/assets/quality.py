"""Great Expectations suites on the marts as Dagster asset checks (non-blocking).

One check per mart of `pipelines.quality.MART_SPECS` that the dbt manifest declares in the
marts schema, all run by one step: a mart the spec names before its model exists gets no check
(Dagster refuses a check on an unknown asset). `lakehouse docs` runs the same suites over
every mart and builds Data Docs.
"""

import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import dagster as dg

from orchestration.assets.marts import dbt_project
from orchestration.partitions import WAREHOUSE_POOL
from orchestration.resources import LakehouseResource
from pipelines.quality import MART_SPECS, MARTS_SCHEMA, TableResult, validate_marts


def manifest_marts(manifest_path: Path) -> set[str]:
    """Names of the dbt models that build into the marts schema."""
    if not manifest_path.exists():
        return set()
    nodes = json.loads(manifest_path.read_text())["nodes"].values()
    return {
        node["name"]
        for node in nodes
        if node["resource_type"] == "model" and node["config"].get("schema") == MARTS_SCHEMA
    }


def gx_suite_result(table: str, result: TableResult | None) -> dg.AssetCheckResult:
    """The Dagster check result of one mart's suite (None: the warehouse lacks the mart)."""
    key = dg.AssetKey([MARTS_SCHEMA, table])
    if result is None:
        return dg.AssetCheckResult(
            asset_key=key,
            check_name="gx_suite",
            passed=False,
            metadata={"note": f"{MARTS_SCHEMA}.{table} is not in the warehouse"},
        )
    return dg.AssetCheckResult(
        asset_key=key,
        check_name="gx_suite",
        passed=result.success,
        metadata={
            "rows": result.rows,
            "expectations_evaluated": result.evaluated,
            "expectations_failed": len(result.failed),
            "failed_expectations": dg.MetadataValue.json(result.failed),
            "failures": dg.MetadataValue.md(
                "\n".join(f"- {line}" for line in result.details) or "none"
            ),
        },
    )


def gx_suites(tables: Sequence[str]) -> dg.AssetChecksDefinition:
    """Each mart's Great Expectations suite (grain unique, keys present, values in range) as
    its own `gx_suite` check, all run by one step: one claim on the warehouse's pool and one
    Great Expectations context for the marts a run selects. A step per mart waited its turn in
    the pool, each in a process of its own under the multiprocess executor."""

    @dg.multi_asset_check(
        name="gx_suites",
        specs=[
            dg.AssetCheckSpec(
                name="gx_suite",
                asset=dg.AssetKey([MARTS_SCHEMA, table]),
                blocking=False,
                description=(
                    f"Great Expectations suite on {MARTS_SCHEMA}.{table}: non-empty, grain "
                    "unique, keys not null, values in range, codes from the reference lists."
                ),
            )
            for table in tables
        ],
        can_subset=True,
        pool=WAREHOUSE_POOL,
    )
    def check(
        context: dg.AssetCheckExecutionContext, lakehouse: LakehouseResource
    ) -> Iterator[dg.AssetCheckResult]:
        selected = {key.asset_key.path[-1] for key in context.selected_asset_check_keys}
        wanted = [table for table in tables if table in selected]
        report = validate_marts(lakehouse.settings(), None, tables=wanted)
        results = {result.table: result for result in report.tables}
        for table in wanted:
            yield gx_suite_result(table, results.get(table))

    return check


CHECKED_MARTS = sorted(set(MART_SPECS) & manifest_marts(dbt_project.manifest_path))

defs = dg.Definitions(asset_checks=[gx_suites(CHECKED_MARTS)] if CHECKED_MARTS else [])
