"""An ``impl_torch`` checkpoint (a ``torch.save`` zip) read with NumPy alone, untrusted.

``data.pkl`` is read by an interpreter of its own (no ``pickle.Unpickler``): it knows the
opcodes ``torch.save`` writes and no other, five names (a tensor, two storage kinds,
OrderedDict) and no other global, and accepts a file only where ``torch.load(...,
weights_only=True)`` reads it to the same values, so that both twins accept and refuse the
same files. A tensor comes out as a record ``(storage, offset, size, stride)``, checked and
only then turned into an array: nothing is read from a storage before its view has been
bounds-checked. The zip must hold what ``torch.save`` writes there and nothing else (see
``_RECORDS``). The rules (caps, CRC-32, bounds) are in ``core.checkpoint``.
"""

from __future__ import annotations

import math
import re
import struct
import zipfile
from collections import OrderedDict

import numpy as np

from .checkpoint_rules import (
    MAX_EXTRA_BYTES,
    MAX_PARAMS,
    MAX_PICKLE_BYTES,
    Refused,
    check_config,
    check_finite,
    check_member_size,
    check_names,
    param_names,
    param_shapes,
    short,
    state_dict_names,
    text,
)

_KEY = re.compile(r"[0-9]{1,19}")  # torch names storages "0", "1", ...: digits only, since
# torch's zip reader looks names up ignoring case ("data/a" would find "data/A")
_LOCATION = re.compile(r"[a-z]{1,16}(:[0-9]{1,4})?")  # "cpu", "cuda:0": map_location overrides
_CHUNK = 1 << 20
# The records torch.save writes beside data.pkl and data/<key>, each a short line that
# torch.load parses (or may parse) and refuses when it cannot: the rule each must meet.
_VERSION = re.compile(rb"([1-9][0-9]{0,3})\n?")  # torch.load reads versions 1 to 10
_MIN_VERSION, _MAX_VERSION = 1, 10
_RECORDS = {
    "version": _VERSION,
    ".data/version": _VERSION,  # read instead of version when present
    "byteorder": re.compile(rb"little"),
    ".format_version": re.compile(rb"[0-9]{1,8}"),
    ".storage_alignment": re.compile(rb"[0-9]{1,8}"),  # torch.load int()s it
    ".data/serialization_id": re.compile(rb"[0-9A-Za-z]{0,64}"),  # torch.load decodes it
}
_MAX_RECORD_BYTES = 64


class _Global:
    """One of the five names ``data.pkl`` may refer to (an inert stand-in)."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    def __repr__(self):
        return self.name


_ORDERED_DICT = _Global("collections.OrderedDict")
_REBUILD = _Global("torch._utils._rebuild_tensor_v2")
_FLOAT, _DOUBLE = _Global("torch.FloatStorage"), _Global("torch.DoubleStorage")
_GLOBALS = {("collections", "OrderedDict"): _ORDERED_DICT,
            ("torch._utils", "_rebuild_tensor_v2"): _REBUILD,
            ("torch", "FloatStorage"): _FLOAT, ("torch", "DoubleStorage"): _DOUBLE}
_STORAGES = {_FLOAT: np.dtype("<f4"), _DOUBLE: np.dtype("<f8")}


class _Storage:
    """A storage ``data.pkl`` declares: ``data/<key>``, ``numel`` elements of ``dtype``."""

    __slots__ = ("key", "dtype", "numel")

    def __init__(self, key: str, dtype: np.dtype, numel: int):
        self.key, self.dtype, self.numel = key, dtype, numel

    def __repr__(self):  # messages must not depend on where an object lies in memory
        return f"<storage {self.key}: {self.numel} x {self.dtype.name}>"


class _Tensor:
    """A tensor record: a view ``(offset, size, stride)`` of ``storage``, built later."""

    __slots__ = ("storage", "offset", "size", "stride")

    def __init__(self, storage: _Storage, offset: int, size: tuple, stride: tuple):
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride

    def __repr__(self):
        return f"<tensor {self.size} of storage {self.storage.key}>"


INDEX_LIMIT = 2**63  # torch stores sizes, strides and offsets as int64: at or past it, refused


def _is_index(v) -> bool:
    """A size, stride or offset torch can hold: an int (not bool, not float) in 0..2**63-1."""
    return type(v) is int and 0 <= v < INDEX_LIMIT


def _rebuild_tensor(args) -> _Tensor:
    """``torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad,
    backward_hooks[, metadata])``'s stand-in: check the arguments, build nothing."""
    if len(args) not in (6, 7):
        raise Refused(f"a tensor is rebuilt from {len(args)} arguments; torch's "
                      "_rebuild_tensor_v2 takes 6 or 7")
    storage, offset, size, stride, requires_grad, hooks = args[:6]
    if not isinstance(storage, _Storage):
        raise Refused(f"a tensor refers to {short(storage)}, not to a storage")
    if not (type(size) is tuple and type(stride) is tuple and len(size) == len(stride)
            and all(map(_is_index, size + stride)) and _is_index(offset)):
        raise Refused(f"a tensor has size {short(size)}, stride {short(stride)}, offset "
                      f"{short(offset)}: these must be non-negative ints, one stride per size")
    if type(requires_grad) is not bool:
        raise Refused(f"a tensor has requires_grad {short(requires_grad)}, not a bool")
    if type(hooks) is not OrderedDict or hooks or (len(args) == 7 and args[6] not in (None, {})):
        raise Refused(f"a tensor carries backward hooks or metadata ({short(args[5:])}); "
                      "torch.save writes an empty OrderedDict and no metadata")
    return _Tensor(storage, offset, size, stride)


