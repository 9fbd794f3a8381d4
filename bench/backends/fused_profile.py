"""Where ``numpy-fused``'s step goes: each part of ``FusedStep`` timed alone, on its own buffers.

    python -m bench.backends.fused_profile                       # 784-100-10 and 784-2048-10
    python -m bench.backends.fused_profile --sizes 784-100-10 --threads 2 --rounds 200

Issue 24's goal is a GEMM share (``gemm_s`` / step median, ``reports/best.py``) of 0.95 at
1.63M parameters and 0.85 at 79,510; this says what the rest of the step is. Parts, replayed
from ``FusedStep`` itself (the same calls on the same buffers, so no copy of its code):

* ``gemms``: every GEMM of the step as bound (forward with the bias, input gradients, the
  update fused into the weight gradient, ``beta = 1``)
* ``forward elementwise``: the bias copied into ``Z_l`` and the hidden activation
* ``loss and dZ_L``: softmax cross-entropy and its gradient (``_loss_and_dout``)
* ``bias update``: ``b_l -= lr * sum_i dZ_l`` per layer
* ``activation backward``: ``dA_{l-1} *= g'(A_{l-1})`` per hidden layer

beside the whole ``step`` and ``gemm_s`` (``bench/measure/breakdown.py``: the same products
through ``np.matmul``, the suite's share reference). ``step - sum of parts`` is what no part
holds alone: the parts' interplay (caches, a BLAS pool waking between calls). Each value is the
median over ``--rounds`` rounds of the mean of ``--inner`` calls, each timed alone after the
step's state (parameters and buffers) is put back, untimed, as it was after one warm step; the
rounds interleave the parts, so a slow moment slows all of them. The batch is refused, before
anything is allocated, beyond the caps the model itself enforces (``MAX_ACTIVATION_BYTES``, and
``MAX_DATA_BYTES`` for the float64 draw of X). Run it on a quiet machine: it is a measurement,
not a check.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

import impl_numpy
from bench.backends import Case
from bench.backends.cblas import GemmUnavailable
from bench.backends.common import LR, make_batch
from bench.backends.fused_step import FusedStep
from bench.measure.breakdown import gemm_seconds
from core import cli
from core.procs import available_cores
from core.spec import MAX_DATA_BYTES, check_activations, check_layer_sizes, n_params
from core.threads import ThreadPinError, pinned

PROG = "python -m bench.backends.fused_profile"
SIZES = ("784-100-10", "784-2048-10")  # the quick profile's pair: 79,510 and 1,628,170
THREADS = (1, 2)


def parts(step: FusedStep) -> dict:
    """``{name: callable}``: the step and each of its parts, on the step's own buffers."""
    L, Z = len(step.fwd), step.Z

    def gemms():
        for call in step.calls():
            call()

    def forward_elementwise():
        for l in range(L):
            np.copyto(Z[l], step.bs[l])
            if l < L - 1:
                step._act(l, Z[l])

    def bias_update():
        for l in range(L):
            dZ = step.E if l == L - 1 else step.dA[l + 1]
            np.sum(dZ, axis=0, out=step.db[l])
            np.multiply(step.db[l], step.lr, out=step.db[l])
            np.subtract(step.bs[l], step.db[l], out=step.bs[l])

    def activation_backward():
        for l in range(1, L):
            step._act_backward(l - 1, step.dA[l], Z[l - 1])

    return {"step": step, "gemms": gemms, "forward elementwise": forward_elementwise,
            "loss and dZ_L": lambda: step._loss_and_dout(Z[-1]), "bias update": bias_update,
            "activation backward": activation_backward}


def state(step: FusedStep) -> list:
    """Every array a part writes: the parameters and all of the step's buffers."""
    return [*step.params, *step.Z, *(a for a in step.dA if a is not None), step.E, *step.db,
            *step.tmp, *step.mask, step.m, step.s, step.pick, step.row_loss]


def profile(sizes: tuple, batch: int, threads: int, rounds: int, inner: int) -> dict:
    """``{part: median seconds}`` plus ``gemm_s`` for one case, float32, ReLU, cross-entropy.
    Before every call, untimed, each array the parts write is put back as it was after one
    warm step: a part repeated alone (the forward GEMMs add into ``Z``, the updates into the
    weights) would otherwise run on values that grow without bound."""
    case = Case(sizes, batch, "float32", threads)
    model = impl_numpy.MLP(sizes, dtype="float32", seed=case.seed)
    X, y = model.check_batch(*make_batch(case))
    step = FusedStep(model, impl_numpy.SGD(model.params, lr=LR), X, y)
    todo = parts(step)
    times = {name: [] for name in todo}
    with pinned(threads), np.errstate(all="ignore"):
        for fn in todo.values():  # warm: buffers paged in, BLAS pool started
            fn()
        step()
        arrays = state(step)
        saved = [a.copy() for a in arrays]
        for _ in range(rounds):
            for name, fn in todo.items():
                total = 0.0
                for _ in range(inner):
                    for a, b in zip(arrays, saved):
                        np.copyto(a, b)
                    t0 = time.perf_counter()
                    fn()
                    total += time.perf_counter() - t0
                times[name].append(total / inner)
        for a, b in zip(arrays, saved):
            np.copyto(a, b)
        out = {name: statistics.median(t) for name, t in times.items()}
        out["gemm_s"] = gemm_seconds("numpy", sizes, batch, "float32")
    return out


