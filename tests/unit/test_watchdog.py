"""CI's limit on the test suite: past it, the tests in flight and the processes' stacks are
printed and the whole process group stopped, before CI's own limit cuts the output."""

import os
import subprocess
import sys
import time
from pathlib import Path

from infra.watchdog import FLIGHT_ENV, TIMED_OUT, in_flight


def test_in_flight_lists_the_tests_started_and_not_finished(tmp_path: Path) -> None:
    log = tmp_path / "flight.log"
    log.write_text(
        "start 100.0 tests/a.py::test_one\n"
        "start 101.0 tests/b.py::test_two\n"
        "finish 140.0 tests/a.py::test_one\n"
        "start 150.0 tests/a.py::test_three\n"
    )
    assert in_flight(log, now=200.0) == [
        "     99 s  tests/b.py::test_two",
        "     50 s  tests/a.py::test_three",
    ]
    assert in_flight(tmp_path / "missing.log", now=200.0) == []


def watchdog(tmp_path: Path, limit: float, script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "infra.watchdog", "--limit", str(limit)]
        + ["--flight", str(tmp_path / "flight.log"), "--", sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).parents[2],
    )


def test_a_command_within_its_limit_keeps_its_status(tmp_path: Path) -> None:
    done = watchdog(tmp_path, 60, "import sys; sys.exit(3)")
    assert done.returncode == 3
    assert "watchdog" not in done.stdout


def test_a_command_past_its_limit_is_reported_and_stopped_with_its_children(
    tmp_path: Path,
) -> None:
    # A "suite" that logs a test as started, starts a child that would outlive it, and hangs.
    pid_file = tmp_path / "child.pid"
    script = (
        "import os, subprocess, sys, time\n"
        f"open(os.environ[{FLIGHT_ENV!r}], 'a').write('start 1.0 tests/x.py::test_hangs\\n')\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
        f"open({str(pid_file)!r}, 'w').write(str(child.pid))\n"
        "time.sleep(600)\n"
    )
    started = time.monotonic()
    done = watchdog(tmp_path, 5, script)
    assert done.returncode == TIMED_OUT
    assert time.monotonic() - started < 90
    tail = done.stdout.strip().splitlines()
    assert "stopped after 5 s; in flight:" in tail[-2]
    assert tail[-1].endswith("s  tests/x.py::test_hangs")
    assert "=== pid " in done.stdout  # each Python process of the group named (and dumped)
    child = int(pid_file.read_text())
    for _ in range(50):  # the SIGTERM reaches it at once; reaping may take a moment
        if not Path(f"/proc/{child}").exists() or "Z" in _state(child):
            break
        time.sleep(0.1)
    else:
        os.kill(child, 9)
        raise AssertionError("the suite's child outlived the watchdog")


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return "Z"
