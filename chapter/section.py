"""The report's "From the chapter" section: figures as PNG and a Markdown section.

    python -m chapter.section OUT_DIR [--mnist DIR] [--activation-figure PNG]

``build(out_dir, mnist_dir=None)`` trains the linear-regression toy three ways (plus the
closed form and a rerun of the book's code), runs the twins' accuracy parity on MNIST when
``mnist_dir`` is given and on scikit-learn's digits otherwise (some 10-20 s in all on two
cores), writes ``linreg.png`` and ``parity.png`` into ``out_dir`` and returns the section,
its figure links relative to ``out_dir``. Figures are drawn on matplotlib's Agg canvas
without pyplot, so no global backend is touched.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path
from urllib.parse import quote

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from core import cli
from impl_numpy import activations as act

from . import linreg, mnist, mnist_mlp

STYLES = {"NumPy, hand-written SGD": {"lw": 6, "alpha": 0.35},
          "torch tensors + autograd": {"lw": 2.5, "ls": "--"},
          "nn.Linear + optim.SGD": {"lw": 1.5, "ls": ":", "color": "k"},
          "closed form": {"lw": 1.5, "ls": "-.", "color": "tab:red"}}


def _replace(path: Path, write) -> None:
    """``write(tmp)`` into a new file beside ``path``, then rename it over ``path``: a link
    planted at ``path`` is replaced, never written through."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _save(fig: Figure, path: Path) -> None:
    FigureCanvasAgg(fig)
    _replace(path, lambda tmp: fig.savefig(tmp, dpi=110, bbox_inches="tight", format="png"))


def linreg_figure(fits: dict, path: Path) -> None:
    x, y = linreg.training_data()
    grid = np.linspace(x.min() - 0.2, x.max() + 0.2, 50)
    fig = Figure(figsize=(6, 4))
    ax = fig.add_subplot()
    ax.plot(x[:, 0], y, "o", ms=8, label="training examples")
    for name, (w, b) in fits.items():
        ax.plot(grid, w * grid + b, label=f"{name}: w={w:.4f}, b={b:.4f}", **STYLES[name])
    ax.set(xlabel="x (standardised)", ylabel="y",
           title="Linear regression: three SGD loops and the closed form")
    ax.legend(fontsize=8, loc="upper left")
    _save(fig, path)


def parity_figure(result: dict, path: Path) -> None:
    epochs = np.arange(1, result["epochs"] + 1)
    fig = Figure(figsize=(6, 4))
    ax = fig.add_subplot()
    ax.plot(epochs, 100 * np.array(result["history"]["numpy"]), lw=5, alpha=0.4,
            label="impl_numpy")
    ax.plot(epochs, 100 * np.array(result["history"]["torch"]), "k--", lw=1.5,
            label="impl_torch")
    ax.set(xlabel="epoch", ylabel="test accuracy (%)",
           title=f"Both twins on the same batches: {result['data']}")
    ax.legend()
    _save(fig, path)


def _rows(pairs: dict) -> list:
    return [f"| {name} | {w:.6f} | {b:.6f} |" for name, (w, b) in pairs.items()]


def _control(text: str) -> bool:
    """A control character (a newline, a tab, C1): no file name to print or link."""
    return any(ord(c) < 32 or 127 <= ord(c) < 160 for c in text)


def _link(target: Path, out_dir: Path) -> str:
    """``target`` relative to ``out_dir``, percent-encoded for a Markdown link target (a ``)``,
    ``]``, ``<`` or space in a file name would end or break the link)."""
    if _control(str(target)):
        raise ValueError(f"{str(target)!r}: a file name with a control character")
    return quote(Path(os.path.relpath(target, out_dir)).as_posix(), safe="/")


