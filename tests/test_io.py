"""Checkpoints: round trips, cross-loading between the twins, and refusing bad files."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest
import torch

import impl_numpy
import impl_torch
from core.checkpoint import config_of

from .helpers import twins


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_round_trips_and_cross_loads(tmp_path, dtype):
    npm, tm = twins([5, 7, 3], activation="sigmoid", loss="mse", dtype=dtype, seed=2)
    impl_numpy.SGD(npm.params, lr=1.0).step([np.ones_like(p) for p in npm.params])
    tm.load_numpy_params(npm.params)
    impl_numpy.save(tmp_path / "m.npz", npm)
    impl_torch.save(tmp_path / "m.pt", tm)
    loaded = {
        "numpy<-npz": impl_numpy.load(tmp_path / "m.npz"),
        "numpy<-pt": impl_numpy.load(tmp_path / "m.pt"),
        "torch<-pt": impl_torch.load(tmp_path / "m.pt"),
        "torch<-npz": impl_torch.load(tmp_path / "m.npz"),
    }
    for name, m in loaded.items():
        assert m.spec == npm.spec, name
        params = m.params if isinstance(m, impl_numpy.MLP) else m.numpy_params()
        for p, e in zip(params, npm.params, strict=True):
            assert p.dtype == e.dtype, name
            np.testing.assert_array_equal(p, e, err_msg=name)


@pytest.mark.parametrize("sizes, activation, loss, dtype", [
    ([5, 7, 3], "sigmoid", "mse", "float32"), ([3, 4, 4, 2], "relu", "cross_entropy", "float64"),
    ([2, 2], "logistic", "mse", "float64")])
def test_npz_holds_the_format_and_the_torch_twins_config(tmp_path, sizes, activation, loss,
                                                         dtype):
    """The ``.npz`` layout, pinned: ``format``, then ``config_of(spec)`` key by key
    (``layer_sizes`` int64, strings as ``<U``), then ``W1, b1, ...``; the same config the torch
    twin writes."""
    npm, tm = twins(sizes, activation=activation, loss=loss, dtype=dtype, seed=1)
    impl_numpy.save(tmp_path / "m.npz", npm)
    impl_torch.save(tmp_path / "m.pt", tm)
    config = torch.load(tmp_path / "m.pt", weights_only=True)["config"]
    assert config == config_of(npm.spec)
    n = len(npm.params) // 2
    with zipfile.ZipFile(tmp_path / "m.npz") as z:
        assert z.namelist() == [f"{k}.npy" for k in ["format", *config,
                                                      *(f"{p}{i}" for i in range(1, n + 1)
                                                        for p in "Wb")]]
    with np.load(tmp_path / "m.npz", allow_pickle=False) as f:
        assert f["format"].dtype == np.dtype("<U11") and str(f["format"]) == "mlp-twins/1"
        assert f["layer_sizes"].dtype == np.int64 and f["layer_sizes"].tolist() == sizes
        for key in ("activation", "loss", "dtype"):
            assert f[key].dtype.kind == "U" and f[key].shape == () and f[key].item() == config[key]


def test_torch_checkpoint_is_a_state_dict_loadable_weights_only(tmp_path):
    _, tm = twins([3, 4, 2])
    impl_torch.save(tmp_path / "m.pt", tm)
    obj = torch.load(tmp_path / "m.pt", weights_only=True)
    assert list(obj["state_dict"]) == list(tm.state_dict())


def test_refuses_missing_foreign_and_malicious_files(tmp_path):
    with pytest.raises(FileNotFoundError):
        impl_numpy.load(tmp_path / "nope.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    for load in (impl_numpy.load, impl_torch.load):
        with pytest.raises(ValueError, match="not a checkpoint"):
            load(tmp_path / "junk.npz")
    np.savez(tmp_path / "other.npz", a=np.zeros(3))
    with pytest.raises(ValueError, match="not an mlp-twins/1 checkpoint"):
        impl_numpy.load(tmp_path / "other.npz")
    # a torch.save of an arbitrary object must never be unpickled by impl_numpy
    torch.save({"format": "mlp-twins/1", "x": torch.nn.ReLU()}, tmp_path / "evil.pt")
    with pytest.raises(ValueError, match="refusing to unpickle"):
        impl_numpy.load(tmp_path / "evil.pt")


def test_refuses_params_of_wrong_shape_or_dtype(tmp_path):
    npm = impl_numpy.MLP([3, 4, 2], dtype="float64")
    impl_numpy.save(tmp_path / "m.npz", npm)
    with np.load(tmp_path / "m.npz") as f:
        arrays = dict(f)
    arrays["W2"] = np.zeros((2, 5))
    np.savez(tmp_path / "bad.npz", **arrays)
    for load in (impl_numpy.load, impl_torch.load):
        with pytest.raises(ValueError, match=r"bad.npz: W2 is float64 of shape \(2, 5\)"):
            load(tmp_path / "bad.npz")
    arrays["W2"] = np.zeros((2, 4), np.float32)
    np.savez(tmp_path / "bad32.npz", **arrays)
    for load in (impl_numpy.load, impl_torch.load):
        with pytest.raises(ValueError, match=r"bad32.npz: W2 is float32 .* need float64"):
            load(tmp_path / "bad32.npz")
