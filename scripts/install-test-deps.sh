#!/usr/bin/env bash
# Install everything the test suite needs. Idempotent: apt is only touched when one of the
# client/registry binaries (or PostgreSQL's server, for the metadata tests) is missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

need_apt=0
for bin in skopeo umoci podman docker-registry rpm rpmbuild nginx; do
    if ! command -v "$bin" >/dev/null 2>&1; then
        echo "install-test-deps: $bin is missing" >&2
        need_apt=1
    fi
done
# Debian keeps PostgreSQL's server binaries off the PATH, under /usr/lib/postgresql/<version>.
if ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
    echo "install-test-deps: PostgreSQL (initdb) is missing" >&2
    need_apt=1
fi

if [[ "$need_apt" == 1 ]]; then
    SUDO=""
    if [[ "$(id -u)" != 0 ]]; then
        SUDO="sudo"
    fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update
    $SUDO apt-get install -y skopeo umoci podman docker-registry rpm nginx postgresql
fi

python -m pip install --disable-pip-version-check -q -e '.[test]'
