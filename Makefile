# The two commands a new machine needs: `make demo` and `make test`. Both bootstrap uv from
# PyPI when it is not installed (only python3 >= 3.11 and pip are assumed).
SHELL := /bin/bash
.DEFAULT_GOAL := help

UV_BOOTSTRAP := .cache/bootstrap
UV := $(or $(shell command -v uv 2>/dev/null),$(UV_BOOTSTRAP)/bin/uv)
# uv must not try to download a Python (GitHub is out of reach on many build hosts).
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON ?= python3
# `$(STEP) "what" command...` says what a step does, runs it and says how long it took: on a
# fresh machine the quiet ones (installing uv, syncing, type-checking) take minutes.
STEP := @bash -c 'printf "\n==> %s: %s\n" "$$1" "$${*:2}"; SECONDS=0; "$${@:2}" && printf "==> %s: done in %s s\n" "$$1" "$$SECONDS"' step

.PHONY: help
help:
	@echo "make demo    LiteLLM key minted, used, moved, deleted; OpenBao lease via the Python plugin"
	@echo "make test    lint, type-check and run every test except the live LiteLLM suite"
	@echo "make live    run the live suite against LITELLM_URL / LITELLM_MASTER_KEY"
	@echo "make parity  compare the LiteLLM stand-in, call by call, with the proxy at LITELLM_URL"
	@echo "make bench   print the benchmarks"
	@echo "make dists   build the three sdists and wheels; install and import each alone"
	@echo "make lint    ruff and mypy only"
	@echo "make docs    regenerate docs/paths.md from the engine's path definitions"

$(UV_BOOTSTRAP)/bin/uv:
	@python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "python3 >= 3.11 is required")'
	$(STEP) "installing uv from PyPI into $(UV_BOOTSTRAP) (first run only)" \
		python3 -m pip install --quiet --disable-pip-version-check --target $(UV_BOOTSTRAP) uv

.venv/.synced: uv.lock pyproject.toml $(wildcard packages/*/pyproject.toml) | $(UV)
	$(STEP) "installing the locked workspace into .venv" $(UV) sync --frozen
	@touch $@

.PHONY: sync
sync: .venv/.synced

.PHONY: lint
lint: sync
	$(STEP) "lint" $(UV) run ruff check .
	$(STEP) "format check" $(UV) run ruff format --check .
	$(STEP) "type check (mypy --strict)" $(UV) run mypy packages/litellm-client/src packages/vault-plugin-proto/src packages/vault-plugin-litellm/src tests e2e bench

.PHONY: test
test: lint
	$(STEP) "every test but the live suite" $(UV) run pytest -m "not live" -q
	@# The live suite once more, against the in-project LiteLLM stand-in: it must behave like
	@# the real proxy (CI also runs the suite against a real one: `make live`).
	$(STEP) "the live suite against the LiteLLM stand-in" \
		env -u LITELLM_URL LITELLM_STANDIN=1 $(UV) run pytest -m live -q tests/litellm_client/live

# LIVE_MARKERS narrows the live suite (CI: "live and not slow" against its second proxy).
LIVE_MARKERS ?= live
.PHONY: live
live: sync
	$(STEP) "the live suite ($(LIVE_MARKERS)) against $$LITELLM_URL" $(UV) run pytest -m "$(LIVE_MARKERS)" -q

.PHONY: parity
parity: sync
	$(STEP) "the LiteLLM stand-in against the proxy at $$LITELLM_URL" \
		$(UV) run python -m tests.support.litellm_standin.parity

.PHONY: dists
dists: sync
	$(STEP) "the three packages built (sdist, wheel) and each wheel installed alone into a clean virtualenv" \
		$(UV) run python -m e2e.dists check

.PHONY: demo
demo: sync
	$(STEP) "the demo" $(UV) run python -m e2e.demo

.PHONY: docs
docs: sync
	$(STEP) "docs/paths.md from the engine's path definitions" \
		$(UV) run python -m vault_plugin_litellm.engine.reference docs/paths.md

.PHONY: bench
bench: sync
	$(STEP) "client overhead benchmark" $(UV) run python bench/litellm_client_overhead.py
	$(STEP) "plugin runtime benchmark" $(UV) run python bench/plugin_runtime.py
	$(STEP) "vault-plugin-proto import benchmark" $(UV) run python bench/proto_import.py
	$(STEP) "engine latency benchmark (OpenBao and the proxy at LITELLM_URL)" $(UV) run python bench/engine_latency.py
	$(STEP) "engine load benchmark (OpenBao and the proxy at LITELLM_URL)" $(UV) run python bench/engine_load.py
