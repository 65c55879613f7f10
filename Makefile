# Vigie: the commands a developer and CI use. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help
NPM ?= npm

.PHONY: help setup install build check test postgres bench demo clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

setup: install build ## install everything (idempotent) and build

install: ## Debian packages (only missing ones) and npm ci (only when the lockfile changed)
	bash scripts/setup.sh

build: install ## compile TypeScript to dist/ (the `vigie` command)
	$(NPM) run --silent build

check: install ## format check, lint, typecheck
	$(NPM) run --silent format:check
	$(NPM) run --silent lint
	$(NPM) run --silent typecheck

test: install postgres ## run every test; ends with "N passed, N failed"
	bash test/run.sh

# The register's PostgreSQL tests and bench need it on 127.0.0.1 (idempotent: running → nothing).
# Not started (not root): its tests skip locally, and fail under CI.
postgres: install ## start the test PostgreSQL on 127.0.0.1 (scripts/postgres.sh)
	bash scripts/postgres.sh >/dev/null || echo "make: PostgreSQL not started" >&2

bench: install postgres ## run the benchmarks in bench/ (ratios against ../shared/ANCHORS.md)
	bash bench/run.sh

demo: setup ## the whole system on one machine with simulated cameras
	bash scripts/demo.sh

clean: ## remove build and test output
	rm -rf dist .tap
