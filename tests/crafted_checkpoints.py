"""Crafted checkpoints for ``test_checkpoint_safety``: each case builds one bad file with
zipfile, pickle or np.savez (a torch.save file is imitated member by member, or a real
``impl_torch.save`` file is taken apart and rebuilt with one change) and names a fragment of
the message both twins must give. ``ACCEPTED``: layouts both twins must load alike."""

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
import impl_torch
from core.checkpoint import FORMAT, param_names

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


def _storage_bytes():  # _pt's default storages: the weights of _arrays
    return {str(i): p.tobytes() for i, p in enumerate(list(_arrays().values())[5:])}


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


def _patch_flags(path, bits: int):
    """OR ``bits`` into every member's general-purpose flags (local and central headers)."""
    raw = bytearray(path.read_bytes())
    for sig, at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        i = raw.find(sig)
        while i >= 0:
            flags = int.from_bytes(raw[i + at:i + at + 2], "little") | bits
            raw[i + at:i + at + 2] = flags.to_bytes(2, "little")
            i = raw.find(sig, i + 4)
    path.write_bytes(bytes(raw))
    return path


# ------------------------------------------------------------------ real impl_torch.save files
def _saved_members(dtype="float32"):
    """The members of a real ``impl_torch.save`` file, as ``[(name under the folder, bytes)]``."""
    buf = io.BytesIO()
    torch.save({"format": FORMAT, "config": _config(dtype),
                "state_dict": {k: v.detach() for k, v in _torch_model(dtype).state_dict().items()}},
               buf)
    with zipfile.ZipFile(buf) as zf:
        return [(i.filename.split("/", 1)[1], zf.read(i)) for i in zf.infolist()]


def _config(dtype="float32"):
    return {"layer_sizes": SIZES, "activation": "relu", "loss": "cross_entropy", "dtype": dtype}


def _torch_model(dtype="float32"):
    return impl_torch.MLP(SIZES, dtype=dtype, seed=1)


def _resaved(path, drop=(), change=None, add=(), prefix="m/", order=None):
    """A real ``impl_torch.save`` file rebuilt by zipfile under ``prefix``: members in
    ``drop`` left out, ``change`` (name -> bytes) replaced, ``add`` appended, ``order``
    (a function of the member list) applied."""
    members = [(n, (change or {}).get(n, d)) for n, d in _saved_members() if n not in drop]
    members += list(add)
    members = order(members) if order else members
    return _zip(path, [(prefix + n, d) for n, d in members])


def _real_pkl(**changes):
    """``_resaved`` with ``data.pkl`` replaced by ``_pickle(**changes)`` (same storages)."""
    return lambda p: _resaved(p, change={"data.pkl": _pickle(**changes)})


def _pkl_bytes(edit):  # the real data.pkl, edited by ``edit(bytes) -> bytes``
    return lambda p: _resaved(p, change={"data.pkl": edit(dict(_saved_members())["data.pkl"])})


class _Reduced:
    """Pickles as ``func(*args)``, then BUILD with ``state`` (if not None)."""

    def __init__(self, func, args, state=None):
        self.reduced = (func, args, state)

    def __reduce__(self):
        return self.reduced


def _args(change):  # a valid checkpoint whose net.0.bias is rebuilt from ``change(args)``
    t = _t("1", 4, 0, (4,), (1,))
    t.args = change(t.args)
    return _bias(t)


def _state_dict_build(state):  # a valid checkpoint whose state_dict gets a BUILD ``state``
    od = _Reduced(collections.OrderedDict, (), state)
    return lambda p: _pt(p, _pickle(tensors=_DictItems(od, _tensors())))


class _DictItems:
    """``od`` (a ``_Reduced`` OrderedDict) holding ``items``: REDUCE, BUILD, SETITEMS."""

    def __init__(self, od, items):
        self.od, self.items = od, items

    def __reduce__(self):
        func, args, state = self.od.reduced
        return func, args, state, None, iter(self.items.items())