def _storage(pid) -> _Storage:
    """A persistent id ``("storage", FloatStorage | DoubleStorage, key, location, numel)``."""
    if not (type(pid) is tuple and len(pid) == 5 and type(pid[0]) is str
            and pid[0] == "storage" and isinstance(pid[1], _Global) and pid[1] in _STORAGES
            and type(pid[2]) is str and _KEY.fullmatch(pid[2])
            and type(pid[3]) is str and _LOCATION.fullmatch(pid[3])
            and _is_index(pid[4]) and pid[4] <= MAX_PARAMS):
        raise Refused(f"unsupported storage {short(pid)}")
    return _Storage(pid[2], _STORAGES[pid[1]], pid[4])


class _Malformed(Exception):
    """``data.pkl`` is not a pickle this reader (and torch's) can read."""


class _Unpickler:
    """The opcodes ``torch.save`` writes (protocol 2), each with the meaning both Python's
    pickle and ``torch.load(weights_only=True)`` give it; anything else is refused. Every
    storage and tensor it makes is recorded, so that none escapes the checks."""

    def __init__(self, raw: bytes):
        self.raw, self.pos = raw, 0
        self.stack, self.marks, self.memo = [], [], {}
        self.storages, self.tensors = [], []

    def read(self, n: int) -> bytes:
        if n > len(self.raw) - self.pos:
            raise _Malformed("truncated")
        self.pos += n
        return self.raw[self.pos - n:self.pos]

    def unpack(self, fmt: str):
        return struct.unpack(fmt, self.read(struct.calcsize(fmt)))[0]

    def line(self) -> str:
        end = self.raw.find(b"\n", self.pos, self.pos + 256)
        if end < 0:
            raise _Malformed("a GLOBAL name without its newline")
        text = self.read(end + 1 - self.pos)[:-1]
        return text.decode("utf-8")

    def pop(self):
        if not self.stack:
            raise _Malformed("stack underflow")
        return self.stack.pop()

    def top(self):
        if not self.stack:
            raise _Malformed("stack underflow")
        return self.stack[-1]

    def pop_mark(self) -> list:
        if not self.marks:
            raise _Malformed("no MARK")
        items, self.stack = self.stack, self.marks.pop()
        return items

    def load(self):
        if self.read(2) != b"\x80\x02":
            raise _Malformed("no protocol-2 header")
        while True:
            at = self.pos
            op = self.read(1)
            handler = _OPS.get(op)
            if handler is None:
                raise _Malformed(f"opcode {op!r} at byte {at}, which torch.save does not "
                                 "write")
            if handler(self) is _STOP:
                break
        if self.marks or len(self.stack) != 1 or self.pos != len(self.raw):
            raise _Malformed("stray data around the pickled object")
        return self.stack[0]

    # ---- the opcodes
    def op_stop(self):
        return _STOP

    def op_mark(self):
        self.marks.append(self.stack)
        self.stack = []

    def op_tuple(self):
        items = tuple(self.pop_mark())  # first: pop_mark replaces self.stack
        self.stack.append(items)

    def op_tuple_n(self, n):
        if len(self.stack) < n:
            raise _Malformed("stack underflow")
        items = tuple(self.stack[len(self.stack) - n:])
        del self.stack[len(self.stack) - n:]
        self.stack.append(items)

    def op_put(self, fmt):
        self.memo[self.unpack(fmt)] = self.top()

    def op_get(self, fmt):
        key = self.unpack(fmt)
        if key not in self.memo:
            raise _Malformed(f"memo key {key} unset")
        self.stack.append(self.memo[key])

    def op_unicode(self):
        self.stack.append(self.read(self.unpack("<I")).decode("utf-8"))

    def op_long1(self):
        self.stack.append(int.from_bytes(self.read(self.read(1)[0]), "little", signed=True))

    def op_append(self):
        item = self.pop()
        self._list().append(item)

    def op_appends(self):
        items = self.pop_mark()
        self._list().extend(items)

    def _list(self) -> list:
        if type(self.top()) is not list:
            raise _Malformed(f"APPEND to a {type(self.top()).__name__}")
        return self.top()

    def op_setitem(self):
        value, key = self.pop(), self.pop()
        self._dict()[key] = value

    def op_setitems(self):
        items = self.pop_mark()
        if len(items) % 2:
            raise _Malformed("SETITEMS with an odd number of items")
        target = self._dict()
        for i in range(0, len(items), 2):
            target[items[i]] = items[i + 1]

    def _dict(self) -> dict:
        if type(self.top()) not in (dict, OrderedDict):
            raise _Malformed(f"SETITEM on a {type(self.top()).__name__}")
        return self.top()

    def op_global(self):
        module, name = self.line(), self.line()
        if (module, name) not in _GLOBALS:
            raise Refused(f"refusing to unpickle {module:.80}.{name:.80} "
                          "(only tensors of float32 or float64 may appear)")
        self.stack.append(_GLOBALS[module, name])

    def op_reduce(self):
        args, func = self.pop(), self.pop()
        if type(args) is not tuple:
            raise _Malformed(f"REDUCE with {type(args).__name__} arguments")
        if func is _ORDERED_DICT and args == ():
            self.stack.append(OrderedDict())
        elif func is _REBUILD:
            self.tensors.append(_rebuild_tensor(args))
            self.stack.append(self.tensors[-1])
        else:
            raise Refused(f"refusing to call {short(func)}{short(args)}")

    def op_persid(self):
        self.storages.append(_storage(self.pop()))
        self.stack.append(self.storages[-1])

    def op_build(self):
        state = self.pop()
        if type(self.top()) is not OrderedDict or type(state) is not dict or not all(
                type(k) is str for k in state):
            raise Refused(f"refusing to set the state of a {type(self.top()).__name__} to "
                          f"{short(state)} (torch.save sets an OrderedDict's attributes)")


