"""The shared spec: parameter counts and the FLOP counts every benchmark record carries."""

from __future__ import annotations

import pytest

from core.flops import forward_flops, step_flops, step_gemm_shapes
from core.spec import n_params


def test_chapter_mlp_has_79510_parameters():
    assert n_params([784, 100, 10]) == 79_510


def test_step_flops_by_hand_for_the_chapter_mlp():
    # layer 1: forward + weight gradient (no input gradient): 2 * 2*B*784*100
    # layer 2: forward + weight gradient + input gradient: 3 * 2*B*100*10
    assert step_flops([784, 100, 10], 100) == 4 * 100 * 784 * 100 + 6 * 100 * 100 * 10
    assert forward_flops([784, 100, 10], 100) == 2 * 100 * (784 * 100 + 100 * 10)


@pytest.mark.parametrize("sizes", [[784, 2048, 10], [5, 4, 3, 2], [3, 7]])
@pytest.mark.parametrize("batch", [1, 256])
def test_gemm_shapes_account_for_every_counted_flop(sizes, batch):
    shapes = step_gemm_shapes(sizes, batch)
    assert sum(2 * m * k * n for m, k, n in shapes) == step_flops(sizes, batch)
    assert len(shapes) == 3 * (len(sizes) - 1) - 1


def test_make_spec_defaults_are_the_twins_defaults():
    from core.spec import Spec, make_spec

    assert make_spec([4, 3]) == Spec((4, 3), "relu", "cross_entropy", "float32")
    assert make_spec((4, 3), "logistic", "mse", "float64").activation == "sigmoid"