# BUILD on the global OrderedDict itself, state (None, {"__setitem__": None}): Python's
# pickle would setattr it on whatever the reader returned for the name, process-wide
_SET_GLOBAL_ATTR = b"\x80\x02ccollections\nOrderedDict\n(N}X\x0b\x00\x00\x00__setitem__Nstb."


def _overwritten(p):
    """net.0.bias set twice in the state_dict: first to a tensor of a missing storage, then
    to the valid one. Only the second is a param; torch.load still reads the first."""
    tensors = {"net.0.bias_": _t("9", 4, 0, (4,), (1,)), **_tensors()}
    pkl = _pickle(tensors=tensors).replace(b"X\x0b\x00\x00\x00net.0.bias_",
                                           b"X\x0a\x00\x00\x00net.0.bias")
    return _pt(p, pkl)


def _list_setitem(p):
    """layer_sizes built as [3, 4, 2] then set by SETITEM (list[0] = 3): Python's pickle
    does it, torch's weights-only unpickler refuses SETITEM on a list."""
    pkl = _pickle()
    lst = pkl.index(b"K\x03K\x04K\x02e") + 7
    return _pt(p, pkl[:lst] + b"K\x00K\x03s" + pkl[lst:])


def _deep_sizes(p):
    """layer_sizes = [[[...[3]...]]], 100,000 deep: too deep for repr, refused all the same."""
    pkl = _pickle()
    start = pkl.index(b"]q\x06(K\x03K\x04K\x02e")
    return _pt(p, pkl[:start] + b"]" * 100_000 + b"a" * 99_999
               + pkl[start + len(b"]q\x06(K\x03K\x04K\x02e"):])


