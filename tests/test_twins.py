"""The twins mirror each other: same files, same names in the same order, same return kinds,
and the README's example runs unchanged against either."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import numpy as np
import pytest
import torch

import impl_numpy
import impl_torch
from core.close import assert_params_close
from core.init import random_batch
from tests import twins_diff

from .helpers import GRAD_RTOL_F64, twins

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
TWIN_ONLY = "only in this twin"  # the banner of the one section a twin may have alone
ACT_RTOL = 1e-12  # float64, impl_torch.activations vs autograd and vs impl_numpy


def _defs(path: Path) -> list:
    """Top-level functions and classes as ``(kind, name)`` in file order, up to the ``only in
    this twin`` banner: a name that is a class in one twin and a function in the other
    differs."""
    src = path.read_text()
    stop = next((i + 1 for i, line in enumerate(src.splitlines()) if TWIN_ONLY in line),
                float("inf"))
    names = []
    for node in ast.parse(src).body:
        if node.lineno > stop:
            break
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.append(("class" if isinstance(node, ast.ClassDef) else "def", node.name))
    return names


def _methods(path: Path, cls: str) -> list:
    src = path.read_text()
    stop = next(i + 1 for i, line in enumerate(src.splitlines()) if TWIN_ONLY in line)
    (node,) = [n for n in ast.parse(src).body if isinstance(n, ast.ClassDef) and n.name == cls]
    return [n.name for n in node.body if isinstance(n, ast.FunctionDef) and n.lineno < stop]


def test_same_file_set():
    files = [sorted(p.name for p in (ROOT / t).glob("*.py")) for t in twins_diff.TWINS]
    assert files[0] == files[1]


@pytest.mark.parametrize("name", ["activations.py", "checks.py", "data.py", "io.py",
                                  "mlp.py", "sgd.py", "train.py"])
def test_same_functions_and_classes_in_the_same_order(name):
    assert _defs(ROOT / "impl_numpy" / name) == _defs(ROOT / "impl_torch" / name)


def test_mlp_methods_in_the_same_order():
    assert (_methods(ROOT / "impl_numpy" / "mlp.py", "MLP")
            == _methods(ROOT / "impl_torch" / "mlp.py", "MLP"))


def test_same_exports():
    extra = set(impl_torch.__all__) - set(impl_numpy.__all__)
    assert set(impl_numpy.__all__) <= set(impl_torch.__all__)
    assert extra == {"batched_loader", "per_sample_loader"}  # DataLoader variants
    assert set(impl_numpy.activations.BY_NAME) == set(impl_torch.activations.BY_NAME)


@pytest.mark.parametrize("tw", [impl_numpy, impl_torch], ids=["numpy", "torch"])
def test_exports_are_the_twins_own(tw):
    """A twin exports what it defines; what ``core`` defines (``init_params``, ``n_params``,
    ``step_flops``, ...) is imported from ``core``, under one name."""
    for name in tw.__all__:
        obj = getattr(tw, name)
        home = obj.__name__ if inspect.ismodule(obj) else obj.__module__
        assert home.startswith(tw.__name__ + "."), f"{tw.__name__}.{name} is {home}'s"
    for name in ("init_params", "n_params", "step_flops"):
        assert not hasattr(tw, name), f"{tw.__name__}.{name}: import it from core"


def test_batches_is_a_function_returning_a_reiterable_loader_in_both():
    X, y = np.arange(14.0).reshape(7, 2), np.arange(7) % 3
    for tw in (impl_numpy, impl_torch):
        assert inspect.isfunction(tw.batches), tw.__name__
        loader = tw.batches(X, y, 3, seed=1)
        epochs = [[yb.tolist() for _, yb in loader] for _ in range(2)]
        assert len(loader) == 3 and [len(e) for e in epochs] == [3, 3], tw.__name__
        assert epochs[0] != epochs[1], f"{tw.__name__}: each epoch draws a fresh order"
    assert (inspect.signature(impl_numpy.batches)
            == inspect.signature(impl_torch.batches))


def _readme_example() -> str:
    text = README.read_text()
    section = text[text.index("## The twins"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.mark.parametrize("tw", [impl_numpy, impl_torch], ids=["numpy", "torch"])
def test_readme_example_runs_with_either_twin(tw):
    code = _readme_example()
    assert "import impl_numpy as tw" in code
    rng = np.random.default_rng(0)
    X_train = rng.random((300, 784)).astype("float32")
    y_train = rng.integers(0, 10, size=300)
    scope = {"X_train": X_train, "y_train": y_train}
    exec(compile(code.replace("import impl_numpy as tw", ""), str(README), "exec"),  # noqa: S102
         {**scope, "tw": tw}, scope)
    model, loss = scope["model"], scope["loss"]
    assert isinstance(model, tw.MLP) and model.n_params == 79_510
    assert isinstance(loss, float) and np.isfinite(loss)


def test_readme_example_gives_both_twins_the_same_params():
    """The README's loop, run with each twin on the same data, ends at the same params."""
    rng = np.random.default_rng(1)
    X, y = rng.random((130, 6)), rng.integers(0, 3, size=130)
    params = []
    for tw in (impl_numpy, impl_torch):
        model = tw.MLP([6, 5, 3], dtype="float64")
        opt = tw.SGD(model.params, lr=0.1)
        for Xb, yb in tw.batches(X, y, 20):
            tw.train_step(model, opt, Xb, yb)
        params.append([np.asarray(p.detach() if hasattr(p, "detach") else p)
                       for p in model.params])
    assert_params_close(params[1], params[0], GRAD_RTOL_F64 * 1e3, "README loop")


