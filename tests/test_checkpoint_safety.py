"""Untrusted checkpoints: every crafted file in ``crafted_checkpoints.CASES`` is refused by
BOTH twins' ``load`` with the same one-line ``ValueError("<file>: <problem>")``, without
reading outside a buffer or allocating what the file merely claims; every layout in
``ACCEPTED`` is loaded by both to the same params; one flipped byte is refused by both;
random damage never ends in anything but a load or that error, alike in both twins."""

from __future__ import annotations

import re
import tracemalloc
import zipfile

import numpy as np
import pytest
import torch

import impl_numpy
import impl_torch

from .crafted_checkpoints import ACCEPTED, CASES, _npz, _pickle, _pt, _torch_model

LOADERS = {"numpy": impl_numpy.load, "torch": impl_torch.load}
PEAK_LIMIT = 4 << 20  # tracemalloc peak allowed while refusing a file that claims far more
N_FUZZ = 150  # random single-byte mutations per format
CLAIMS = ["npz-claims-6000x6000", "npz-over-cap", "npz-W1-bomb", "npz-meta-bomb",
          "npz-W1-huge-header", "pt-claims-6000x6000", "pt-over-cap", "pt-pickle-bomb",
          "pt-extra-bomb", "pt-numel-vs-bytes"]


def _refusals(path) -> dict:
    """``{twin: message}``, asserting that each twin raised one ValueError naming ``path``."""
    out = {}
    for twin, load in LOADERS.items():
        with pytest.raises(ValueError) as info:
            load(path)
        msg = str(info.value)
        assert type(info.value) is ValueError, (twin, repr(info.value))
        assert msg.startswith(f"{path}: "), (twin, msg)
        assert "\n" not in msg, (twin, msg)
        out[twin] = msg
    return out


def _params(model):
    return model.params if isinstance(model, impl_numpy.MLP) else model.numpy_params()


@pytest.mark.parametrize("case", list(CASES))
def test_both_twins_refuse_alike(tmp_path, case):
    build, fragment = CASES[case]
    path = build(tmp_path / f"{case}.ckpt")
    msgs = _refusals(path)
    assert msgs["numpy"] == msgs["torch"]
    assert re.search(fragment, msgs["numpy"]), msgs["numpy"]


@pytest.mark.parametrize("case", list(ACCEPTED))
def test_both_twins_accept_alike(tmp_path, case):
    """Layouts torch.load reads (older or other writers, reordered or realigned members, a
    name torch.load would dispatch elsewhere): both twins load the same params."""
    path = ACCEPTED[case](tmp_path / f"{case}.ckpt")
    models = [load(path) for load in LOADERS.values()]
    assert models[0].spec == models[1].spec
    expected = _torch_model(models[0].spec.dtype).numpy_params()
    for a, b, e in zip(*map(_params, models), expected, strict=True):
        assert a.dtype == b.dtype == e.dtype
        np.testing.assert_array_equal(a, e)
        np.testing.assert_array_equal(b, e)


