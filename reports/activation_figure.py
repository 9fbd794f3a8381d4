"""Figure 6: logistic, tanh and ReLU with their derivatives, as the twins compute them.

    from reports.activation_figure import fig_activations
    fig, caption = fig_activations()

The curves are ``impl_numpy.activations``; torch autograd's derivatives are overlaid as dots
(when torch imports), so the figure is also a visual parity check. No benchmark data needed.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from impl_numpy import activations as act

Z_RANGE = 6.0  # plot z in [-Z_RANGE, Z_RANGE]
SATURATION = 0.1  # a derivative below this fraction of its peak counts as saturated
PANELS = (("logistic", act.sigmoid, act.sigmoid_grad, "sigmoid"),
          ("tanh", act.tanh, act.tanh_grad, "tanh"),
          ("ReLU", act.relu, act.relu_grad, "relu"))


def torch_grads(z: np.ndarray) -> dict | None:
    """d activation / dz by torch autograd for each panel, or None without torch."""
    try:
        import torch
    except ImportError:
        return None
    out = {}
    for _, _, _, name in PANELS:
        zt = torch.tensor(z, dtype=torch.float64, requires_grad=True)
        getattr(torch, name)(zt).sum().backward()
        out[name] = zt.grad.numpy()
    return out


def fig_activations():
    z = np.linspace(-Z_RANGE, Z_RANGE, 601)
    theirs = torch_grads(z)
    fig = Figure(figsize=(9, 3.4), layout="constrained")
    axes = fig.subplots(1, 3, sharex=True)
    worst = 0.0
    for ax, (title, f, df, name) in zip(axes, PANELS):
        y, dy = f(z), df(z)
        flat = dy < SATURATION * dy.max()
        ax.fill_between(z, 0, 1, where=flat, transform=ax.get_xaxis_transform(),
                        color="tab:red", alpha=0.12, lw=0,
                        label=f"saturated: f'(z) < {SATURATION:.0%} of its peak")
        ax.plot(z, y, color="tab:blue", label="f(z) (impl_numpy)")
        ax.plot(z, dy, color="tab:orange", label="f'(z) (impl_numpy)")
        if theirs is not None:
            ax.plot(z[::30], theirs[name][::30], "o", ms=3, color="k",
                    label="f'(z) (torch autograd)")
            worst = max(worst, float(np.abs(theirs[name] - dy).max()))
        ax.set(title=title, xlabel="net input z")
        ax.axhline(0, color="0.6", lw=0.6)
    axes[0].set_ylabel("f(z) and f'(z) (dimensionless)")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=4, fontsize=7)
    check = (f" torch autograd (dots) agrees with the NumPy derivatives to {worst:.1g}."
             if theirs is not None else " torch is not importable here, so only NumPy's curves.")
    return fig, ("The activations and their derivatives: where a unit saturates (shaded), its "
                 "derivative is near 0 and the gradient flowing through it vanishes; for ReLU "
                 "that is the whole of z < 0, for logistic and tanh both tails (logistic's "
                 "derivative never exceeds 0.25)." + check)
