"""Crafted checkpoints for ``test_checkpoint_safety``: each case builds one bad file with
zipfile, pickle or np.savez (a torch.save file is imitated member by member) and names a
fragment of the message both twins must give."""

from __future__ import annotations

import collections
import io
import os
import pickle
import warnings
import zipfile

import numpy as np
import torch

import impl_numpy
from core.checkpoint import FORMAT

SIZES = [3, 4, 2]
BOMB_BYTES = 64 << 20  # what a zip bomb member claims: 64 MiB of zeros in ~64 KiB


# ------------------------------------------------------------------ .npz files
def _arrays(dtype="float32"):
    m = impl_numpy.MLP(SIZES, dtype=dtype, seed=1)
    meta = {"format": np.array(FORMAT), "layer_sizes": np.array(SIZES),
            "activation": np.array("relu"), "loss": np.array("cross_entropy"),
            "dtype": np.array(dtype)}
    return {**meta, **dict(zip(["W1", "b1", "W2", "b2"], m.params))}


def _npz(path, **changes):
    arrays = {k: v for k, v in {**_arrays(), **changes}.items() if v is not None}
    with open(path, "wb") as f:  # a file object: np.savez adds no ".npz" to the name
        np.savez(f, **arrays)
    return path


def _zip(path, members):
    """Write ``members`` (name -> bytes stored, or an int: that many zeros, deflated)."""
    with zipfile.ZipFile(path, "w") as zf, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Duplicate name": wanted by one case
        for name, data in members:
            if isinstance(data, int):
                info = zipfile.ZipInfo(name)
                info.compress_type = zipfile.ZIP_DEFLATED
                with zf.open(info, "w", force_zip64=True) as f:
                    for _ in range(data >> 20):
                        f.write(bytes(1 << 20))
            else:
                zf.writestr(name, data)
    return path


def _npz_members(**changes):
    buf = io.BytesIO()
    np.savez(buf, **_arrays())
    with zipfile.ZipFile(buf) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    members.update(changes)
    return [(k, v) for k, v in members.items() if v is not None]


def _npy(arr):
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.asarray(arr), allow_pickle=False)
    return buf.getvalue()


# ------------------------------------------------------------------ torch.save files
class _Storage:
    def __init__(self, key, numel, kind="FloatStorage", pid=None):
        self.pid = pid or ("storage", getattr(torch, kind), key, "cpu", numel)


class _Tensor:
    def __init__(self, storage, offset, size, stride):
        self.args = (storage, offset, size, stride, False, collections.OrderedDict())

    def __reduce__(self):
        return torch._utils._rebuild_tensor_v2, self.args


class _Evil:
    def __reduce__(self):
        return os.system, ("echo pwned",)


class _Pickler(pickle.Pickler):
    def persistent_id(self, obj):
        return obj.pid if isinstance(obj, _Storage) else None


def _t(key, numel, offset, size, stride, kind="FloatStorage"):
    return _Tensor(_Storage(key, numel, kind), offset, size, stride)


SHAPES = {"net.0.weight": (4, 3), "net.0.bias": (4,), "net.2.weight": (2, 4), "net.2.bias": (2,)}


def _tensors(changes=None):
    """The valid state dict of tensor records, with ``changes`` (a None removes a key)."""
    out = {n: _t(str(i), int(np.prod(shape)), 0, shape, (shape[-1], 1)[2 - len(shape):])
           for i, (n, shape) in enumerate(SHAPES.items())}
    out.update(changes or {})
    return {k: v for k, v in out.items() if v is not None}


def _pickle(obj=None, tensors=None, **config):
    if obj is None:
        cfg = {"layer_sizes": SIZES, "activation": "relu", "loss": "cross_entropy",
               "dtype": "float32", **config}
        obj = {"format": FORMAT, "config": cfg, "state_dict": tensors or _tensors()}
    buf = io.BytesIO()
    _Pickler(buf, protocol=2).dump(obj)
    return buf.getvalue()


