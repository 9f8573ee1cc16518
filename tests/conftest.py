"""Fixtures shared by the suite: an isolated lakehouse home per test, and (for integration
tests) one real MinIO server and one Spark session per test session."""

from __future__ import annotations

import os
import time
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.watchdog import FLIGHT_ENV
from pipelines.settings import LakehouseSettings

ENV_KEYS = (
    "LAKEHOUSE_HOME",
    "LAKEHOUSE_LAKE_URI",
    "LAKEHOUSE_WAREHOUSE_PATH",
    "LAKEHOUSE_CACHE_DIR",
    "LAKEHOUSE_S3_ENDPOINT",
    "LAKEHOUSE_S3_ACCESS_KEY",
    "LAKEHOUSE_S3_SECRET_KEY",
    "LAKEHOUSE_PSEUDONYM_KEY",
    "LAKEHOUSE_SIMULATION_SCALE",
    "LAKEHOUSE_MLFLOW_TRACKING_URI",
    "LAKEHOUSE_SILVER_ENGINE",
    "LAKEHOUSE_SPARK_MASTER",
)
TEST_PSEUDONYM_KEY = "test-pseudonym-key-not-a-secret"
TEST_SCALE = 0.1

# The longest modules first (minutes alone, from CI's durations), so that `make test`, which
# runs whole modules on two workers (pytest-xdist `--dist loadfile`), overlaps them rather than
# leaving one to run on its own at the end. Of the rest, unit tests first: a broken contract
# should fail in seconds, not after Spark starts.
SLOWEST_MODULES_FIRST = (
    "integration/test_year.py",  # ~20: a ten-month run in one process
    "integration/test_dagster.py",  # ~15
    "integration/test_cli.py",  # ~6
    "integration/test_spark_cluster.py",  # ~5
    "integration/test_ui.py",  # ~4
    "integration/test_benchmark_suite.py",  # ~3
    "integration/test_faults.py",  # ~3
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        module = item.nodeid.split("::")[0]
        ranks = [i for i, m in enumerate(SLOWEST_MODULES_FIRST) if module.endswith(m)]
        return ranks[0] if ranks else len(SLOWEST_MODULES_FIRST)

    items.sort(key=lambda item: (rank(item), "integration" in item.keywords))  # stable


# `infra/watchdog.py` (CI's limit on `make test`) names the tests in flight from this log when
# the suite runs past its time: a line as each test starts and finishes, written by the process
# that reports them (xdist's controller).
FLIGHT_LOG = None if "PYTEST_XDIST_WORKER" in os.environ else os.environ.get(FLIGHT_ENV)


def _flight(event: str, nodeid: str) -> None:
    if FLIGHT_LOG:
        with open(FLIGHT_LOG, "a") as log:
            log.write(f"{event} {time.time():.1f} {nodeid}\n")


def pytest_runtest_logstart(nodeid: str, location: tuple[str, int | None, str]) -> None:
    _flight("start", nodeid)


def pytest_runtest_logfinish(nodeid: str, location: tuple[str, int | None, str]) -> None:
    _flight("finish", nodeid)


def _lakehouse_environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k.startswith("LAKEHOUSE_")}


@pytest.fixture(autouse=True)
def lakehouse_environment_restored() -> Iterator[None]:
    """Each test leaves the `LAKEHOUSE_` environment as it found it (a warning names what it
    changed). Its worker runs other tests after it, and their children inherit the
    environment: a home left there once sent a later test's lake into the repository's own."""
    before = _lakehouse_environment()
    yield
    after = _lakehouse_environment()
    if after != before:
        changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
        warnings.warn(f"a test changed {', '.join(changed)}; restored", stacklevel=1)
        for key in after.keys() - before.keys():
            del os.environ[key]
        os.environ.update(before)


def _isolated_env(monkeypatch: pytest.MonkeyPatch, home: Path, **env: str) -> LakehouseSettings:
    for key in ENV_KEYS:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("LAKEHOUSE_HOME", str(home))
    monkeypatch.setenv("LAKEHOUSE_PSEUDONYM_KEY", TEST_PSEUDONYM_KEY)
    # A tenth of Almaty: every source at a tenth of its volume (a day of bus GPS is ~230,000
    # pings instead of ~6.8 million); the full-scale day is the benchmark's job.
    monkeypatch.setenv("LAKEHOUSE_SIMULATION_SCALE", str(TEST_SCALE))
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = LakehouseSettings(_env_file=None)  # type: ignore[call-arg]
    for key, value in {
        "LAKEHOUSE_LAKE_URI": settings.lake_uri,
        "LAKEHOUSE_WAREHOUSE_PATH": str(settings.warehouse_path),
        "LAKEHOUSE_CACHE_DIR": str(settings.cache_dir),
    }.items():
        monkeypatch.setenv(key, value)
    return settings


