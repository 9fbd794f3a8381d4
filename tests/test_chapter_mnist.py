"""The IDX reader (core/mnist.py) and its command line (chapter/mnist.py) on small files
written into tmp_path: plain and gzipped, and every way a file can be wrong. The real MNIST
test set is used only when MNIST_DIR points at it."""

from __future__ import annotations

import gzip
import os
import re

import numpy as np
import pytest

from chapter import mnist as mnist_cli
from core import mnist

N = 5


def _write(directory, n_images=N, n_labels=N, compress=False, kind="t10k", side=28):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(n_images, side, side), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n_labels, dtype=np.uint8)
    suffix = ".gz" if compress else ""
    paths = (directory / f"{kind}-images-idx3-ubyte{suffix}",
             directory / f"{kind}-labels-idx1-ubyte{suffix}")
    mnist.save_idx(paths[0], images, compress)
    mnist.save_idx(paths[1], labels, compress)
    return images, labels, paths


def _raises(path, problem):
    """pytest.raises(ValueError) whose message names the file and the problem."""
    return pytest.raises(ValueError, match=f"{re.escape(str(path))}.*{problem}")


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_load_mnist_round_trip(tmp_path, compress):
    images, labels, _ = _write(tmp_path, compress=compress)
    X, y = mnist.load_mnist(tmp_path)
    assert X.dtype == np.uint8 and y.dtype == np.uint8
    np.testing.assert_array_equal(X, images.reshape(N, 784), err_msg="images")
    np.testing.assert_array_equal(y, labels, err_msg="labels")


def test_gzip_is_told_by_magic_bytes_not_by_name(tmp_path):
    data = np.arange(12, dtype=np.uint8).reshape(3, 4)
    mnist.save_idx(tmp_path / "plain-name", data, compress=True)
    assert (tmp_path / "plain-name").read_bytes()[:2] == b"\x1f\x8b"
    np.testing.assert_array_equal(mnist.load_idx(tmp_path / "plain-name"), data)


def test_load_idx_reads_other_types_in_native_order(tmp_path):
    data = np.array([1, -2, 70000], dtype=np.int32)
    path = tmp_path / "ints"
    path.write_bytes(bytes([0, 0, 0x0C, 1]) + (3).to_bytes(4, "big") + data.astype(">i4").tobytes())
    out = mnist.load_idx(path)
    np.testing.assert_array_equal(out, data)
    assert out.dtype.isnative


def test_truncated_plain_file(tmp_path):
    _, _, (images_path, _) = _write(tmp_path)
    images_path.write_bytes(images_path.read_bytes()[:-10])
    with _raises(images_path, "truncated"):
        mnist.load_mnist(tmp_path)


def test_truncated_gzip_file(tmp_path):
    _, _, (_, labels_path) = _write(tmp_path, compress=True)
    labels_path.write_bytes(labels_path.read_bytes()[:-12])
    with _raises(labels_path, "corrupt or truncated gzip"):
        mnist.load_mnist(tmp_path)


def test_truncated_header(tmp_path):
    path = tmp_path / "short"
    path.write_bytes(bytes([0, 0, 0x08, 3, 0, 0]))
    with _raises(path, "truncated header"):
        mnist.load_idx(path)


def test_trailing_bytes(tmp_path):
    _, _, (images_path, _) = _write(tmp_path)
    images_path.write_bytes(images_path.read_bytes() + b"\0")
    with _raises(images_path, "trailing bytes"):
        mnist.load_mnist(tmp_path)


@pytest.mark.parametrize("content", [b"\x89PNG\r\n\x1a\n" + bytes(20), b"hello, world\n",
                                     gzip.compress(b"not idx at all"), b"\0\0"],
                         ids=["png", "text", "gzipped-text", "two-bytes"])
def test_foreign_file(tmp_path, content):
    path = tmp_path / "foreign"
    path.write_bytes(content)
    with _raises(path, "(not an IDX file|too short)"):
        mnist.load_idx(path)


def test_labels_where_images_belong(tmp_path):
    _, _, (images_path, labels_path) = _write(tmp_path)
    images_path.write_bytes(labels_path.read_bytes())
    with _raises(images_path, "expected MNIST images .*0x00000803.*found .*0x00000801"):
        mnist.load_mnist(tmp_path)


