"""MinIO users per role: BI tools read the lake's gold layer and nothing else; data scientists
read silver and gold; the pipeline writes every layer (`ROLES`, `role` command below).

The BI policy grants `s3:GetObject` on `<bucket>/<lake prefix>/gold/*` and `s3:ListBucket` on
the bucket limited to that prefix: a dashboard reads the published marts as Delta tables and can
neither see landing, bronze or silver (where pseudonymised but row-level data lives) nor write
anywhere. Creating users and policies needs MinIO admin credentials: `MINIO_ROOT_USER` /
`MINIO_ROOT_PASSWORD` when set, else the lakehouse's own `LAKEHOUSE_S3_ACCESS_KEY` /
`LAKEHOUSE_S3_SECRET_KEY` (the root user of a development MinIO, `make minio-up`).

    python -m infra.minio_policies bi-reader [--bucket lakehouse] [--user bi-reader] [--env-file F]
    python -m infra.minio_policies role pipeline|data-scientist|bi-reader [--user U] [--env-file F]

prints the access key. The secret is `LAKEHOUSE_BI_READER_SECRET_KEY` when set, else the one
in the env file from an earlier run, else a new one; it is written only to the env file
(default `<home>/minio/bi-reader.env`, mode 0600), which must be outside the repository or
git-ignored. Running it again is safe: the policy and the user are updated in place.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from minio.credentials import StaticProvider
from minio.error import MinioAdminException
from minio.minioadmin import MinioAdmin

from pipelines.settings import PROJECT_ROOT, LakehouseSettings

BI_READER = "bi-reader"
SECRET_ENV = "LAKEHOUSE_BI_READER_SECRET_KEY"  # pragma: allowlist secret (a variable name)
ACCESS_KEY_VAR = "LAKEHOUSE_BI_READER_ACCESS_KEY"
GOLD_LAYER = "gold"


@dataclass(frozen=True)
class ReaderCredentials:
    """A MinIO user that may only read one prefix of one bucket."""

    access_key: str
    secret_key: str
    policy: str
    bucket: str
    prefix: str

    def storage_options(self, settings: LakehouseSettings) -> dict[str, str]:
        """delta-rs / object_store options for reading gold with this user."""
        return {
            "AWS_ENDPOINT_URL": settings.s3_endpoint,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_REGION": settings.s3_region,
            "AWS_ALLOW_HTTP": "true" if not settings.s3_secure else "false",
        }


def gold_prefix(settings: LakehouseSettings) -> str:
    """Key prefix of the gold layer inside the lake's bucket (`gold`, or `<prefix>/gold`)."""
    root = settings.lake_uri.removeprefix("s3://").partition("/")[2].strip("/")
    return f"{root}/{GOLD_LAYER}" if root else GOLD_LAYER


def read_only_policy(bucket: str, prefix: str) -> dict[str, object]:
    """IAM policy: list and get the objects under `<bucket>/<prefix>/`, nothing else."""
    return role_policy(bucket, [prefix], write=False)


def admin_client(settings: LakehouseSettings) -> MinioAdmin:
    """A MinIO admin client for the settings' endpoint, with the root (or given admin) keys."""
    access_key = os.environ.get("MINIO_ROOT_USER") or settings.s3_access_key
    secret_key = os.environ.get("MINIO_ROOT_PASSWORD") or settings.s3_secret_key.get_secret_value()
    if not (access_key and secret_key):
        raise RuntimeError(
            "MinIO admin credentials needed: set MINIO_ROOT_USER / MINIO_ROOT_PASSWORD "
            "(or LAKEHOUSE_S3_ACCESS_KEY / LAKEHOUSE_S3_SECRET_KEY for a development MinIO)"
        )
    return MinioAdmin(
        endpoint=settings.s3_endpoint_host,
        credentials=StaticProvider(access_key, secret_key),
        region=settings.s3_region,
        secure=settings.s3_secure,
    )


def ensure_read_only_user(
    admin: MinioAdmin, user: str, secret_key: str, bucket: str, prefix: str
) -> str:
    """Create or update the policy `<user>` and the user `<user>` holding only it.

    Returns the policy's name. The policy is (re)written first, so a user that already
    exists never holds a wider grant than the one asked for.
    """
    policy = user
    _hold_only(admin, user, secret_key, read_only_policy(bucket, prefix))
    return policy


