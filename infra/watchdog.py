"""Run a command with a time limit, and say what it was doing when the limit came.

CI gives the whole of `.ci/run` a fixed time and keeps only the end of its output: a test suite
that hangs (a deadlock in native code, out of reach of pytest-timeout's signal) or crawls on a
busy host is killed from outside, and the end of its output says nothing of where it was.

`python -m infra.watchdog --limit S --flight F -- make test` runs the command in its own process
group and, if it is still running after S seconds, prints the Python stacks of every process of
the group (py-spy, native frames included), stops the group, and prints last the tests that were
in flight (from the log the suite's `conftest.py` keeps at F: `LAKEHOUSE_TEST_FLIGHT_LOG`), all
before the outside limit, then exits with 124. Otherwise it exits with the command's status.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

FLIGHT_ENV = "LAKEHOUSE_TEST_FLIGHT_LOG"
TIMED_OUT = 124


def in_flight(log: Path, now: float) -> list[str]:
    """The tests the flight log shows started and not finished, each with its time so far.

    The log has a line `start <epoch> <nodeid>` or `finish <epoch> <nodeid>` per event."""
    started: dict[str, float] = {}
    if log.exists():
        for line in log.read_text(errors="replace").splitlines():
            event, _, rest = line.partition(" ")
            stamp, _, nodeid = rest.partition(" ")
            if event == "start":
                started[nodeid] = float(stamp)
            elif event == "finish":
                started.pop(nodeid, None)
    return [
        f"{now - t:7.0f} s  {nodeid}" for nodeid, t in sorted(started.items(), key=lambda x: x[1])
    ]


def group_processes(pgid: int) -> list[tuple[int, str]]:
    """The processes of a process group, with their command lines. Servers the suite started
    in sessions of their own (MinIO, MLflow) are not among them: their fixtures stop them."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.getpgid(int(entry.name)) != pgid:
                continue
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (ProcessLookupError, PermissionError, FileNotFoundError):
            continue
        found.append((int(entry.name), command.strip()))
    return sorted(found)


DUMP_BUDGET_S = 60.0  # for all the stacks: `.ci/run` leaves the report 150 s before CI stops it


def dump_stacks(pgid: int) -> None:
    """The Python stacks (native frames too) of every Python process of the group, within
    `DUMP_BUDGET_S` in all; a process py-spy cannot read in time is named and passed over."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    deadline = time.monotonic() + DUMP_BUDGET_S
    for pid, command in group_processes(pgid):
        if "python" not in command:
            continue
        print(f"\n=== pid {pid}: {command[:200]} ===", flush=True)
        left = deadline - time.monotonic()
        if not Path(spy).exists() or left <= 0:
            continue
        try:
            subprocess.run(
                [spy, "dump", "--native", "--pid", str(pid)], timeout=min(30.0, left), check=False
            )
        except (subprocess.TimeoutExpired, OSError) as error:
            print(f"(no stack: {error})", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=float, required=True, help="seconds")
    parser.add_argument("--flight", type=Path, help="the test flight log to keep and report")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    env = dict(os.environ)
    if args.flight:
        args.flight.parent.mkdir(parents=True, exist_ok=True)
        args.flight.write_text("")
        env[FLIGHT_ENV] = str(args.flight.resolve())
    process = subprocess.Popen(command, env=env, start_new_session=True)
    try:
        return process.wait(timeout=args.limit)
    except subprocess.TimeoutExpired:
        print(f"\n=== watchdog: still running after {args.limit:.0f} s ===", flush=True)
        flying = in_flight(args.flight, time.time()) if args.flight else []
        dump_stacks(process.pid)
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        # Last, where a tail of the output shows it.
        print(f"\n=== watchdog: `{' '.join(command)}` stopped after {args.limit:.0f} s; in flight:")
        print("\n".join(flying) or "(no test)", flush=True)
        return TIMED_OUT


if __name__ == "__main__":
    sys.exit(main())
