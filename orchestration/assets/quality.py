"""Great Expectations suites on the marts as Dagster asset checks (non-blocking).

One check per mart of `pipelines.quality.MART_SPECS` that the dbt manifest declares in the marts
schema: a mart the spec names before its model exists gets no check (Dagster refuses a check on
an unknown asset). `lakehouse docs` runs the same suites over every mart and builds Data Docs.
"""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg

from orchestration.assets.marts import dbt_project
from orchestration.partitions import WAREHOUSE_POOL
from orchestration.resources import LakehouseResource
from pipelines.quality import MART_SPECS, MARTS_SCHEMA, validate_mart


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


def gx_suite_check(table: str) -> dg.AssetChecksDefinition:
    """The mart's Great Expectations suite: grain unique, keys present, values in range."""

    @dg.asset_check(
        asset=dg.AssetKey([MARTS_SCHEMA, table]),
        name="gx_suite",
        blocking=False,
        pool=WAREHOUSE_POOL,
        description=(
            f"Great Expectations suite on {MARTS_SCHEMA}.{table}: non-empty, grain unique, "
            "keys not null, values in range, codes from the reference lists."
        ),
    )
    def check(lakehouse: LakehouseResource) -> dg.AssetCheckResult:
        result = validate_mart(lakehouse.settings(), table)
        if result is None:
            return dg.AssetCheckResult(
                passed=False,
                metadata={"note": f"{MARTS_SCHEMA}.{table} is not in the warehouse"},
            )
        return dg.AssetCheckResult(
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

    return check


CHECKED_MARTS = sorted(set(MART_SPECS) & manifest_marts(dbt_project.manifest_path))

defs = dg.Definitions(asset_checks=[gx_suite_check(table) for table in CHECKED_MARTS])