_STOP = object()
_OPS = {
    b".": _Unpickler.op_stop, b"(": _Unpickler.op_mark, b"t": _Unpickler.op_tuple,
    b")": lambda u: u.stack.append(()), b"\x85": lambda u: u.op_tuple_n(1),
    b"\x86": lambda u: u.op_tuple_n(2), b"\x87": lambda u: u.op_tuple_n(3),
    b"}": lambda u: u.stack.append({}), b"]": lambda u: u.stack.append([]),
    b"N": lambda u: u.stack.append(None), b"\x88": lambda u: u.stack.append(True),
    b"\x89": lambda u: u.stack.append(False),
    b"J": lambda u: u.stack.append(u.unpack("<i")),
    b"K": lambda u: u.stack.append(u.unpack("<B")),
    b"M": lambda u: u.stack.append(u.unpack("<H")),
    b"\x8a": _Unpickler.op_long1, b"G": lambda u: u.stack.append(u.unpack(">d")),
    b"X": _Unpickler.op_unicode,
    b"q": lambda u: u.op_put("<B"), b"r": lambda u: u.op_put("<I"),
    b"h": lambda u: u.op_get("<B"), b"j": lambda u: u.op_get("<I"),
    b"a": _Unpickler.op_append, b"e": _Unpickler.op_appends,
    b"s": _Unpickler.op_setitem, b"u": _Unpickler.op_setitems,
    b"c": _Unpickler.op_global, b"R": _Unpickler.op_reduce, b"Q": _Unpickler.op_persid,
    b"b": _Unpickler.op_build,
}


