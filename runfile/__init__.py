"""The run format's one owner: what a run file holds, reading, checking and writing it.

A run is one pytest-benchmark JSON file written by the suite in ``bench/`` (its records built
by ``make_record``); the report (``reports/``) and the gate (``gate/``) read it only through
here, so a run means one thing to all three. This package imports ``core`` only.

    schema.py     the keys and what they mean (the contract)
    read.py       ``load`` / ``parse`` a run into a validated ``Run``; ``RunFileError``
    check.py      field-level checks of a run and of the gate's baseline
    ids.py        a benchmark's names (the suite's case id) and its backend's words, checked
                  against its record
    write.py      ``make_record`` (one benchmark's record), ``merge_launches`` (a run of
                  several launches), ``write_json`` (atomic)
    baseline.py   the gate's baseline document: format version, keys, ``load_baseline``
    synthetic.py  runs with known answers, for tests and demos

    import runfile
    run = runfile.load("results/runs/20260101T000000Z-quick.json")  # a validated Run
"""

from runfile.baseline import BASELINE_FORMAT, BASELINE_KEYS, load_baseline
from runfile.read import REQUIRED_KEYS, Run, RunFileError, check_versions, load, parse, read_json
from runfile.write import make_record, merge_launches, write_json

__all__ = ["BASELINE_FORMAT", "BASELINE_KEYS", "REQUIRED_KEYS", "Run", "RunFileError",
           "check_versions", "load", "load_baseline", "make_record", "merge_launches", "parse",
           "read_json", "write_json"]
