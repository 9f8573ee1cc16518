"""`lakehouse-dbt`, the dbt the pipeline runs: dbt's command line, with dbt's modules out of the
garbage collector's sight while it works; and where a home keeps its dbt invocations' files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from orchestration.dbt_cli import COMMAND, dbt_executable, installed_dbt
from pipelines.settings import LakehouseSettings

ROOT = Path(__file__).resolve().parents[2]


def _run(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=ROOT, timeout=120
    )


def test_the_pipeline_runs_dbt_through_the_installed_command() -> None:
    assert installed_dbt() == Path(sys.executable).parent / COMMAND
    assert dbt_executable() == os.fspath(installed_dbt())
    from orchestration.definitions import defs

    assert defs.resources["dbt"].dbt_executable == dbt_executable()


def test_dbt_runs_with_its_modules_frozen_and_the_collector_on() -> None:
    """While dbt's command runs, the objects its import made are frozen (the collector skips
    them) and the collector works for everything the command makes; dbt's own script freezes
    nothing."""
    probe = (
        "import atexit, gc, sys\n"
        "atexit.register(lambda: print('frozen', gc.get_freeze_count(), gc.isenabled(),"
        " file=sys.stderr))\n"
        "sys.argv = ['lakehouse-dbt', *sys.argv[2:]]\n"
        "if sys.argv[1:] and sys.argv[1] == 'plain':\n"
        "    from dbt.cli.main import cli\n"
        "    sys.argv.pop(1)\n"
        "    sys.exit(cli())\n"
        "from orchestration.dbt_cli import main\n"
        "main()\n"
    )
    ours = _run(probe, "-", "--help")
    assert ours.returncode == 0, ours.stderr
    assert "Usage: lakehouse-dbt" in ours.stdout and "build" in ours.stdout
    frozen, enabled = ours.stderr.split("frozen ")[1].split()[:2]
    assert int(frozen) > 100_000 and enabled == "True"

    plain = _run(probe, "-", "plain", "--help")
    assert plain.returncode == 0, plain.stderr
    assert plain.stderr.split("frozen ")[1].split()[:2] == ["0", "True"]


def test_dbt_s_exit_status_and_message_come_through() -> None:
    ours = subprocess.run([dbt_executable(), "no-such-command"], capture_output=True, text=True)
    theirs = subprocess.run(
        [Path(sys.executable).parent / "dbt", "no-such-command"], capture_output=True, text=True
    )
    assert ours.returncode == theirs.returncode == 2
    assert "No such command 'no-such-command'" in ours.stderr


def test_a_home_keeps_its_latest_dbt_invocations(tmp_path: Path) -> None:
    """Each dbt invocation's files go under the home, the latest few kept: the one about to
    run, and the earlier ones newest first, whatever their names."""
    from orchestration.assets.marts import dbt_target

    settings = LakehouseSettings(_env_file=None, home=tmp_path / "home")  # type: ignore[call-arg]
    root = tmp_path / "home" / "dbt"
    root.mkdir(parents=True)
    for age, name in enumerate(["ml_marts-c", "city_marts-b", "city_marts-a", "ml_marts-z"]):
        (root / name).mkdir()
        (root / name / "dbt.log").write_text("...")
        os.utime(root / name, (1_000_000 - age * 100, 1_000_000 - age * 100))
    (root / "city_marts-d").mkdir()  # a retry of a step reuses its folder: never removed
    os.utime(root / "city_marts-d", (1, 1))

    target = dbt_target(settings, "city_marts-d", keep=3)
    assert target == root / "city_marts-d"
    assert sorted(p.name for p in root.iterdir()) == ["city_marts-b", "city_marts-d", "ml_marts-c"]

    target = dbt_target(settings, "city_marts-e", keep=3)
    assert target == root / "city_marts-e" and not target.exists()  # dbt makes it
    assert sorted(p.name for p in root.iterdir()) == ["city_marts-b", "ml_marts-c"]
