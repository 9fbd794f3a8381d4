"""The architecture, checked: imports point down, no cycles, the README's layout lists
every module, and the README stays short, linking every page under docs/.

Layers, bottom to top: ``core`` <- the twins (``impl_numpy``, ``impl_torch``, which never
import each other) and ``runfile`` (the run format) <- ``bench`` <- ``reports`` and ``gate``,
which read runs through ``runfile`` and import nothing of ``bench``. ``chapter`` uses the
twins and ``core`` only; ``reports`` may draw the chapter's section. Inside ``bench`` the
rooms point down too (``BENCH_ROOMS``). Every import counts, deferred (inside a function)
ones and ``importlib.import_module("...")`` included.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ["core", "impl_numpy", "impl_torch", "runfile", "bench", "reports", "gate", "chapter"]
# what each package may import from the project besides itself
ALLOWED = {
    "core": set(),
    "impl_numpy": {"core"},
    "impl_torch": {"core"},
    "runfile": {"core"},
    "chapter": {"core", "impl_numpy", "impl_torch"},
    "bench": {"core", "impl_numpy", "impl_torch", "runfile"},
    "reports": {"core", "impl_numpy", "impl_torch", "runfile", "chapter"},  # the chapter section
    "gate": {"core", "runfile"},
}
# bench's rooms, bottom to top: a room imports only its own and lower rooms; the files at
# bench's top (the plugin, the benchmark files) may import every room and no room imports them
BENCH_ROOMS = ("measure", "backends", "quiet", "suite", "gpu")
BENCH_TOP_FILES_MAX = 8  # bench/ keeps its rooms in folders; its top holds pytest's entry points


def _modules():
    """``{dotted name: path}`` of every module in the project's packages."""
    mods = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            mods[name] = path
    return mods


MODULES = _modules()