def test_count_mismatch(tmp_path):
    _, _, (images_path, labels_path) = _write(tmp_path, n_labels=N - 1)
    with pytest.raises(ValueError, match=f"{re.escape(str(images_path))} holds {N} images but "
                                         f"{re.escape(str(labels_path))} holds {N - 1} labels"):
        mnist.load_mnist(tmp_path)


def test_wrong_image_size(tmp_path):
    _, _, (images_path, _) = _write(tmp_path, side=8)
    with _raises(images_path, "8 x 8 pixels, expected 28 x 28"):
        mnist.load_mnist(tmp_path)


def test_label_out_of_range(tmp_path):
    _, _, (_, labels_path) = _write(tmp_path)
    mnist.save_idx(labels_path, np.array([0, 1, 2, 3, 10]))
    with _raises(labels_path, "label 10 outside 0..9"):
        mnist.load_mnist(tmp_path)


def test_missing_directory_and_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        mnist.load_mnist(tmp_path / "nowhere")
    _write(tmp_path, kind="train")
    with pytest.raises(FileNotFoundError, match="no t10k-images-idx3-ubyte or .*\\.gz in"):
        mnist.load_mnist(tmp_path, kind="t10k")
    assert mnist.load_mnist(tmp_path, kind="train")[0].shape == (N, 784)


def test_cli_reports_one_line_errors(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        mnist_cli.main([str(tmp_path / "nowhere")])
    assert info.value.code == 2  # bad input (more cases: tests/test_cli.py)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "does not exist" in err
    _write(tmp_path)
    assert mnist_cli.main([str(tmp_path)]) == 0
    assert f"({N}, 784)" in capsys.readouterr().out


MNIST_DIR = os.environ.get("MNIST_DIR")


@pytest.mark.skipif(not MNIST_DIR, reason="set MNIST_DIR to a folder with the MNIST t10k files "
                                          "to check the reader on the real test set")
def test_real_mnist_test_set():
    X, y = mnist.load_mnist(MNIST_DIR, kind="t10k")
    assert X.shape == (10000, 784) and y.shape == (10000,)
    assert y[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]  # the well-known first labels
    assert np.bincount(y).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert X.min() == 0 and X.max() == 255


@pytest.mark.parametrize("kind", ["../t10k", "../../etc/passwd", "t10k/../t10k", "/tmp/t10k",
                                  "T10K", "", "t10k\x00"])
def test_the_kind_is_a_prefix_never_a_path(tmp_path, kind):
    """A ``kind`` that is not one of MNIST's two sets is refused before any file is looked
    up, so no file outside the folder is ever read (issue 26, class 3)."""
    (tmp_path / "data").mkdir()
    _write(tmp_path / "data")
    _write(tmp_path, kind="outside")  # a file a '..' could reach
    with pytest.raises(ValueError, match="MNIST kind .*expected one of t10k, train"):
        mnist.load_mnist(tmp_path / "data", kind)


@pytest.mark.parametrize("argv", [["--kind", "../t10k"], ["--kind", "../../x/t10k"],
                                  ["--kind", "test"]])
def test_the_clis_refuse_a_kind_that_is_a_path(tmp_path, capsys, argv):
    from chapter import mnist_mlp

    _write(tmp_path)
    for main, args in ((mnist_cli.main, [str(tmp_path), *argv]),
                       (mnist_mlp.main, ["--data", str(tmp_path), *argv])):
        with pytest.raises(SystemExit) as e:
            main(args)
        err = capsys.readouterr().err
        assert e.value.code == 2 and err.count("\n") == 1 and "--kind" in err, err


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("n_images, n_labels", [(0, 0), (0, 3)])
def test_zero_images_is_the_loaders_own_message(tmp_path, compress, n_images, n_labels):
    """A folder whose images file holds no image: one ValueError naming the file (issue 26,
    class 8), not NumPy's 'cannot reshape array of size 0'."""
    _, _, paths = _write(tmp_path, n_images=n_images, n_labels=n_labels, compress=compress)
    with pytest.raises(ValueError, match="holds no images|holds 0 images") as info:
        mnist.load_mnist(tmp_path)
    assert str(paths[0]) in str(info.value) and "reshape" not in str(info.value)



def test_an_images_file_of_the_wrong_rank_is_refused_by_its_magic_number(tmp_path):
    """The magic number carries the rank: a 1-D 'images' file is named, never indexed."""
    mnist.save_idx(tmp_path / "t10k-images-idx3-ubyte", np.zeros(784 * 2, dtype=np.uint8))
    mnist.save_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros(2, dtype=np.uint8))
    with _raises(tmp_path / "t10k-images-idx3-ubyte", "expected MNIST images"):
        mnist.load_mnist(tmp_path)