@pytest.mark.parametrize("kind", ["npz", "pt"])
def test_the_builders_make_valid_files(tmp_path, kind):
    """The crafted cases differ from these files in one defect each, so that defect is
    what is refused."""
    path = _npz(tmp_path / "ok.npz") if kind == "npz" else _pt(tmp_path / "ok.pt")
    loaded = [_params(load(path)) for load in LOADERS.values()]
    assert [p.shape for p in loaded[0]] == [(4, 3), (4,), (2, 4), (2,)]
    for a, b in zip(*loaded, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("case", CLAIMS)
def test_claims_are_refused_before_allocating(tmp_path, case):
    build, _ = CASES[case]
    path = build(tmp_path / f"{case}.ckpt")
    assert path.stat().st_size < 400_000  # small files that claim up to gigabytes
    tracemalloc.start()
    try:
        _refusals(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < PEAK_LIMIT, f"{case}: peak {peak:,} bytes"


def _data_offset(path, member: str) -> int:
    """Where ``member``'s (stored) bytes start in the zip file."""
    with zipfile.ZipFile(path) as zf:
        info = next(i for i in zf.infolist() if i.filename.endswith(member))
        assert info.compress_type == zipfile.ZIP_STORED
    raw = path.read_bytes()
    h = info.header_offset
    name_len, extra_len = int.from_bytes(raw[h + 26:h + 28], "little"), \
        int.from_bytes(raw[h + 28:h + 30], "little")
    return h + 30 + name_len + extra_len


@pytest.mark.parametrize("kind", ["npz", "pt"])
def test_one_flipped_weight_byte_is_refused_by_both(tmp_path, kind):
    if kind == "npz":
        path, member, skip = tmp_path / "m.npz", "W1.npy", 128  # past the .npy header
        impl_numpy.save(path, impl_numpy.MLP([3, 4, 2]))
    else:
        path, member, skip = tmp_path / "m.pt", "/data/0", 0
        impl_torch.save(path, impl_torch.MLP([3, 4, 2]))
    raw = bytearray(path.read_bytes())
    raw[_data_offset(path, member) + skip + 5] ^= 0x10  # one weight, slightly off
    path.write_bytes(bytes(raw))
    msgs = _refusals(path)
    assert msgs["numpy"] == msgs["torch"]
    assert "corrupt checkpoint (BadZipFile: Bad CRC-32" in msgs["numpy"]


def _outcomes(path) -> list:
    """Per twin: the loaded params, or the refusal (any other exception fails the test)."""
    out = []
    for load in LOADERS.values():
        try:
            out.append([p.tobytes() for p in _params(load(path))])
        except ValueError as e:
            assert str(e).startswith(f"{path}: ") and "\n" not in str(e), str(e)
            out.append(str(e))
    return out


@pytest.mark.parametrize("target", ["npz-file", "pt-file", "pt-pickle", "pt-pickle-indel"])
def test_random_damage_is_loaded_or_refused_alike(tmp_path, target):
    """Flip random bytes of a whole file (zip headers included), or of ``data.pkl`` with
    a recomputed CRC, so that the unpickler itself meets the damage (``-indel``: insert or
    delete a few bytes too, so that opcodes shift). A file core's reader accepts and
    torch.load refuses would show as two different outcomes."""
    rng = np.random.default_rng(11)
    if target.startswith("pt-pickle"):
        good = _pickle()
    else:
        path = _npz(tmp_path / "ok.npz") if target == "npz-file" else _pt(tmp_path / "ok.pt")
        good = path.read_bytes()
    refused = 0
    for i in range(N_FUZZ):
        bad = bytearray(good)
        for _ in range(int(rng.integers(1, 4)) if target == "pt-pickle-indel" else 1):
            at, kind = int(rng.integers(len(bad))), rng.integers(3 if "indel" in target else 1)
            if kind == 0:
                bad[at] ^= int(rng.integers(1, 256))
            elif kind == 1:
                bad.insert(at, int(rng.integers(256)))
            else:
                del bad[at]
        path = tmp_path / f"fuzz{i}.ckpt"
        if target.startswith("pt-pickle"):
            _pt(path, bytes(bad))
        else:
            path.write_bytes(bytes(bad))
        numpy_out, torch_out = _outcomes(path)
        assert numpy_out == torch_out, (i, at)
        refused += isinstance(numpy_out, str)
    assert refused > N_FUZZ // 2  # most damage must be noticed


def test_torch_twin_refuses_when_torch_load_reads_other_values(tmp_path, monkeypatch):
    """The last guard: ``impl_torch.load`` takes torch.load's tensors only if they equal the
    arrays core read (were a layout ever read differently, the twins would load different
    weights); here torch.load is made to misread one value."""
    path = tmp_path / "m.pt"
    impl_torch.save(path, _torch_model())
    real_load = torch.load

    def misread(*args, **kwargs):
        obj = real_load(*args, **kwargs)
        obj["state_dict"]["net.2.bias"][1] += 1
        return obj

    monkeypatch.setattr(torch, "load", misread)
    with pytest.raises(ValueError, match=r"m.pt: torch.load reads net.2.bias differently"):
        impl_torch.load(path)
    np.testing.assert_array_equal(impl_numpy.load(path).params[3], _torch_model().numpy_params()[3])


def test_a_refused_file_leaves_the_reader_intact(tmp_path):
    """A pickle that sets attributes on the names the reader hands out (BUILD on a global)
    is refused, and the next file loads as before: nothing an untrusted file holds can
    change the reader for the rest of the process."""
    build, _ = CASES["pt-build-on-a-global"]
    _refusals(build(tmp_path / "bad.pt"))
    test_both_twins_accept_alike(tmp_path, "module-state-dict")  # an OrderedDict, SETITEMS


@pytest.mark.parametrize("stride", [2**31, 2**60, 2**61, 2**63 - 1, 5])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_size_one_dimension_may_have_any_stride(tmp_path, stride, dtype):
    """torch ignores the stride of a size-1 dimension (torch.load reads such a file), so
    both twins read it too, to torch.load's values, instead of overflowing."""
    model = impl_torch.MLP([3, 1, 2], dtype=dtype, seed=0)
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    state["net.0.bias"] = torch.as_strided(state["net.0.bias"], (1,), (stride,))
    state["net.0.weight"] = torch.as_strided(state["net.0.weight"].reshape(-1), (1, 3),
                                             (stride, 1))
    path = tmp_path / f"stride-{stride}.pt"
    torch.save({"format": "mlp-twins/1", "config": {
        "layer_sizes": [3, 1, 2], "activation": model.spec.activation,
        "loss": model.spec.loss, "dtype": dtype}, "state_dict": state}, path)
    expected = [t.numpy() for t in torch.load(path, weights_only=True)["state_dict"].values()]
    for load in LOADERS.values():
        for got, want in zip(_params(load(path)), expected, strict=True):
            np.testing.assert_array_equal(got, want)
