"""A benchmark's names against its record, and a backend against the words beside it.

    from runfile.ids import case_id, check_names, check_backend
    check_names(problem, bench)   # name, param, fullname; the case id in the name
    check_backend(problem, info)  # world_size, variant and group a backend can have

pytest-benchmark names a benchmark ``test_x[PARAM]`` (``param`` is PARAM, ``fullname`` ends
with ``"::" + name``). The suite's PARAM is the case id of ``bench/suite/grid.py``:
``numpy-h1024-b256-f32-t2``, ``torch-ddp-h2048-b256-f32-t1-w2``, an epoch's pipeline before it
(``in-memory-torch-cpu-h100-b100-f32-t2``), an activation's ``numpy-relu-f32-t2``. Where the
name holds such an id, every field it spells must be the record's: the gate matches rows by
name, so a name that says float32 over a float64 record would compare another case. Names
in another form (synthetic runs) are not read. ``case_id`` and ``size_id`` are defined here
only: the bench's grid names its benchmarks with them (runfile imports core only, so the
format's owner holds the names and the bench imports them).
"""

from __future__ import annotations

import re

from runfile.schema import ACTIVATION_KINDS, BACKEND_VARIANTS, PARALLEL_BACKENDS

MAX_NAME_CHARS = 80  # a name is quoted in an error up to this length
# the bench's test functions and the group each records (bench/bench_*.py)
GROUP_OF_TEST = {"test_step": "step", "test_parallel_step": "step", "test_forward": "forward",
                 "test_epoch": "epoch", "test_activation": "activation"}
NAME = re.compile(r"(?P<test>[A-Za-z_][A-Za-z0-9_]*)\[(?P<param>.+)\]", re.S)
STEP_ID = re.compile(r"(?P<prefix>.+?)-(?P<size>h\d+(?:x\d+|(?:-\d+)+)?)-b(?P<batch>\d{1,18})"
                     r"-f(?P<bits>32|64)-t(?P<threads>\d{1,18})(?:-w(?P<world>\d{1,18}))?")
ACTIVATION_ID = re.compile(rf"(?P<prefix>.+)-(?P<activation>{'|'.join(ACTIVATION_KINDS)})"
                           r"-f(?P<bits>32|64)-t(?P<threads>\d{1,18})")


def size_id(layer_sizes) -> str:
    hidden = list(layer_sizes)[1:-1]
    if len(hidden) == 1:
        return f"h{hidden[0]}"
    if len(set(hidden)) == 1:
        return f"h{hidden[0]}x{len(hidden)}"
    return "h" + "-".join(map(str, hidden)) if hidden else "h0"


def case_id(backend, layer_sizes, batch, dtype, threads, world_size=1) -> str:
    w = f"-w{world_size}" if world_size != 1 else ""
    return f"{backend}-{size_id(layer_sizes)}-b{batch}-f{dtype[-2:]}-t{threads}{w}"


def _text(v) -> bool:
    """A non-empty string of Unicode text (a lone surrogate is none)."""
    if not isinstance(v, str) or v == "":
        return False
    try:
        v.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _shown(name: str) -> str:
    """``name`` quoted for an error line, cut at ``MAX_NAME_CHARS``."""
    text = repr(name)
    return text if len(text) <= MAX_NAME_CHARS else text[:MAX_NAME_CHARS - 3] + "..."


def check_names(problem, bench: dict) -> None:
    """``name`` a non-empty string; ``param`` (where not null) what the name's brackets hold;
    ``fullname`` (where present) ending with ``"::" + name``; the case id in the name, the
    record's (``info``: its validated ``extra_info``)."""
    name = bench.get("name")
    if not _text(name):
        problem("name", name if "name" in bench else "absent",
                "the benchmark's name, a non-empty string")
    param = bench.get("param")
    if param is not None and not (isinstance(param, str) and name.endswith(f"[{param}]")):
        problem("param", param, f"what the name {_shown(name)} holds in brackets")
    if "fullname" in bench and not (_text(bench["fullname"])
                                    and bench["fullname"].endswith("::" + name)):
        problem("fullname", bench["fullname"], f"a node id ending with '::' + {_shown(name)}")
    m = NAME.fullmatch(name)
    if m is not None:
        _check_id(problem, m["test"], m["param"], bench["extra_info"], name)


def _check_id(problem, test: str, param: str, info: dict, name: str) -> None:
    says = f"as the name {_shown(name)} says"
    group = info["group"]
    step = STEP_ID.fullmatch(param)
    act = ACTIVATION_ID.fullmatch(param) if step is None else None
    if step is None and act is None:
        return  # not the suite's id (a synthetic name)
    if test in GROUP_OF_TEST and GROUP_OF_TEST[test] != group:
        problem("extra_info.group", group, f"{GROUP_OF_TEST[test]!r}, {says}")
    m = step or act
    prefix = info["backend"]
    if group == "epoch" and info.get("pipeline"):
        prefix = f"{info['pipeline']}-{prefix}"
    if m["prefix"] != prefix:
        field = "pipeline and backend" if group == "epoch" else "backend"
        problem(f"extra_info.{field}", prefix, f"{m['prefix']!r}, {says}")
    dtype = f"float{m['bits']}"
    if info["dtype"] != dtype:
        problem("extra_info.dtype", info["dtype"], f"{dtype!r}, {says}")
    if info["threads"] != int(m["threads"]):
        problem("extra_info.threads", info["threads"], f"{int(m['threads'])}, {says}")
    if act is not None:
        if info.get("activation") != act["activation"]:
            problem("extra_info.activation", info.get("activation"),
                    f"{act['activation']!r}, {says}")
        return
    if size_id(info["layer_sizes"]) != step["size"]:
        problem("extra_info.layer_sizes", info["layer_sizes"],
                f"layer sizes whose hidden layers read {step['size']!r}, {says}")
    if info["batch"] != int(step["batch"]):
        problem("extra_info.batch", info["batch"], f"{int(step['batch'])}, {says}")
    world = int(step["world"] or 1)
    if info["world_size"] != world:
        problem("extra_info.world_size", info["world_size"], f"{world}, {says}")


def check_backend(problem, info: dict) -> None:
    """A parallel backend (``PARALLEL_BACKENDS``) times group "step" at any world size, its
    variant "w<world_size>" (or null); a single-process backend runs one process, its
    variant its own (``BACKEND_VARIANTS``) or null."""
    backend, variant, world = info["backend"], info.get("variant"), info["world_size"]
    if backend in PARALLEL_BACKENDS:
        if info["group"] != "step":
            problem("extra_info.group", info["group"],
                    f"'step' for the parallel backend {backend!r}")
        if variant is not None and variant != f"w{world}":
            problem("extra_info.variant", variant,
                    f"null or 'w{world}' (world_size {world}) for backend {backend!r}")
        return
    if world != 1:
        problem("extra_info.world_size", world, f"1 for the single-process backend {backend!r}")
    own = BACKEND_VARIANTS.get(backend)
    if variant != own:
        problem("extra_info.variant", variant if "variant" in info else "absent",
                f"{'null' if own is None else repr(own)} for backend {backend!r}")
