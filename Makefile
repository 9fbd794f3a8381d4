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

REPORT_DIR ?= reports/out
GPU_OUT    ?= results/gpu
BASELINE_REPEATS ?= 4
MUTATION_PER_MODULE ?= 20
MUTATION_MODULES ?= *

.PHONY: help install test report bench bench-full check-perf baseline gate-proof gpu-check twins-diff mutation lint clean

help:
	@awk '/^#/ { sub(/^# ?/, ""); print; next } { exit }' Makefile
	@echo "targets:"
	@echo "  report      quick benchmark sweep (~3 min on 2 cores) + report in $(REPORT_DIR)/"
	@echo "  test        the tests, plus a smoke pass over every benchmark"
	@echo "  bench       the quick sweep alone; JSON in results/runs/"
	@echo "  bench-full  the whole grid (~30 min on 2 cores)"
	@echo "  check-perf  quick sweep compared with gate/baseline.json; fails on a regression"
	@echo "  baseline    rewrite gate/baseline.json from $(BASELINE_REPEATS) runs of the current code"
	@echo "  gate-proof  the gate on real timings: passes unchanged code, catches 1.5x and 1.2x"
	@echo "  gpu-check   CUDA tests + quick sweep with CUDA + report, all in $(GPU_OUT)/"
	@echo "  twins-diff  lines removed/added/shared between impl_numpy/F and impl_torch/F"
	@echo "  mutation    mutation score of the measured modules, $(MUTATION_PER_MODULE) mutants each"
	@echo "              (~15-30 min on 2 cores, first run; MUTATION_PER_MODULE=0: all ~2,500)"
	@echo "              MUTATION_MODULES='gate.*' for one package; results kept in mutants/"
	@echo "  lint clean install"

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

# A failed benchmark does not stop the report (it lists what is missing); the exit status
# still says so.
report: $(STAMP)
	@status=0; $(PY) -m pytest --benchmark-only --benchmark-columns=median,iqr,rounds || status=$$?; \
	$(PY) -m reports --out $(REPORT_DIR) && exit $$status

bench: $(STAMP)
	$(PY) -m pytest --benchmark-only --benchmark-columns=median,iqr,rounds

bench-full: $(STAMP)
	$(PY) -m pytest --benchmark-only --profile full --benchmark-columns=median,iqr,rounds

check-perf: $(STAMP)
	$(PY) -m gate check

baseline: $(STAMP)
	$(PY) -m gate baseline --repeats $(BASELINE_REPEATS)

# The gate's end-to-end proof on real timings (opt-in: timed tests flake on shared machines)
gate-proof: $(STAMP)
	$(PY) -m pytest tests/test_gate.py -m timing -v

# One prepared run on a machine with an NVIDIA GPU: see bench/gpu_check.sh.
gpu-check: $(STAMP)
	bash bench/gpu_check.sh $(PY) $(GPU_OUT)

twins-diff: $(STAMP)
	$(PY) -m tests.twins_diff

# Not part of make test. mutmut comes from the "mutation" extra; results stay in mutants/
# (a second run only judges what changed). See tests/mutation.py.
$(VENV)/.mutmut: $(STAMP)
	$(PY) -m pip install --quiet -e ".[dev,mutation]"
	@touch $@

mutation: $(VENV)/.mutmut
	$(PY) -m tests.mutation --per-module $(MUTATION_PER_MODULE) --modules '$(MUTATION_MODULES)'

lint: $(STAMP)
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) .pytest_cache .benchmarks .hypothesis reports/out mutants