def table(sizes: tuple, threads: int, got: dict) -> list[str]:
    step = got["step"]
    own = [k for k in got if k not in ("step", "gemm_s")]
    rest = step - sum(got[k] for k in own)
    rows = [(k, got[k]) for k in own] + [("step - sum of parts", rest), ("step", step),
                                          ("gemm_s (np.matmul, the share's reference)",
                                           got["gemm_s"])]
    out = [f"{'-'.join(map(str, sizes))} ({n_params(sizes):,} parameters), {threads} "
           f"thread(s): GEMM share {got['gemm_s'] / step:.3f} (gemm_s / step), the step's own "
           f"GEMMs {got['gemms'] / step:.3f} of it", "", "| part | us | share of step |",
           "|---|---:|---:|"]
    out += [f"| {k} | {v * 1e6:,.1f} | {v / step:.3f} |" for k, v in rows]
    return out + [""]


def layers(text: str) -> tuple:
    """``"784-100-10"`` -> ``(784, 100, 10)``, checked as the model checks it."""
    if any(not n.strip() for n in text.split("-")):
        raise argparse.ArgumentTypeError(f"{text!r}: an empty size (write e.g. 784-100-10)")
    try:
        return check_layer_sizes(tuple(int(n) for n in text.split("-")))
    except (ValueError, TypeError) as e:
        raise argparse.ArgumentTypeError(f"{text!r}: {e}") from None


def main(argv=None) -> int:
    p = cli.Parser(prog=PROG, description=__doc__,
                   formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", nargs="+", type=layers, default=[layers(s) for s in SIZES],
                   metavar="LAYERS",
                   help="layer sizes joined by '-' (default: 784-100-10 784-2048-10)")
    p.add_argument("--threads", nargs="+", type=cli.positive_int, default=list(THREADS),
                   help="BLAS thread counts (default: %(default)s)")
    p.add_argument("--batch", type=cli.positive_int, default=256, help="default: 256")
    p.add_argument("--rounds", type=cli.positive_int, default=60, help="default: 60")
    p.add_argument("--inner", type=cli.positive_int, default=20,
                   help="calls per part per round (default: 20)")
    try:
        args = p.parse_args(sys.argv[1:] if argv is None else argv)
    except SystemExit as e:
        return e.code
    args.sizes = list(dict.fromkeys(args.sizes))  # each case once, in the order given
    args.threads = list(dict.fromkeys(args.threads))
    for sizes in args.sizes:  # before anything is allocated: the model's own caps
        try:
            check_activations(args.batch, sizes, "float32")
            if args.batch * sizes[0] * 8 > MAX_DATA_BYTES:  # X is drawn in float64 first
                raise ValueError(f"X of {args.batch:,} x {sizes[0]:,} float64 takes more than "
                                 f"the cap MAX_DATA_BYTES = {MAX_DATA_BYTES:,} bytes")
        except ValueError as e:
            return cli.error(PROG, f"--batch {args.batch}: {e}")
    over = [n for n in args.threads if n > available_cores()]
    if over:
        return cli.error(PROG, f"--threads {over[0]}: this process may use "
                               f"{available_cores()} core(s); more threads than cores would "
                               "measure the oversubscription")
    try:
        for sizes in args.sizes:
            for threads in args.threads:
                got = profile(sizes, args.batch, threads, args.rounds, args.inner)
                print("\n".join(table(sizes, threads, got)), flush=True)
    except (GemmUnavailable, ThreadPinError, ValueError) as e:
        return cli.error(PROG, e)
    except MemoryError as e:  # the caps are the model's; the profile holds ~10x its activations
        return cli.error(PROG, f"out of memory for --batch {args.batch} ({e}); the profile "
                               "keeps the step's buffers and a copy of them: try a smaller "
                               "batch or narrower layers")
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted (the cases above were measured whole)", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader stopped (| head): what it read is what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as e:  # stdout full or failing: nothing left to say it on but stderr
        return cli.error(PROG, f"cannot write the table: {e.strerror or e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
