"""MinIO, built from source with `go install` at a pinned version and run on loopback.

MinIO publishes no community binaries since late 2025; the community repository's last
commit is pinned below (after the final `RELEASE.2025-10-15T17-29-55Z` tag).

    python -m infra.minio install            # build once into <cache>/bin (about 4 min)
    python -m infra.minio start              # serve <home>/minio on 127.0.0.1; prints the env
    python -m infra.minio stop
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from infra.process import ManagedServer, free_port, record_detached, stop_detached
from pipelines.settings import LakehouseSettings

MINIO_MODULE = "github.com/minio/minio"
MINIO_VERSION = "v0.0.0-20260212201848-7aac2a2c5b7c"


def binary_path(cache_dir: Path) -> Path:
    return cache_dir / "bin" / f"minio-{MINIO_VERSION}"


def install(cache_dir: Path) -> Path:
    """Build the pinned MinIO server with `go install` unless it is cached already."""
    target = binary_path(cache_dir)
    if target.exists():
        return target
    go = shutil.which("go")
    if go is None:
        raise RuntimeError("Go is needed to build MinIO (https://go.dev/doc/install)")
    target.parent.mkdir(parents=True, exist_ok=True)
    print(f"building MinIO {MINIO_VERSION} with go install (a few minutes, once)", flush=True)
    with tempfile.TemporaryDirectory() as gobin:
        subprocess.run(
            [go, "install", f"{MINIO_MODULE}@{MINIO_VERSION}"],
            check=True,
            env={**os.environ, "GOBIN": gobin, "CGO_ENABLED": "0"},
        )
        shutil.move(str(Path(gobin) / "minio"), target)
    return target


@dataclass
class MinioServer:
    """A single-node MinIO on 127.0.0.1 with credentials generated for this run."""

    binary: Path
    data_dir: Path
    port: int
    access_key: str
    secret_key: str
    server: ManagedServer | None = None

    @classmethod
    def create(cls, cache_dir: Path, data_dir: Path, port: int | None = None) -> MinioServer:
        return cls(
            binary=install(cache_dir),
            data_dir=data_dir,
            port=port or free_port(),
            access_key="lakehouse-" + secrets.token_hex(4),
            secret_key=secrets.token_urlsafe(24),
        )

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_seconds: float = 60.0) -> MinioServer:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.server = ManagedServer(
            name="minio",
            command=[
                str(self.binary),
                "server",
                str(self.data_dir),
                "--address",
                f"127.0.0.1:{self.port}",
                "--console-address",
                f"127.0.0.1:{free_port()}",
                "--quiet",
            ],
            ready_url=f"{self.endpoint}/minio/health/ready",
            log_path=self.data_dir.parent / "minio.log",
            env={
                "MINIO_ROOT_USER": self.access_key,
                "MINIO_ROOT_PASSWORD": self.secret_key,
                "MINIO_BROWSER": "off",
                "MINIO_UPDATE": "off",
            },
        ).start(timeout_seconds)
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()

    def env(self, bucket: str = "lakehouse") -> dict[str, str]:
        """The settings that point the lakehouse at this server."""
        return {
            "LAKEHOUSE_LAKE_URI": f"s3://{bucket}",
            "LAKEHOUSE_S3_ENDPOINT": self.endpoint,
            "LAKEHOUSE_S3_ACCESS_KEY": self.access_key,
            "LAKEHOUSE_S3_SECRET_KEY": self.secret_key,
        }

    def __enter__(self) -> MinioServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _state_file(settings: LakehouseSettings) -> Path:
    return settings.home / "minio" / "server.json"


def main(argv: list[str]) -> int:
    settings = LakehouseSettings()
    command = argv[0] if argv else "start"
    state = _state_file(settings)
    if command == "install":
        print(install(settings.cache_dir))
        return 0
    if command == "start":
        server = MinioServer.create(settings.cache_dir, settings.home / "minio" / "data", port=9000)
        server.start()
        assert server.server is not None
        record_detached(state, server.server)
        env_file = state.with_name("minio.env")
        env = server.env()
        # A development lake on MinIO needs its own pseudonymisation key, like any S3 lake:
        # generated here beside the credentials (0600, git-ignored), never in the repository.
        env["LAKEHOUSE_PSEUDONYM_KEY"] = os.environ.get(
            "LAKEHOUSE_PSEUDONYM_KEY"
        ) or secrets.token_urlsafe(32)
        env_file.write_text("".join(f"export {k}={v}\n" for k, v in env.items()))
        env_file.chmod(0o600)
        print(f"MinIO ready at {server.endpoint}.")
        print(f"Point the lakehouse at it with:  source {env_file}")
        return 0
    if command == "stop":
        stop_detached(state, "MinIO")
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
