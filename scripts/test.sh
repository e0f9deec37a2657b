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
# No `|| true` here: any pytest failure, including exit code 5 (no tests collected), fails.
python -m pytest "$@"
