# One entry point for people and CI. Needs only python3 (3.11+) with venv and pip.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PARAMS ?= params/2024.yaml

.PHONY: help env report test lint report-tools a11y-tools quarto-tools screener-tools synth lab benchmark validate-903 clean

help:
	@echo "make report     the report on synthetic data for PARAMS ($(PARAMS)) into outputs/<year>/"
	@echo "make test       build .venv with pip, lint (make lint), then run the test suite"
	@echo "make lint       ruff check and ruff format --check (configured in pyproject.toml)"
	@echo "make report-tools  GOV.UK Frontend (npm, .cache/govuk) for the HTML report's styling (make report runs it)"
	@echo "make a11y-tools Chromium (apt, as root), axe-core and playwright-core (npm, .cache/node) for the accessibility test"
	@echo "make quarto-tools  Quarto from ../shared/tools/quarto into .cache/quarto, for the Quarto route's tests"
	@echo "make screener-tools  R and DfE's EES screener from ../shared/tools/eesyscreener into .cache/eesyscreener (root)"
	@echo "make synth      write the synthetic inputs for PARAMS ($(PARAMS)) to data/synthetic/"
	@echo "make lab        open JupyterLab on notebooks/ with the project's environment"
	@echo "make benchmark  print data-layer timings at national scale"
	@echo "make validate-903  run DfE's SSDA903 validator on the synthetic data (own venv)"

env: $(STAMP)

# Rebuilt whenever the package's dependencies change.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

report: $(STAMP) report-tools
	$(VENV)/bin/rap run --params $(PARAMS)

# Lint first: a lint or format failure fails the build before the (long) test suite starts.
test: $(STAMP) lint report-tools a11y-tools quarto-tools screener-tools
	$(PY) -m pytest

# ruff's rules and line length are in pyproject.toml; `ruff format .` and `ruff check --fix .` repair most findings.
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# For tests/test_accessibility.py; never fails (the test skips, saying why, when a tool cannot be had).
# GOV.UK Frontend for the HTML report's styling; never fails (the report keeps report.css without it).
report-tools:
	@bash tools/install_govuk_frontend.sh

a11y-tools:
	@bash tests/a11y/install_tools.sh

# For the Quarto route's tests (tests/test_quarto_route.py); never fails (they skip, saying why, without it).
quarto-tools:
	@bash tools/install_quarto.sh

# For the build's EES screener check and tests/test_screener.py; never fails (the check says it did not run).
screener-tools:
	@bash tools/install_screener.sh

synth: $(STAMP)
	$(VENV)/bin/rap synth --params $(PARAMS)

lab: $(STAMP)
	$(VENV)/bin/jupyter lab notebooks/

benchmark: $(STAMP)
	$(PY) benchmarks/data_layer.py
	$(PY) benchmarks/runner.py

validate-903: $(STAMP)
	bash tools/validate_903.sh

clean:
	rm -rf $(VENV) .venv-validator .pytest_cache
