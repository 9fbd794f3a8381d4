"""What every report figure shares: the colour of each backend and the ``Skip`` signal.

    from reports.style import Skip, color
"""

from __future__ import annotations

COLORS = {"numpy": "tab:blue", "torch-cpu": "tab:orange", "torch-cuda": "tab:green",
          "torch-cuda-tf32": "tab:olive", "torch-ddp": "tab:red", "numpy-mp": "tab:purple",
          "sklearn": "tab:brown", "numpy-fused": "tab:cyan", "torch-cpu-compile": "tab:pink",
          "torch-cpu-aot": "darkred", "torch-cuda-compile": "tab:brown",
          "torch-cuda-graphs": "black"}  # one colour per step backend: a figure's lines differ


class Skip(Exception):
    """The run lacks what this figure needs; the message says what."""


def color(series: str) -> str:
    return COLORS.get(series.split(" ")[0], "tab:gray")
