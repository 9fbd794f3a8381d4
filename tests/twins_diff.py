"""How far apart the twins are: per file pair, lines removed, added and shared.

Run it with ``make twins-diff`` or::

    python -m tests.twins_diff

``removed``: lines of ``impl_numpy/F`` that a line diff (``difflib``, no junk heuristic)
drops to reach ``impl_torch/F``; ``added``: lines it adds; ``shared``: lines both keep.
Files that exist in one twin only are listed with the other side as 0 lines.
"""

from __future__ import annotations

import difflib
import sys
from pathlib import Path

from core import cli

ROOT = Path(__file__).resolve().parent.parent
TWINS = ("impl_numpy", "impl_torch")


def diff_size(a_lines: list, b_lines: list) -> tuple:
    """``(removed, added, shared)`` line counts of the diff from ``a_lines`` to ``b_lines``."""
    matcher = difflib.SequenceMatcher(None, a_lines, b_lines, autojunk=False)
    shared = sum(block.size for block in matcher.get_matching_blocks())
    return len(a_lines) - shared, len(b_lines) - shared, shared


def pairs(root: Path = ROOT) -> list:
    """Every ``.py`` file name in either twin, sorted."""
    names = set()
    for twin in TWINS:
        names |= {p.name for p in (root / twin).glob("*.py")}
    return sorted(names)


def _lines(path: Path) -> list:
    return path.read_text().splitlines() if path.exists() else []


def sizes(root: Path = ROOT) -> dict:
    """``{file name: (removed, added, shared)}`` over all pairs."""
    return {name: diff_size(*(_lines(root / twin / name) for twin in TWINS))
            for name in pairs(root)}


def main(argv=None) -> int:
    cli.Parser(prog="python -m tests.twins_diff",
               description="Lines removed, added and shared between impl_numpy/F and "
                           "impl_torch/F, for every file both twins have.").parse_args(argv)
    table = sizes()
    print(f"{'file':<16} {'removed':>8} {'added':>8} {'shared':>8}   "
          f"(diff {TWINS[0]}/F {TWINS[1]}/F)")
    for name, (removed, added, shared) in table.items():
        print(f"{name:<16} {removed:>8} {added:>8} {shared:>8}")
    total = [sum(col) for col in zip(*table.values())]
    print(f"{'total':<16} {total[0]:>8} {total[1]:>8} {total[2]:>8}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