def _pt(path, pkl=None, data=None, extra=(), drop=()):
    """A torch.save-like zip: ``data.pkl`` (default: a valid checkpoint of SIZES), the
    storages ``data`` (key -> bytes; default: the weights of ``_arrays``), ``extra``."""
    params = _arrays()
    if data is None:
        data = {str(i): params[n].tobytes() for i, n in enumerate(["W1", "b1", "W2", "b2"])}
    members = {"m/data.pkl": _pickle() if pkl is None else pkl, "m/byteorder": b"little",
               "m/version": b"3\n", "m/.data/version": b"3\n",
               **{f"m/data/{k}": v for k, v in data.items()}}
    members.update(extra)
    return _zip(path, [(k, v) for k, v in members.items() if k not in drop])


def _heap_data():
    return {"0": b"\0" * 4, "1": b"\0" * 16, "2": b"\0" * 32, "3": b"\0" * 8}


def _torch_relu():
    buf = io.BytesIO()
    torch.save({"format": FORMAT, "x": torch.nn.ReLU()}, buf)
    return buf.getvalue()


def _npy_header(shape, descr="<f4"):
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": descr, "fortran_order": False, "shape": shape})
    return buf.getvalue()


def _object_npy():
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.array([{}], dtype=object), allow_pickle=True)
    return buf.getvalue()


def _patch_method(path, method: int):
    """Set the first member's compression method to ``method`` (local and central header)."""
    raw = bytearray(path.read_bytes())
    central = raw.index(b"PK\x01\x02")
    raw[8:10] = raw[central + 10:central + 12] = method.to_bytes(2, "little")
    path.write_bytes(bytes(raw))
    return path


# ------------------------------------------------------------------ the cases
def _raw(path, data: bytes):
    path.write_bytes(data)
    return path


def _bias(tensor):  # a valid checkpoint whose net.0.bias is ``tensor``
    return lambda p: _pt(p, _pickle(tensors=_tensors({"net.0.bias": tensor})))


def _cfg(**config):  # a valid checkpoint with a changed config
    return lambda p: _pt(p, _pickle(**config))


def _npz_with(**members):  # a valid .npz with members replaced (bytes or an int: a bomb)
    return lambda p: _zip(p, _npz_members(**{f"{k}.npy": v for k, v in members.items()}))


_BIG = {"net.0.weight": _t("0", 12, 0, (6000, 6000), (6000, 1)),
        "net.0.bias": _t("1", 4, 0, (6000,), (1,)), "net.2.weight": None, "net.2.bias": None}
_RENAMED = {"net.2.weight": None, "net.1.weight": _t("2", 8, 0, (2, 4), (4, 1))}

