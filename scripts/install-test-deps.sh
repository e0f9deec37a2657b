#!/usr/bin/env bash
# Install everything the test suite needs. Idempotent: apt is only touched when one of the
# client/registry binaries is missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

need_apt=0
for bin in skopeo umoci podman docker-registry rpm rpmbuild nginx; do
    if ! command -v "$bin" >/dev/null 2>&1; then
        echo "install-test-deps: $bin is missing" >&2
        need_apt=1
    fi
done

if [[ "$need_apt" == 1 ]]; then
    SUDO=""
    if [[ "$(id -u)" != 0 ]]; then
        SUDO="sudo"
    fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update
    $SUDO apt-get install -y skopeo umoci podman docker-registry rpm nginx
fi

python -m pip install --disable-pip-version-check -q -e '.[test]'
