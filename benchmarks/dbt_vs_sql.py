"""`dbt build` of every mart over a built lake beside the same compiled SQL run directly in
DuckDB: what dbt itself costs on top of the queries it sends.

    .venv/bin/python benchmarks/dbt_vs_sql.py --home HOME [--repeats 3] [--out FILE]

HOME is a lakehouse home whose lake and warehouse are built, e.g. after
`lakehouse run --start 2020-03-01 --end 2020-12-31 --scale 0.02` (a simulated year). Its
warehouse is copied twice into a scratch folder; the lake is only read.

- **dbt**: `dbt build --full-refresh` (every seed, model and test; dbt's own process start,
  its parse from the project's partial-parse state, the profile's threads), wall time.
- **compiled SQL** (the reference): `dbt compile --full-refresh` once, untimed; then in one
  DuckDB connection with the same extensions, every model's compiled SQL as
  `create or replace view|table ... as`, in dbt's dependency order, and every test's as
  `select count(*) from (...)`; the same statements dbt's adapter sends, without dbt. The seeds
  (two small CSVs) are left in place.

Both run `--repeats` times on their own copy (a full refresh replaces everything it builds),
alternating (a build, then the SQL); medians are reported, and each pair's ratio. Prints a
Markdown table and writes benchmarks/results/dbt_vs_sql.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from graphlib import TopologicalSorter
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from orchestration.dbt_cli import installed_dbt  # noqa: E402
from pipelines.settings import LakehouseSettings  # noqa: E402
from pipelines.warehouse import connect  # noqa: E402

DBT_PROJECT = ROOT / "dbt_project"
DBT = installed_dbt()  # the dbt the pipeline runs (`lakehouse-dbt`)
RESULTS = ROOT / "benchmarks" / "results" / "dbt_vs_sql.json"


def log(message: str) -> None:
    print(f"[dbt_vs_sql {time.strftime('%H:%M:%S')}] {message}", flush=True)


def dbt(
    executable: Path, args: list[str], warehouse: Path, target: Path, env: dict[str, str]
) -> float:
    """Run one dbt command on `warehouse` (its own target folder); its wall seconds."""
    target.mkdir(parents=True, exist_ok=True)
    state = DBT_PROJECT / "target" / "partial_parse.msgpack"
    if state.exists() and not (target / state.name).exists():
        shutil.copy2(state, target / state.name)  # as the Dagster asset does
    command = [str(executable.absolute()), *args, "--target-path", str(target)]
    command += ["--project-dir", str(DBT_PROJECT), "--profiles-dir", str(DBT_PROJECT)]
    began = time.perf_counter()
    done = subprocess.run(
        command,
        cwd=DBT_PROJECT,
        env={**env, "LAKEHOUSE_WAREHOUSE_PATH": str(warehouse)},
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - began
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout[-4000:]}{done.stderr}")
    return seconds


def statements(manifest: dict[str, Any]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(model id, DDL) in dependency order and (test id, query) from a compiled manifest."""
    nodes = manifest["nodes"]
    models = {k: n for k, n in nodes.items() if n["resource_type"] == "model"}
    order = TopologicalSorter(
        {k: [d for d in n["depends_on"]["nodes"] if d in models] for k, n in models.items()}
    ).static_order()
    ddl = []
    for key in order:
        node = models[key]
        kind = "view" if node["config"]["materialized"] == "view" else "table"
        if node["config"]["materialized"] not in ("view", "table", "incremental"):
            raise ValueError(f"{key}: materialisation {node['config']['materialized']}")
        schema = f'"{node["database"]}"."{node["schema"]}"'
        ddl.append(
            (
                key,
                f"create schema if not exists {schema};\n"
                f"create or replace {kind} {node['relation_name']} as (\n"
                f"{node['compiled_code']}\n)",
            )
        )
    tests = [
        (k, f"select count(*) from (\n{n['compiled_code']}\n) as dbt_internal_test")
        for k, n in nodes.items()
        if n["resource_type"] == "test"
    ]
    return ddl, tests