def read_torch_zip(zf: zipfile.ZipFile):
    """``(config, [W1, b1, ...])``; every problem raises ``Refused``."""
    infos = {i.filename: i for i in zf.infolist()}
    pkls = [n for n in infos if n == "data.pkl" or n.endswith("/data.pkl")]
    if len(pkls) != 1:
        raise Refused(f"a torch.save zip holds one data.pkl, this one {len(pkls)}")
    prefix = pkls[0].removesuffix("data.pkl")
    if prefix.count("/") != 1 or prefix == "/":  # torch reads <first folder>/data.pkl
        raise Refused(f"data.pkl lies at {short(pkls[0])}; torch.save writes it as "
                      "<name>/data.pkl, one folder deep")
    check_member_size(infos[pkls[0]], 0, MAX_PICKLE_BYTES)
    unpickler = _Unpickler(zf.read(pkls[0]))  # zipfile checks the CRC-32
    obj = _unpickle(unpickler)
    if not isinstance(obj, dict) or set(obj) != {"format", "config", "state_dict"}:
        keys = sorted(map(text, obj)) if isinstance(obj, dict) else type(obj).__name__
        raise Refused(f"not an impl_torch checkpoint (holds {short(keys)}, not "
                      "format, config, state_dict)")
    config = check_config(obj["format"], obj["config"])
    state = obj["state_dict"]
    shapes = param_shapes(config["layer_sizes"])
    names = state_dict_names(len(shapes))
    if not isinstance(state, dict):
        raise Refused(f"state_dict is a {type(state).__name__}, not a dict")
    check_names(list(state), names, "state_dict keys")
    dtype = np.dtype(config["dtype"]).newbyteorder("<")
    tensors = [state[name] for name in names]
    storages = {}
    for name, shape, t in zip(names, shapes, tensors):
        _check_view(name, t, dtype, shape)
        s = storages.setdefault(t.storage.key, t.storage)
        if (s.dtype, s.numel) != (t.storage.dtype, t.storage.numel):
            raise Refused(f"storage {t.storage.key} is declared twice, differently")
    _check_unused(unpickler, tensors, storages)
    _check_members(zf, infos, prefix, storages.values(),
                   sum(map(math.prod, shapes)) * dtype.itemsize)
    data = {key: np.frombuffer(zf.read(f"{prefix}data/{key}"), s.dtype)
            for key, s in storages.items()}
    params = [_view(data[t.storage.key], t) for t in tensors]
    check_finite(params, [f"{p} ({n})" for p, n in zip(param_names(len(names)), names)])
    return config, params


def _unpickle(unpickler: _Unpickler):
    if not unpickler.raw.startswith(b"\x80\x02"):  # torch.save writes protocol 2
        raise Refused("data.pkl is not a protocol-2 pickle, as torch.save writes it")
    try:
        return unpickler.load()
    except Refused:
        raise
    except Exception as e:  # a malformed pickle fails in many ways; each one means "bad"
        if isinstance(e, _Malformed):  # our own words, one line
            raise Refused(f"data.pkl is not a readable pickle ({e})") from None
        first = str(e).splitlines()[0] if str(e) else ""
        raise Refused(f"data.pkl is not a readable pickle ({type(e).__name__}: "
                      f"{short(first)})") from None


def _check_unused(unpickler: _Unpickler, tensors: list, storages: dict) -> None:
    """Every tensor and storage in data.pkl must be a param's: torch.load builds and reads
    them all, wherever they lie, so one outside the state_dict would escape the checks."""
    used = {id(t) for t in tensors}
    extra = sum(id(t) not in used for t in unpickler.tensors)
    if extra:
        raise Refused(f"data.pkl holds {extra} tensor(s) beside the state_dict's")
    used = {id(t.storage) for t in tensors}
    extra = [s.key for s in unpickler.storages if id(s) not in used]
    if extra:
        raise Refused(f"data.pkl declares storage(s) {short(extra)} that no param uses")


