# The two README commands. Each one installs what it needs on a fresh machine:
# a private uv (in .tools/) and the locked environment (in .venv/, from uv.lock).
PYTHON ?= python3
UV_VERSION := 0.13.9
UV := .tools/bin/uv

export PREFECT_SERVER_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1
export UV_PYTHON_DOWNLOADS := never
# Bytecode is compiled once at install: with PYTHONDONTWRITEBYTECODE set (as on CI) every
# command and every test's Prefect server would otherwise recompile prefect, pandas and GX.

.PHONY: run test setup clean deploy base-image engine

run: .venv/.synced  ## generate the sample landing zone if it is empty, then run the pipeline
	.venv/bin/music-etl generate --if-empty
	.venv/bin/music-etl run

test: .venv/.synced  ## the whole test suite
	.venv/bin/python -m pytest -n 2 --dist loadfile

setup: .venv/.synced

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet uv==$(UV_VERSION)

.venv/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --compile-bytecode --python $(PYTHON)
	touch $@

deploy: .venv/.synced  ## build, push and register the three deployments (deployments/README.md)
	@.venv/bin/python -m deployments.preflight
	.venv/bin/prefect --no-prompt deploy --all

engine:  ## this machine only: start a bridge-less Docker engine and the local registry (root)
	deployments/container-engine.sh start

base-image: engine  ## this machine only: build local/debian-python:bookworm when missing
	deployments/local-base-image.sh

clean:  ## remove the sample data, lake and warehouse (not the environment)
	rm -rf data
