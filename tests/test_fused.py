"""``numpy-fused`` (issue 24): NumPy's own cblas GEMM bound safely, the fused step equal to the
twin's (float64 1e-12 after 10 steps, float32 to the variants' 1e-4), no array allocated in a
warm step, and everything but plain SGD refused.
"""

from __future__ import annotations

import ctypes
import tracemalloc

import numpy as np
import pytest
import threadpoolctl

import impl_numpy
from bench.backends import REGISTRY, Case, cblas, load_all
from bench.backends import fused_backend as fb
from bench.backends.common import LR, make_batch
from bench.backends.variants import STRICT_RTOL, STRICT_STEPS
from core.close import assert_params_close
from runfile.schema import ONE_OFF_KEYS

REASON = fb.fused_unavailable()
pytestmark = pytest.mark.skipif(REASON is not None, reason=str(REASON))
DTYPES = ("float32", "float64")


@pytest.mark.parametrize("dtype", DTYPES)
def test_the_gemm_is_numpys_own_blas(dtype):
    g = cblas.numpy_gemm(dtype)
    assert g.library == cblas.numpy_blas()["filepath"]
    assert g.symbol.endswith(("gemm64_", "gemm_64", "gemm"))
    if g.symbol.endswith(("64_", "_64")):  # ILP64: 64-bit sizes
        assert g.int_t is ctypes.c_int64


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("ta, tb", [("N", "N"), ("N", "T"), ("T", "N"), ("T", "T")])
def test_a_bound_gemm_is_numpys_product(dtype, ta, tb):
    rng = np.random.default_rng(1)
    M, N, K = 7, 5, 3
    A = rng.standard_normal((M, K) if ta == "N" else (K, M)).astype(dtype)
    B = rng.standard_normal((K, N) if tb == "N" else (N, K)).astype(dtype)
    C = rng.standard_normal((M, N)).astype(dtype)
    want = -0.5 * ((A if ta == "N" else A.T) @ (B if tb == "N" else B.T)) + C
    call = cblas.GemmCall(cblas.numpy_gemm(dtype), ta, tb, -0.5, A, B, 1.0, C)
    call()
    np.testing.assert_allclose(C, want, rtol=1e-5 if dtype == "float32" else 1e-13)
    call.verify()


def _bad_operands():
    f32 = np.ones((4, 4), np.float32)
    raw = np.zeros(4 * 4 * 4 + 1, np.uint8)
    misaligned = raw[1:].view(np.float32).reshape(4, 4)
    readonly = np.ones((4, 4), np.float32)
    readonly.flags.writeable = False
    class Sub(np.ndarray):
        pass

    return [("A", f32.T[:, :3], "C-contiguous"), ("A", f32.astype(np.float64), "dtype"),
            ("A", f32.reshape(2, 8)[:, ::2], "C-contiguous"), ("A", misaligned, "aligned"),
            ("C", readonly, "read-only"), ("A", np.ones(4, np.float32), "2-D"),
            ("A", f32.view(Sub), "numpy.ndarray"), ("A", np.ones((4, 5), np.float32),
                                                       "shapes do not agree"),
            ("C", f32, "overlaps"), ("A", np.ones((0, 4), np.float32), "sizes")]


@pytest.mark.parametrize("which, bad, match", _bad_operands())
def test_a_bad_operand_is_refused_before_the_call(which, bad, match):
    ops = {"A": np.ones((4, 4), np.float32), "B": np.ones((4, 4), np.float32),
           "C": np.zeros((4, 4), np.float32)}
    ops[which] = bad
    if match == "overlaps":
        ops["A"] = ops["C"]
    with pytest.raises((TypeError, ValueError), match=match):
        cblas.GemmCall(cblas.numpy_gemm("float32"), "N", "N", 1.0, ops["A"], ops["B"], 1.0,
                       ops["C"])


def test_a_blas_other_than_openblas_is_unavailable(monkeypatch):
    real = cblas.numpy_blas()
    monkeypatch.setattr(threadpoolctl, "threadpool_info",
                        lambda: [{**real, "internal_api": "mkl", "prefix": "libmkl_rt"}])
    with pytest.raises(cblas.GemmUnavailable, match="only OpenBLAS"):
        cblas.numpy_gemm("float32")
    assert "only OpenBLAS" in fb.fused_unavailable()


def test_no_blas_in_numpys_folders_is_unavailable(monkeypatch):
    monkeypatch.setattr(threadpoolctl, "threadpool_info", lambda: [
        {"user_api": "blas", "internal_api": "openblas", "prefix": "libopenblas",
         "filepath": "/elsewhere/scipy.libs/libscipy_openblas.so", "num_threads": 1}])
    with pytest.raises(cblas.GemmUnavailable, match="0 BLAS libraries inside NumPy"):
        cblas.numpy_gemm("float64")


