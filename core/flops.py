"""Work counts of one training step: the FLOPs of its matrix products and their shapes."""

from __future__ import annotations


def step_flops(layer_sizes, batch) -> int:
    """Exact FLOPs of the matrix products in one training step on ``batch`` samples.

    Per layer of fan_in x fan_out: forward ``Z = A W^T`` and weight gradient
    ``dW = dZ^T A`` are 2*B*fan_in*fan_out each; the input gradient ``dA = dZ W``
    costs the same but is skipped for the first layer (nobody needs dL/dX).
    About 6*B*P for a deep net, a bit less here. Elementwise work is not counted.
    """
    total = 0
    for i, (a, b) in enumerate(zip(layer_sizes[:-1], layer_sizes[1:])):
        total += (4 if i == 0 else 6) * batch * a * b
    return total


def step_gemm_shapes(layer_sizes, batch) -> list:
    """``(m, k, n)`` of every matrix product in a step, in the order ``step_flops`` counts:
    per layer the forward (B, fan_in) x (fan_in, fan_out), the weight gradient
    (fan_out, B) x (B, fan_in) and, past the first layer, the input gradient
    (B, fan_out) x (fan_out, fan_in). ``sum(2*m*k*n) == step_flops``."""
    shapes = []
    for i, (a, b) in enumerate(zip(layer_sizes[:-1], layer_sizes[1:])):
        shapes += [(batch, a, b), (b, batch, a)] + ([(batch, b, a)] if i > 0 else [])
    return shapes


def forward_flops(layer_sizes, batch) -> int:
    """FLOPs of the forward matrix products alone: 2*B*fan_in*fan_out per layer."""
    return sum(2 * batch * a * b for a, b in zip(layer_sizes[:-1], layer_sizes[1:]))
