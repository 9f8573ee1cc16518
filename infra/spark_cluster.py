"""A Spark standalone cluster on loopback: one master and N workers, from pyspark's own jars.

    python -m infra.spark_cluster start [--workers 2]   # prints LAKEHOUSE_SPARK_MASTER=...
    python -m infra.spark_cluster stop

The silver jobs run on it unchanged once `LAKEHOUSE_SPARK_MASTER` names its master. It is the
same deployment as a real cluster's (`spark-class ...Master` / `...Worker`), shrunk onto one
machine so the suite can prove that the jobs give the same tables there as on `local[*]`. The
workers read the lake where the driver does: a local lake only works because they share this
machine's disk; a cluster on other machines needs the lake on MinIO / S3.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pyspark

from infra.process import ManagedServer, ServerNotReady, free_port, stop_detached
from pipelines.settings import LakehouseSettings

SPARK_HOME = Path(pyspark.__file__).resolve().parent


def _spark_env(state_dir: Path) -> dict[str, str]:
    return {
        "SPARK_HOME": str(SPARK_HOME),
        "SPARK_LOCAL_IP": "127.0.0.1",
        "SPARK_LOG_DIR": str(state_dir / "logs"),
        "SPARK_NO_DAEMONIZE": "1",
        # Executors start Python workers for UDFs: the driver's interpreter, with its packages.
        "PYSPARK_PYTHON": sys.executable,
    }


@dataclass
class SparkStandaloneCluster:
    """A master and `workers` workers (each `worker_cores` cores, `worker_memory`) on 127.0.0.1."""

    state_dir: Path
    workers: int = 2
    worker_cores: int = 1
    worker_memory: str = "2g"
    port: int = 0
    webui_port: int = 0
    servers: list[ManagedServer] = field(default_factory=list)

    @property
    def master_url(self) -> str:
        return f"spark://127.0.0.1:{self.port}"

    @property
    def webui_url(self) -> str:
        return f"http://127.0.0.1:{self.webui_port}"

    def status(self) -> dict:  # type: ignore[type-arg]
        """The master's own JSON view: workers, running and completed applications."""
        with urllib.request.urlopen(f"{self.webui_url}/json/", timeout=5) as response:
            return json.loads(response.read())  # type: ignore[no-any-return]

    def _server(self, name: str, args: list[str], ready_url: str) -> ManagedServer:
        return ManagedServer(
            name=name,
            command=[str(SPARK_HOME / "bin" / "spark-class"), *args],
            ready_url=ready_url,
            log_path=self.state_dir / "logs" / f"{name}.log",
            env=_spark_env(self.state_dir),
        )

    def start(self, timeout_seconds: float = 90.0) -> SparkStandaloneCluster:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        self.webui_port = self.webui_port or free_port()
        master = self._server(
            "spark-master",
            [
                "org.apache.spark.deploy.master.Master",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--webui-port",
                str(self.webui_port),
            ],
            f"{self.webui_url}/json/",
        )
        self.servers.append(master.start(timeout_seconds))
        for index in range(self.workers):
            webui = free_port()
            worker = self._server(
                f"spark-worker-{index + 1}",
                [
                    "org.apache.spark.deploy.worker.Worker",
                    self.master_url,
                    "--host",
                    "127.0.0.1",
                    "--cores",
                    str(self.worker_cores),
                    "--memory",
                    self.worker_memory,
                    "--webui-port",
                    str(webui),
                    "--work-dir",
                    str(self.state_dir / f"work-{index + 1}"),
                ],
                f"http://127.0.0.1:{webui}/json/",
            )
            self.servers.append(worker.start(timeout_seconds))
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            if self.status().get("aliveworkers", 0) >= self.workers:
                return self
            time.sleep(0.5)
        self.stop()
        raise ServerNotReady(
            f"Spark master {self.master_url}: {self.workers} workers did not register in "
            f"{timeout_seconds:.0f}s; see {self.state_dir / 'logs'}"
        )

    def stop(self) -> None:
        for server in reversed(self.servers):  # workers first, then the master
            server.stop()
        self.servers.clear()

    def __enter__(self) -> SparkStandaloneCluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _state_dir() -> Path:
    return LakehouseSettings().home.resolve() / "spark-cluster"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["start", "stop"])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-cores", type=int, default=1)
    parser.add_argument("--worker-memory", default="2g")
    parser.add_argument("--port", type=int, default=7077)
    parser.add_argument("--webui-port", type=int, default=8080)
    args = parser.parse_args()
    state = _state_dir()
    if args.action == "stop":
        for name in sorted(state.glob("*.pid.json"), reverse=True):
            stop_detached(name, name.name.removesuffix(".pid.json"))
        return
    if any(state.glob("*.pid.json")):
        sys.exit(f"a cluster is already recorded in {state}; run `stop` first")
    cluster = SparkStandaloneCluster(
        state, args.workers, args.worker_cores, args.worker_memory, args.port, args.webui_port
    ).start()
    for server in cluster.servers:  # left running; `stop` ends each process group
        assert server.process is not None
        (state / f"{server.name}.pid.json").write_text(json.dumps({"pid": server.process.pid}))
    print(f"Spark master UI: {cluster.webui_url}")
    print(f"LAKEHOUSE_SPARK_MASTER={cluster.master_url}")
    os._exit(0)  # leave the children running; nothing of ours to clean up


if __name__ == "__main__":
    main()
