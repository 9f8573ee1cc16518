"""The README's run command, as a newcomer runs it (a few days instead of a month)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def test_lakehouse_run_builds_the_marts_and_docs_says_where_things_are(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_")}
    env["LAKEHOUSE_HOME"] = str(tmp_path / "home")
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "lakehouse"),
            "run",
            "--start",
            "2020-03-01",
            "--end",
            "2020-03-02",
            "--scale",
            "0.05",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "silver/ambulance_calls" in out.replace("\n", "")
    assert "warehouse.duckdb" in out
    assert "lakehouse ui" in out
    assert (tmp_path / "home" / "lake" / "silver" / "ambulance_calls" / "_delta_log").is_dir()

    # The README's documentation command on the lake just built: dbt docs and Data Docs.
    docs = subprocess.run(
        [str(Path(sys.executable).parent / "lakehouse"), "docs"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=600,
    )
    assert docs.returncode == 0, docs.stdout + docs.stderr
    home = tmp_path / "home"
    assert (home / "docs" / "dbt" / "static_index.html").is_file()
    manifest = json.loads((home / "docs" / "dbt" / "manifest.json").read_text())
    lineage = manifest["child_map"]["model.almaty_lakehouse.stg_ambulance__calls"]
    assert "model.almaty_lakehouse.fct_ambulance_calls_daily" in lineage
    catalog = json.loads((home / "docs" / "dbt" / "catalog.json").read_text())
    assert "model.almaty_lakehouse.fct_route_performance_daily" in catalog["nodes"]
    assert (home / "docs" / "quality" / "index.html").is_file()
    assert "FAIL" not in docs.stdout
