"""What a checkpoint must satisfy, shared by its two readers (``core.checkpoint`` for the
``.npz``, ``core.torch_zip`` for the ``torch.save`` zip): the caps, the names and shapes
that ``layer_sizes`` implies, and the config check. The rules are explained in
``core.checkpoint``'s docstring."""

from __future__ import annotations

import math
import numbers
import zipfile

import numpy as np

# MAX_PARAMS, MAX_LAYERS: core.spec's, the caps of a network the twins build (2**28 params =
# 1 GiB at float32): low enough that a file claiming more is refused before the reader (which
# holds the member bytes and the arrays at once) could exhaust memory.
from .spec import MAX_LAYERS, MAX_PARAMS, check_activation, check_dtype, check_loss

FORMAT = "mlp-twins/1"
MAX_META_BYTES = 1 << 16  # one .npz metadata member (format, layer_sizes, ...)
MAX_PICKLE_BYTES = 1 << 20  # torch's data.pkl: names and tensor records, no tensor data
MAX_NPY_HEADER = 1 << 12  # a .npy header (numpy writes 128 bytes)
MAX_EXTRA_BYTES = 1 << 20  # a torch zip's members other than the tensor storages
_CONFIG_KEYS = ("layer_sizes", "activation", "loss", "dtype")


class Refused(Exception):
    """One problem with a checkpoint; ``read_checkpoint`` raises it as ``ValueError``."""


def param_names(n: int) -> list:
    """``["W1", "b1", "W2", "b2", ...]``: the names of ``n`` params in checkpoint order."""
    return [f"{'W' if i % 2 == 0 else 'b'}{i // 2 + 1}" for i in range(n)]


def state_dict_names(n: int) -> list:
    """``["net.0.weight", "net.0.bias", "net.2.weight", ...]``: ``impl_torch.MLP``'s keys
    for ``n`` params (an activation module sits between two ``nn.Linear``)."""
    return [f"net.{2 * (i // 2)}.{'weight' if i % 2 == 0 else 'bias'}" for i in range(n)]


def param_shapes(layer_sizes) -> list:
    """``[(h1, n_in), (h1,), (h2, h1), ...]``: W is (fan_out, fan_in), like ``nn.Linear``."""
    shapes = []
    for fan_in, fan_out in zip(layer_sizes[:-1], layer_sizes[1:]):
        shapes += [(fan_out, fan_in), (fan_out,)]
    return shapes


def check_config(fmt, config) -> dict:
    """The validated ``config`` (``layer_sizes`` a tuple of at most ``MAX_PARAMS`` params)."""
    if not isinstance(fmt, str) or fmt != FORMAT:
        raise Refused(f"not an {FORMAT} checkpoint (format {short(fmt)})")
    if not isinstance(config, dict) or set(config) != set(_CONFIG_KEYS):
        keys = sorted(map(text, config)) if isinstance(config, dict) else short(config)
        raise Refused(f"config must have the keys {list(_CONFIG_KEYS)}, got {keys}")
    sizes = config["layer_sizes"]
    if not isinstance(sizes, (list, tuple)) or not 2 <= len(sizes) <= MAX_LAYERS:
        raise Refused(f"layer_sizes must be a list of 2 to {MAX_LAYERS} ints, "
                      f"got {short(sizes)}")
    for s in sizes:  # ints only: 3.9 or "3" is refused, never int()-ed
        if isinstance(s, bool) or not isinstance(s, numbers.Integral) or not 0 < s <= MAX_PARAMS:
            raise Refused(f"layer_sizes must hold positive ints, got {short(s)} in "
                          f"{short(sizes)}")
    sizes = tuple(int(s) for s in sizes)
    n = sum(math.prod(shape) for shape in param_shapes(sizes))
    if n > MAX_PARAMS:
        raise Refused(f"layer_sizes {short(list(sizes))} declare {n:,} params, more than "
                      f"the cap MAX_PARAMS = {MAX_PARAMS:,}")
    out = {"layer_sizes": sizes}
    for key, check in (("activation", check_activation), ("loss", check_loss),
                       ("dtype", check_dtype)):
        if not isinstance(config[key], str):
            raise Refused(f"{key} must be a string, got {short(config[key])}")
        try:
            out[key] = check(config[key])
        except (TypeError, ValueError) as e:
            raise Refused(str(e)) from None
    return out


def check_names(found, expected, what: str) -> None:
    """``found`` must hold exactly the names in ``expected`` (order aside)."""
    missing = [n for n in expected if n not in found]
    unexpected = sorted(text(n) for n in found
                        if n not in set(expected))
    if missing or unexpected:
        raise Refused(f"{what} do not match layer_sizes: missing {missing}, "
                      f"unexpected {short(unexpected)}")


def check_member_size(info: zipfile.ZipInfo, low: int, high: int) -> None:
    """Refuse a member whose declared uncompressed size is outside ``[low, high]``,
    before reading it (zipfile never returns more than the declared size)."""
    if low <= info.file_size <= high:
        return
    if low == 0:
        raise Refused(f"zip member {info.filename} declares {info.file_size:,} bytes, more "
                      f"than the cap of {high:,}")
    need = f"{low:,}" if low == high else f"{low:,} to {high:,}"
    raise Refused(f"zip member {info.filename} declares {info.file_size:,} bytes, "
                  f"its shape needs {need}")


def check_finite(params, names) -> None:
    """Refuse a param holding NaN or +-inf: a checkpoint is trained weights, and a NaN
    would pass silently into every prediction. One pass (min and max propagate NaN and
    expose +-inf, without a boolean array the size of the param) unless there is one."""
    for name, p in zip(names, params):
        if p.size and not (np.isfinite(p.min()) and np.isfinite(p.max())):
            bad = int(p.size - np.count_nonzero(np.isfinite(p)))
            raise Refused(f"{name} holds {bad:,} non-finite value{'s' * (bad != 1)} "
                          "(NaN or inf)")


def text(value) -> str:
    """A key for a message: a string as it is, anything else as ``short`` prints it."""
    return value if type(value) is str else short(value)


def short(value, limit: int = 80) -> str:
    """``repr(value)``, cut to ``limit`` characters (a crafted file may hold huge values,
    or nesting too deep for ``repr``)."""
    try:
        text = repr(value)
    except (RecursionError, ValueError):  # ValueError: an int of more than 4300 digits
        return f"<a {type(value).__name__} too deep or too long to print>"
    return text if len(text) <= limit else text[:limit] + "..."
