"""Check an MNIST download: shapes and label counts of its IDX files.

    python -m chapter.mnist DIR [--kind t10k]

The reader and its checks (gzip told by content, IDX header, sizes, labels) are
``core/mnist.py``; this is its command line.
"""

from __future__ import annotations

import argparse

import numpy as np

from core import cli
from core.mnist import KINDS, N_CLASSES, load_mnist


def main(argv=None) -> int:
    parser = cli.Parser(prog="python -m chapter.mnist", description=__doc__,
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("directory", help="folder holding the MNIST IDX files")
    parser.add_argument("--kind", default="t10k", choices=KINDS,
                        help="file prefix (default: t10k)")
    args = parser.parse_args(argv)
    try:
        X, y = load_mnist(args.directory, args.kind)
    except (OSError, ValueError) as e:
        cli.fail(parser.prog, str(e))
    print(f"X {X.dtype} {X.shape}, y {y.dtype} {y.shape}, "
          f"label counts {np.bincount(y, minlength=N_CLASSES).tolist()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
