# Switchboard: `make run` starts the launcher on http://localhost:7860, `make test` runs the suite,
# `make lint` checks the style and the import layers.
SHELL := /bin/bash
export PATH := $(HOME)/.local/bin:$(PATH)
# One BLAS thread: smart-turn inference costs half the CPU on 2 cores (see README, Performance).
export OPENBLAS_NUM_THREADS := 1
export OMP_NUM_THREADS := 1

.PHONY: run test lint bench doubles migrate

run:
	@scripts/bootstrap.sh run
	uv run --frozen python server.py

test:
	@scripts/bootstrap.sh test
	scripts/isolated.sh scripts/test.sh

# ruff, then the import layers (pyproject.toml, [tool.importlinter]).
lint:
	@scripts/bootstrap.sh run
	uv run --frozen ruff check .
	uv run --frozen lint-imports

bench:
	@scripts/bootstrap.sh test
	uv run --frozen python -m bench calls --calls 10 --turns 3 --transport twilio

doubles:
	@scripts/bootstrap.sh test
	uv run --frozen python -m simulators.doubles --port 8800

# Apply supabase/migrations/*.sql to DATABASE_URL (make migrate DATABASE_URL=postgresql://...).
# SQLite needs nothing: it migrates itself at start-up. Alternative: `supabase db push`.
migrate:
	@scripts/bootstrap.sh run
	uv run --frozen python -m storage migrate