@pytest.mark.parametrize("loss", ["cross_entropy", "mse"])
def test_loss_and_grads_same_kinds_and_values(loss):
    rng = np.random.default_rng(2)
    npm, tm = twins([4, 6, 3], activation="tanh", loss=loss, dtype="float64", seed=2)
    X, y = random_batch(rng, 9, 4, 3)
    assert type(npm.loss(X, y)) is float and type(tm.loss(X, y)) is float
    assert tm.loss(X, y) == pytest.approx(npm.loss(X, y), rel=GRAD_RTOL_F64)
    (l_np, g_np), (l_t, g_t) = npm.loss_and_grads(X, y), tm.loss_and_grads(X, y)
    assert type(l_np) is float and type(l_t) is float
    assert l_t == pytest.approx(l_np, rel=GRAD_RTOL_F64)
    assert_params_close([g.numpy() for g in g_t], g_np, GRAD_RTOL_F64, "grads")
    assert all(p.grad is None for p in tm.params)  # loss_and_grads leaves p.grad alone
    out = tm.zero_grads()
    _, written = tm.loss_and_grads(X, y, out=out)
    assert all(w is o for w, o in zip(written, out))
    assert_params_close([g.numpy() for g in out], g_np, GRAD_RTOL_F64, "grads into out")
    with pytest.raises(ValueError, match="out: expected 4 arrays"):
        tm.loss_and_grads(X, y, out=out[:3])


def _zeros(tw, shape, dtype):
    if tw is impl_torch:
        return torch.zeros(shape, dtype=getattr(torch, dtype))
    return np.zeros(shape, dtype)


# id -> (X, y) -> a bad (X, y), the exception, the start of its message in both twins
BAD_BATCHES = {
    "X strings": (lambda X, y: ([["a", "b", "c"]] * len(y), y), TypeError, r"X must "),
    "X complex": (lambda X, y: (X.astype(np.complex64), y), TypeError, r"X must hold real"),
    "X 5 features": (lambda X, y: (np.ones((len(y), 5)), y), ValueError, r"X has 5 features"),
    "X 1-D": (lambda X, y: (X[:, 0], y), ValueError, r"X must be 2-D"),
    "y float": (lambda X, y: (X, y + 0.5), TypeError, r"y must hold integer"),
    "y 2-D": (lambda X, y: (X, y[:, None]), ValueError, r"y must be 1-D"),
    "y too short": (lambda X, y: (X, y[:-1]), ValueError, r"len\(y\) = 3 does not match"),
}
# id -> (tw, params) -> a bad out, the exception it raises alone
BAD_OUTS = {
    "out float32": (lambda tw, ps: [_zeros(tw, tuple(p.shape), "float32") for p in ps],
                    TypeError),
    "out wrong shape": (lambda tw, ps: [_zeros(tw, (*p.shape, 2), "float64") for p in ps],
                        ValueError),
    "out too short": (lambda tw, ps: [_zeros(tw, tuple(p.shape), "float64") for p in ps[:-1]],
                      ValueError),
}