def out_folder(text: str) -> Path:
    """``OUT_DIR``: not empty (that would be the current folder, unasked), a folder that exists
    or can be made."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty folder name (say '.' for this folder)")
    return Path(os.path.normpath(cli.folder_out(text)))  # ".." resolved before any mkdir


def figure_file(text: str) -> str:
    """``--activation-figure``: an existing file whose name holds no control character (a
    newline would end the Markdown link; the rest is percent-encoded in it, ``_link``)."""
    if _control(text):
        raise argparse.ArgumentTypeError(f"{text!r}: a file name with a control character")
    return cli.existing_file(text)


def compute(mnist_dir=None, mnist_epochs=mnist_mlp.DEFAULT_EPOCHS) -> dict:
    """Every number the section quotes: the linear-regression fits (three SGD loops, the
    closed form, the book's code rerun), SGD's predicted end point, the twins' accuracy
    parity (MNIST from ``mnist_dir``, else scikit-learn's digits) and the activation values."""
    x, y = linreg.training_data()
    w0 = linreg.initial_weight()
    fits = linreg.fit_all()
    parity = (mnist_mlp.digits_parity() if mnist_dir is None else
              mnist_mlp.mnist_parity(mnist_dir, epochs=mnist_epochs))
    saturated = np.array([20.0, 25.0])
    return {"fits": fits, "replay": linreg.replay_book(), "w0": w0,
            "predicted": linreg.predicted_sgd_end(w0, 0.0, x, y), "parity": parity,
            "softmax": act.softmax(np.array([1.78, 0.76, 1.65])),
            "tanh_saturated": act.tanh_grad(saturated).tolist(),
            "relu_saturated": act.relu_grad(saturated).tolist()}


def draw(results: dict, out_dir: Path) -> None:
    """``linreg.png`` and ``parity.png`` into ``out_dir``."""
    linreg_figure(results["fits"], out_dir / "linreg.png")
    parity_figure(results["parity"], out_dir / "parity.png")


def build(out_dir: Path, mnist_dir=None, activation_figure=None,
          mnist_epochs=mnist_mlp.DEFAULT_EPOCHS) -> str:
    """Write the chapter's figures into ``out_dir`` and return the Markdown section."""
    out_dir = Path(out_dir)
    link = None if activation_figure is None else _link(Path(activation_figure), out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    results = compute(mnist_dir, mnist_epochs)
    draw(results, out_dir)
    return markdown(results, link)


def markdown(results: dict, activation_link: str | None = None) -> str:
    """The section from ``compute``'s numbers; figure links relative to the output folder."""
    fits, parity, w0, softmax = (results[k] for k in ("fits", "parity", "w0", "softmax"))
    pw, pb = results["predicted"]
    acts = ("See the activation figure." if activation_link is None else
            f"![activation functions]({activation_link})\n")
    acc_np, acc_t = 100 * parity["acc_numpy"], 100 * parity["acc_torch"]
    lines = [
        "## From the chapter",
        "",
        "The chapter's own examples, rerun by `chapter/` (`python -m chapter.linreg`, "
        "`python -m chapter.mnist_mlp --data DIR`).",
        "",
        "### Linear regression, three ways",
        "",
        "![linear regression fits](linreg.png)",
        "",
        f"Ten points, x = 0..9 standardised with NumPy's std (ddof=0); MSE, batch "
        f"{linreg.BATCH}, shuffled, lr {linreg.LR}, {linreg.EPOCHS} epochs. All three loops "
        f"start from w0 = {w0:.4f} (the book's `torch.manual_seed(1); torch.randn(1)`), b0 = 0, "
        "and see the same batch order.",
        "",
        "| method | w | b |",
        "|---|---|---|",
        *_rows(fits),
        *_rows(results["replay"]),
        *_rows(linreg.BOOK),
        "",
        f"SGD stops short of the closed form by a predictable amount: with standardised x each "
        f"step contracts the error by about 1 - 2 lr, and (1 - 2 x {linreg.LR})^{linreg.STEPS} "
        f"= {(1 - 2 * linreg.LR) ** linreg.STEPS:.4f} predicts w = {pw:.4f}, b = {pb:.4f}. The "
        "book's `nn.Linear` run differs from its hand-written one because it starts from "
        "`nn.Linear`'s own random init and a continued shuffle.",
        "",
        "### Activation functions",
        "",
        f"{acts} Softmax of the book's net input [1.78, 0.76, 1.65] is "
        f"[{', '.join(f'{p:.8f}' for p in softmax)}] (the book: [0.44668973, 0.16107406, "
        f"0.39223621]). In float64 the derivative of tanh at z = 20 and 25 is "
        f"{results['tanh_saturated']}, exactly zero, while ReLU's is "
        f"{results['relu_saturated']}: a saturated tanh unit passes no gradient back.",
        "",
        "### The MNIST network in both twins",
        "",
        "![accuracy parity](parity.png)",
        "",
        f"The book's MLP ({parity['n_in']}-{mnist_mlp.N_HIDDEN}-{mnist_mlp.N_CLASSES}, "
        f"logistic units, MSE on one-hot targets, batch {mnist_mlp.BATCH}, pixels to [-1, 1], "
        f"the book's N(0, 0.1) init) on {parity['data']}, {parity['epochs']} epochs, "
        f"{parity['dtype']}, both twins fed the same batches. The book's lr "
        f"{mnist_mlp.BOOK_LR} is for a loss summed over the {mnist_mlp.N_CLASSES} classes; for "
        f"our mean-reduced MSE it is lr {mnist_mlp.LR}.",
        "",
        "| twin | test accuracy |",
        "|---|---|",
        f"| impl_numpy | {acc_np:.2f}% |",
        f"| impl_torch | {acc_t:.2f}% |",
        "",
        f"Difference {abs(acc_np - acc_t):.2f} points; largest parameter difference after "
        f"training {parity['max_param_diff']:.1e}. The book reports "
        f"{100 * mnist_mlp.BOOK['test_accuracy']:.1f}% after {mnist_mlp.BOOK['epochs']} epochs "
        f"on {mnist_mlp.BOOK['n_train']:,} MNIST images.",
        "",
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = cli.Parser(prog="python -m chapter.section", description=__doc__,
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir", type=out_folder,
                        help="folder for section.md and the PNGs")
    parser.add_argument("--mnist", metavar="DIR", help="MNIST IDX folder (default: digits)")
    parser.add_argument("--activation-figure", metavar="PNG", type=figure_file,
                        help="link this figure")
    args = parser.parse_args(argv)
    try:
        if args.mnist is not None:  # refused before anything is computed or written
            mnist.load_mnist(args.mnist)
        text = build(args.out_dir, args.mnist, args.activation_figure)
        _replace(args.out_dir / "section.md", lambda tmp: tmp.write_text(text))
    except (OSError, ValueError) as e:  # an unusable out_dir, a missing or bad MNIST folder
        cli.fail(parser.prog, str(e))
    print(args.out_dir / "section.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
