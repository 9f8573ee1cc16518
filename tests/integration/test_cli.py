"""The README's run command, as a newcomer runs it (a few days instead of three months, at its
default scale), and a backfill beside the daily run on the same lake, as the schedule would
start it."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

# Two `lakehouse run` processes at once (~5 min alone, more beside another test worker).
pytestmark = [pytest.mark.integration, pytest.mark.timeout(2400)]
ROOT = Path(__file__).resolve().parents[2]
LAKEHOUSE = str(Path(sys.executable).parent / "lakehouse")
# Steps that share one pool (`orchestration.partitions.WAREHOUSE_POOL`) must never overlap.
WAREHOUSE_STEPS = {"city_marts", "ml_marts", "gold__marts"}


def lakehouse(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [LAKEHOUSE, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
        env=env,
    )


def test_a_backfill_beside_the_daily_run_both_complete_and_docs_says_where_things_are(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dagster as dg

    from pipelines.lake import Lake
    from pipelines.settings import LakehouseSettings
    from pipelines.warehouse import connect

    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_")}
    home = tmp_path / "home"
    env["LAKEHOUSE_HOME"] = str(home)
    # Three days' backfill and the next day's run (what the 02:30 schedule launches) at once,
    # at the README's scale (`make run`'s SCALE).
    scale = ("--scale", "0.02")
    backfill = lakehouse(env, "run", "--start", "2020-03-01", "--end", "2020-03-03", *scale)
    daily = lakehouse(env, "run", "--start", "2020-03-04", "--end", "2020-03-04", *scale)
    outputs = [p.communicate(timeout=1800)[0] for p in (backfill, daily)]
    assert backfill.returncode == 0, outputs[0]
    assert daily.returncode == 0, outputs[1]
    out = outputs[0]
    assert "silver/ambulance_calls" in out.replace("\n", "")
    assert "warehouse.duckdb" in out
    assert "lakehouse ui" in out
    assert (home / "lake" / "silver" / "ambulance_calls" / "_delta_log").is_dir()

    # Both runs' days are in every layer once: no row lost, none twice.
    for key in [k for k in os.environ if k.startswith("LAKEHOUSE_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("LAKEHOUSE_HOME", str(home))
    settings = LakehouseSettings(_env_file=None)  # type: ignore[call-arg]
    lake = Lake(settings)
    bronze = lake.read("bronze", "ambulance_calls", columns=["call_id", "landing_date"])
    assert len(set(bronze["landing_date"].to_pylist())) == 4
    assert len(set(bronze["call_id"].to_pylist())) == bronze.num_rows
    silver = lake.read("silver", "ambulance_calls", columns=["call_id"])
    assert len(set(silver["call_id"].to_pylist())) == silver.num_rows
    with connect(settings, read_only=True) as conn:
        days, calls, duplicates = conn.execute(
            "select count(distinct call_date), sum(calls), "
            "count(*) - count(distinct (call_date, district_code, reason)) "
            "from marts.fct_ambulance_calls_daily"
        ).fetchone()
    assert days == 4 and calls == silver.num_rows and duplicates == 0

    # The two runs overlapped, and the warehouse's steps took turns (the concurrency pool).
    instance = dg.DagsterInstance.from_config(str(settings.dagster_home))
    runs = instance.get_runs()
    assert len(runs) == 2 and all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)
    spans = {r.run_id: instance.get_run_step_stats(r.run_id) for r in runs}
    first, second = (
        (min(s.start_time for s in st), max(s.end_time for s in st)) for st in spans.values()
    )
    assert first[0] < second[1] and second[0] < first[1], "the runs did not overlap"
    pooled = sorted(
        (s.start_time, s.end_time, run_id)
        for run_id, stats in spans.items()
        for s in stats
        if s.step_key in WAREHOUSE_STEPS
    )
    assert len(pooled) == 2 * len(WAREHOUSE_STEPS)
    for (_, end, _), (start, _, _) in zip(pooled, pooled[1:], strict=False):
        assert start >= end, f"warehouse steps overlapped: {pooled}"

    # Each dbt build's files (compiled SQL, results, dbt's log) are under the home, a folder
    # per step and run, and say every node passed.
    builds = {f"{op}-{r.run_id[:8]}" for op in ("city_marts", "ml_marts") for r in runs}
    assert {p.name for p in (home / "dbt").iterdir()} == builds
    for build in builds:
        results = json.loads((home / "dbt" / build / "run_results.json").read_text())["results"]
        assert results and {r["status"] for r in results} <= {"success", "pass"}, build

    # The README's documentation command on the lake just built: dbt docs and Data Docs.
    docs = subprocess.run(
        [LAKEHOUSE, "docs"], capture_output=True, text=True, cwd=ROOT, env=env, timeout=600
    )
    assert docs.returncode == 0, docs.stdout + docs.stderr
    assert (home / "docs" / "dbt" / "static_index.html").is_file()
    manifest = json.loads((home / "docs" / "dbt" / "manifest.json").read_text())
    lineage = manifest["child_map"]["model.almaty_lakehouse.stg_ambulance__calls"]
    assert "model.almaty_lakehouse.fct_ambulance_calls_daily" in lineage
    catalog = json.loads((home / "docs" / "dbt" / "catalog.json").read_text())
    assert "model.almaty_lakehouse.fct_route_performance_daily" in catalog["nodes"]
    assert (home / "docs" / "quality" / "index.html").is_file()
    assert "FAIL" not in docs.stdout