def _check_view(name: str, t, dtype: np.dtype, shape: tuple) -> None:
    """The view ``t`` must be ``shape`` of ``dtype`` and lie inside its storage."""
    if not isinstance(t, _Tensor):
        raise Refused(f"{name} is a {type(t).__name__}, not a tensor")
    if t.storage.dtype != dtype or t.size != shape:
        raise Refused(f"{name} is {t.storage.dtype.name} of shape {t.size}, layer_sizes and "
                      f"dtype need {dtype.name} of shape {shape}")
    if math.prod(t.size) == 0:
        last = t.offset - 1  # an empty view reads nothing; its offset may be numel
    else:  # the furthest element the view reads, with every stride non-negative
        last = t.offset + sum((n - 1) * s for n, s in zip(t.size, t.stride))
    if last >= t.storage.numel:
        raise Refused(f"{name} reads element {last:,} of storage {t.storage.key}, which "
                      f"holds {t.storage.numel:,}")


def _check_members(zf, infos, prefix, storages, n_bytes: int) -> None:
    """Storage members exactly ``numel * itemsize`` bytes, all together within what
    ``layer_sizes`` needs; no member but those torch.save writes; its records as
    ``torch.load`` parses them (``_RECORDS``); every member's CRC-32 intact."""
    total = 0  # bytes
    for s in storages:
        member = f"{prefix}data/{s.key}"
        if member not in infos:
            raise Refused(f"storage {s.key} is missing (no {member})")
        nbytes = s.numel * s.dtype.itemsize
        check_member_size(infos[member], nbytes, nbytes)
        total += nbytes
    if total > n_bytes:
        raise Refused(f"storages hold {total:,} bytes, layer_sizes need {n_bytes:,}")
    extra = sum(i.file_size for i in infos.values()) - total
    if extra > MAX_EXTRA_BYTES:
        raise Refused(f"zip members beyond the storages declare {extra:,} bytes, more than "
                      f"the cap of {MAX_EXTRA_BYTES:,}")
    outside = [n for n in infos if not n.startswith(prefix)]
    if outside:
        raise Refused(f"zip members {short(outside)} lie outside {prefix or '/'}")
    known = {"data.pkl", *_RECORDS, *(f"data/{s.key}" for s in storages)}
    unknown = [n for n in infos if n.removeprefix(prefix) not in known]
    if unknown:
        raise Refused(f"zip members {short(unknown)} are not part of a torch.save "
                      "checkpoint")
    if f"{prefix}version" not in infos and f"{prefix}.data/version" not in infos:
        raise Refused(f"no {prefix}version record: torch.load needs one")
    for record, rule in _RECORDS.items():
        if f"{prefix}{record}" in infos:
            _check_record(zf, infos[f"{prefix}{record}"], record, rule)
    for info in infos.values():  # read to the end: zipfile raises on a bad CRC-32
        with zf.open(info) as f:
            while f.read(_CHUNK):
                pass


def _check_record(zf, info, record: str, rule) -> None:
    check_member_size(info, 0, _MAX_RECORD_BYTES)
    raw = zf.read(info)
    match = rule.fullmatch(raw)
    if record == "byteorder" and not match:
        raise Refused(f"storages are not little-endian ({info.filename} holds {short(raw)})")
    if not match or (rule is _VERSION and not
                     _MIN_VERSION <= int(match.group(1)) <= _MAX_VERSION):
        want = (f"a version from {_MIN_VERSION} to {_MAX_VERSION}" if rule is _VERSION
                else "what torch.save writes there")
        raise Refused(f"zip member {info.filename} holds {short(raw)}, not {want}")


def _view(data: np.ndarray, t: _Tensor) -> np.ndarray:
    """A copy of the view ``t`` of ``data``, after ``_check_view`` proved it in bounds."""
    if math.prod(t.size) == 0:
        return np.empty(t.size, data.dtype)
    # a size-1 dimension never steps, so its stride (any int, torch ignores it) is not used:
    # as_strided would overflow on a stride >= 2**63 / itemsize
    strides = tuple(s * data.itemsize if n > 1 else 0 for n, s in zip(t.size, t.stride))
    view = np.lib.stride_tricks.as_strided(data[t.offset:], t.size, strides, writeable=False)
    return np.array(view, dtype=data.dtype.newbyteorder("="))
