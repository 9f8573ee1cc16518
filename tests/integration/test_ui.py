"""`lakehouse ui` serves the Dagster UI on loopback with the whole asset graph loaded, and a
person in a real browser (headless Chromium) sees the graph, launches a materialisation and
sees its asset check pass. Screenshots go to `.lakehouse/test-artifacts/`."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.process import free_port

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
QUERY = "{ assetNodes { assetKey { path } hasAssetChecks } }"


def graphql(port: int, query: str) -> dict:  # type: ignore[type-arg]
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())["data"]  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def dagster_ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, list[dict]]]:  # type: ignore[type-arg]
    """`lakehouse ui` (webserver and daemon) on a fresh home; its port and asset nodes."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_")}
    folder = tmp_path_factory.mktemp("ui")
    env["LAKEHOUSE_HOME"] = str(folder / "home")
    log = (folder / "ui.log").open("wb")  # a file, not a pipe: nobody reads a pipe that fills
    env["LAKEHOUSE_SIMULATION_SCALE"] = "0.02"
    ui = subprocess.Popen(
        [str(Path(sys.executable).parent / "lakehouse"), "ui", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        nodes = None
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and nodes is None:
            assert ui.poll() is None, (folder / "ui.log").read_text()[-5000:]
            try:
                nodes = graphql(port, QUERY)["assetNodes"]
            except (OSError, KeyError, TypeError):
                time.sleep(1)
        assert nodes is not None, (
            "no answer within 240 s: " + (folder / "ui.log").read_text()[-5000:]
        )
        yield port, nodes
    finally:
        os.killpg(ui.pid, signal.SIGTERM)
        ui.wait(30)
        log.close()


def test_lakehouse_ui_shows_the_asset_graph(dagster_ui: tuple[int, list[dict]]) -> None:  # type: ignore[type-arg]
    _, nodes = dagster_ui
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


def wait_for_run(port: int, run_id_prefix: str, timeout: float = 600) -> str:
    """The final status of the run whose id starts with `run_id_prefix` (as the UI shows it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = graphql(
            port, "{ runsOrError(limit: 20) { ... on Runs { results { runId status } } } }"
        )
        status = next(
            (
                r["status"]
                for r in runs["runsOrError"]["results"]
                if r["runId"].startswith(run_id_prefix)
            ),
            None,
        )
        if status in {"SUCCESS", "FAILURE", "CANCELED"}:
            return str(status)
        time.sleep(2)
    raise AssertionError(f"run {run_id_prefix} did not finish within {timeout} s")


def launch_from_ui(page, base: str, asset: str, day: str) -> str:  # type: ignore[no-untyped-def]
    """Open an asset's page, press Materialize, pick one day and launch: the run id shown."""
    page.goto(f"{base}/assets/{asset}")
    page.get_by_role("button", name="Materialize…").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("Show all partitions").click()
    box = dialog.locator("input").first
    box.fill(day)
    box.press("Enter")
    dialog.get_by_text("1 partition", exact=True).wait_for()
    dialog.get_by_role("button", name="Launch 1 run").click()
    toast = page.get_by_text("Launched run")
    toast.wait_for()
    return toast.inner_text().split()[-1]


def test_a_person_materialises_an_asset_in_the_browser_and_sees_its_check_pass(
    dagster_ui: tuple[int, list[dict]],
    browser_page,
    artifacts: Path,  # type: ignore[type-arg,no-untyped-def]
) -> None:
    port, _ = dagster_ui
    base = f"http://127.0.0.1:{port}"
    page = browser_page
    # Dagster's first-visit "join the community" dialog pops up over whatever is open.
    page.add_locator_handler(page.get_by_role("button", name="Skip"), lambda skip: skip.click())

    # The asset graph: every source's group feeding the marts and the ML jobs, then the
    # transit group's assets one by one.
    page.goto(f"{base}/asset-groups")
    for group in ("ambulance", "fiscal", "health", "telecom", "transit", "ucs", "marts", "ml"):
        page.get_by_text(group, exact=True).first.wait_for()
    page.screenshot(path=artifacts / "1-global-lineage.png")
    page.goto(f"{base}/locations/orchestration.definitions/asset-groups/transit")
    for asset in ("gtfs_feed", "bus_stop_arrivals", "card_journeys"):
        page.get_by_text(asset, exact=True).first.wait_for()
    page.screenshot(path=artifacts / "1-transit-graph.png")

    # A day of ambulance calls, landed then ingested, each launched from the UI.
    for asset, step in (("landing/ambulance_calls", "2"), ("bronze/ambulance_calls", "3")):
        run_id = launch_from_ui(page, base, asset, "2020-03-02")
        page.screenshot(path=artifacts / f"{step}-launched-{asset.replace('/', '-')}.png")
        assert wait_for_run(port, run_id) == "SUCCESS", f"{asset}: run {run_id}"

    # The bronze check ran with the materialisation and shows as passed.
    page.goto(f"{base}/assets/bronze/ambulance_calls?view=checks")
    page.get_by_text("bronze_rows_accounted_for").first.wait_for()
    page.get_by_text("Passed").first.wait_for()
    page.screenshot(path=artifacts / "4-bronze-check-passed.png")
    page.goto(f"{base}/assets/bronze/ambulance_calls")
    page.get_by_text("rows_accepted").first.wait_for()
    page.screenshot(path=artifacts / "5-bronze-materialisation.png")
