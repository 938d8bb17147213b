# Everything runs in a local virtual environment that `make` creates on first use.
# torch is pinned to the CPU wheel and torchvision is never installed (see requirements/).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test test-fast bench lint wheel-check docs clean

$(STAMP): pyproject.toml requirements/constraints.txt requirements/dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -c requirements/constraints.txt torch==2.13.0
	$(BIN)/python -m pip install -q -c requirements/constraints.txt -r requirements/dev.txt
	# fastai without its torchvision requirement (no CPU build matches torch 2.13; installed, it breaks Lightning)
	$(BIN)/python -m pip install -q --no-deps -c requirements/constraints.txt fastai
	$(BIN)/python -m pip install -q --no-deps --no-build-isolation -e .
	@if $(BIN)/python -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('torchvision') is None)"; then \
		echo "torchvision is installed in $(VENV): it breaks torchmetrics/Lightning with CPU torch"; exit 1; fi
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/auroc-callbacks demo

test: $(STAMP)
	$(BIN)/python -m pytest -q -n auto

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -n auto -m "not slow"

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_auroc.py

# Maintainer tooling (requirements/lint.txt): ruff, mypy, build. Configured in pyproject.toml.
LINT_STAMP := $(VENV)/.lint-installed
$(LINT_STAMP): $(STAMP) requirements/lint.txt
	$(BIN)/python -m pip install -q -c requirements/constraints.txt -r requirements/lint.txt
	touch $(LINT_STAMP)

lint: $(LINT_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Builds the sdist and wheel, installs the wheel in a fresh venv with only torch and numpy, and uses it.
wheel-check: $(LINT_STAMP)
	$(BIN)/python tools/check_wheel.py

# The docs site, strict: a warning, a broken link or a missing reference fails (mkdocs.yml, requirements/docs.txt).
DOCS_STAMP := $(VENV)/.docs-installed
$(DOCS_STAMP): $(STAMP) requirements/docs.txt
	$(BIN)/python -m pip install -q -c requirements/constraints.txt -r requirements/docs.txt
	touch $(DOCS_STAMP)

docs: $(DOCS_STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict -d site

clean:
	rm -rf $(VENV) runs .pytest_cache .hypothesis .mypy_cache .ruff_cache site
