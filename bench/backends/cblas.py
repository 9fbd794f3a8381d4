r"""NumPy's own BLAS GEMM, called through ctypes: what ``numpy-fused`` builds its step from.

    from bench.backends.cblas import numpy_gemm, GemmCall
    gemm = numpy_gemm("float32")          # a Gemm, or GemmUnavailable saying why
    call = GemmCall(gemm, "N", "T", 1.0, A, W, 1.0, Z)   # checked once, bound to the arrays
    call()                                 # Z <- 1.0 * A @ W.T + 1.0 * Z, one BLAS call

``cblas_?gemm`` in row-major order computes

.. math::
    C \leftarrow \alpha\, \mathrm{op}(A)\, \mathrm{op}(B) + \beta\, C, \qquad
    \mathrm{op}(X) \in \{X, X^T\}

with ``op(A)`` of shape (M, K), ``op(B)`` (K, N) and ``C`` (M, N), every operand C-contiguous.
A transposed operand is read in place (its leading dimension is its own row length): no copy.

Why ctypes to NumPy's own library, not ``scipy.linalg.blas``: SciPy's wheel ships its OWN
OpenBLAS with its own thread pool; with both pools threaded they fight for the cores (the
measurement: docs/methodology.md, 'The fused NumPy step'), and the suite pins NumPy's.
Calling the library NumPy itself loaded keeps one pool, the one ``core.threads.pinned`` sets
and reads back.

Finding it: ``threadpoolctl.threadpool_info()`` lists the BLAS libraries loaded in this
process; NumPy's is the one whose file lies in NumPy's own folders (``numpy.libs``,
``numpy/.dylibs``, ``numpy/``), since SciPy's or torch's may be loaded too. It is opened with
``RTLD_NOLOAD`` (the copy already loaded, never a second one). OpenBLAS only: its symbol is
``<prefix>cblas_<t>gemm<suffix>`` with prefix ``scipy_`` (NumPy's wheels) or none, suffix
``64_`` / ``_64`` (ILP64: 64-bit integer sizes) or none (integer width from
``openblas_get_config()``: ``USE64BITINT`` or not). An MKL, Accelerate or BLIS build, or an
OpenBLAS without a cblas GEMM, gives ``GemmUnavailable`` with the reason: no fallback.

Safety: a wrong ctypes call writes wherever its pointers say. ``GemmCall`` checks everything
once, when it is bound: each operand an ``np.ndarray`` of the GEMM's dtype, C-contiguous,
aligned, 2-D, the shapes agreeing, ``C`` writeable and overlapping neither input, every size
and leading dimension within the library's integer range. It keeps references to its arrays
(the memory cannot be freed under it; an ndarray's data pointer cannot change) and
``verify()`` re-checks shapes and pointers (run after timing).
"""

from __future__ import annotations

import ctypes
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112  # CBLAS enums (C ints)
TRANSPOSE = {"N": NO_TRANS, "T": TRANS}
PREFIXES = ("scipy_", "")  # NumPy's wheels (scipy-openblas) first, then a plain OpenBLAS
SUFFIXES = (("64_", True), ("_64", True), ("", None))  # None: width from the build config
LETTER = {"float32": "s", "float64": "d"}


class GemmUnavailable(RuntimeError):
    """NumPy's BLAS offers no cblas GEMM this module can call; the message says why."""


@dataclass(frozen=True)
class Gemm:
    """One cblas ``?gemm`` of NumPy's BLAS: ``fn`` (ctypes), its dtype and integer type."""

    fn: object
    dtype: np.dtype
    int_t: type  # ctypes.c_int64 (ILP64) or ctypes.c_int32 (LP64)
    scalar_t: type  # ctypes.c_float or ctypes.c_double
    symbol: str
    library: str

    @property
    def int_max(self) -> int:
        return 2 ** (8 * ctypes.sizeof(self.int_t) - 1) - 1


def _numpy_dirs() -> list:
    pkg = Path(np.__file__).resolve().parent
    return [pkg.parent / "numpy.libs", pkg / ".dylibs", pkg]


def numpy_blas() -> dict:
    """threadpoolctl's entry of the BLAS NumPy loaded (``filepath``, ``internal_api``,
    ``prefix``, ...); ``GemmUnavailable`` when none or several lie in NumPy's folders."""
    from threadpoolctl import threadpool_info

    dirs = _numpy_dirs()
    found = [p for p in threadpool_info() if p.get("user_api") == "blas"
             and any(d in Path(p["filepath"]).resolve().parents for d in dirs)]
    if len(found) != 1:
        seen = [p["filepath"] for p in threadpool_info() if p.get("user_api") == "blas"]
        raise GemmUnavailable(f"{len(found)} BLAS libraries inside NumPy's folders "
                              f"({', '.join(map(str, dirs))}); loaded BLAS: {seen or 'none'}")
    return found[0]


def _open(path: str):
    if os.name == "nt":  # LoadLibrary returns the module already loaded
        return ctypes.CDLL(path)
    return ctypes.CDLL(path, mode=os.RTLD_NOLOAD | os.RTLD_NOW | os.RTLD_LOCAL)


def _ilp64_from_config(lib, prefix: str) -> bool | None:
    for p in (prefix, *PREFIXES):
        for s, _ in SUFFIXES:
            fn = getattr(lib, f"{p}openblas_get_config{s}", None)
            if fn is not None:
                fn.restype, fn.argtypes = ctypes.c_char_p, []
                return b"USE64BITINT" in (fn() or b"")
    return None


