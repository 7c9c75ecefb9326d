# VibeCode — the two commands are `make dev` and `make test`; both set themselves up.
# Needs only Python >= 3.11 (and a C toolchain) on PATH: uv is installed into .tools/ with pip
# when it is missing, then `uv sync --frozen` installs the locked environment from PyPI.

SHELL := /bin/bash
PYTHON ?= python3
export UV_PYTHON_DOWNLOADS := never
export UV_COMPILE_BYTECODE := 1
export UV_PYTHON := $(shell $(PYTHON) -c 'import sys; print(sys.executable)')
UV := $(or $(shell command -v uv 2>/dev/null),$(CURDIR)/.tools/bin/uv)
RUN := $(UV) run --frozen --no-sync
VIBE_HOST ?= 127.0.0.1
VIBE_PORT ?= 8000
export VIBE_HOST VIBE_PORT

.PHONY: clamd help bootstrap browser checkov code-server dev samples test test-fast lint docs format bench loadtest soak clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

$(CURDIR)/.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/python -m pip install --quiet "uv>=0.13,<0.14"

.venv/.synced: uv.lock pyproject.toml $(wildcard */pyproject.toml services/*/pyproject.toml) | $(UV)
	$(UV) sync --frozen --all-packages
	@touch $@

bootstrap: .venv/.synced  ## install uv (if missing) and the locked environment

CODE_SERVER_VERSION ?= 4.99.4
CODE_SERVER_BIN := $(CURDIR)/.tools/code-server/node_modules/.bin/code-server
export VIBE_CODE_SERVER_BIN ?= $(CODE_SERVER_BIN)

CHECKOV_VERSION ?= 3.3.30
CHECKOV := $(CURDIR)/.tools/checkov/bin/checkov

$(CHECKOV):
	$(PYTHON) -m venv .tools/checkov
	.tools/checkov/bin/python -m pip install --quiet "checkov==$(CHECKOV_VERSION)"

checkov: $(CHECKOV)  ## install checkov in its own virtualenv (it pins packages the platform must not share)

code-server:  ## install code-server (npm registry, pinned) for local console sessions
	CODE_SERVER_VERSION=$(CODE_SERVER_VERSION) bash scripts/install-code-server.sh .tools/code-server

dev: bootstrap  ## run the API and its web console on the embedded defaults (Ctrl-C stops everything)
	@$(MAKE) --no-print-directory code-server || \
	  echo "warning: code-server is not installed; console sessions will report how to install it"
	@echo ""
	@echo "  VibeCode console → http://$(VIBE_HOST):$(VIBE_PORT)/   (API under /api, OpenAPI: /schema)"
	@echo "  try:  curl -s http://$(VIBE_HOST):$(VIBE_PORT)/api/health"
	@echo "  you are VIBE_DEV_USER=$${VIBE_DEV_USER:-$$(id -un)} (local only; production identity comes from Authelia)"
	@echo "  first start: a 'demo' workspace is filled with the sample library (VIBE_SAMPLES=false: not)"
	@echo ""
	VIBE_DEV_USER=$${VIBE_DEV_USER:-$$(id -un)} exec $(RUN) python -m vibecode_api

samples: bootstrap  ## fill the 'demo' workspace of the running API (make dev) with the sample library
	$(RUN) python -m vibecode_api.samples --url http://$(VIBE_HOST):$(VIBE_PORT)

# Debian packages a target needs: installed when we are root and apt-get exists, else the
# target's own message says what to install.
apt_install = [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(1)) >/dev/null

CHROMIUM ?= $(or $(shell command -v chromium 2>/dev/null),/usr/bin/chromium)
browser:  ## Debian's Chromium for the console's end-to-end tests (apt-get, as root)
	@[ -x "$(CHROMIUM)" ] || { $(call apt_install,chromium); } || \
	  echo "warning: no Chromium ($(CHROMIUM)); the browser tests will be skipped: apt-get install chromium"

clamd:  ## Debian's clamav-daemon for the upload-scanning tests (apt-get, as root; no signature download)
	@command -v clamd >/dev/null || [ -x /usr/sbin/clamd ] || { $(call apt_install,clamav-daemon); } || \
	  echo "warning: no clamd; the upload-scanning tests will be skipped: apt-get install clamav-daemon"

test: bootstrap code-server checkov browser clamd  ## the whole test suite
	$(RUN) pytest

test-fast: bootstrap  ## the quick loop: everything but browser, Locust, code-server and chain tests
	$(RUN) pytest -m "not slow and not kind"

export NO_MKDOCS_2_WARNING := 1
lint: bootstrap  ## ruff (lint + format check), mypy, import contracts, the docs site built strictly
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy
	$(RUN) lint-imports
	$(RUN) python scripts/docs.py --check
	$(RUN) mkdocs build --strict --quiet

docs: bootstrap  ## regenerate docs' generated parts and build the site into build/site
	$(RUN) python scripts/docs.py
	$(RUN) mkdocs build --strict

format: bootstrap  ## apply ruff's fixes and formatting
	$(RUN) ruff check --fix .
	$(RUN) ruff format .

bench: bootstrap  ## every benchmark → docs/benchmarks.md and docs/benchmarks.json
	@command -v wrk >/dev/null || { $(call apt_install,wrk); } || \
	  { echo "wrk is needed: apt-get install wrk"; exit 1; }
	$(RUN) python -m benchmarks.run

USERS ?= 100
DURATION ?= 2m
loadtest: bootstrap  ## Locust vs the embedded API + fake provider (USERS=100 DURATION=2m); fails on a missed target
	$(RUN) python -m vibecode_loadtests.run --users $(USERS) --duration $(DURATION) --out build/loadtest

soak: bootstrap  ## 10 minutes of mixed load; fails if p99 or RSS grow > 10 % from the first to the last minute
	$(RUN) python -m vibecode_loadtests.run --users 50 --duration 10m --soak --out build/soak

clean:  ## remove the environment and local data (.vibe)
	rm -rf .venv .tools .vibe .pytest_cache .mypy_cache .ruff_cache
