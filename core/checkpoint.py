"""The checkpoint format both twins write and read, and a reader that needs only NumPy.

A checkpoint is either an ``.npz`` (``impl_numpy.save``: arrays ``W1, b1, ...`` beside
``format``, ``layer_sizes``, ``activation``, ``loss``, ``dtype``) or a ``torch.save`` zip
(``impl_torch.save``: ``{"format", "config", "state_dict"}`` with keys ``net.0.weight``,
``net.0.bias``, ``net.2.weight``, ...). ``read_checkpoint`` reads both *without importing
torch*, and both twins' ``load`` call it first, so they accept and refuse the same files.

A checkpoint is untrusted data, never code, and is checked before anything large is built:

- **Nothing runs.** ``.npz`` members are parsed from their ``.npy`` header (no pickles);
  the torch ``data.pkl`` goes through an interpreter of its own that knows the protocol-2
  opcodes ``torch.save`` writes (each with the meaning ``torch.load(weights_only=True)``
  gives it) and five names (a tensor, two storage kinds, OrderedDict), and refuses every
  other opcode and global.
- **Caps before allocation.** ``layer_sizes`` (ints only: 3.9 or "3" is refused, never
  ``int()``-ed) may declare at most ``MAX_PARAMS`` = 2**28 params (1 GiB at float32: far
  above any network here, low enough that the reader cannot exhaust memory); every zip
  member's declared uncompressed size is checked against what ``layer_sizes`` needs
  (metadata members at most ``MAX_META_BYTES``, ``data.pkl`` ``MAX_PICKLE_BYTES``)
  *before* it is read, so a small file that claims a big network, or a zip bomb, is
  refused without allocating it.
- **Names and shapes.** The arrays must be exactly ``W1, b1, ...`` (``.npz``) or the
  state-dict keys ``impl_torch.MLP`` has (``net.0.weight``, ...), derived from
  ``layer_sizes``, each of exactly the shape and dtype the config implies.
- **Every tensor view is bounds-checked.** Sizes, strides and offsets must be
  non-negative ints, the dtype float32/float64 as declared, the storage's bytes exactly
  ``numel * itemsize``, and the furthest element ``offset + sum((size_i - 1) * stride_i)``
  inside the storage; only then is the view built (``as_strided``) and copied.
- **Finite weights.** A param holding NaN or +-inf is refused (``"W2 holds 3 non-finite
  values"``): a checkpoint is trained weights, and a NaN would pass into every prediction.
- **What torch.load reads, and nothing else.** A torch zip is accepted only as
  ``torch.load(weights_only=True)`` reads it to the same values, so both twins agree:
  ``<name>/data.pkl`` one folder deep, every member under ``<name>/``, no member but
  ``data.pkl``, the storages its tensors use (``data/<digits>``) and the records
  ``torch.save`` writes (``version`` or ``.data/version``, a version torch reads: 1 to 10;
  ``byteorder`` ``little``; ``.format_version``, ``.storage_alignment``,
  ``.data/serialization_id`` as torch.save writes them); every tensor and storage in
  ``data.pkl`` is a param's; ``_rebuild_tensor_v2`` gets its 6 or 7 arguments.
- **Integrity.** The CRC-32 of every zip member is verified before either twin uses it,
  so one flipped byte in a weight is refused by both twins alike; and the zip must be laid
  out as np.savez and torch.save write it (``check_layout``), since torch's zip reader
  refuses damage there that Python's zipfile tolerates. Members must be stored
  uncompressed, as both twins write them, so a file never expands beyond its own size.
- **One error.** Every refusal is ``ValueError("<path>: <problem>")``; a missing file is
  ``FileNotFoundError`` naming the path.
"""

from __future__ import annotations

import io
import math
import os
import stat
import struct
import warnings
import zipfile
import zlib

import numpy as np

from .checkpoint_rules import (
    FORMAT,
    MAX_META_BYTES,
    MAX_NPY_HEADER,
    MAX_PARAMS,
    Refused,
    check_config,
    check_finite,
    check_member_size,
    check_names,
    param_names,
    param_shapes,
    short,
    state_dict_names,
)
from .torch_zip import read_torch_zip

__all__ = ["FORMAT", "MAX_PARAMS", "config_of", "is_torch_zip", "param_names", "param_shapes",
           "read_checkpoint", "state_dict_names"]

_META = ("format", "layer_sizes", "activation", "loss", "dtype")
# what zipfile raises on a damaged archive or member (a bad CRC-32 is a BadZipFile)
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError,
               EOFError, zlib.error, struct.error, UnicodeError, OSError)
