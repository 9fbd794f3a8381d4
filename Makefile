# mlp-twins: NumPy vs PyTorch MLP + SGD, proven equivalent, benchmarked side by side.
#
#   make report   set up .venv if needed, run the quick benchmark sweep and write the report
#   make test     set up .venv if needed, run the tests (and a smoke pass over the benchmarks)
#
# The torch requirement is a variable so that a CPU-only machine never downloads a CUDA build:
#   TORCH_SPEC   what pip installs for torch (default: torch==2.13.0). On a machine whose pip
#                finds the CPU wheel locally this is the CPU build; from PyPI on Linux it is the
#                CUDA build. Point it at another index or wheel for another build, e.g.
#                make test TORCH_SPEC="torch==2.13.0 --index-url <your torch CPU or CUDA index>"
#   PYTHON       interpreter used to create .venv (default: python3, 3.10 or newer)

PYTHON     ?= python3
VENV       ?= .venv
TORCH_SPEC ?= torch==2.13.0
PY         := $(VENV)/bin/python
STAMP      := $(VENV)/.installed

.PHONY: help install test report bench lint clean

help:
	@sed -n '1,15p' Makefile | sed 's/^# \{0,1\}//'
	@echo "targets: install test report bench lint clean"

$(STAMP): pyproject.toml Makefile
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH_SPEC)
	$(PY) -m pip install --quiet -e ".[dev]"
	@$(PY) -c "import torch, numpy; print('installed torch', torch.__version__, '| numpy', numpy.__version__)"
	@touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(PY) -m pytest

report: $(STAMP)
	$(PY) -m pytest tests -q -x

lint: $(STAMP)
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) .pytest_cache .benchmarks .hypothesis reports/out
