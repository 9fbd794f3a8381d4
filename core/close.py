"""When two parameter lists are the same: the suite's one scale-aware comparison.

``assert_params_close(actual, expected, rtol)`` holds each array of ``actual`` to the one of
``expected`` at the same place, entry by entry, within ``rtol`` relative to the entry and
``rtol`` times the expected array's largest magnitude absolute (so an entry near zero in an
array of large weights is not held to a tighter bound than its neighbours). The tests of the
twins and the equivalence check of every compiled or captured step before it is timed
(``bench/backends/variants.py``) use it, each with its own named tolerance.
"""

from __future__ import annotations

import numpy as np


def param_names(n: int) -> list:
    """``["W1", "b1", "W2", "b2", ...]``: the names of ``n`` parameters in ``params`` order."""
    return [f"{'W' if i % 2 == 0 else 'b'}{i // 2 + 1}" for i in range(n)]


def assert_params_close(actual, expected, rtol: float, what: str = "") -> None:
    """AssertionError, naming the parameter and ``what``, unless the lists have the same
    length and each ``actual`` array is within ``rtol`` of ``expected``'s (scale-aware)."""
    assert len(actual) == len(expected), \
        f"{what}: {len(actual)} params, expected {len(expected)}".lstrip(": ")
    for name, a, e in zip(param_names(len(expected)), actual, expected):
        e = np.asarray(e)
        np.testing.assert_allclose(a, e, rtol=rtol, atol=rtol * float(np.abs(e).max()),
                                   err_msg=f"{what} {name}".strip())