_END = struct.Struct("<4s4H2LH")  # signature, 2 disk numbers, 2 entry counts, cd size, offset
_LOCAL = struct.Struct("<4s5H3L2H")  # signature, 5 fields, crc, 2 sizes, name and extra len
_DESCRIPTOR = struct.Struct("<4s3L")  # signature, crc, 2 sizes (bit 3 of the flags)
_CENTRAL = struct.Struct("<4s6H3L5H2L")  # signature, ..., name, extra, comment len, ...
# the general-purpose flag bits np.savez and torch.save write: 0x08 (sizes in a data
# descriptor after the data) and 0x800 (UTF-8 name); torch's reader refuses others (0x2000)
_FLAGS_WRITTEN = 0x0808
_END64 = struct.Struct("<4sQ2H2L4Q")  # torch writes a zip64 end record and its locator,
_LOCATOR64 = struct.Struct("<4sLQL")  # even for small files


def config_of(spec) -> dict:
    """The checkpoint's ``config``: what ``MLP(**config)`` needs to rebuild the network."""
    return {"layer_sizes": list(spec.layer_sizes), "activation": spec.activation,
            "loss": spec.loss, "dtype": spec.dtype}


def is_torch_zip(path) -> bool:
    """True for a ``torch.save`` zip (it holds a ``data.pkl``), False for anything else."""
    try:
        with zipfile.ZipFile(path) as z:
            return _has_pickle(z.namelist())
    except (OSError, *_ZIP_ERRORS):
        return False


def read_checkpoint(path):
    """``(config dict, [W1, b1, ...])`` from an ``.npz`` or an ``impl_torch`` checkpoint,
    every rule above checked; else ``ValueError("<path>: <problem>")``."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        kind = os.stat(path).st_mode
        if not stat.S_ISREG(kind):  # a FIFO blocks the first read; a device may never end
            what = "a folder" if stat.S_ISDIR(kind) else "a FIFO, device or socket"
            raise Refused(f"not a checkpoint: {what}, not a regular file")
        if not zipfile.is_zipfile(path):
            raise Refused("not a checkpoint (neither .npz nor torch.save zip)")
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
            if len(set(names)) != len(names):
                raise Refused("not a checkpoint (duplicate zip members)")
            with open(path, "rb") as f:
                check_layout(f, zf.infolist())
            return read_torch_zip(zf) if _has_pickle(names) else _read_npz(zf)
    except Refused as e:
        raise ValueError(f"{path}: {e}") from None
    except FileNotFoundError:
        raise
    except _ZIP_ERRORS as e:
        raise ValueError(f"{path}: corrupt checkpoint ({type(e).__name__}: {e})") from None


def check_layout(f, infos) -> None:
    """The zip is laid out as np.savez and torch.save write it: members back to back from
    byte 0, each local header (and data descriptor) agreeing with the central directory,
    then the central directory, then the end record, no comment. zipfile tolerates some
    damage there that torch's reader refuses; this makes the twins agree."""
    end = f.seek(0, os.SEEK_END)
    f.seek(max(end - _END.size, 0))
    sig, disk, cd_disk, n_here, n, cd_size, cd_offset, comment = _END.unpack(f.read(_END.size))
    tail = end - _END.size - cd_offset - cd_size  # 0, or torch's zip64 record and locator
    ok = (sig, disk, cd_disk, n_here, n, comment) == (b"PK\x05\x06", 0, 0, len(infos),
                                                      len(infos), 0)
    if ok and tail == _END64.size + _LOCATOR64.size:
        f.seek(cd_offset + cd_size)
        end64, locator = _END64.unpack(f.read(_END64.size)), _LOCATOR64.unpack(f.read(20))
        ok = (end64[:2], end64[4:], locator) == (
            (b"PK\x06\x06", _END64.size - 12), (0, 0, n, n, cd_size, cd_offset),
            (b"PK\x06\x07", 0, cd_offset + cd_size, 1))
    elif tail != 0:
        ok = False
    if not ok:
        raise Refused("corrupt checkpoint (malformed zip end record)")
    f.seek(cd_offset)
    cd, at = f.read(cd_size), 0
    for info in infos:  # zipfile lists the central directory in its order
        entry = _CENTRAL.unpack_from(cd, at)
        name = info.orig_filename.encode("utf-8" if entry[3] & 0x800 else "cp437")
        if (entry[0] != b"PK\x01\x02" or cd[at + _CENTRAL.size:][:entry[10]] != name
                or entry[11:14] != (0, 0, 0)  # no extra field, comment, other disk
                or entry[15] & 0x10 or info.is_dir()  # a file, not a directory
                or (entry[4] == zipfile.ZIP_STORED and entry[8] != entry[9])):
            raise Refused(f"corrupt checkpoint (zip directory entry {info.filename})")
        if entry[3] & ~_FLAGS_WRITTEN:
            raise Refused(f"zip member {info.filename} sets flag bits 0x{entry[3]:04x}; "
                          f"np.savez and torch.save set only 0x{_FLAGS_WRITTEN:04x}")
        if entry[4] != zipfile.ZIP_STORED:  # so no zip bomb: a file holds what it declares
            raise Refused(f"zip member {info.filename} is compressed (method {entry[4]}); "
                          "np.savez and torch.save store checkpoints uncompressed")
        at += _CENTRAL.size + sum(entry[10:13])
    if at != cd_size:
        raise Refused("corrupt checkpoint (zip directory size)")
    pos = 0
    for info in sorted(infos, key=lambda i: i.header_offset):
        f.seek(pos)
        local = _LOCAL.unpack(f.read(_LOCAL.size))
        name = f.read(local[9])
        descriptor = (info.CRC, info.compress_size, info.file_size)
        sizes_ok = local[6:9] == (0, 0, 0) if local[2] & 8 else \
            local[6] == info.CRC and {local[7], local[8]} <= {*descriptor[1:], 0xFFFFFFFF}
        if (info.header_offset != pos or local[0] != b"PK\x03\x04" or not sizes_ok
                or (local[2], local[3]) != (info.flag_bits, info.compress_type)
                or name != info.orig_filename.encode("utf-8" if local[2] & 0x800 else "cp437")):
            raise Refused(f"corrupt checkpoint (zip member {info.filename}: local header)")
        pos += _LOCAL.size + local[9] + local[10] + info.compress_size
        if local[2] & 8:
            f.seek(pos)
            if _DESCRIPTOR.unpack(f.read(_DESCRIPTOR.size)) != (b"PK\x07\x08", *descriptor):
                raise Refused(f"corrupt checkpoint (zip member {info.filename}: descriptor)")
            pos += _DESCRIPTOR.size
    if pos != cd_offset:
        raise Refused("corrupt checkpoint (bytes between the members and the directory)")


