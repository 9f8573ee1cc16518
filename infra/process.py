"""A server process started on loopback, with a bounded readiness wait and a clean stop."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerNotReady(RuntimeError):
    """A server did not answer its readiness probe in time."""


@dataclass
class ManagedServer:
    """A child process serving HTTP on 127.0.0.1, ready when `ready_url` answers 200."""

    name: str
    command: list[str]
    ready_url: str
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    def start(self, timeout_seconds: float = 60.0) -> ManagedServer:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child owns it until stop()
        self.process = subprocess.Popen(
            self.command,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **self.env},
            start_new_session=True,  # stop() signals the whole group (e.g. gunicorn workers)
        )
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerNotReady(
                    f"{self.name} exited with {self.process.returncode} before it was ready; "
                    f"see {self.log_path}:\n{self.log_tail()}"
                )
            try:
                with urllib.request.urlopen(self.ready_url, timeout=2) as response:
                    if response.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.25)
        self.stop()
        raise ServerNotReady(
            f"{self.name} not ready at {self.ready_url} after {timeout_seconds:.0f}s; see "
            f"{self.log_path}:\n{self.log_tail()}"
        )

    def stop(self, timeout_seconds: float = 20.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout_seconds)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout_seconds)

    def kill(self) -> None:
        """SIGKILL the whole group at once, as a crash or a pulled plug would (tests of faults)."""
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def log_tail(self, lines: int = 20) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def __enter__(self) -> ManagedServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def record_detached(state_file: Path, server: ManagedServer, **details: str) -> None:
    """Remember a server left running in the background, for `stop_detached`."""
    assert server.process is not None
    state_file.parent.mkdir(parents=True, exist_ok=True)
    state_file.write_text(json.dumps({"pid": server.process.pid, **details}))


def stop_detached(state_file: Path, name: str) -> None:
    """Stop a server recorded by `record_detached` (its whole process group)."""
    if not state_file.exists():
        print(f"{name} is not running (no {state_file})")
        return
    pid = json.loads(state_file.read_text())["pid"]
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    state_file.unlink()
    print(f"{name} (pid {pid}) stopped")