def _hold_only(admin: MinioAdmin, user: str, secret_key: str, policy: dict[str, object]) -> None:
    """(Re)write the policy named `<user>` first, then make the user hold it and nothing
    else: a user that already exists never holds a wider grant than the one asked for."""
    if len(secret_key) < 8:
        raise ValueError("MinIO secret keys have at least 8 characters")
    admin.policy_add(user, policy=policy)
    admin.user_add(user, secret_key)  # creates, or sets the secret of an existing user
    current = json.loads(admin.user_info(user)).get("policyName") or ""
    for other in [p for p in current.split(",") if p and p != user]:
        admin.detach_policy([other], user=user)
    if user not in current.split(","):
        try:
            admin.attach_policy([user], user=user)
        except MinioAdminException as error:
            if "PolicyChangeAlreadyApplied" not in str(error):  # attached meanwhile: fine
                raise


def create_bi_reader(
    settings: LakehouseSettings,
    *,
    secret_key: str,
    user: str = BI_READER,
    bucket: str | None = None,
    prefix: str | None = None,
) -> ReaderCredentials:
    """The BI user of the lake in `settings`: read-only on its gold layer."""
    bucket = bucket or settings.bucket
    prefix = prefix or gold_prefix(settings)
    policy = ensure_read_only_user(admin_client(settings), user, secret_key, bucket, prefix)
    return ReaderCredentials(user, secret_key, policy, bucket, prefix)


# -- roles ----------------------------------------------------------------------------------
# Who may do what in the lake: the pipeline writes every layer, data scientists read silver
# and gold (pseudonymised rows, marts), BI tools read gold only. Landing and bronze (the
# sources' files as delivered) are the pipeline's alone.
ROLES: dict[str, tuple[tuple[str, ...], bool]] = {  # role -> (layers, may write)
    "pipeline": (("landing", "bronze", "silver", "gold", "_locks"), True),
    "data-scientist": (("silver", "gold"), False),
    BI_READER: ((GOLD_LAYER,), False),
}


def lake_root(settings: LakehouseSettings) -> str:
    """Key prefix of the lake inside its bucket ('' when the lake is the whole bucket)."""
    return settings.lake_uri.removeprefix("s3://").partition("/")[2].strip("/")


def role_policy(bucket: str, prefixes: list[str], write: bool) -> dict[str, object]:
    """IAM policy: list and read (and, with `write`, put and delete) the objects under each
    `<bucket>/<prefix>/`, nothing else."""
    prefixes = [p.strip("/") for p in prefixes]
    actions = ["s3:GetObject", *(["s3:PutObject", "s3:DeleteObject"] if write else [])]
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["s3:ListBucket"],
                "Resource": [f"arn:aws:s3:::{bucket}"],
                "Condition": {
                    "StringLike": {"s3:prefix": [v for p in prefixes for v in (p, f"{p}/*")]}
                },
            },
            {
                "Effect": "Allow",
                "Action": actions,
                "Resource": [f"arn:aws:s3:::{bucket}/{p}/*" for p in prefixes],
            },
        ],
    }


def ensure_role_user(
    settings: LakehouseSettings, role: str, secret_key: str, user: str | None = None
) -> ReaderCredentials:
    """Create or update the user of a role (`ROLES`) on the settings' lake, holding only the
    role's policy (re-running narrows a user that held more)."""
    layers, write = ROLES[role]
    user = user or role
    root = lake_root(settings)
    # Table locks (`pipelines.lake.locks`) live at the bucket's root, whatever the lake's prefix.
    prefixes = [f"{root}/{layer}" if root and layer != "_locks" else layer for layer in layers]
    _hold_only(
        admin_client(settings), user, secret_key, role_policy(settings.bucket, prefixes, write)
    )
    return ReaderCredentials(user, secret_key, user, settings.bucket, ",".join(prefixes))


# -- the env file ----------------------------------------------------------------------------
def _read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            match = re.match(r"\s*(?:export\s+)?([A-Z0-9_]+)=(.*)$", line)
            if match:
                parts = shlex.split(match.group(2))
                values[match.group(1)] = parts[0] if parts else ""
    return values


