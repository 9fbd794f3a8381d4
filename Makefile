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
LAUNCHES   ?= 1
REFERENCE_LAUNCHES ?= 3
GPU_OUT    ?= results/gpu
BASELINE_REPEATS ?= 4
TEST_WORKERS ?= auto
MUTATION_PER_MODULE ?= 20
MUTATION_MODULES ?= *

# make check-perf BASE=REF: same-machine A/B of this checkout against REF (gate/ab.py);
# GATE_FORMAT=markdown prints only the Markdown summary on stdout, GATE_KEEP=DIR keeps the
# runs' JSON, AB_ARGS replaces the default selection (e.g. AB_ARGS="--profile quick").
BASE       ?=
GATE_FORMAT ?= text
GATE_KEEP  ?=
AB_ARGS    ?=

.PHONY: help install test report reference docs bench bench-full check-perf baseline gate-proof gate-power drill gpu-check gpu-dry twins-diff mutation lint torch-spec clean

help:
	@awk '/^#/ { sub(/^# ?/, ""); print; next } { exit }' Makefile
	@echo "targets:"
	@echo "  report      quick benchmark sweep (~3-4 min on 2 cores) + report in $(REPORT_DIR)/;"
	@echo "              LAUNCHES=3: three fresh processes, each ratio with its range"
	@echo "  test        the tests, plus a smoke pass over every benchmark"
	@echo "  reference   this machine's reference run for results/reference/: the full profile in"
	@echo "              $(REFERENCE_LAUNCHES) fresh processes (~45 min on 2 cores, quiet machine), then make docs"
	@echo "  docs        docs/report/ (REPORT.md, index.html, figures) and README's results from results/reference/"
	@echo "  bench       the quick sweep alone; JSON in results/runs/"
	@echo "  bench-full  the whole grid (~19 min on 2 cores)"
	@echo "  check-perf  quick sweep compared with this machine's baseline in gate/baselines/;"
	@echo "              without one, an A/B against the commit a committed baseline measured"
	@echo "              exit 0 pass, 1 regression, 2 malformed input, 3 could not judge"
	@echo "              BASE=REF: this checkout against REF, interleaved on this machine"
	@echo "  baseline    add or replace this machine's gate/baselines/<machine>.json from"
	@echo "              $(BASELINE_REPEATS) runs of the current code (commit first: it records the commit)"
	@echo "  gate-proof  the gate on real timings: passes unchanged code, catches 1.5x and 1.2x"
	@echo "  gate-power  the gate's counts on real timings, both paths (~90 min, quiet machine)"
	@echo "  drill       a CPU hog during a short sweep: the rows it overlapped are flagged"
	@echo "  gpu-check   on a GPU machine, no venv: CUDA tests + gpu sweep + report, packed in $(GPU_OUT)/"
	@echo "  gpu-dry     the same run on this CPU machine, tiny, CUDA skipped ($(GPU_OUT)-dry/)"
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

# The test files are spread over TEST_WORKERS processes (pytest-xdist; one file stays on
# one worker, so its module fixtures are built once); TEST_WORKERS=0 runs them in this one.
test: $(STAMP)
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile

# A failed benchmark does not stop the report (it lists what is missing); the exit status
# still says so.
# LAUNCHES=N (N > 1): the sweep run by N fresh processes (bench/suite/launch.py), every ratio
# then with its range over the launches; ~N times as long
report: $(STAMP)
ifeq ($(strip $(LAUNCHES)),1)
	@status=0; $(PY) -m pytest --benchmark-only --benchmark-columns=median,iqr,rounds || status=$$?; \
	$(PY) -m reports --out $(REPORT_DIR) && exit $$status
else
	@status=0; $(PY) -m bench.suite.launch --launches $(LAUNCHES) || status=$$?; \
	$(PY) -m reports --out $(REPORT_DIR) && exit $$status
endif