# ------------------------------------------------------------------ non-finite weights
def _nonfinite(fmt, dtype, index, where, value):
    """A real checkpoint (``impl_numpy.save`` for "npz", ``impl_torch.save`` for "pt") of a
    finite model, rewritten as its format's own writer would (``np.savez``, ``torch.save``)
    with param ``index`` (0 = W1, 1 = b1, ...) holding ``value`` at ``where`` (``save``
    itself refuses a non-finite model)."""
    def build(path):
        if fmt == "npz":
            impl_numpy.save(path, impl_numpy.MLP(SIZES, dtype=dtype, seed=1))
            with np.load(path, allow_pickle=False) as z:
                members = {k: z[k] for k in z.files}
            members[param_names(len(SIZES) * 2 - 2)[index]][where] = value
            with open(path, "wb") as f:
                np.savez(f, **members)
        else:
            impl_torch.save(path, impl_torch.MLP(SIZES, dtype=dtype, seed=1))
            with open(path, "rb") as f:
                doc = torch.load(f, weights_only=True)
            with torch.no_grad():
                list(doc["state_dict"].values())[index][where] = value
            torch.save(doc, path)
        return path
    return build


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
    **{f"{kind}-flag-0x{bits:04x}": (
        lambda p, b=bits, k=kind: _patch_flags(_npz(p) if k == "npz" else _resaved(p), b),
        f"sets flag bits 0x{bits:04x}; np.savez and torch.save set only 0x0808")
       for kind in ("npz", "pt") for bits in (0x2000, 0x0001, 0x0040, 0x4000)},
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
    # class 4: layouts core's reader took and torch.load refuses (a real impl_torch.save file,
    # rebuilt with one change); now core refuses them, so both twins do, with one message
    "pt-folder-nested": (lambda p: _resaved(p, prefix="a/b/"),
                         "data.pkl lies at 'a/b/data.pkl'.*one folder deep"),
    "pt-folder-none": (lambda p: _resaved(p, prefix=""), "data.pkl lies at 'data.pkl'"),
    "pt-folder-empty-name": (lambda p: _resaved(p, prefix="/"), "lies at '/data.pkl'"),
    "pt-no-version": (lambda p: _resaved(p, drop=("version",)),
                      "no m/version record: torch.load needs one"),
    "pt-version-0": (lambda p: _resaved(p, change={"version": b"0\n"}),
                     r"m/version holds b'0\\n', not a version from 1 to 10"),
    "pt-version-11": (lambda p: _resaved(p, change={"version": b"11\n"}), "version from 1 to 10"),
    "pt-version-negative": (lambda p: _resaved(p, change={"version": b"-3"}), "version from 1"),
    "pt-version-huge": (lambda p: _resaved(p, change={"version": b"9" * 30}),
                        "m/version holds b'9999"),
    "pt-version-text": (lambda p: _resaved(p, change={"version": b"abc"}), "version from 1"),
    "pt-version-empty": (lambda p: _resaved(p, change={"version": b""}), "holds b''"),
    "pt-data-version-11": (lambda p: _resaved(p, add=[(".data/version", b"11\n")]),
                           "m/.data/version holds b'11"),
    "pt-alignment-text": (lambda p: _resaved(p, change={".storage_alignment": b"abc"}),
                          "m/.storage_alignment holds b'abc', not what torch.save writes"),
    "pt-alignment-empty": (lambda p: _resaved(p, change={".storage_alignment": b""}),
                           "m/.storage_alignment holds b''"),
    "pt-serialization-id-binary": (lambda p: _resaved(
        p, change={".data/serialization_id": b"\xff\x00"}), "serialization_id holds"),
    "pt-byteorder-junk": (lambda p: _resaved(p, change={"byteorder": b"LITTLE"}),
                          "not little-endian"),
    "pt-torchscript-constants": (lambda p: _resaved(p, add=[("constants.pkl", _pickle(()))]),
                                 r"\['m/constants.pkl'\] are not part of a torch.save"),
    "pt-member-case-twin": (lambda p: _resaved(p, add=[("DATA/0", bytes(48))]),
                            r"\['m/DATA/0'\] are not part"),
    "pt-member-VERSION": (lambda p: _resaved(p, add=[("VERSION", b"99\n")]),
                          r"\['m/VERSION'\] are not part"),
    "pt-unused-storage-member": (lambda p: _resaved(p, add=[("data/99", bytes(8))]),
                                 r"\['m/data/99'\] are not part"),
    "pt-pickle-frame": (_pkl_bytes(lambda b: b[:2] + b"\x95" + len(b).to_bytes(8, "little")
                                   + b[2:]), r"opcode b'\\x95' at byte 2"),
    "pt-pickle-protocol-4-inside": (_pkl_bytes(lambda b: b[:2] + b"\x80\x04" + b[2:]),
                                    r"opcode b'\\x80' at byte 2"),
    "pt-pickle-protocol-0-body": (_pkl_bytes(lambda b: b[:2] + pickle.dumps(
        {"format": FORMAT}, protocol=0)), "opcode b'd' at byte 3"),
    "pt-pickle-trailing-bytes": (_pkl_bytes(lambda b: b + b"junk"), "stray data"),
    "pt-pickle-stray-item": (_pkl_bytes(lambda b: b[:2] + b"K\x01" + b[2:]), "stray data"),
    "pt-pickle-pop": (_pkl_bytes(lambda b: b[:2] + b"K\x010" + b[2:]), "opcode b'0'"),
    "pt-list-setitem": (_list_setitem, "SETITEM on a list"),
    "pt-deep-layer-sizes": (_deep_sizes, "layer_sizes must be a list of 2 to 1024 ints, got "
                            "<a list too deep"),
    "pt-storage-type-as-text": (_bias(_Tensor(_Storage("", 0, pid=(
        "storage", "FloatStorage", "1", "cpu", 4)), 0, (4,), (1,))), "unsupported storage"),
    "pt-storage-location-int": (_bias(_Tensor(_Storage("", 0, pid=(
        "storage", torch.FloatStorage, "1", 5, 4)), 0, (4,), (1,))), "unsupported storage"),
    "pt-storage-key-letters": (lambda p: _pt(p, _pickle(tensors=_tensors(
        {"net.0.bias": _t("a", 4, 0, (4,), (1,))})), data={**_heap_data(), "a": bytes(16)}),
        "unsupported storage"),
    "pt-rebuild-4-args": (_args(lambda a: a[:4]), "rebuilt from 4 arguments"),
    "pt-rebuild-5-args": (_args(lambda a: a[:5]), "rebuilt from 5 arguments"),
    "pt-rebuild-8-args": (_args(lambda a: a + (None, None)), "rebuilt from 8 arguments"),
    "pt-requires-grad-int": (_args(lambda a: a[:4] + (1,) + a[5:]), "requires_grad 1, not a"),
    "pt-requires-grad-none": (_args(lambda a: a[:4] + (None,) + a[5:]), "requires_grad None"),
    "pt-metadata-int": (_args(lambda a: a + (5,)), "backward hooks or metadata"),
    "pt-hooks-none": (_args(lambda a: a[:5] + (None,)), "backward hooks or metadata"),
    "pt-build-slotstate": (_state_dict_build((None, {"x": 1})),
                           "refusing to set the state of a OrderedDict to \\(None"),
    "pt-tensor-outside-state-dict": (_state_dict_build({"x": _t("9", 1, 5, (3,), (1,))}),
                                     r"holds 1 tensor\(s\) beside the state_dict's"),
    "pt-storage-outside-state-dict": (_state_dict_build({"x": _Storage("9", 4)}),
                                      r"declares storage\(s\) \['9'\] that no param uses"),
    "pt-overwritten-tensor": (_overwritten, r"holds 1 tensor\(s\) beside"),
    "pt-build-on-a-global": (lambda p: _pt(p, _SET_GLOBAL_ATTR),
                             r"refusing to set the state of a _Global to \(None, "),
    # class 5: non-finite weights, refused by both twins in both formats and both dtypes
    "npz-W1-nan-float32": (_nonfinite("npz", "float32", 0, (1, 2), np.nan),
                           r"W1 holds 1 non-finite value \(NaN or inf\)$"),
    "npz-W1-nan-float64": (_nonfinite("npz", "float64", 0, slice(None), np.nan),
                           "W1 holds 12 non-finite values"),
    "npz-b1-inf-float32": (_nonfinite("npz", "float32", 1, 3, np.inf),
                           "b1 holds 1 non-finite value"),
    "npz-b2-inf-float64": (_nonfinite("npz", "float64", 3, 0, np.inf),
                           "b2 holds 1 non-finite value"),
    "npz-W2-neg-inf-float32": (_nonfinite("npz", "float32", 2, (1, 3), -np.inf),
                               "W2 holds 1 non-finite value"),
    "npz-W2-neg-inf-float64": (_nonfinite("npz", "float64", 2, (slice(None), 0), -np.inf),
                               "W2 holds 2 non-finite values"),
    "pt-W1-nan-float32": (_nonfinite("pt", "float32", 0, (1, 2), np.nan),
                          r"W1 \(net.0.weight\) holds 1 non-finite value \(NaN or inf\)$"),
    "pt-W1-nan-float64": (_nonfinite("pt", "float64", 0, (0, 0), np.nan),
                          r"W1 \(net.0.weight\) holds 1 non-finite"),
    "pt-b1-inf-float32": (_nonfinite("pt", "float32", 1, slice(None), np.inf),
                          r"b1 \(net.0.bias\) holds 4 non-finite values"),
    "pt-b2-inf-float64": (_nonfinite("pt", "float64", 3, 1, np.inf),
                          r"b2 \(net.2.bias\) holds 1 non-finite"),
    "pt-W2-neg-inf-float32": (_nonfinite("pt", "float32", 2, (0, 3), -np.inf),
                              r"W2 \(net.2.weight\) holds 1 non-finite"),
    "pt-W2-neg-inf-float64": (_nonfinite("pt", "float64", 2, (1, slice(None)), -np.inf),
                              r"W2 \(net.2.weight\) holds 4 non-finite"),
    "pt-crafted-nan-bytes": (lambda p: _pt(p, data={**_storage_bytes(), "3": np.array(
        [np.nan, 1], np.float32).tobytes()}), r"b2 \(net.2.bias\) holds 1 non-finite"),
}