def _has_pickle(names) -> bool:
    return any(n == "data.pkl" or n.endswith("/data.pkl") for n in names)


# ------------------------------------------------------------------ .npz
def _read_npz(zf: zipfile.ZipFile):
    infos = {i.filename: i for i in zf.infolist()}
    raw = {}
    for key in _META:
        if f"{key}.npy" not in infos:
            raise Refused(f"not an {FORMAT} checkpoint (no {key!r} array)")
        value = _read_npy(zf, infos[f"{key}.npy"], 0, MAX_META_BYTES).tolist()
        raw[key] = value
    config = check_config(raw.pop("format"), raw)
    shapes = param_shapes(config["layer_sizes"])
    names = param_names(len(shapes))
    check_names([n.removesuffix(".npy") for n in infos if n not in {f"{k}.npy" for k in _META}],
                names, "arrays")
    dtype = np.dtype(config["dtype"])
    params = []
    for name, shape in zip(names, shapes):
        nbytes = math.prod(shape) * dtype.itemsize
        info = infos[f"{name}.npy"]
        check_member_size(info, nbytes, nbytes + MAX_NPY_HEADER)
        params.append(_read_npy(zf, info, nbytes, nbytes + MAX_NPY_HEADER, dtype, shape))
    check_finite(params, names)
    return config, params


def _read_npy(zf, info, low, high, dtype=None, shape=None) -> np.ndarray:
    """One ``.npy`` member, its size capped before reading and its header checked before
    any array is made; metadata (``dtype=None``) may be str, int, float or bool."""
    check_member_size(info, low, high)
    raw = zf.read(info)  # at most info.file_size bytes; zipfile checks the CRC-32
    f, name = io.BytesIO(raw), info.filename.removesuffix(".npy")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            version = np.lib.format.read_magic(f)
            read_header = {(1, 0): np.lib.format.read_array_header_1_0,
                           (2, 0): np.lib.format.read_array_header_2_0}[version]
            got_shape, fortran, got_dtype = read_header(f, max_header_size=MAX_NPY_HEADER)
    except Exception as e:  # an untrusted header can fail in many ways; all mean "bad"
        raise Refused(f"{name} is not a .npy array ({type(e).__name__})") from None
    if any(isinstance(d, bool) or d < 0 for d in got_shape):
        raise Refused(f"{name} has an invalid shape {short(got_shape)}")
    if dtype is None:
        if got_dtype.hasobject or got_dtype.kind not in "Uiufb" or len(got_shape) > 1:
            raise Refused(f"{name} must be a string or a list of numbers, got "
                          f"{got_dtype} of shape {short(got_shape)}")
    elif got_dtype != dtype or got_shape != shape:
        raise Refused(f"{name} is {got_dtype} of shape {short(got_shape)}, layer_sizes "
                      f"and dtype need {dtype} of shape {shape}")
    count = math.prod(got_shape)
    if len(raw) - f.tell() != count * got_dtype.itemsize:
        raise Refused(f"{name} holds {len(raw) - f.tell():,} bytes of data, its header "
                      f"declares {count:,} x {got_dtype.itemsize}")
    arr = np.frombuffer(raw, got_dtype, count, offset=f.tell())
    return np.array(arr.reshape(got_shape, order="F" if fortran else "C"), order="C")