# A reference run (results/reference/README.md): the full profile in REFERENCE_LAUNCHES fresh
# processes, written to results/runs/ and moved to results/reference/cpu-<machine id>-<date>.json
# only when every launch completed (a partial run is no reference). Then: make docs.
reference: $(STAMP)
	@id=$$($(PY) -c "from gate import machine; print(machine.machine_id(machine.this_machine()))") \
	&& name=cpu-$$id-$$(date -u +%Y%m%d).json \
	&& $(PY) -m bench.suite.launch --launches $(REFERENCE_LAUNCHES) --out results/runs/$$name \
		-- --profile full \
	&& mv results/runs/$$name results/reference/$$name \
	&& echo "results/reference/$$name: read it with make docs (results/reference/README.md)"

# The committed report: docs/report/ and the README's first-screen block, rendered from the runs in
# results/reference/ (reports/readme.py; same runs, same bytes). Runs nothing timed.
docs: $(STAMP)
	$(PY) -m reports.readme

bench: $(STAMP)
	$(PY) -m pytest --benchmark-only --benchmark-columns=median,iqr,rounds

bench-full: $(STAMP)
	$(PY) -m pytest --benchmark-only --profile full --benchmark-columns=median,iqr,rounds

ifeq ($(strip $(BASE)),)
check-perf: $(STAMP)
	$(PY) -m gate check
else
check-perf: $(STAMP)
	@$(PY) -m gate ab --base "$(BASE)" --format $(GATE_FORMAT) \
		$(if $(GATE_KEEP),--keep "$(GATE_KEEP)") $(if $(AB_ARGS),-- $(AB_ARGS))
endif

baseline: $(STAMP)
	$(PY) -m gate baseline --repeats $(BASELINE_REPEATS)

# The gate's end-to-end proof on real timings (opt-in: timed tests flake on shared machines)
gate-proof: $(STAMP)
	$(PY) -m pytest tests/test_gate.py tests/test_gate_ab.py -m timing -v

# The gate's power on both paths of gate check (this machine's baseline; an A/B where it has
# none), with the counts docs/gate-and-ci.md publishes; opt-in, ~90 min on 2 cores, quiet machine
gate-power: $(STAMP)
	$(PY) -m tests.gate_power own --unchanged 5 --slowed numpy=3,torch-cpu=3 --hog 1
	$(PY) -m tests.gate_power ab --unchanged 3 --slowed numpy=2,torch-cpu=2 --hog 1

# The disturbance drill on real timings (opt-in; run it on an otherwise quiet machine)
drill: $(STAMP)
	$(PY) -m pytest tests/test_disturbance_drill.py -m timing -v

# One prepared run on a machine with an NVIDIA GPU (bench/gpu/run.py): the machine's own
# $(PYTHON) with a CUDA torch, no venv (a card machine may have no network); ~6 minutes.
# gpu-dry: the same on this CPU machine, tiny and with the CUDA parts skipped.
gpu-check:
	PYTHONPATH=$(CURDIR) $(PYTHON) bench/gpu/run.py $(GPU_OUT)

gpu-dry: $(STAMP)
	$(PY) bench/gpu/run.py $(GPU_OUT)-dry --dry

twins-diff: $(STAMP)
	$(PY) -m tests.twins_diff

# Not part of make test. mutmut comes from the "mutation" extra; results stay in mutants/
# (a second run only judges what changed). See tests/mutation.py.
$(VENV)/.mutmut: $(STAMP)
	$(PY) -m pip install --quiet -e ".[dev,mutation]"
	@touch $@

mutation: $(VENV)/.mutmut
	$(PY) -m tests.mutation --per-module $(MUTATION_PER_MODULE) --modules '$(MUTATION_MODULES)'

# ruff, and actionlint on .github/workflows/ (the binary comes with the dev extra)
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/actionlint

# the torch requirement in force (the CI workflow keys its venv cache by it)
torch-spec:
	@echo '$(TORCH_SPEC)'

clean:
	rm -rf $(VENV) .pytest_cache .benchmarks .hypothesis reports/out mutants