def _pair(sizes, dtype, activation="relu", loss="cross_entropy", batch=32):
    def fresh():
        m = impl_numpy.MLP(sizes, activation, loss, dtype=dtype, seed=5)
        return m, impl_numpy.SGD(m.params, LR)

    (m, o), (t, to) = fresh(), fresh()
    X, y = m.check_batch(*make_batch(Case(sizes, batch, dtype, 1, seed=2)))
    return fb.FusedStep(m, o, X, y), m, (t, to, X, y)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation, loss", [("relu", "cross_entropy"), ("tanh", "mse"),
                                              ("sigmoid", "cross_entropy"), ("relu", "mse")])
def test_fused_steps_are_the_twins(dtype, activation, loss):
    """STRICT_STEPS steps of each, same start, same batch: params to STRICT_RTOL (float64
    1e-12), losses alike."""
    step, m, (t, to, X, y) = _pair((20, 16, 12, 5), dtype, activation, loss)
    for _ in range(STRICT_STEPS):
        got, want = step(), impl_numpy.checked_step(t, to, X, y)
        assert float(got) == pytest.approx(float(want), rel=STRICT_RTOL[dtype])
    assert_params_close(m.params, t.params, STRICT_RTOL[dtype], "fused")
    assert STRICT_STEPS == 10 and STRICT_RTOL["float64"] == 1e-12


@pytest.mark.parametrize("dtype", DTYPES)
def test_the_check_before_timing_passes_and_catches_a_drift(dtype, monkeypatch):
    fb.assert_fused_equivalent(Case((30, 20, 4), 16, dtype, 1))
    monkeypatch.setattr(fb.FusedStep, "_act_backward", lambda self, l, dA, A: None)  # no g'
    with pytest.raises(AssertionError, match=r"after 10 steps, against the NumPy twin: W1"):
        fb.assert_fused_equivalent(Case((30, 20, 4), 16, dtype, 1))


def test_a_warm_step_allocates_no_array():
    step, _, (t, to, X, y) = _pair((200, 64, 10), "float32", batch=128)
    peaks = []
    for fn in (step, lambda: impl_numpy.checked_step(t, to, X, y)):
        fn()
        tracemalloc.start()
        fn()
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    smallest_array = 128 * 10 * 4  # the smallest array of the step, (B, C) float32
    assert peaks[0] < smallest_array < peaks[1], peaks


def test_verify_sees_a_replaced_param():
    step, m, _ = _pair((20, 16, 5), "float64")
    step()
    step.verify()
    m.params[0] = m.params[0].copy()
    with pytest.raises(AssertionError, match="params were replaced"):
        step.verify()


@pytest.mark.parametrize("kw", [{"momentum": 0.9}, {"weight_decay": 1e-4},
                                {"momentum": 0.9, "nesterov": True}, {"dampening": 0.5}])
def test_anything_but_plain_sgd_is_refused(kw):
    m = impl_numpy.MLP((6, 4, 3), dtype="float64")
    X, y = m.check_batch(*make_batch(Case((6, 4, 3), 4, "float64", 1)))
    with pytest.raises(ValueError, match="plain SGD only"):
        fb.FusedStep(m, impl_numpy.SGD(m.params, LR, **kw), X, y)


def test_an_optimizer_of_other_params_is_refused():
    m, other = (impl_numpy.MLP((6, 4, 3), dtype="float64") for _ in range(2))
    X, y = m.check_batch(*make_batch(Case((6, 4, 3), 4, "float64", 1)))
    with pytest.raises(ValueError, match="not the model's arrays"):
        fb.FusedStep(m, impl_numpy.SGD(other.params, LR), X, y)


def test_the_runner_records_its_one_off_and_is_registered():
    load_all()
    b = REGISTRY["numpy-fused"]
    assert (b.lib, b.device, b.step_only) == ("numpy", "cpu", True)
    runner = b.make(Case((12, 8, 3), 8, "float64", 1))
    try:
        runner.step()
        runner.check()
        info = runner.extra_info()
        assert set(info) == set(ONE_OFF_KEYS) - {"one_off_cache_hit"}
        assert info["one_off_kind"] == "prepare" and info["one_off_s"] > 0
        with pytest.raises(NotImplementedError):
            runner.forward()
    finally:
        runner.close()


def test_each_library_at_its_best_runs_the_quick_pair_and_every_full_width():
    from bench.suite import grid

    quick, full, smoke = (grid.profile(n) for n in ("quick", "full", "smoke"))
    for name in grid.BEST_VARIANTS:
        assert [s[1] for s, _ in grid.variant_step_sizes(quick, name)] == [100, 2048]
        assert [s[1] for s, _ in grid.variant_step_sizes(full, name)] == list(full.widths)
        assert len(grid.variant_step_sizes(smoke, name)) == 1  # one compile in make test
    assert [s[1] for s, _ in grid.variant_step_sizes(quick, "torch-cpu-compile")] == [100]


def test_the_schema_names_every_step_only_variant_and_its_eager_backend():
    from runfile import schema

    load_all()
    step_only = {n for n, b in REGISTRY.items() if b.step_only}
    assert set(schema.STEP_VARIANTS) == step_only
    assert set(schema.STEP_VARIANTS.values()) <= set(REGISTRY)
    assert {"numpy-fused", "torch-cpu-aot"} <= step_only
    assert fb.FusedRunner.kind in schema.ONE_OFF_KINDS
