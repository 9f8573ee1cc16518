#!/usr/bin/env bash
# Build a pinned Docker Compose CLI from source and cache it at .lakehouse/cache/bin/docker-compose,
# so `docker compose config` can validate infra/docker-compose.yml on a machine with Go but no
# Compose plugin (and no Docker engine: `config` needs none).
#
# `go install module/cmd@version` refuses Compose because its go.mod has `exclude` directives,
# so the module source is fetched with `go mod download` and installed from inside it
# (as the main module, with its own go.sum). Re-running is a no-op once the pinned version is there.
set -euo pipefail

COMPOSE_MODULE="github.com/docker/compose/v5"
COMPOSE_VERSION="v5.6.0" # newest release whose go.mod accepts Go 1.26.8 (v5.7.0 wants 1.26.10)

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin_dir="$repo_root/.lakehouse/cache/bin"
target="$bin_dir/docker-compose"

if [[ -x "$target" ]] && [[ "$("$target" version --short 2>/dev/null)" == "${COMPOSE_VERSION#v}" ]]; then
    echo "docker-compose ${COMPOSE_VERSION} already at $target; nothing to do"
    exit 0
fi

if ! command -v go >/dev/null 2>&1; then
    echo "error: Go is needed to build Docker Compose ${COMPOSE_VERSION} (go.mod asks for go >= 1.26.8)" >&2
    exit 1
fi

start=$SECONDS
echo "[1/3] downloading ${COMPOSE_MODULE}@${COMPOSE_VERSION} source ($(go version | cut -d' ' -f3))"
src_dir="$(go mod download -json "${COMPOSE_MODULE}@${COMPOSE_VERSION}" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
if [[ -z "$src_dir" || ! -f "$src_dir/go.mod" ]]; then
    echo "error: go mod download did not return a source folder for ${COMPOSE_MODULE}@${COMPOSE_VERSION}" >&2
    exit 1
fi

echo "[2/3] building (downloads dependencies and compiles; a few minutes on a cold Go cache)"
mkdir -p "$bin_dir"
build_dir="$(mktemp -d "$bin_dir/.build.XXXXXX")"
trap 'rm -rf "$build_dir"' EXIT
(
    cd "$src_dir"
    CGO_ENABLED=0 GOBIN="$build_dir" go install -buildvcs=false -trimpath \
        -ldflags "-s -w -X ${COMPOSE_MODULE}/internal.Version=${COMPOSE_VERSION}" ./cmd
)

echo "[3/3] installing to $target"
mv -f "$build_dir/cmd" "$target"
echo "$("$target" version) ready in $((SECONDS - start))s"