@pytest.fixture
def local_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LakehouseSettings:
    """The embedded default (local-disk lake) in a fresh folder, exported to the environment."""
    return _isolated_env(monkeypatch, tmp_path / "home")


@pytest.fixture(scope="module")
def module_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """For a module that shares one built lake: `module_home(name, **env)` gives settings for a
    fresh home exported to the environment until the module's last test is done."""
    with pytest.MonkeyPatch.context() as monkeypatch:

        def make(name: str, **env: str) -> LakehouseSettings:
            return _isolated_env(monkeypatch, tmp_path_factory.mktemp(name) / "home", **env)

        yield make


@pytest.fixture(scope="session")
def minio_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A real MinIO server on 127.0.0.1, built from source once and cached."""
    from infra.minio import MinioServer

    cache = LakehouseSettings(_env_file=None).cache_dir  # type: ignore[call-arg]
    server = MinioServer.create(cache, tmp_path_factory.mktemp("minio") / "data")
    with server:
        yield server


@pytest.fixture
def s3_settings(
    minio_server: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> LakehouseSettings:
    """The lake on the real MinIO, in a bucket of its own, exported to the environment."""
    bucket = f"lake-{uuid.uuid4().hex[:10]}"
    env = minio_server.env(bucket)  # type: ignore[attr-defined]
    settings = _isolated_env(monkeypatch, tmp_path / "home", **env)
    from pipelines.lake import Lake

    Lake(settings).ensure_ready()
    return settings


@pytest.fixture(scope="session")
def spark_session_for_tests():  # type: ignore[no-untyped-def]
    """One Spark JVM for the whole suite; each job still builds its session from its settings."""
    from pipelines.spark import spark_session

    settings = LakehouseSettings(_env_file=None, spark_driver_memory="3g")  # type: ignore[call-arg]
    spark = spark_session(settings, app_name="lakehouse-tests")
    yield spark
    spark.stop()


@pytest.fixture
def run_days():  # type: ignore[no-untyped-def]
    """Run the `city_daily` job over a range of days (one run), with a deployment's resources."""
    import dagster as dg
    from dagster._core.storage.tags import (
        ASSET_PARTITION_RANGE_END_TAG,
        ASSET_PARTITION_RANGE_START_TAG,
    )

    from orchestration.definitions import build_definitions

    def run(
        settings: LakehouseSettings, first: str, last: str, *, ml: bool = True
    ) -> dg.ExecuteInProcessResult:
        """`ml=False` leaves out the ML jobs and what reads them (the tests that do not look at
        them: the talent matching alone embeds every new profile, a minute or more a run)."""
        definitions = build_definitions(settings)
        job = definitions.resolve_job_def("city_daily")
        selection = None
        if not ml:
            downstream_of_ml = dg.AssetSelection.groups("ml").downstream()
            selection = sorted(
                job.asset_layer.executable_asset_keys
                - downstream_of_ml.resolve(definitions.resolve_asset_graph())
            )
        return job.execute_in_process(
            instance=dg.DagsterInstance.ephemeral(),
            tags={ASSET_PARTITION_RANGE_START_TAG: first, ASSET_PARTITION_RANGE_END_TAG: last},
            asset_selection=selection,
        )

    return run


# Debian's Chromium (`make browser` installs it); Playwright drives it, no browser download.
CHROMIUM = Path(os.environ.get("LAKEHOUSE_CHROMIUM", "/usr/bin/chromium"))


@pytest.fixture
def artifacts(request: pytest.FixtureRequest) -> Path:
    """A folder kept after the test (`.lakehouse/test-artifacts/<test>/`): screenshots and the
    like, for a person to look at when a UI test fails or passes."""
    from pipelines.settings import PROJECT_ROOT

    folder = PROJECT_ROOT / ".lakehouse" / "test-artifacts" / request.node.name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def browser_page() -> Iterator[object]:
    """A page of headless Chromium, driven by Playwright."""
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: `make browser` installs Debian's chromium"
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.set_default_timeout(60_000)
        yield page
        browser.close()


os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")