def _resolve(name: str) -> str | None:
    """The project module ``name`` refers to (itself, or its longest existing prefix)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(mod: str, path: Path) -> set:
    """Project modules imported anywhere in ``mod`` (module level or deferred)."""
    package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "import_module"
              and node.args and isinstance(node.args[0], ast.Constant)):
            names = [str(node.args[0].value)]  # importlib.import_module("pkg.mod")
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            names = [f"{base}.{a.name}" for a in node.names] + [base]
        else:
            continue
        for n in names:
            target = _resolve(n)
            if target and target != mod:
                found.add(target)
    return found


GRAPH = {m: _imports(m, p) for m, p in MODULES.items()}


def _top(mod: str) -> str:
    return mod.split(".")[0]


def test_the_graph_is_not_empty():
    # a parser that found nothing would pass every check below
    assert GRAPH["impl_numpy.mlp"] >= {"core.spec", "impl_numpy.activations"}
    assert "bench.backends" in GRAPH["bench.backends.numpy_backend"]
    assert "chapter.section" in GRAPH["reports.__main__"]  # importlib.import_module counts


@pytest.mark.parametrize("pkg", PACKAGES)
def test_imports_point_down(pkg):
    wrong = sorted(f"{m} imports {t}" for m in MODULES if _top(m) == pkg
                   for t in GRAPH[m] if _top(t) != pkg and _top(t) not in ALLOWED[pkg])
    assert not wrong, f"{pkg} may import only {sorted(ALLOWED[pkg])} from the project: {wrong}"


def _room(mod: str) -> str | None:
    """The room of a ``bench`` module (``"top"`` for a file at bench's top), else None."""
    parts = mod.split(".")
    if parts[0] != "bench":
        return None
    return parts[1] if len(parts) > 2 or parts[1:] and parts[1] in BENCH_ROOMS else "top"


def test_bench_rooms_point_down():
    wrong = []
    for m in MODULES:
        room = _room(m)
        if room is None or m == "bench":
            continue
        for t in GRAPH[m]:
            to = _room(t)
            if to is None or t == "bench" or to == room:
                continue
            if to == "top" or (room != "top" and BENCH_ROOMS.index(to) > BENCH_ROOMS.index(room)):
                wrong.append(f"{m} ({room}) imports {t} ({to})")
    assert not wrong, f"bench's rooms point down {' <- '.join(BENCH_ROOMS)} <- top: {wrong}"


def test_bench_is_rooms_each_saying_what_it_owns():
    top = sorted(p.name for p in (ROOT / "bench").glob("*.py"))
    assert len(top) <= BENCH_TOP_FILES_MAX, f"bench/ has {len(top)} files at its top: {top}"
    rooms = sorted(p.name for p in (ROOT / "bench").iterdir()
                   if p.is_dir() and (p / "__init__.py").exists())
    assert set(rooms) == set(BENCH_ROOMS), f"bench's rooms {rooms} are not {BENCH_ROOMS}"
    for room in ["bench", *(f"bench.{r}" for r in rooms), "runfile"]:
        doc = ast.get_docstring(ast.parse(MODULES[room].read_text()))
        assert doc and len(doc.split()) >= 15, f"{room}/__init__.py does not say what it owns"


def test_the_room_check_sees_a_wrong_import(monkeypatch):
    timing = "bench.measure.timing"
    planted = {**GRAPH, timing: GRAPH[timing] | {"bench.quiet.probe"}}
    monkeypatch.setitem(globals(), "GRAPH", planted)
    with pytest.raises(AssertionError, match="bench.measure.timing"):
        test_bench_rooms_point_down()


# the gate measures this machine as a run records it: bench's environment(), in a child
# process (a CUDA context must not stay open in the gate's); its only code naming bench
RUNS_BENCH_IN_A_CHILD = {"gate/machine.py"}


def test_gate_and_reports_name_bench_only_in_child_processes():
    """Beside imports, code in a string (``python -c``) counts: only the files listed in
    ``RUNS_BENCH_IN_A_CHILD`` may name a bench module there (pytest runs of the suite pass
    paths and options, not module names)."""
    found = set()
    for pkg in ("gate", "reports"):
        for path in sorted((ROOT / pkg).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                        and re.search(r"\b(from|import) bench\b|-m bench\b", node.value)):
                    found.add(path.relative_to(ROOT).as_posix())
    assert found == RUNS_BENCH_IN_A_CHILD, found


def _cycle():
    """One import cycle between modules (a list of names), or None. Imports of a package
    by its own submodules (``from . import x`` in a package's ``__init__`` and back) are
    how Python packages work and are not counted."""
    state, stack = {}, []

    def visit(m):
        state[m] = "open"
        stack.append(m)
        for t in sorted(GRAPH[m]):
            if m.startswith(t + ".") or t.startswith(m + "."):
                continue  # a package and its own submodule
            if state.get(t) == "open":
                return stack[stack.index(t):] + [t]
            if t not in state and (c := visit(t)):
                return c
        state[m] = "done"
        stack.pop()
        return None

    for m in sorted(GRAPH):
        if m not in state and (c := visit(m)):
            return c
    return None


def test_no_import_cycles():
    cycle = _cycle()
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_cycle_detector_finds_a_planted_cycle(monkeypatch):
    planted = {**GRAPH, "core.spec": GRAPH["core.spec"] | {"core.flops"},
               "core.flops": GRAPH["core.flops"] | {"core.spec"}}
    monkeypatch.setitem(globals(), "GRAPH", planted)
    assert _cycle() is not None


def test_readme_layout_lists_every_module():
    """The README's Layout block names every module file (``name.py``) of every package."""
    text = (ROOT / "README.md").read_text()
    block = text.split("## Layout", 1)[1].split("```")[1]
    listed = {}
    pkg = None
    for line in block.splitlines():
        head = re.match(r"^(\w+)/", line)
        if head:
            pkg = head.group(1)
        if pkg:
            listed.setdefault(pkg, set()).update(re.findall(r"([\w/]+\.py|[\w]+/)", line))
    missing = []
    for mod, path in MODULES.items():
        rel = path.relative_to(ROOT / _top(mod)).as_posix()
        if path.name == "__init__.py" and path.parent.parent == ROOT:
            continue
        shown = listed.get(_top(mod), set())
        top_dir = rel.split("/")[0] + "/"
        named_only = _top(mod) == "bench"  # bench's rooms name each file, not just the folder
        if path.name == "__init__.py" and path.parent.parent.name == "bench":
            continue  # a room's __init__ is its folder
        if (rel not in shown and Path(rel).name not in shown
                and (named_only or top_dir not in shown)):
            missing.append(f"{_top(mod)}/{rel}")
    assert not missing, f"README's Layout omits: {missing}"


README_MAX_LINES = 150  # the README fits on a few screens; the rest is a page under docs/
LINK = re.compile(r"\]\(([^)\s]+)\)")


def test_readme_fits_on_a_few_screens():
    n = len((ROOT / "README.md").read_text(encoding="utf-8").splitlines())
    assert n <= README_MAX_LINES, f"README.md has {n} lines; move a section to a docs/ page"


def test_every_docs_page_is_linked_from_the_readme_and_every_link_resolves():
    """The pages in docs/ are reachable from the README, and no relative link of the README
    or of a page points at a file that is not there (anchors and web links aside)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    pages = sorted((ROOT / "docs").glob("*.md"))
    assert pages, "docs/ holds no page"
    linked = {target.split("#")[0] for target in LINK.findall(readme)}
    unlinked = [p.name for p in pages if p.relative_to(ROOT).as_posix() not in linked]
    assert not unlinked, f"README.md does not link: {unlinked}"
    broken = []
    for doc in [ROOT / "README.md", *pages]:
        for target in LINK.findall(doc.read_text(encoding="utf-8")):
            path = target.split("#")[0]
            if path and "://" not in path and not (doc.parent / path).exists():
                broken.append(f"{doc.relative_to(ROOT)}: {target}")
    assert not broken, f"links to nothing: {broken}"


def test_make_docs_renders_the_report_beside_the_pages_not_over_them():
    """The report replaces its folder whole; the pages in docs/ must lie outside it."""
    from reports import readme

    report = (ROOT / readme.DOCS_DIR).resolve()
    for page in (ROOT / "docs").glob("*.md"):
        assert report not in page.resolve().parents, f"make docs would delete {page.name}"
