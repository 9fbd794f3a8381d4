"""More launches into one run: the launches of several runs of one machine, code and profile.

    python -m runfile.combine REFERENCE.json LATER.json [...] --out COMBINED.json

Each input may itself be a run of several launches; the output keeps every launch of every
input, in the order given (``runfile.write.combine_runs``). This is how a reference whose
ranges did not hold (``python -m reports.holds``) is widened: the later run's launches join
it, and every ratio the later run measured then carries the range over all of them. Runs of
another machine, library, profile or commit are refused (one line, exit 2), as the launcher
refuses them; the output is written atomically and never over an input.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core import cli
from runfile.read import RunFileError, load, read_json
from runfile.write import combine_runs, write_json

PROG = "python -m runfile.combine"


def main(argv=None) -> int:
    p = cli.Parser(prog=PROG, description=__doc__,
                   formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", nargs="+", type=cli.existing_file, metavar="RUN.json",
                   help="runs to combine, in launch order (two or more)")
    p.add_argument("--out", required=True, type=Path, metavar="COMBINED.json",
                   help="the combined run (not one of the inputs)")
    try:
        args = p.parse_args(sys.argv[1:] if argv is None else argv)
        if len(args.runs) < 2:
            p.error("give two or more runs to combine")
        if any(Path(r).resolve() == args.out.resolve() for r in args.runs):
            p.error(f"--out {args.out}: is one of the inputs; write the combination elsewhere")
    except SystemExit as e:
        return e.code
    try:
        for r in args.runs:
            load(r)  # every input valid before anything is combined
        doc = combine_runs([read_json(r) for r in args.runs])
        write_json(args.out, doc)
        load(args.out)  # what was written reads back as a run
    except (RunFileError, ValueError) as e:
        return cli.error(PROG, e)
    except OSError as e:
        return cli.error(PROG, f"{e.filename}: {e.strerror}")
    print(f"{args.out}: {doc['mlp_twins']['launches']} launches from {len(args.runs)} runs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