def numpy_gemm(dtype: str) -> Gemm:
    """NumPy's cblas ``sgemm`` (float32) or ``dgemm`` (float64); ``GemmUnavailable`` if the
    library is not OpenBLAS, or exposes no cblas GEMM, or its integer width is unknown."""
    dtype = np.dtype(dtype)
    if dtype.name not in LETTER:
        raise GemmUnavailable(f"no cblas GEMM for dtype {dtype.name} (float32, float64 only)")
    info = numpy_blas()
    if info.get("internal_api") != "openblas":
        raise GemmUnavailable(f"NumPy's BLAS is {info.get('internal_api')!r} "
                              f"({info['filepath']}): only OpenBLAS's cblas GEMM is bound")
    try:
        lib = _open(info["filepath"])
    except OSError as e:
        raise GemmUnavailable(f"cannot open NumPy's BLAS {info['filepath']}: {e}") from None
    lp = "scipy_" if "scipy" in (info.get("prefix") or "") else ""
    tried = []
    for prefix in dict.fromkeys((lp, *PREFIXES)):
        for suffix, ilp64 in SUFFIXES:
            name = f"{prefix}cblas_{LETTER[dtype.name]}gemm{suffix}"
            tried.append(name)
            fn = getattr(lib, name, None)
            if fn is None:
                continue
            if ilp64 is None:
                ilp64 = _ilp64_from_config(lib, prefix)
                if ilp64 is None:
                    raise GemmUnavailable(f"{name} in {info['filepath']}: integer width "
                                          "unknown (no openblas_get_config)")
            int_t = ctypes.c_int64 if ilp64 else ctypes.c_int32
            scalar_t = ctypes.c_float if dtype == np.float32 else ctypes.c_double
            ptr = ctypes.c_void_p
            fn.restype = None
            fn.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int, int_t, int_t, int_t,
                           scalar_t, ptr, int_t, ptr, int_t, scalar_t, ptr, int_t]
            return Gemm(fn, dtype, int_t, scalar_t, name, info["filepath"])
    raise GemmUnavailable(f"NumPy's BLAS {info['filepath']} exports no cblas GEMM "
                          f"(tried {', '.join(tried)})")


def _check_operand(a, name: str, gemm: Gemm, writeable: bool = False) -> None:
    if type(a) is not np.ndarray:
        raise TypeError(f"{name}: a numpy.ndarray, got {type(a).__name__}")
    if a.dtype != gemm.dtype:
        raise TypeError(f"{name}: dtype {a.dtype}, the GEMM's is {gemm.dtype}")
    if a.ndim != 2:
        raise ValueError(f"{name}: 2-D, got shape {a.shape}")
    if not (a.flags.c_contiguous and a.flags.aligned):
        raise ValueError(f"{name}: C-contiguous and aligned (a copy would be hidden)")
    if writeable and not a.flags.writeable:
        raise ValueError(f"{name}: read-only, the GEMM writes it")
    if min(a.shape) < 1 or max(a.shape) > gemm.int_max:
        raise ValueError(f"{name}: sizes {a.shape} outside 1..{gemm.int_max}")


class GemmCall:
    """``C <- alpha op(A) op(B) + beta C`` bound to three arrays, checked once (module doc).

    ``trans_a`` / ``trans_b``: "N" or "T". ``alpha``, ``beta``: Python numbers, converted to
    the GEMM's scalar type once."""

    def __init__(self, gemm: Gemm, trans_a: str, trans_b: str, alpha, A, B, beta, C):
        for a, name, w in ((A, "A", False), (B, "B", False), (C, "C", True)):
            _check_operand(a, name, gemm, w)
        if trans_a not in TRANSPOSE or trans_b not in TRANSPOSE:
            raise ValueError(f"transpose flags 'N' or 'T', got {trans_a!r}, {trans_b!r}")
        M, K = A.shape if trans_a == "N" else A.shape[::-1]
        K2, N = B.shape if trans_b == "N" else B.shape[::-1]
        if K != K2 or C.shape != (M, N):
            raise ValueError(f"shapes do not agree: op(A) {(M, K)} op(B) {(K2, N)} C {C.shape}")
        if np.may_share_memory(C, A) or np.may_share_memory(C, B):
            raise ValueError("C overlaps A or B: the GEMM would read what it writes")
        self.gemm, self.arrays = gemm, (A, B, C)  # references: the memory outlives the call
        self._bound = [(a.shape, a.ctypes.data) for a in self.arrays]
        it, st = gemm.int_t, gemm.scalar_t
        # lda, ldb, ldc: the row length of each array as stored (C-contiguous)
        self._args = (ROW_MAJOR, TRANSPOSE[trans_a], TRANSPOSE[trans_b], it(M), it(N), it(K),
                      st(alpha), A.ctypes.data, it(A.shape[1]), B.ctypes.data, it(B.shape[1]),
                      st(beta), C.ctypes.data, it(C.shape[1]))
        self._fn = gemm.fn

    def __call__(self) -> None:
        self._fn(*self._args)

    def verify(self) -> None:
        """AssertionError unless every bound array kept its shape and data pointer."""
        now = [(a.shape, a.ctypes.data) for a in self.arrays]
        assert now == self._bound, f"a GEMM operand changed since it was bound: {now}"
