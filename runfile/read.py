"""Read, validate and version a run JSON.

    from runfile import load
    run = load("results/runs/2025-01-01T00-00-00-quick.json")  # a validated Run
    run.benchmarks[0]["extra_info"]["backend"], run.twins["calibration"]["gemm"]

Both the report (``reports/load.py``) and the gate (``gate/``) read runs through here, so a
run means one thing to both. What the keys mean: ``runfile/schema.py``. Every problem with a
file becomes one ``RunFileError`` (a ``ValueError``) whose message is one line naming the file
and the field. Files are data: parsed as JSON, never executed.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

from runfile.check import RECORD, check_record, check_run_meta, check_run_records
from runfile.ids import check_names
from runfile.schema import SCHEMA_VERSION, SUITE

REQUIRED_KEYS = tuple(RECORD)  # extra_info keys without which a record cannot be read
MAX_VALUE_CHARS = 60  # a bad value is quoted in the error up to this length


class RunFileError(ValueError):
    """A one-line problem with a run or baseline file: names the file and the field."""


@dataclass
class Run:
    """One run of this suite: its run-level metadata and its validated benchmark entries."""

    path: Path
    schema: int
    machine: dict  # machine_info (pytest-benchmark's keys)
    twins: dict  # machine_info["mlp_twins"] ({} when absent)
    missing: list | None  # output_json["mlp_twins"]["missing"], None when not recorded
    complete: bool | None
    stopped_at: str | None  # output_json["mlp_twins"]["stopped_at"]: where a cut-short run stopped
    datetime: str | None
    commit: dict = field(default_factory=dict)  # pytest-benchmark's commit_info ({} when absent)
    benchmarks: list = field(default_factory=list)  # pytest-benchmark entries of this suite
    label: str = ""  # the machine in words, ``node (GPU or CPU model)``; readers may amend it
    launches: int = 1  # fresh processes the run is made of (``extra_info["launch"]``: which)

    @property
    def gemm(self) -> list:
        """The calibrated GEMM rates (``[]`` when the run has none); launch 0's."""
        return list((self.twins.get("calibration") or {}).get("gemm") or [])

    def gemm_of(self, launch: int) -> list:
        """The GEMM rates launch ``launch`` calibrated (each launch calibrates again)."""
        if launch == 0:
            return self.gemm
        others = self.twins.get("launch_calibrations") or []
        cal = others[launch - 1] if launch - 1 < len(others) else None
        return list((cal or {}).get("gemm") or [])

    def median_launch(self) -> Run:
        """This run with one entry per benchmark, as a run of one launch reads: of the
        launches that measured it undisturbed (all of them, when none did, so that it stays
        disturbed), the one with the median ``stats.median`` (the lower median for an even
        count); it keeps its ``extra_info.launch``. A run of one launch is returned as it
        is. The gate judges a launched run this way: the median of several processes moves
        less than one process, so a threshold from single-launch noise stays on the safe
        side."""
        if self.launches <= 1:
            return self
        by_name: dict = {}
        for bench in self.benchmarks:
            by_name.setdefault(bench.get("name"), []).append(bench)
        kept = []
        for entries in by_name.values():
            clean = [b for b in entries if b["extra_info"].get("disturbed") is not True]
            use = sorted(clean or entries, key=lambda b: float(b["stats"]["median"]))
            kept.append(use[(len(use) - 1) // 2])
        return dataclasses.replace(self, benchmarks=kept)

    def skipped(self) -> dict:
        """``{benchmark name: reason}`` for the missing benchmarks the run skipped on purpose
        (a reason starting "skipped", e.g. no CUDA); the name is the node id after "::"."""
        return {m["test"].rpartition("::")[2]: m["reason"] for m in self.missing or []
                if m["reason"].startswith("skipped")}

    def incomplete(self) -> list:
        """Why the run is not the whole selection, one string each: where it stopped, and every
        benchmark missing for another reason than a skip (interrupted, failed). A run that
        does not record what is missing (no ``mlp_twins`` block) says so."""
        if self.missing is None or self.complete is None:
            return ["the run does not record whether it is complete (no mlp_twins.missing "
                    "and mlp_twins.complete)"]
        why = [f"it stopped at {self.stopped_at}"] if self.stopped_at else []
        why += [f"{m['test']}: {m['reason']}" for m in self.missing
                if not m["reason"].startswith("skipped")]
        if self.complete is False and not why and not self.missing:
            why.append("it is marked incomplete (mlp_twins.complete is false)")
        return why

    def calibration(self) -> dict:
        """``machine_info.mlp_twins.calibration``; an error where the run has none (the gate
        cannot normalise without it)."""
        cal = self.twins.get("calibration")
        if not isinstance(cal, dict) or not isinstance(cal.get("gemm"), list):
            raise RunFileError(f"{self.path}: no machine_info.mlp_twins.calibration.gemm")
        return cal


def read_json(path: str | Path):
    """The parsed JSON of ``path``; every failure is a ``RunFileError`` naming the file."""
    path = Path(path)
    if not path.exists():
        raise RunFileError(f"{path}: no such file")
    if path.is_dir():
        raise RunFileError(f"{path}: is a directory, not a run JSON")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise RunFileError(f"{path}: not JSON (not UTF-8 text)") from None
    except json.JSONDecodeError as e:
        raise RunFileError(f"{path}: not JSON ({e.msg} at line {e.lineno})") from None
    except RecursionError:
        raise RunFileError(f"{path}: not a run JSON (nested too deeply)") from None
    except ValueError as e:  # an integer of more digits than Python converts, ...
        raise RunFileError(f"{path}: not JSON ({str(e).splitlines()[0][:80]})") from None
    except OSError as e:
        raise RunFileError(f"{path}: cannot read ({e.strerror})") from None


def _short(value) -> str:
    text = "absent" if value == "absent" else repr(value)
    return text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS - 3] + "..."


def problem_at(path, where: str = ""):
    """A ``problem(field, value, expected)`` that raises one ``RunFileError`` line naming the
    file, ``where`` in it (a benchmark) and the field."""
    def problem(field, value, expected):
        raise RunFileError(f"{path}: {where}{field} is {_short(value)}; expected {expected}")
    return problem


def check_benchmark(path, bench: dict) -> None:
    """The fields every reader relies on (``runfile/check.py``): the required extra_info keys
    with possible values, a finite positive ``stats.median``, consistent counts; then its
    names against the record (``runfile/ids.py``)."""
    name = bench.get("name") or bench.get("fullname") or "?"
    problem = problem_at(path, f"benchmark {name!r}: ")
    check_record(problem, bench["extra_info"], bench.get("stats", "absent"))
    check_names(problem, bench)


def machine_label(machine: dict, twins: dict) -> str:
    """``node (GPU or CPU model)``."""
    node = machine.get("node") or "unknown machine"
    gpu = twins.get("gpu") or {}
    what = gpu.get("name") if isinstance(gpu, dict) else None
    what = what or twins.get("cpu_model") or (machine.get("cpu") or {}).get("brand_raw")
    return f"{node} ({what})" if what else node


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def parse(doc, path: str | Path = "<run>") -> Run:
    """Validate one parsed run document; ``path`` names it in errors. The schema version
    is checked within the run here and against this code by ``check_versions``."""
    path = Path(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("benchmarks"), list):
        raise RunFileError(f"{path}: not a pytest-benchmark JSON (no 'benchmarks' list)")
    if not doc["benchmarks"]:
        raise RunFileError(f"{path}: the run has no benchmarks")
    ours = [b for b in doc["benchmarks"] if isinstance(b, dict)
            and isinstance(b.get("extra_info"), dict) and b["extra_info"].get("suite") == SUITE]
    if not ours:
        raise RunFileError(f"{path}: no benchmark of the {SUITE!r} suite (extra_info.suite); "
                           "is it another project's JSON?")
    for i, b in enumerate(doc["benchmarks"]):  # a record marked for another suite
        info = b.get("extra_info") if isinstance(b, dict) else None
        if isinstance(info, dict) and info.get("suite", SUITE) != SUITE:
            problem_at(path)(f"benchmarks[{i}].extra_info.suite", info["suite"],
                             f"{SUITE!r}, the suite of this run's other records")
    versions = sorted({repr(b["extra_info"].get("schema")) for b in ours})
    if len(versions) > 1:
        raise RunFileError(f"{path}: records mix schema versions {', '.join(versions)}")
    check_run_meta(problem_at(path), doc)
    machine = _dict(doc.get("machine_info"))
    twins = _dict(machine.get("mlp_twins"))
    extra = _dict(doc.get("mlp_twins"))
    missing = extra.get("missing") if isinstance(extra.get("missing"), list) else None
    for bench in ours:
        check_benchmark(path, bench)
    launches = extra.get("launches") or 1
    seen = set()
    for bench in ours:  # each entry names its launch, one of the run's, once
        launch = bench["extra_info"].get("launch", 0)
        if not (isinstance(launch, int) and not isinstance(launch, bool)
                and 0 <= launch < launches):
            problem_at(path, f"benchmark {bench.get('name')!r}: ")(
                "extra_info.launch", launch, f"a launch from 0 to {launches - 1} "
                f"(mlp_twins.launches is {extra.get('launches')!r})")
        if launches > 1:  # a launched run: each benchmark once per launch
            key = (bench.get("fullname") or bench.get("name"), launch)
            if key in seen:
                raise RunFileError(f"{path}: benchmark {key[0]!r} appears twice in launch "
                                   f"{launch}")
            seen.add(key)
    check_run_records(problem_at(path), doc, [(b.get("name"), b["extra_info"]) for b in ours])
    return Run(path=path, schema=ours[0]["extra_info"].get("schema"), machine=machine,
               twins=twins, missing=missing, complete=extra.get("complete"),
               stopped_at=extra.get("stopped_at"),
               datetime=doc.get("datetime"), benchmarks=ours, label=machine_label(machine, twins),
               commit=_dict(doc.get("commit_info")), launches=launches)


def load(path: str | Path) -> Run:
    """Read and validate one run (the version against this code: ``check_versions``)."""
    return parse(read_json(path), path)


def check_versions(runs: list[Run]) -> None:
    """All runs share one schema version, and it is the one this code reads."""
    first = runs[0]
    for run in runs[1:]:
        if run.schema != first.schema:
            raise RunFileError(f"{run.path}: schema version {run.schema!r} cannot be combined "
                               f"with {first.path} (schema version {first.schema!r})")
    if first.schema != SCHEMA_VERSION:
        raise RunFileError(f"{first.path}: schema version {first.schema!r}; this code reads "
                           f"version {SCHEMA_VERSION}")
