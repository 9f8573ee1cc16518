"""`docker compose config` accepts infra/docker-compose.yml with its secrets and refuses it without.

Uses the Compose CLI that `bash infra/install_compose.sh` builds into .lakehouse/cache/bin (no Docker
engine needed: `config` only parses, interpolates and validates).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPOSE_BIN = REPO_ROOT / ".lakehouse" / "cache" / "bin" / "docker-compose"
COMPOSE_FILE = REPO_ROOT / "infra" / "docker-compose.yml"

# Dummy values for every variable the file requires with `${VAR:?...}`.
SECRETS = {
    "MINIO_ROOT_USER": "dummy-admin",
    "MINIO_ROOT_PASSWORD": "dummy-minio-password",  # pragma: allowlist secret
    "POSTGRES_USER": "dummy-user",
    "POSTGRES_PASSWORD": "dummy-postgres-password",  # pragma: allowlist secret
    "LAKEHOUSE_S3_ACCESS_KEY": "dummy-pipeline",
    "LAKEHOUSE_S3_SECRET_KEY": "dummy-s3-secret",  # pragma: allowlist secret
    "LAKEHOUSE_PSEUDONYM_KEY": "dummy-pseudonym-key",
}
SERVICES = {
    "minio",
    "postgres",
    "dagster-webserver",
    "dagster-daemon",
    "mlflow",
    "spark-master",
    "spark-worker",
}
LOOPBACK = {"127.0.0.1", "::1"}


def compose_config(env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run `docker-compose config` on the production file with exactly `env` (plus PATH)."""
    if not COMPOSE_BIN.is_file():
        pytest.fail(
            f"Docker Compose CLI not found at {COMPOSE_BIN}: run `bash infra/install_compose.sh`",
            pytrace=False,
        )
    empty_env_file = tmp_path / "empty.env"  # keep a local infra/.env out of the check
    empty_env_file.write_text("")
    return subprocess.run(
        [
            str(COMPOSE_BIN),
            "-f",
            str(COMPOSE_FILE),
            "--env-file",
            str(empty_env_file),
            "config",
            "--format",
            "json",
        ],
        env={"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), **env},
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_config_is_valid_with_secrets_and_publishes_only_on_loopback(tmp_path: Path) -> None:
    result = compose_config(SECRETS, tmp_path)
    assert result.returncode == 0, result.stderr

    services = json.loads(result.stdout)["services"]
    missing = SERVICES - services.keys()
    assert not missing, f"services missing from the deployment: {sorted(missing)}"

    published = {
        (name, port["published"], port.get("host_ip", ""))
        for name, service in services.items()
        for port in service.get("ports", [])
    }
    exposed = {entry for entry in published if entry[2] not in LOOPBACK}
    assert not exposed, f"ports published beyond loopback (service, port, host_ip): {exposed}"
    ports = {port for _, port, _ in published}
    assert {"3000", "5000"} <= ports, f"Dagster (3000) or MLflow (5000) not published: {ports}"


@pytest.mark.parametrize("missing", sorted(SECRETS))
def test_config_fails_when_a_secret_is_missing(missing: str, tmp_path: Path) -> None:
    env = {name: value for name, value in SECRETS.items() if name != missing}
    result = compose_config(env, tmp_path)
    assert result.returncode != 0, f"config accepted the file without {missing}"
    assert f"required variable {missing} is missing a value" in result.stderr, result.stderr
