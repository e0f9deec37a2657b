#!/usr/bin/env bash
# `make conformance`: the official OCI distribution-spec conformance suite (v1.1.1) against a
# fresh Dockyard in its default, secure configuration.
#
# The server gets a throwaway data directory, a free port and a root access key chosen here;
# the two repositories the suite pushes to are created through the ECR API, and the suite logs
# in with a password from GetAuthorizationToken, as a user of `aws ecr get-login-password`
# would. Exit status: the suite's (0 only when nothing failed); 0 with a "skipped" line when
# the suite is not installed.
#
# Environment: OCI_CONFORMANCE_DIR, the suite's folder (default ../shared/tools/oci-conformance,
# beside the checkout); PYTHON (default python); anything run.sh reads (OCI_RESULTS_DIR,
# OCI_DEBUG, ...) is passed through.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON=${PYTHON:-python}
suite=${OCI_CONFORMANCE_DIR:-../shared/tools/oci-conformance}
if [[ ! -x "$suite/run.sh" || ! -x "$suite/bin/conformance.test" ]]; then
    echo "conformance: skipped: the OCI conformance suite was not found in $suite" \
        "(set OCI_CONFORMANCE_DIR to its folder)"
    exit 0
fi
suite=$(cd "$suite" && pwd)

work=$(mktemp -d "${TMPDIR:-/tmp}/dockyard-conformance.XXXXXX")
server_pid=
stop_server() {
    if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap stop_server EXIT

port=$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url=http://127.0.0.1:$port
# A root key of our own (the server would otherwise make one and print it): the ECR calls
# below sign with it.
export DOCKYARD_ROOT_ACCESS_KEY_ID="AKIA$(LC_ALL=C tr -dc 'A-Z0-9' </dev/urandom | head -c 16)"
export DOCKYARD_ROOT_SECRET_ACCESS_KEY="$(LC_ALL=C tr -dc 'A-Za-z0-9' </dev/urandom | head -c 40)"

echo "conformance: starting Dockyard on $url (log: $work/server.log)"
"$PYTHON" -m dockyard serve --host 127.0.0.1 --port "$port" --data-dir "$work/data" \
    >"$work/server.log" 2>&1 &
server_pid=$!

# Wait for it, create the suite's repositories and log in, all through the ECR API.
password=$(URL=$url "$PYTHON" - <<'PY'
import base64
import os
import sys
import time

import boto3
import httpx
from botocore.config import Config

url = os.environ["URL"]
deadline = time.monotonic() + 30
while True:
    try:
        if httpx.get(f"{url}/v2/", timeout=2).status_code in (200, 401):
            break
    except httpx.HTTPError:
        pass
    if time.monotonic() > deadline:
        sys.exit(f"conformance: Dockyard did not answer on {url} within 30 s")
    time.sleep(0.1)

ecr = boto3.client(
    "ecr",
    endpoint_url=url,
    region_name="us-east-1",
    aws_access_key_id=os.environ["DOCKYARD_ROOT_ACCESS_KEY_ID"],
    aws_secret_access_key=os.environ["DOCKYARD_ROOT_SECRET_ACCESS_KEY"],
    config=Config(retries={"max_attempts": 1}),
)
for name in ("conformance/repo1", "conformance/repo2"):
    ecr.create_repository(repositoryName=name)
token = ecr.get_authorization_token()["authorizationData"][0]["authorizationToken"]
user, _, secret = base64.b64decode(token).decode().partition(":")
assert user == "AWS", user
print(secret)
PY
) || { echo "conformance: could not prepare the server; its log:" >&2; tail -30 "$work/server.log" >&2; exit 2; }

# Dockyard never mounts a blob without `from` (ECR has no automatic mount): telling the suite
# so runs its "mount without from answers 202" spec instead of skipping it.
export OCI_AUTOMATIC_CROSSMOUNT=${OCI_AUTOMATIC_CROSSMOUNT-0}
# Credentials go through the environment, not the command line (run.sh reads both).
status=0
OCI_USERNAME=AWS OCI_PASSWORD=$password "$suite/run.sh" "$url" || status=$?
if [[ $status -ne 0 ]]; then
    echo "conformance: the suite exited with $status; last lines of the server's log:" >&2
    tail -20 "$work/server.log" >&2
fi
exit "$status"
