"""An IDX reader for MNIST, with the checks a download deserves (NumPy and stdlib only:
the benchmarks' ``--data mnist:DIR`` and the chapter both read through it).

    python -m chapter.mnist DIR [--kind t10k]     # prints shapes and label counts

IDX (LeCun's format, big-endian): 4 magic bytes ``0, 0, type, ndim``, then ``ndim`` uint32
sizes, then the data. MNIST images are ``0x00000803`` (ubyte, 3-D: n x 28 x 28) and labels
``0x00000801`` (ubyte, 1-D: n). A file may be gzipped; that is told by its first two bytes
(``1f 8b``), not by its name. Anything truncated, padded, foreign or mismatched raises a
``ValueError`` that names the file and the problem.

``load_idx(path)`` returns any IDX file as an array; ``load_mnist(directory, kind)`` finds
``{kind}-images-idx3-ubyte[.gz]`` and ``{kind}-labels-idx1-ubyte[.gz]`` and returns
``X`` uint8 (n, 784) and ``y`` uint8 (n,).
"""

from __future__ import annotations

import gzip
import io
import math
import os
import stat
import zlib
from pathlib import Path

import numpy as np

GZIP_MAGIC = b"\x1f\x8b"
IMAGES_MAGIC, LABELS_MAGIC = 0x00000803, 0x00000801
IMAGE_SHAPE = (28, 28)
N_CLASSES = 10
KINDS = ("t10k", "train")  # MNIST's two sets: the file prefix, never a path
# IDX type byte -> big-endian dtype
IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
# The most bytes an IDX file may hold, on disk and once gunzipped (MNIST's largest file, the
# train images, is 47 MB): a gzip bomb or a sparse file is refused before it fills memory.
MAX_IDX_BYTES = 2**28
_CHUNK = 1 << 20


def _not_a_file(path: Path):
    """A ``ValueError`` naming what ``path`` is when it is there but not a regular file
    (a folder, a FIFO, a device, a socket), else ``None``."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    if stat.S_ISREG(mode):
        return None
    what = ("a folder" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode) else
            "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else
            "a socket" if stat.S_ISSOCK(mode) else "not a regular file")
    return ValueError(f"{path}: is {what}, expected a regular IDX file")


def _too_big(path: Path, what: str) -> ValueError:
    return ValueError(f"{path}: {what} more than {MAX_IDX_BYTES} bytes (MAX_IDX_BYTES), "
                      f"too big for an IDX file")


def _read_bytes(path: Path) -> bytes:
    """The file's bytes (gunzipped if it starts with the gzip magic), at most
    ``MAX_IDX_BYTES`` of them: the size is checked before reading, the gunzipped size while
    decompressing."""
    error = _not_a_file(path)
    if error is not None:
        raise error
    with open(path, "rb") as f:
        if os.fstat(f.fileno()).st_size > MAX_IDX_BYTES:
            raise _too_big(path, "holds")
        raw = f.read(MAX_IDX_BYTES + 1)
        if len(raw) > MAX_IDX_BYTES:
            raise _too_big(path, "holds")
    if raw[:2] != GZIP_MAGIC:
        return raw
    chunks, total = [], 0
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(raw)) as g:
            while chunk := g.read(_CHUNK):
                total += len(chunk)
                if total > MAX_IDX_BYTES:
                    raise _too_big(path, "gunzips to")
                chunks.append(chunk)
    except (EOFError, OSError, zlib.error) as e:
        raise ValueError(f"{path}: corrupt or truncated gzip data ({e})") from None
    return b"".join(chunks)


def load_idx(path) -> np.ndarray:
    """The array stored in an IDX file (gzipped or not), in native byte order."""
    return _parse_idx(Path(path))[1]


def _parse_idx(path: Path):
    """``(magic number, array)`` of an IDX file."""
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise ValueError(f"{path}: {len(raw)} bytes, too short for an IDX header")
    zero, type_code, ndim = int.from_bytes(raw[:2], "big"), raw[2], raw[3]
    if zero != 0 or type_code not in IDX_TYPES or ndim == 0:
        raise ValueError(f"{path}: not an IDX file (magic number 0x{raw[:4].hex()})")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: truncated header ({len(raw)} bytes, {ndim}-D needs "
                         f"{header})")
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(IDX_TYPES[type_code])
    expected = header + math.prod(shape) * dtype.itemsize  # Python ints: never wraps
    if len(raw) != expected:
        problem = "truncated" if len(raw) < expected else "has trailing bytes"
        raise ValueError(f"{path}: {problem}: shape {shape} needs {expected} bytes, "
                         f"the data has {len(raw)}")
    data = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return int.from_bytes(raw[:4], "big"), data.astype(dtype.newbyteorder("="))


def _load_checked(path: Path, expected: int, what: str) -> np.ndarray:
    magic, data = _parse_idx(path)
    if magic != expected:
        raise ValueError(f"{path}: expected MNIST {what} (magic number 0x{expected:08x}), "
                         f"found magic number 0x{magic:08x}")
    return data


def find(directory, kind: str, what: str) -> Path:
    """``{kind}-{what}[.gz]`` in ``directory`` (the plain file if both exist); ``kind`` is
    one of ``KINDS``, so the name never leaves ``directory``."""
    if kind not in KINDS:
        raise ValueError(f"MNIST kind {kind!r}: expected one of {', '.join(KINDS)}")
    stem = f"{kind}-images-idx3-ubyte" if what == "images" else f"{kind}-labels-idx1-ubyte"
    for name in (stem, stem + ".gz"):
        path = Path(directory) / name
        error = _not_a_file(path)
        if error is not None:
            raise error
        if path.is_file():
            return path
    raise FileNotFoundError(f"no {stem} or {stem}.gz in {directory}")


def load_mnist(directory, kind: str = "t10k"):
    """``(X, y)``: images uint8 of shape (n, 784) and labels uint8 of shape (n,)."""
    if os.fspath(directory) == "":
        raise ValueError("MNIST directory: empty name (give a folder, e.g. '.')")
    directory = Path(os.fspath(directory))
    if not directory.is_dir():
        raise FileNotFoundError(f"MNIST directory {directory} does not exist")
    images_path, labels_path = find(directory, kind, "images"), find(directory, kind, "labels")
    images = _load_checked(images_path, IMAGES_MAGIC, "images")
    labels = _load_checked(labels_path, LABELS_MAGIC, "labels")
    if images.shape[1:] != IMAGE_SHAPE:  # 3-D, as its magic number says
        raise ValueError(f"{images_path}: images of {images.shape[1]} x {images.shape[2]} "
                         f"pixels, expected {IMAGE_SHAPE[0]} x {IMAGE_SHAPE[1]}")
    if len(images) == 0:
        raise ValueError(f"{images_path}: holds no images")
    if len(images) != len(labels):
        raise ValueError(f"{images_path} holds {len(images)} images but {labels_path} holds "
                         f"{len(labels)} labels")
    if len(labels) and labels.max() >= N_CLASSES:
        raise ValueError(f"{labels_path}: label {labels.max()} outside 0..{N_CLASSES - 1}")
    return images.reshape(len(images), -1), labels


def save_idx(path, array, compress=False) -> None:
    """Write ``array`` (uint8) as IDX: the inverse of ``load_idx``, for tests and fixtures."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    raw = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(s).to_bytes(4, "big") for s in array.shape) + array.tobytes()
    with open(path, "wb") as f:
        f.write(gzip.compress(raw) if compress else raw)
