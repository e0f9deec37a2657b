.PHONY: test lint bench deps

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
