"""The command lines' side of the input contract: ranges checked while arguments are parsed,
bad input reported as one line on stderr with exit status 2, never a traceback.

``Parser`` is an ``argparse.ArgumentParser`` whose ``error`` prints ``prog: error: ...`` (no
usage block) and exits 2; ``fail(prog, message)`` does the same for problems found after
parsing (a missing file, an argument that contradicts another). The ``type=`` functions
below refuse out-of-range values at parsing, naming the value and the range. Stdlib only.
"""

from __future__ import annotations

import argparse
import math
import os
import sys


class Parser(argparse.ArgumentParser):
    """``ArgumentParser`` whose errors are one line on stderr and exit status 2."""

    def error(self, message):
        fail(self.prog, message)


def error(prog: str, message, status: int = 2) -> int:
    """Print ``prog: error: message`` (one line) on stderr and return ``status``, for a
    ``main`` to return. Under torchrun (``RANK`` set) only rank 0 prints: every rank sees the
    same arguments, and one job should say its problem once."""
    if os.environ.get("RANK", "0") == "0":
        one_line = " ".join(str(message).split())
        print(f"{prog}: error: {one_line}", file=sys.stderr, flush=True)
    return status


def fail(prog: str, message: str, status: int = 2):
    """``error``, then exit with ``status``."""
    raise SystemExit(error(prog, message, status))


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None


def positive_int(text: str) -> int:
    """An integer >= 1."""
    value = _int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive integer (>= 1)")
    return value


def non_negative_int(text: str) -> int:
    """An integer >= 0."""
    value = _int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative (must be >= 0)")
    return value


def _float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def positive_float(text: str) -> float:
    """A finite number > 0."""
    value = _float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text} is not positive (must be > 0)")
    return value


def non_negative_float(text: str) -> float:
    """A finite number >= 0."""
    value = _float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is negative (must be >= 0)")
    return value


def int_at_least(low: int, why: str):
    """A ``type=`` for an integer >= ``low``; ``why`` (the reason for the bound) ends the
    error, e.g. ``int_at_least(2, "the noise needs two runs")``."""
    def parse(text: str) -> int:
        value = _int(text)
        if value < low:
            raise argparse.ArgumentTypeError(f"{value} is less than {low}: {why}")
        return value
    return parse


def json_file_out(text: str) -> str:
    """A file to write: not a folder, in a folder that exists (checked before any work is
    spent on what will be written there)."""
    if os.path.isdir(text) or not os.path.isdir(os.path.dirname(os.path.abspath(text))):
        raise argparse.ArgumentTypeError(f"{text}: must be a JSON file in an existing folder")
    return text


def existing_dir(text: str) -> str:
    """A folder that exists."""
    if not os.path.isdir(text):
        what = "is not a folder" if os.path.exists(text) else "no such folder"
        raise argparse.ArgumentTypeError(f"{text}: {what}")
    return text


def folder_out(text: str) -> str:
    """A folder to write into: one that exists, or a new one (made with its parents), with
    no file in the way."""
    path = os.path.abspath(text)
    while not os.path.exists(path):
        path = os.path.dirname(path)
    if not os.path.isdir(path):
        what = "exists and is not a folder" if path == os.path.abspath(text) else \
            f"cannot be made: {path} is a file"
        raise argparse.ArgumentTypeError(f"{text}: {what}")
    return text


def existing_file(text: str) -> str:
    """A file that exists."""
    if not os.path.isfile(text):
        what = "is not a file" if os.path.exists(text) else "no such file"
        raise argparse.ArgumentTypeError(f"{text}: {what}")
    return text