CASES = {  # id -> (builder(path) -> path, regex the message must contain)
    "empty-file": (lambda p: _raw(p, b""), "not a checkpoint"),
    "not-a-zip": (lambda p: _raw(p, b"PK\x03\x04 junk" * 10), "not a checkpoint"),
    "truncated-npz": (lambda p: _raw(p, _npz(p).read_bytes()[:600]),
                      "not a checkpoint"),
    "npz-foreign": (lambda p: _zip(p, [("a.npy", _npy(np.zeros(3)))]), "no 'format'"),
    "npz-wrong-format": (lambda p: _npz(p, format=np.array("other/2")), "format 'other/2'"),
    "npz-float-sizes": (lambda p: _npz(p, layer_sizes=np.array([3.9, 4.2, 2.7])),
                        "positive ints, got 3.9"),
    "npz-str-sizes": (lambda p: _npz(p, layer_sizes=np.array(["3", "4", "2"])),
                      "positive ints, got '3'"),
    "npz-bool-sizes": (lambda p: _npz(p, layer_sizes=np.array([True, True])), "positive ints"),
    "npz-2d-sizes": (lambda p: _npz(p, layer_sizes=np.array([[3, 4, 2]])), "list of numbers"),
    "npz-zero-width": (lambda p: _npz(p, layer_sizes=np.array([3, 0, 2])), "got 0"),
    "npz-one-size": (lambda p: _npz(p, layer_sizes=np.array([3])), "list of 2 to"),
    "npz-over-cap": (lambda p: _npz(p, layer_sizes=np.array([2**15, 2**15])),
                     "more than the cap MAX_PARAMS"),
    "npz-claims-6000x6000": (lambda p: _npz(p, layer_sizes=np.array([6000, 6000]), W2=None,
                                            b2=None),
                             "W1.npy declares .* bytes, its shape needs 144,000,000"),
    "npz-bad-activation": (lambda p: _npz(p, activation=np.array("gelu")), "unknown activation"),
    "npz-int-activation": (lambda p: _npz(p, activation=np.array(3)), "activation must be a str"),
    "npz-float16": (lambda p: _npz(p, dtype=np.array("float16")), "unknown dtype"),
    "npz-missing-W2": (lambda p: _npz(p, W2=None), r"missing \['W2'\]"),
    "npz-extra-W3": (lambda p: _npz(p, W3=np.zeros((2, 2), np.float32)), r"unexpected \['W3'\]"),
    "npz-W2-shape": (lambda p: _npz(p, W2=np.zeros((2, 5), np.float32)), "need float32 of shape"),
    "npz-W2-float64": (lambda p: _npz(p, W2=np.zeros((2, 4))), "W2 is float64"),
    "npz-W1-object": (_npz_with(W1=_object_npy()), "W1 is object"),
    "npz-W1-short-data": (_npz_with(W1=_npy_header((4, 3)) + bytes(40)),
                          "W1 holds 40 bytes of data"),
    "npz-W1-huge-header": (_npz_with(W1=_npy_header((4, 10**12)) + bytes(48)),
                           r"W1 is float32 of shape \(4, 1000000000000\)"),
    "npz-W1-negative-shape": (_npz_with(W1=_npy_header((-4, 3)) + bytes(48)), "invalid shape"),
    "npz-W1-bad-magic": (_npz_with(W1=b"\x93NUMPX" + bytes(170)), "W1 is not a .npy array"),
    "npz-W1-bomb": (_npz_with(W1=BOMB_BYTES), "W1.npy is compressed"),
    "npz-meta-bomb": (_npz_with(loss=BOMB_BYTES), "loss.npy is compressed"),
    "npz-W1-too-long": (_npz_with(W1=_npy(np.zeros((4, 3), np.float32)) + bytes(5000)),
                        "W1.npy declares 5,176 bytes, its shape needs 48 to 4,144"),
    "npz-meta-too-long": (_npz_with(loss=_npy(np.zeros(20_000, np.int64))),
                          "loss.npy declares 160,128 bytes, more than the cap of 65,536"),
    "npz-duplicate-member": (lambda p: _zip(p, _npz_members() + [("W1.npy", _npy(0))]),
                             "duplicate zip members"),
    "npz-unknown-compression": (lambda p: _patch_method(_npz(p), 99), "compressed .method 99"),
    "pt-evil-global": (lambda p: _pt(p, _pickle({"format": FORMAT, "x": _Evil()})),
                       "refusing to unpickle posix.system"),
    "pt-module-global": (lambda p: _raw(p, _torch_relu()),
                         "refusing to unpickle torch.nn"),
    "pt-not-a-dict": (lambda p: _pt(p, _pickle([1, 2])), "holds 'list'"),
    "pt-wrong-format": (lambda p: _pt(p, _pickle({"format": "x", "config": 0, "state_dict": 0})),
                        "format 'x'"),
    "pt-float-sizes": (_cfg(layer_sizes=[3.9, 4.2, 2.7]), "positive ints, got 3.9"),
    "pt-str-sizes": (_cfg(layer_sizes="342"), "list of 2 to"),
    "pt-config-extra-key": (_cfg(seed=1), "config must have the keys"),
    "pt-over-cap": (_cfg(layer_sizes=[2**15, 2**15]), "MAX_PARAMS"),
    "pt-claims-6000x6000": (lambda p: _pt(p, _pickle(tensors=_tensors(_BIG),
                                                     layer_sizes=[6000, 6000])),
                            "net.0.weight reads element 35,999,999 of storage 0"),
    "pt-renamed-key": (lambda p: _pt(p, _pickle(tensors=_tensors(_RENAMED))),
                       r"missing \['net.2.weight'\], unexpected \['net.1.weight'\]"),
    "pt-missing-key": (lambda p: _pt(p, _pickle(tensors=_tensors({"net.2.bias": None}))),
                       r"missing \['net.2.bias'\]"),
    "pt-not-a-tensor": (_bias([0.0] * 4), "net.0.bias is a list, not a tensor"),
    "pt-heap-read": (lambda p: _pt(p, _pickle(tensors=_tensors(
        {"net.0.weight": _t("0", 1, 0, (4, 3), (3, 1))})), data=_heap_data()),
        "net.0.weight reads element 11 of storage 0, which holds 1"),
    "pt-stride-2**28": (lambda p: _pt(p, _pickle(tensors=_tensors(
        {"net.0.weight": _t("0", 12, 0, (4, 3), (2**28, 1))}))), "reads element 805,306,370"),
    "pt-offset-past-end": (_bias(_t("1", 4, 1, (4,), (1,))), "reads element 4 of storage 1"),
    "pt-negative-offset": (_bias(_t("1", 4, -8, (4,), (1,))), "non-negative ints"),
    "pt-negative-stride": (_bias(_t("1", 4, 3, (4,), (-1,))), "non-negative ints"),
    "pt-float-size": (_bias(_t("1", 4, 0, (4.0,), (1,))), "non-negative ints"),
    "pt-bool-stride": (_bias(_t("1", 4, 0, (4,), (True,))), "non-negative ints"),
    "pt-size-list": (_bias(_t("1", 4, 0, [4], [1])), "non-negative ints"),
    "pt-half-storage": (_bias(_t("1", 4, 0, (4,), (1,), "HalfStorage")),
                        "refusing to unpickle torch.HalfStorage"),
    "pt-double-in-float32": (_bias(_t("1", 2, 0, (4,), (1,), "DoubleStorage")),
                             "net.0.bias is float64"),
    "pt-numel-vs-bytes": (_bias(_t("1", 400, 0, (4,), (1,))),
                          "data/1 declares 16 bytes, its shape needs 1,600"),
    "pt-ragged-bytes": (lambda p: _pt(p, data={**_heap_data(), "0": bytes(47)}),
                        "data/0 declares 47 bytes, its shape needs 48"),
    "pt-missing-storage": (lambda p: _pt(p, drop=("m/data/3",)), "storage 3 is missing"),
    "pt-key-traversal": (_bias(_t("../../x", 4, 0, (4,), (1,))), "unsupported storage"),
    "pt-pid-arity": (_bias(_Tensor(_Storage("", 0, pid=("storage", "1")), 0, (4,), (1,))),
                     "unsupported storage"),
    "pt-truncated-pickle": (lambda p: _pt(p, _pickle()[:-40]), "not a readable pickle"),
    "pt-garbage-pickle": (lambda p: _pt(p, b"\x80\x02garbage"), "not a readable pickle"),
    "pt-two-pickles": (lambda p: _pt(p, extra={"m/x/data.pkl": b"N."}), "one data.pkl, this one 2"),
    "pt-pickle-bomb": (lambda p: _pt(p, BOMB_BYTES), "data.pkl is compressed"),
    "pt-extra-bomb": (lambda p: _pt(p, extra={"m/junk": BOMB_BYTES}), "m/junk is compressed"),
    "pt-pickle-too-long": (lambda p: _pt(p, _pickle() + bytes(1 << 20)),
                           "data.pkl declares 1,049,1.. bytes, more than the cap of 1,048,576"),
    "pt-extra-too-long": (lambda p: _pt(p, extra={"m/junk": bytes(1 << 20)}),
                          "beyond the storages declare 1,049,153 bytes, more than"),
    "pt-outside-prefix": (lambda p: _pt(p, extra={"elsewhere": b"x"}),
                          r"members \['elsewhere'\] lie outside m/"),
    "pt-big-endian": (lambda p: _pt(p, extra={"m/byteorder": b"big"}), "not little-endian"),
    "pt-shared-storage-lies": (lambda p: _pt(p, _pickle(tensors=_tensors(
        {"net.0.bias": _t("0", 4, 0, (4,), (1,))}))), "storage 0 is declared twice"),
}