def _idx_header(type_code, shape):
    return bytes([0, 0, type_code, len(shape)]) + b"".join(
        int(s).to_bytes(4, "big") for s in shape)


@pytest.mark.parametrize("n_zeros", [20_000, 100_000, 1_000_000])
def test_a_gzip_bomb_is_refused_at_the_cap(tmp_path, monkeypatch, n_zeros):
    monkeypatch.setattr(mnist, "MAX_IDX_BYTES", 10_000)
    _write(tmp_path)
    path = tmp_path / "t10k-images-idx3-ubyte"
    path.unlink()
    path.write_bytes(gzip.compress(_idx_header(0x08, (n_zeros // 784, 28, 28))
                                   + bytes(n_zeros // 784 * 784)))
    with _raises(path, "gunzips to more than 10000 bytes .MAX_IDX_BYTES."):
        mnist.load_mnist(tmp_path)
    with _raises(path, "gunzips to more than"):
        mnist.load_idx(path)


def test_the_cap_is_large_enough_for_mnist():
    assert mnist.MAX_IDX_BYTES >= 16 + 60_000 * 28 * 28


@pytest.mark.parametrize("extra", [1, 2**20, 2**34])
def test_a_sparse_oversized_file_is_refused_before_it_is_read(tmp_path, extra):
    _write(tmp_path)
    path = tmp_path / "t10k-images-idx3-ubyte"
    with open(path, "r+b") as f:
        f.truncate(mnist.MAX_IDX_BYTES + extra)  # sparse: costs no disk
    with _raises(path, "holds more than .* bytes .MAX_IDX_BYTES."):
        mnist.load_mnist(tmp_path)


@pytest.mark.parametrize("shape", [(2**31, 2**31, 4), (2**32 - 1, 2**32 - 1, 1),
                                   (2**16, 2**16, 2**16, 2**16)])
def test_header_sizes_whose_product_wraps_int64_are_refused(tmp_path, shape):
    path = tmp_path / "wrap-idx"
    path.write_bytes(_idx_header(0x08, shape))
    with _raises(path, f"needs {16 + 4 * (len(shape) - 3) + np.prod(shape, dtype=object)} "
                       "bytes"):
        mnist.load_idx(path)


@pytest.mark.parametrize("argv_of", [lambda: [""], lambda: ["", "--kind", "train"]])
def test_an_empty_folder_name_is_refused_not_read_as_the_current_folder(
        tmp_path, monkeypatch, capsys, argv_of):
    _write(tmp_path)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="empty name"):
        mnist.load_mnist("")
    with pytest.raises(SystemExit) as info:
        mnist_cli.main(argv_of())
    assert info.value.code == 2 and "empty name" in capsys.readouterr().err


@pytest.mark.parametrize("make, what", [
    (lambda p: p.mkdir(), "a folder"),
    (lambda p: os.mkfifo(p), "a FIFO"),
    (lambda p: p.symlink_to("/dev/zero"), "a device"),
])
@pytest.mark.parametrize("name", ["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte.gz"])
def test_a_non_file_where_a_file_belongs_is_named_as_such(tmp_path, make, what, name):
    _write(tmp_path)
    path = tmp_path / name
    (tmp_path / name.removesuffix(".gz")).unlink()  # the plain file would be found first
    make(path)
    with _raises(path, f"is {what}, expected a regular IDX file"):
        mnist.load_mnist(tmp_path)
    with _raises(path, f"is {what}"):
        mnist.load_idx(path)
