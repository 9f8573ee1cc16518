"""dbt models as Dagster assets (dagster-dbt), and the checks that guard the marts."""

import os
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date
from functools import cached_property
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets
from packaging import version

from orchestration.dbt_cli import dbt_executable, installed_dbt
from orchestration.partitions import WAREHOUSE_POOL, daily_partitions, partition_days, single_run
from orchestration.resources import LakehouseResource
from pipelines.settings import PROJECT_ROOT, LakehouseSettings
from pipelines.warehouse import connect

DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)

PARTIAL_PARSE = "partial_parse.msgpack"

AMBULANCE_MART = dg.AssetKey(["marts", "fct_ambulance_calls_daily"])


class LayeredTranslator(DagsterDbtTranslator):
    """Asset keys named for the layer a model lives in: staging/..., marts/..., reference/..."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return super().get_asset_key(dbt_resource_props)
        schema = dbt_resource_props["config"].get("schema") or "main"
        return dg.AssetKey([schema, dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return "ml" if dbt_resource_props["config"].get("schema") == "ml" else "marts"


_venv_dbt = installed_dbt()
DBT_EXECUTABLE = dbt_executable()


class LakehouseDbtCliResource(DbtCliResource):
    """dagster-dbt's dbt CLI resource, without its `dbt --version` before each build's dbt.

    The resource asks the executable for its version once per instance, and Dagster gives
    every dbt step an instance of its own (in a process of its own under the multiprocess
    executor): ~3.4 s of importing dbt (and a look at PyPI for a newer release) before each
    build starts. The dbt beside this interpreter (`lakehouse-dbt` or `dbt`) is the dbt-core
    installed in this environment, so its version is read from the package's metadata; any
    other executable is still asked.
    """

    @cached_property
    def _cli_version(self) -> version.Version:
        if Path(self.dbt_executable) == _venv_dbt:
            return version.parse(package_version("dbt-core"))
        return super()._cli_version


def parse_dbt_project() -> Path:
    """Write the dbt manifest the asset graph is built from; returns its path."""
    subprocess.run(
        [
            DBT_EXECUTABLE,
            "parse",
            "--quiet",
            "--project-dir",
            os.fspath(DBT_PROJECT_DIR),
            "--profiles-dir",
            os.fspath(DBT_PROJECT_DIR),
        ],
        check=True,
        cwd=DBT_PROJECT_DIR,
    )
    return dbt_project.manifest_path


DBT_SOURCE_FOLDERS = ("models", "seeds", "tests", "macros")


def manifest_is_stale() -> bool:
    """No manifest yet (a fresh clone), or a model, seed, test or macro changed after it."""
    manifest = dbt_project.manifest_path
    if not manifest.exists():
        return True
    built = manifest.stat().st_mtime
    files = [DBT_PROJECT_DIR / "dbt_project.yml"]
    for folder in DBT_SOURCE_FOLDERS:
        files += [f for f in (DBT_PROJECT_DIR / folder).rglob("*") if f.is_file()]
    # A manifest older than the project would build assets the graph does not know.
    return any(f.stat().st_mtime > built for f in files)


def ensure_manifest() -> None:
    """Parse the dbt project when its manifest is missing or older than the project."""
    if manifest_is_stale():
        parse_dbt_project()


ensure_manifest()


# The ML jobs read the marts and write gold tables that the `ml` models read back, so those
# models are a second dbt asset, built after the jobs: one op cannot sit on both sides of them.
# (A tag, not `path:`: dbt resolves paths against the working directory.)
ML_MODELS = "tag:ml"


def _dbt_build(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, lakehouse: LakehouseResource
):  # type: ignore[no-untyped-def]
    settings = lakehouse.settings()
    settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    days = partition_days(context)
    context.log.info(f"dbt build for {days[0]}..{days[-1]}")
    # Cautious: a subset run (one source's models) skips tests of models it does not build.
    args = ["build", "--indirect-selection", "cautious"]
    # The dbt process takes its environment when it starts.
    target = dbt_target(settings, f"{context.op_def.name}-{context.run_id[:8]}")
    with _environment(dbt_environment(settings, days[0], days[-1])):
        invocation = dbt.cli(args, context=context, target_path=target)
    yield from invocation.stream()
    keep_partial_parse(invocation.target_path)


# dbt invocations whose target folder (compiled SQL, artifacts, debug log) a home keeps.
KEPT_DBT_TARGETS = 10


def dbt_target(settings: LakehouseSettings, name: str, keep: int = KEPT_DBT_TARGETS) -> Path:
    """The target folder of a dbt invocation of this home's run: `<home>/dbt/<name>`.

    dagster-dbt's default is a new folder under the project's own `target/` for every
    invocation (~8 MB: the compiled SQL, `manifest.json`, `run_results.json`, dbt's debug log),
    never removed: in the code's folder, shared by every home, growing by two a day under the
    schedule. Here each home keeps its latest `keep` (the one about to run included), so a
    failed build's log, which the step's error names, is still there to read.
    """
    root = settings.home / "dbt"
    root.mkdir(parents=True, exist_ok=True)
    earlier = []
    for folder in root.iterdir():
        try:
            if folder.is_dir() and folder.name != name:
                earlier.append((folder.stat().st_mtime, folder))
        except FileNotFoundError:  # removed by another run's pruning meanwhile
            continue
    earlier.sort()
    for _, stale in earlier[: max(len(earlier) - (keep - 1), 0)]:
        shutil.rmtree(stale, ignore_errors=True)
    return root / name


def dbt_environment(settings: LakehouseSettings, first: date, last: date) -> dict[str, str]:
    """What a dbt build reads from its environment: this run's lake and warehouse (the
    profile's path and the sources' `external_location`s) and the window of days it builds."""
    return settings.location_env() | {
        "LAKEHOUSE_DBT_MIN_DATE": first.isoformat(),
        "LAKEHOUSE_DBT_MAX_DATE": last.isoformat(),
    }


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    before = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def keep_partial_parse(invocation_target: Path) -> None:
    """Keep the parse state of the invocation that just ran where the next one starts from.

    dagster-dbt gives every invocation a target folder of its own, seeded with the project's
    `target/partial_parse.msgpack`. That file is the one `dbt parse` wrote at setup, for
    another profile: left alone, every build would parse the whole project again (~7 s).
    dbt checks the state it finds and parses again whatever no longer matches.
    """
    source = Path(invocation_target) / PARTIAL_PARSE
    if not source.exists():
        return
    destination = dbt_project.project_dir / dbt_project.target_path / PARTIAL_PARSE
    staged = destination.with_name(f".{PARTIAL_PARSE}.{os.getpid()}")
    shutil.copyfile(source, staged)
    os.replace(staged, destination)  # atomic: a concurrent run reads the old or the new


@dbt_assets(
    manifest=dbt_project.manifest_path,
    dagster_dbt_translator=LayeredTranslator(),
    partitions_def=daily_partitions,
    backfill_policy=single_run,
    exclude=ML_MODELS,
    pool=WAREHOUSE_POOL,
)
def city_marts(  # type: ignore[no-untyped-def]
    context: dg.AssetExecutionContext, dbt: DbtCliResource, lakehouse: LakehouseResource
):
    yield from _dbt_build(context, dbt, lakehouse)


@dbt_assets(
    manifest=dbt_project.manifest_path,
    dagster_dbt_translator=LayeredTranslator(),
    partitions_def=daily_partitions,
    backfill_policy=single_run,
    select=ML_MODELS,
    name="ml_marts",
    pool=WAREHOUSE_POOL,
)
def ml_marts(  # type: ignore[no-untyped-def]
    context: dg.AssetExecutionContext, dbt: DbtCliResource, lakehouse: LakehouseResource
):
    yield from _dbt_build(context, dbt, lakehouse)


@dg.asset_check(
    asset=AMBULANCE_MART,
    blocking=True,
    pool=WAREHOUSE_POOL,
    description="Calls in the mart add up to the calls in silver, day by day.",
)
def ambulance_mart_reconciles_with_silver(lakehouse: LakehouseResource) -> dg.AssetCheckResult:
    settings = lakehouse.settings()
    with connect(settings, read_only=True) as conn:
        mismatches = conn.execute(
            f"""
            with silver as (
                select call_date, count(*) as calls
                from delta_scan('{settings.lake_uri}/silver/ambulance_calls')
                group by all
            ),
            mart as (
                select call_date, sum(calls) as calls from marts.fct_ambulance_calls_daily group by all
            )
            select coalesce(silver.call_date, mart.call_date) as call_date,
                   silver.calls as silver_calls, mart.calls as mart_calls
            from silver full outer join mart using (call_date)
            where silver.calls is distinct from mart.calls
            order by 1
            """
        ).fetchall()
        days, calls = conn.execute(
            "select count(distinct call_date), sum(calls) from marts.fct_ambulance_calls_daily"
        ).fetchone()
    return dg.AssetCheckResult(
        passed=not mismatches,
        metadata={
            "days_in_mart": days,
            "calls_in_mart": int(calls or 0),
            "days_not_reconciled": len(mismatches),
            "first_mismatches": dg.MetadataValue.json(
                [[str(d), s, m] for d, s, m in mismatches[:10]]
            ),
        },
    )


defs = dg.Definitions(
    assets=[city_marts, ml_marts], asset_checks=[ambulance_mart_reconciles_with_silver]
)
