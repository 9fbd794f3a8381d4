"""``core.init.init_params`` against oracles that do not share its code: torch's own
``nn.Linear`` default init (its bound from ``torch.nn.init``'s formula, and the statistics of
layers torch draws itself), the uniform distribution, and values pinned for one seed.

Every twin test starts both twins from ``init_params``, so a bug here (a bound drawn from
fan_out, a normal instead of a uniform, W transposed) would be invisible to them."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats
from torch import nn

import impl_numpy
import impl_torch
from core.init import init_params

# (fan_in, fan_out) pairs with fan_in != fan_out, so a bound drawn from fan_out is caught
LAYERS = [(784, 50), (50, 784), (100, 1024)]
MAX_NEAR_BOUND = 1e-3  # max |W| of >= 39,200 uniform draws is within 1e-3 of the bound
# (P(miss) = (1 - 1e-3)^39200 ~ 1e-17); measured: 6e-6 (ours), 6e-6 .. 5e-5 (nn.Linear)
BIAS_NEAR_BOUND = 0.05  # max |b| of >= 50 draws: P(all below 0.95 b) = 0.95^50 = 8 %;
# seeded, so deterministic; measured: 0.03 % .. 2.6 % below the bound for these layers
STD_RTOL = 0.01  # std of >= 39,200 uniform draws vs b/sqrt(3): sampling error ~0.4 %;
# measured: 0.04 % .. 0.12 % (ours), 0.003 % .. 0.09 % (torch's own nn.Linear)
KS_MIN_P = 1e-3  # Kolmogorov-Smirnov against U(-b, b): a correct seeded draw passes easily
PIN_RTOL = 1e-15  # the pinned float64 draws, reproduced up to rounding of the last bit
# init_params([3, 2, 2], "float64", seed=0): W1, b1, W2, b2 (printed once, checked by hand:
# |W1|, |b1| < 1/sqrt(3) = 0.577, |W2|, |b2| < 1/sqrt(2) = 0.707)
PINNED = [
    [[0.15814973408741406, -0.2658274055589157, -0.5300381190412067],
     [-0.5582657995466973, 0.36173331386275154, 0.4766090873016241]],
    [0.12313238768885171, 0.2649998025244097],
    [[0.061695054588811526, 0.6152853223351966], [0.44668437996241517, -0.703233957105363]],
    [0.5054459752002853, -0.6596096050894569],
]


def torch_linear_bound(fan_in, fan_out):
    """nn.Linear.reset_parameters' bound, rebuilt from torch.nn.init: kaiming_uniform_ with
    a = sqrt(5) gives gain * sqrt(3 / fan_in); the bias bound is 1 / sqrt(fan_in)."""
    weight = torch.empty(fan_out, fan_in)
    fan, _ = nn.init._calculate_fan_in_and_fan_out(weight)
    gain = nn.init.calculate_gain("leaky_relu", math.sqrt(5))
    return gain * math.sqrt(3.0 / fan), 1.0 / math.sqrt(fan)


def torch_linear(fan_in, fan_out, seed=0):
    torch.manual_seed(seed)
    layer = nn.Linear(fan_in, fan_out, dtype=torch.float64)
    return layer.weight.detach().numpy(), layer.bias.detach().numpy()


@pytest.mark.parametrize("fan_in, fan_out", LAYERS)
def test_bounds_are_nn_linears(fan_in, fan_out):
    w_bound, b_bound = torch_linear_bound(fan_in, fan_out)
    assert w_bound == pytest.approx(1 / math.sqrt(fan_in), rel=1e-12)  # the docstring's claim
    W_torch, b_torch = torch_linear(fan_in, fan_out)
    W, b = init_params([fan_in, fan_out], "float64", seed=0)
    assert W.shape == W_torch.shape == (fan_out, fan_in) and b.shape == b_torch.shape
    for name, ours, theirs, bound, near in (("W", W, W_torch, w_bound, MAX_NEAR_BOUND),
                                            ("b", b, b_torch, b_bound, BIAS_NEAR_BOUND)):
        for who, x in (("init_params", ours), ("nn.Linear", theirs)):
            top = np.abs(x).max()
            assert (1 - near) * bound < top <= bound, f"{who} {name}: max {top} vs {bound}"


@pytest.mark.parametrize("fan_in, fan_out", LAYERS)
def test_weights_are_uniform_like_nn_linears(fan_in, fan_out):
    w_bound, _ = torch_linear_bound(fan_in, fan_out)
    W, _ = init_params([fan_in, fan_out], "float64", seed=1)
    W_torch, _ = torch_linear(fan_in, fan_out, seed=1)
    for who, x in (("init_params", W), ("nn.Linear", W_torch)):
        assert x.std() == pytest.approx(w_bound / math.sqrt(3), rel=STD_RTOL), who
        assert abs(x.mean()) < 5 * w_bound / math.sqrt(3 * x.size), who
    p = stats.kstest(W.ravel(), stats.uniform(loc=-w_bound, scale=2 * w_bound).cdf).pvalue
    assert p > KS_MIN_P, f"init_params W is not U(-b, b): KS p = {p:.2g}"


def test_pinned_draws_for_one_seed():
    for name, got, want in zip(["W1", "b1", "W2", "b2"], init_params([3, 2, 2], "float64", 0),
                               PINNED):
        np.testing.assert_allclose(got, want, rtol=PIN_RTOL, err_msg=name)


def test_default_dtype_is_float32():
    assert {p.dtype for p in init_params([3, 2, 2])} == {np.dtype(np.float32)}


def test_float32_is_the_float64_draw_rounded():
    for a32, a64 in zip(init_params([30, 20, 5], "float32", 4),
                        init_params([30, 20, 5], "float64", 4)):
        assert a32.dtype == np.float32
        np.testing.assert_array_equal(a32, a64.astype(np.float32))


def test_seeds_and_layers_draw_different_values():
    a, b = init_params([8, 8, 8], "float64", 0), init_params([8, 8, 8], "float64", 1)
    assert not np.array_equal(a[0], b[0])
    assert not np.array_equal(a[0], a[2]), "layers 1 and 2 drew the same weights"
    assert not np.array_equal(a[0][0], a[1]), "bias drawn as a copy of a weight row"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_both_twins_start_from_these_draws(dtype):
    want = init_params([6, 5, 3], dtype, seed=2)
    got_np = impl_numpy.MLP([6, 5, 3], dtype=dtype, seed=2).params
    got_t = impl_torch.MLP([6, 5, 3], dtype=dtype, seed=2).numpy_params()
    for w, a, t in zip(want, got_np, got_t):
        np.testing.assert_array_equal(a, w)
        np.testing.assert_array_equal(t, w)