@pytest.mark.parametrize("bad_out", list(BAD_OUTS))
@pytest.mark.parametrize("bad_batch", list(BAD_BATCHES))
def test_loss_and_grads_checks_the_batch_before_out_in_both(bad_batch, bad_out):
    """A call with a bad batch *and* a bad ``out`` raises the batch's error in both twins
    (same type, a message naming X or y), and a bad ``out`` alone raises its own."""
    make_batch, exc, start = BAD_BATCHES[bad_batch]
    make_out, out_exc = BAD_OUTS[bad_out]
    X, y = random_batch(np.random.default_rng(3), 4, 3, 2)
    for model in twins([3, 4, 2], dtype="float64"):
        tw = impl_torch if isinstance(model, impl_torch.MLP) else impl_numpy
        with pytest.raises(Exception) as info:
            model.loss_and_grads(*make_batch(X, y), out=make_out(tw, model.params))
        assert type(info.value) is exc, f"{tw.__name__}: {info.value!r}"
        assert re.match(start, str(info.value)), f"{tw.__name__}: {info.value}"
        with pytest.raises(out_exc, match="^out"):
            model.loss_and_grads(X, y, out=make_out(tw, model.params))


def test_same_dtype_attribute_and_repr():
    npm, tm = twins([3, 4, 2], dtype="float64")
    assert npm.dtype == np.float64 and tm.dtype == torch.float64
    assert repr(npm) == repr(tm)


@pytest.mark.parametrize("name", ["relu", "tanh", "sigmoid"])
def test_torch_activation_grads_match_autograd_and_numpy(name):
    z = np.array([-1000.0, -3.0, -0.5, 0.0, 0.5, 3.0, 1000.0])
    t_act = impl_torch.activations.BY_NAME[name]
    n_act = impl_numpy.activations.BY_NAME[name]
    zt = torch.tensor(z, requires_grad=True)
    t_act.forward(zt).sum().backward()
    grad = t_act.grad(torch.tensor(z))
    np.testing.assert_allclose(grad.numpy(), zt.grad.numpy(), rtol=ACT_RTOL, err_msg=name)
    np.testing.assert_allclose(n_act.grad(z), grad.numpy(), rtol=ACT_RTOL, err_msg=name)
    np.testing.assert_allclose(t_act.forward(torch.tensor(z)).numpy(), n_act.forward(z),
                               rtol=ACT_RTOL, err_msg=name)
    dA = torch.full((7,), 2.0, dtype=torch.float64)
    a = t_act.forward(torch.tensor(z))
    assert t_act.backward(dA, a) is dA  # in place
    np.testing.assert_allclose(dA.numpy(), 2.0 * grad.numpy(), rtol=ACT_RTOL, err_msg=name)


def test_readme_quotes_the_mlp_diff_truthfully():
    removed, added, shared = twins_diff.sizes()["mlp.py"]
    text = README.read_text()
    quote = f"removes {removed} lines, adds {added} and shares {shared}"
    assert quote in text, f"README should say: {quote!r}"


def test_torch_module_hooks_run_in_every_entry_point():
    """The torch twin calls itself (``self(X)``), not ``self.forward``: forward hooks and
    pre-hooks registered on the MLP run in predict, predict_proba, loss and train_step."""
    model = impl_torch.MLP([4, 5, 3], dtype="float64")
    calls = []
    model.register_forward_pre_hook(lambda m, args, kwargs: calls.append("pre"),
                                    with_kwargs=True)
    model.register_forward_hook(lambda m, args, out: calls.append("post"))
    X, y = np.ones((2, 4)), np.array([0, 2])
    model.predict(X)
    model.predict_proba(X)
    model.loss(X, y)
    impl_torch.train_step(model, impl_torch.SGD(model.params, lr=0.1), X, y)
    assert calls == ["pre", "post"] * 4