def _check_not_committable(path: Path) -> None:
    """Refuse an env file that git would pick up: inside the repository and not ignored."""
    resolved = path.resolve()
    if not resolved.is_relative_to(PROJECT_ROOT):
        return
    ignored = subprocess.run(
        ["git", "-C", str(PROJECT_ROOT), "check-ignore", "-q", str(resolved)],
        capture_output=True,
    )
    if ignored.returncode != 0:
        raise SystemExit(
            f"refusing to write a secret to {path}: it is inside the repository and not "
            "git-ignored; pick a path under .lakehouse/ or outside the checkout"
        )


def _write_env_file(path: Path, values: dict[str, str]) -> None:
    _check_not_committable(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text("".join(f"export {k}={shlex.quote(v)}\n" for k, v in values.items()))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m infra.minio_policies", description=__doc__.split("\n\n")[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    reader = commands.add_parser(BI_READER, help="create or update the read-only gold user")
    reader.add_argument("--bucket", default="", help="default: the bucket of LAKEHOUSE_LAKE_URI")
    reader.add_argument("--prefix", default="", help="key prefix to grant; default <lake>/gold")
    reader.add_argument("--user", default=BI_READER, help="access key of the user")
    reader.add_argument("--env-file", type=Path, default=None)
    role = commands.add_parser("role", help="create or update the user of a role (ROLES)")
    role.add_argument("name", choices=sorted(ROLES))
    role.add_argument("--user", default="", help="access key of the user; default the role")
    role.add_argument("--env-file", type=Path, default=None)
    args = parser.parse_args(argv)

    settings = LakehouseSettings()
    if args.command == "role":
        return _role_command(settings, args.name, args.user or args.name, args.env_file)
    bucket = args.bucket or (settings.bucket if settings.is_s3 else "")
    if not bucket:
        parser.error("--bucket is needed when LAKEHOUSE_LAKE_URI is not an s3:// lake")
    prefix = args.prefix.strip("/") or (gold_prefix(settings) if settings.is_s3 else GOLD_LAYER)
    env_file: Path = args.env_file or settings.home / "minio" / f"{args.user}.env"
    _check_not_committable(env_file)
    secret_key = (
        os.environ.get(SECRET_ENV)
        or _read_env_file(env_file).get(SECRET_ENV)
        or secrets.token_urlsafe(24)
    )
    credentials = create_bi_reader(
        settings, secret_key=secret_key, user=args.user, bucket=bucket, prefix=prefix
    )
    _write_env_file(
        env_file,
        {
            ACCESS_KEY_VAR: credentials.access_key,
            SECRET_ENV: credentials.secret_key,
            "LAKEHOUSE_S3_ENDPOINT": settings.s3_endpoint,
            "LAKEHOUSE_GOLD_URI": f"s3://{bucket}/{prefix}",
        },
    )
    print(credentials.access_key)
    print(
        f"policy {credentials.policy}: read-only s3://{bucket}/{prefix}/; secret in {env_file}",
        file=sys.stderr,
    )
    return 0


def _role_command(settings: LakehouseSettings, role: str, user: str, env_file: Path | None) -> int:
    """Create or update a role's user; its credentials go to a 0600 env file that makes the
    lakehouse's settings (and anything reading `LAKEHOUSE_S3_*`) act as that user."""
    if not settings.is_s3:
        raise SystemExit("roles are MinIO users: set LAKEHOUSE_LAKE_URI=s3://... first")
    env_file = env_file or settings.home / "minio" / f"{user}.env"
    _check_not_committable(env_file)
    secret_var = f"LAKEHOUSE_{role.upper().replace('-', '_')}_SECRET_KEY"
    secret_key = (
        os.environ.get(secret_var)
        or _read_env_file(env_file).get("LAKEHOUSE_S3_SECRET_KEY")
        or secrets.token_urlsafe(24)
    )
    credentials = ensure_role_user(settings, role, secret_key, user)
    _write_env_file(
        env_file,
        {
            "LAKEHOUSE_LAKE_URI": settings.lake_uri,
            "LAKEHOUSE_S3_ENDPOINT": settings.s3_endpoint,
            "LAKEHOUSE_S3_ACCESS_KEY": credentials.access_key,
            "LAKEHOUSE_S3_SECRET_KEY": credentials.secret_key,
        },
    )
    layers, write = ROLES[role]
    print(credentials.access_key)
    print(
        f"role {role}: {'read-write' if write else 'read-only'} {', '.join(layers)}; "
        f"credentials in {env_file}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
