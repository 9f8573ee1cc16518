"""`lakehouse ui` serves the Dagster UI on loopback with the whole asset graph loaded."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from infra.process import free_port

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
QUERY = '{"query": "{ assetNodes { assetKey { path } hasAssetChecks } }"}'


def test_lakehouse_ui_shows_the_asset_graph(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_")}
    env["LAKEHOUSE_HOME"] = str(tmp_path / "home")
    ui = subprocess.Popen(
        [str(Path(sys.executable).parent / "lakehouse"), "ui", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        nodes = None
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and nodes is None:
            assert ui.poll() is None, ui.stdout.read().decode() if ui.stdout else ""
            try:
                request = urllib.request.Request(
                    f"http://127.0.0.1:{port}/graphql",
                    data=QUERY.encode(),
                    headers={"Content-Type": "application/json"},
                )
                with urllib.request.urlopen(request, timeout=5) as response:
                    nodes = json.loads(response.read())["data"]["assetNodes"]
            except (OSError, KeyError, TypeError):
                time.sleep(1)
        assert nodes is not None, "the Dagster UI did not answer within 180 s"
        keys = {"/".join(n["assetKey"]["path"]) for n in nodes}
        assert {
            "landing/ambulance_calls",
            "bronze/ambulance_calls",
            "silver/ambulance_calls",
            "staging/stg_ambulance__calls",
            "marts/fct_ambulance_calls_daily",
            "silver/pharmacy_demand_daily",
            "staging/stg_fiscal__district_daily",
            "silver/telecom_od_hourly",
            "staging/stg_telecom__district_daily",
            "silver/gtfs_feed",
            "silver/bus_stop_arrivals",
            "silver/card_journeys",
            "landing/ucs_talents",
            "silver/ucs_job_skills",
        } <= keys
        assert any(n["hasAssetChecks"] for n in nodes)
    finally:
        os.killpg(ui.pid, signal.SIGTERM)
        ui.wait(30)
