# ecs-notifier: build, demo, test. `make help` lists the targets.

SHELL := /bin/bash
VENV  := .venv
PY    := $(VENV)/bin/python
CARGO ?= cargo

.PHONY: help build release demo test fmt-check clippy unit lint-template tools clean

help:
	@echo "make demo    render every sample event in events/ (no AWS account, no network)"
	@echo "make test    fmt check, clippy -D warnings, all tests, cfn-lint of template.yaml"
	@echo "make release cargo build --release (target/release/ecs-notifier)"

build:
	$(CARGO) build --locked

release:
	$(CARGO) build --release --locked

demo: build
	@target/debug/ecs-notifier render --enrichment events/enrichment events/*.json

test: fmt-check clippy unit lint-template

fmt-check:
	@$(CARGO) fmt --version >/dev/null 2>&1 || rustup component add rustfmt
	$(CARGO) fmt --all -- --check

clippy:
	@$(CARGO) clippy --version >/dev/null 2>&1 || rustup component add clippy
	$(CARGO) clippy --locked --all-targets -- -D warnings

unit: tools
	$(CARGO) test --locked --all-targets

# Python tools live in a virtualenv of the project, installed on first use.
$(VENV)/.installed: requirements-dev.txt
	python3 -m venv $(VENV) || { python3 -m pip install --quiet virtualenv && python3 -m virtualenv $(VENV); }
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

tools: $(VENV)/.installed

lint-template: tools
	$(VENV)/bin/cfn-lint template.yaml

clean:
	$(CARGO) clean
	rm -rf $(VENV)