def _shared_storage(p):
    """All four params as views of one storage, as torch.save writes a flattened model."""
    flat = np.concatenate([w.ravel() for w in _torch_model().numpy_params()])
    offsets = np.cumsum([0] + [int(np.prod(s)) for s in SHAPES.values()])
    tensors = {n: _t("0", 26, int(offsets[i]), shape, (shape[-1], 1)[2 - len(shape):])
               for i, (n, shape) in enumerate(SHAPES.items())}
    return _pt(p, _pickle(tensors=tensors), data={"0": flat.tobytes()})


def _transposed(p):
    """W1 stored column-major (stride (1, 4)): a view torch.load and core read alike."""
    params = _torch_model().numpy_params()
    data = {str(i): w.tobytes() for i, w in enumerate(params)}
    data["0"] = params[0].T.copy().tobytes()
    return _pt(p, _pickle(tensors=_tensors({"net.0.weight": _t("0", 12, 0, (4, 3), (1, 4))})),
               data=data)


def _module_state_dict(dtype):
    """torch.save of an ``nn.Module.state_dict()`` (an OrderedDict with ``_metadata``)."""
    def build(p):
        torch.save({"format": FORMAT, "config": _config(dtype),
                    "state_dict": _torch_model(dtype).state_dict()}, p)
        return p
    return build


