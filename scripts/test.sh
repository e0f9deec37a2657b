#!/usr/bin/env bash
# The project's test command: install deps, lint, type-check, check import layering, run pytest.
# Extra arguments are passed to pytest, e.g. `scripts/test.sh -k distribution -x`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/install-test-deps.sh

echo "== ruff check"
ruff check .
echo "== ruff format --check"
ruff format --check .
echo "== mypy"
mypy
echo "== lint-imports"
lint-imports
echo "== pytest"
# The suite starts hundreds of Python processes (servers, their workers, CLI commands):
# where the environment forbids bytecode caches, each would compile the project's
# modules again (0.2 s a process).
unset PYTHONDONTWRITEBYTECODE
# Two test processes by default: most tests wait on servers, clients and leases rather than
# compute, so a second process fills a two-core machine's idle time. Whole files go to one
# process (--dist loadfile) so a module's server starts once. DOCKYARD_TEST_WORKERS=0 runs
# in this process only (e.g. for a debugger).
workers="${DOCKYARD_TEST_WORKERS:-2}"
# No `|| true` here: any pytest failure, including exit code 5 (no tests collected), fails.
if [[ "$workers" == 0 ]]; then
    python -m pytest "$@"
else
    python -m pytest -n "$workers" --dist loadfile "$@"
fi
