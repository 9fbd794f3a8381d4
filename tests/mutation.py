"""Mutation testing of the modules whose bugs would falsify a measurement (``make mutation``).

    python -m tests.mutation                    # 20 mutants per module, then the score
    python -m tests.mutation --per-module 0     # every mutant (~2,500: hours on 2 cores)
    python -m tests.mutation --modules 'gate.*' --per-module 100
    python -m tests.mutation --report           # the score of what mutants/ holds, no run
    python -m tests.mutation --survivors        # judge the survivors again, after new tests

mutmut (``[tool.mutmut]`` in pyproject.toml: which modules, which tests) writes every mutant
into ``mutants/``, records once which tests reach each function, then runs only those tests
against each mutant: a mutant is *killed* when a test fails, *survives* when all pass. This
driver picks an evenly spaced sample of each module's mutants (the same sample every time,
so scores compare between runs), runs the ones not yet judged, prints the score per module
and each survivor's change. Results stay in ``mutants/``: a second run only judges what is
new. Budget on 2 cores: 282 mutants (the default 20 per module) took 13 and 27 min here,
the first 4-10 of them collecting which tests reach what; survivors cost most (all their
tests run).
"""

from __future__ import annotations

import argparse
import ast
import difflib
import fnmatch
import functools
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

from core import cli

MUTANTS = Path("mutants")
BOOTSTRAP = "core.init.*"  # a small module: generates every mutant and the test map
STATUS = {1: "killed", 3: "killed", 0: "survived", 36: "timeout", 24: "timeout",
          -24: "timeout", 152: "timeout", 255: "timeout", None: "not checked",
          5: "no tests", 33: "no tests", 34: "skipped"}


def mutmut(*args) -> int:
    exe = Path(sys.executable).with_name("mutmut")
    return subprocess.run([str(exe), *args]).returncode


def metas() -> dict:
    """``{module: {mutant name: exit code}}`` from mutmut's ``.meta`` files."""
    out = {}
    for path in sorted(MUTANTS.rglob("*.py.meta")):
        module = ".".join(path.relative_to(MUTANTS).with_suffix("").with_suffix("").parts)
        out[module] = json.loads(path.read_text())["exit_code_by_key"]
    return out


def sample(names: list, k: int) -> list:
    """``k`` names spread evenly over ``names`` (all of them for ``k <= 0``)."""
    if k <= 0 or len(names) <= k:
        return list(names)
    return [names[i * len(names) // k] for i in range(k)]


def chosen(per_module: int, modules: str) -> dict:
    return {m: sample(list(codes), per_module) for m, codes in metas().items()
            if fnmatch.fnmatch(m, modules)}


@functools.cache
def functions(module: str) -> dict:
    """``{name: source lines}`` of every function in the mutated copy of ``module``, each
    renamed ``f`` so that a mutant and its original differ only where mutmut changed it."""
    path = (MUTANTS / Path(*module.split("."))).with_suffix(".py")
    if not path.exists():  # a package's __init__.py
        path = path.with_suffix("") / "__init__.py"
    source = path.read_text()
    lines = source.splitlines()
    return {n.name: [line.replace(n.name, "f", 1) if i == 0 else line for i, line in
                     enumerate(lines[n.lineno - 1:n.end_lineno])]
            for n in ast.walk(ast.parse(source))
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}


def mutant_diff(name: str) -> list:
    """The lines a mutant changes, from its function and the original in ``mutants/``."""
    module, func = name.rsplit(".", 1)
    defs = functions(module)
    orig = defs.get(func.rsplit("__mutmut_", 1)[0] + "__mutmut_orig")
    if orig is None or func not in defs:
        return ["(source not found)"]
    body = [line for line in difflib.unified_diff(orig, defs[func], lineterm="")
            if line[:1] in "+-" and line[:3] not in ("+++", "---")]
    return [line[0] + " " + line[1:].strip() for line in body]


def report(picked: dict) -> int:
    codes = metas()
    print(f"\n{'module':<36} {'mutants':>7} {'judged':>6} {'killed':>6} {'survived':>8} "
          f"{'other':>5} {'score':>6}")
    survivors, total = [], Counter()
    for module, names in picked.items():
        status = Counter(STATUS.get(codes[module][n], "suspicious") for n in names)
        judged = sum(v for s, v in status.items() if s not in ("not checked", "skipped"))
        other = judged - status["killed"] - status["survived"]
        score = f"{status['killed'] / judged:6.0%}" if judged else "     -"
        print(f"{module:<36} {len(codes[module]):>7} {judged:>6} {status['killed']:>6} "
              f"{status['survived']:>8} {other:>5} {score}")
        total.update(status)
        survivors += [n for n in names if STATUS.get(codes[module][n]) == "survived"]
    judged = total["killed"] + total["survived"] + total["timeout"] + total["no tests"]
    if judged:
        print(f"{'all':<36} {'':>7} {judged:>6} {total['killed']:>6} {total['survived']:>8} "
              f"{judged - total['killed'] - total['survived']:>5} "
              f"{total['killed'] / judged:6.0%}")
    print(f"\n{len(survivors)} surviving mutant(s) (mutmut show NAME for the whole function):")
    for name in survivors:
        print(f"  {name}")
        for line in mutant_diff(name):
            print(f"      {line}")
    return 0


def main(argv=None) -> int:
    ap = cli.Parser(prog="python -m tests.mutation", description=__doc__,
                    formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--per-module", type=int, default=20, metavar="N",
                    help="mutants per module, evenly spaced (0: all; default %(default)s)")
    ap.add_argument("--modules", default="*", metavar="GLOB",
                    help="only modules matching this, e.g. 'impl_numpy.*' (default: all)")
    ap.add_argument("--jobs", type=int, default=2, help="mutants run at once (%(default)s)")
    ap.add_argument("--report", action="store_true", help="print the score, run nothing")
    ap.add_argument("--survivors", action="store_true",
                    help="judge the sample's survivors again (after adding tests)")
    args = ap.parse_args(argv)
    if not args.report:
        if not metas() and mutmut("run", "--max-children", str(args.jobs), BOOTSTRAP):
            return 1
        picked = chosen(args.per_module, args.modules)
        codes = metas()
        again = (None, 0) if args.survivors else (None,)
        todo = [n for m, names in picked.items() for n in names if codes[m][n] in again]
        print(f"mutation: {sum(map(len, picked.values()))} mutants sampled from "
              f"{len(picked)} modules, {len(todo)} not judged yet", flush=True)
        if todo and mutmut("run", "--max-children", str(args.jobs), *todo):
            return 1
    return report(chosen(args.per_module, args.modules))


if __name__ == "__main__":
    sys.exit(main())