def _renamed(suffix):  # a real impl_torch.save file whose name ends in ``suffix``
    def build(p):
        p = p.with_name(p.stem + suffix)
        impl_torch.save(p, _torch_model())
        return p
    return build


ACCEPTED = {  # id -> builder(path) -> path of a file both twins load to _torch_model's params
    "real-impl-torch-save": lambda p: (impl_torch.save(p, _torch_model()), p)[1],
    "resaved-by-zipfile": _resaved,  # no 64-byte alignment, no data descriptors
    "no-byteorder": lambda p: _resaved(p, drop=("byteorder",)),
    "data-version-only": lambda p: _resaved(p, drop=("version",),
                                            add=[(".data/version", b"3\n")]),
    "bare-minimum": lambda p: _resaved(p, drop=(".format_version", ".storage_alignment",
                                                "byteorder", ".data/serialization_id")),
    "version-1": lambda p: _resaved(p, change={"version": b"1"}),
    "version-10": lambda p: _resaved(p, change={"version": b"10\n"}),
    "members-reversed": lambda p: _resaved(p, order=lambda m: m[::-1]),
    "data-pkl-last": lambda p: _resaved(p, order=lambda m: m[1:] + m[:1]),
    "folder-dot": lambda p: _resaved(p, prefix="./"),
    "folder-utf8": lambda p: _resaved(p, prefix="модель/"),
    "name-ends-safetensors": _renamed(".safetensors"),
    "name-without-suffix": _renamed(""),
    "module-state-dict": _module_state_dict("float32"),
    "module-state-dict-float64": _module_state_dict("float64"),
    "shared-storage": _shared_storage,
    "transposed-view": _transposed,
    "requires-grad-true": _real_pkl(tensors={
        n: _Reduced(torch._utils._rebuild_tensor_v2, (*t.args[:4], True, t.args[5]))
        for n, t in _tensors().items()}),
    "location-cuda": _real_pkl(tensors={
        n: _Tensor(_Storage(None, None, pid=(*t.args[0].pid[:3], "cuda:0", t.args[0].pid[4])),
                   *t.args[1:4]) for n, t in _tensors().items()}),
}
