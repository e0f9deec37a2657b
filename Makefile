.PHONY: test lint bench deps conformance

PYTHON ?= python

test:
	bash scripts/test.sh

deps:
	bash scripts/install-test-deps.sh

lint:
	ruff check .
	ruff format --check .
	mypy
	lint-imports

bench:
	$(PYTHON) -m bench

# The OCI distribution-spec conformance suite against a fresh Dockyard (skips when absent).
conformance:
	PYTHON=$(PYTHON) bash scripts/conformance.sh