def run_compiled(
    settings: LakehouseSettings,
    warehouse: Path,
    ddl: list[tuple[str, str]],
    tests: list[tuple[str, str]],
) -> tuple[float, float, int]:
    """Models, then tests, in one connection: (model seconds, test seconds, failing tests)."""
    conn = connect(settings, warehouse)
    try:
        began = time.perf_counter()
        for key, sql in ddl:
            try:
                conn.execute(sql)
            except Exception as error:
                raise RuntimeError(f"{key}: {error}") from error
        built = time.perf_counter()
        failing = 0
        for _key, sql in tests:
            failures = conn.execute(sql).fetchone()
            failing += int(bool(failures and failures[0]))
        return built - began, time.perf_counter() - built, failing
    finally:
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--home", type=Path, required=True, help="a built lakehouse home")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, help="dbt's threads (default: the profile's)")
    parser.add_argument(
        "--dbt",
        type=Path,
        default=DBT,
        help=f"dbt's executable (default: {DBT.name}, the pipeline's)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    home = args.home.resolve()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("LAKEHOUSE_") or k == "LAKEHOUSE_PSEUDONYM_KEY"
    }
    env["LAKEHOUSE_HOME"] = str(home)
    os.environ.clear()
    os.environ.update(env)
    settings = LakehouseSettings(_env_file=None)  # type: ignore[call-arg]
    env |= {"LAKEHOUSE_LAKE_URI": settings.lake_uri}
    os.environ.update(env)
    source = settings.warehouse_path
    if not source.exists():
        raise SystemExit(f"no warehouse at {source}: build the lake first (lakehouse run)")

    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        copies = {}
        for side in ("dbt", "sql"):
            copies[side] = scratch / side / source.name  # same file name: same catalog name
            copies[side].parent.mkdir()
            shutil.copy2(source, copies[side])
        log(f"warehouse {source} ({source.stat().st_size / 2**20:.0f} MiB) copied twice")

        dbt(args.dbt, ["compile", "--full-refresh"], copies["sql"], scratch / "t-compile", env)
        manifest = json.loads((scratch / "t-compile" / "manifest.json").read_text())
        ddl, tests = statements(manifest)

        # Alternate: each build beside a run of its SQL, so that the machine's speed, which
        # moves by a third within minutes on a shared host, weighs on both sides of a pair.
        dbt_seconds, model_s, test_s, failing = [], [], [], 0
        for repeat in range(args.repeats):
            build = ["build", "--full-refresh"]
            build += ["--threads", str(args.threads)] if args.threads else []
            seconds = dbt(args.dbt, build, copies["dbt"], scratch / "t-build", env)
            dbt_seconds.append(seconds)
            models, checks, failing = run_compiled(settings, copies["sql"], ddl, tests)
            model_s.append(models)
            test_s.append(checks)
            log(
                f"#{repeat + 1}: dbt build --full-refresh {seconds:.1f} s, compiled SQL "
                f"{models + checks:.1f} s (models {models:.1f}, tests {checks:.1f}): "
                f"{seconds / (models + checks):.2f}x"
            )
            if failing:
                raise SystemExit(f"{failing} tests fail on the compiled SQL's tables")
        results = json.loads((scratch / "t-build" / "run_results.json").read_text())["results"]
        in_nodes = sum(r["execution_time"] for r in results)
        by_kind: dict[str, int] = {}
        for r in results:
            kind = r["unique_id"].split(".")[0]
            by_kind[kind] = by_kind.get(kind, 0) + 1

    dbt_median = statistics.median(dbt_seconds)
    profile = yaml.safe_load((DBT_PROJECT / "profiles.yml").read_text())["almaty_lakehouse"]
    threads = args.threads or profile["outputs"][profile["target"]]["threads"]
    sql_median = statistics.median(m + t for m, t in zip(model_s, test_s, strict=True))
    record = {
        "command": " ".join(["benchmarks/dbt_vs_sql.py", *sys.argv[1:]]),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"{os.sysconf('SC_PHYS_PAGES') * os.sysconf('SC_PAGE_SIZE') / 2**30:.0f} GiB, "
        f"Python {platform.python_version()}",
        "measured": time.strftime("%Y-%m-%d"),
        "home": str(home),
        "warehouse_mib": round(source.stat().st_size / 2**20),
        "repeats": args.repeats,
        "dbt_executable": args.dbt.name,
        "dbt_threads": threads,
        "dbt_nodes": by_kind,
        "models": len(ddl),
        "tests": len(tests),
        "dbt_build_s": round(dbt_median, 2),
        "dbt_build_runs_s": [round(s, 2) for s in dbt_seconds],
        "dbt_in_nodes_s": round(in_nodes, 2),
        "compiled_sql_s": round(sql_median, 2),
        "compiled_models_s": round(statistics.median(model_s), 2),
        "compiled_tests_s": round(statistics.median(test_s), 2),
        "ratio": round(dbt_median / sql_median, 2),
        "pair_ratios": [
            round(d / (m + t), 2) for d, m, t in zip(dbt_seconds, model_s, test_s, strict=True)
        ],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n")
    print(
        "\n| measure | dbt build | compiled SQL in DuckDB | ratio |\n|---|---|---|---|\n"
        f"| wall, median of {args.repeats} (s) | {dbt_median:.1f} | {sql_median:.1f} | "
        f"{record['ratio']:.2f}x |\n"
        f"| each pair, a build and then its SQL | | | "
        f"{', '.join(f'{r:.2f}x' for r in record['pair_ratios'])} |\n"
        f"| models (s) | | {record['compiled_models_s']:.1f} | |\n"
        f"| tests (s) | | {record['compiled_tests_s']:.1f} | |\n"
        f"| inside dbt's nodes, {threads} threads (s; last run) | {in_nodes:.1f} | | |\n"
        f"\nnodes: {by_kind}; {len(ddl)} models, {len(tests)} tests; results: {args.out}"
    )


if __name__ == "__main__":
    main()
