"""The report's "From the chapter" section: PNGs written, links relative and resolvable, the
tables carrying the numbers the chapter modules compute. Runs without MNIST."""

from __future__ import annotations

import re

import matplotlib.image as mpimg
import numpy as np
import pytest

from chapter import linreg, section

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MIN_COLOURS = 50  # anti-aliased lines, text and markers (measured 600 and 2,000); a blank
# figure has a handful


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    base = tmp_path_factory.mktemp("report")
    out_dir, figures = base / "out", base / "figures"
    figures.mkdir()
    (figures / "activations.png").write_bytes(PNG_SIGNATURE)
    text = section.build(out_dir, activation_figure=figures / "activations.png")
    return base, out_dir, text


def _links(text):
    return re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)


def test_section_heading_and_figures(built):
    """The PNGs decode, have the figure's shape (6 x 4 in at 110 dpi, cropped tight: measured
    431 x 585 and 431 x 600) and are not blank; what they plot is checked below, on the
    figures themselves."""
    _, out_dir, text = built
    assert text.startswith("## From the chapter\n")
    for name in ("linreg.png", "parity.png"):
        assert (out_dir / name).read_bytes().startswith(PNG_SIGNATURE), name
        img = mpimg.imread(out_dir / name)
        height, width = img.shape[:2]
        assert 300 < height < width < 800, (name, img.shape)
        colours = np.unique(img.reshape(-1, img.shape[2]), axis=0)
        assert len(colours) > MIN_COLOURS, f"{name}: {len(colours)} colours, blank?"


def test_figures_plot_the_numbers_they_are_given(tmp_path, monkeypatch):
    saved = {}
    monkeypatch.setattr(section, "_save", lambda fig, path: saved.setdefault(path.name, fig))
    fits = {"closed form": (1.5, 2.5), "nn.Linear + optim.SGD": (-1.0, 0.5)}
    history = {"numpy": [0.5, 0.7, 0.9], "torch": [0.4, 0.6, 0.8]}
    section.draw({"fits": fits, "parity": {"epochs": 3, "history": history, "data": "d"}},
                 tmp_path)
    lines = {ln.get_label(): ln for ln in saved["linreg.png"].axes[0].get_lines()}
    x, y = linreg.training_data()
    np.testing.assert_array_equal(lines["training examples"].get_xdata(), x[:, 0])
    np.testing.assert_array_equal(lines["training examples"].get_ydata(), y)
    for name, (w, b) in fits.items():
        [line] = [ln for label, ln in lines.items() if label.startswith(f"{name}: w={w:.4f}")]
        np.testing.assert_allclose(line.get_ydata(), w * line.get_xdata() + b, rtol=1e-12)
    lines = {ln.get_label(): ln for ln in saved["parity.png"].axes[0].get_lines()}
    for twin in ("numpy", "torch"):
        np.testing.assert_array_equal(lines[f"impl_{twin}"].get_xdata(), [1, 2, 3])
        np.testing.assert_allclose(lines[f"impl_{twin}"].get_ydata(),
                                   100 * np.array(history[twin]), rtol=1e-12)


def test_links_are_relative_and_resolve(built):
    base, out_dir, text = built
    links = _links(text)
    assert links == ["linreg.png", "../figures/activations.png", "parity.png"], links
    for link in links:
        assert (out_dir / link).is_file(), link
    assert str(base) not in text, "the section names a path of this machine"


def test_linreg_table_has_all_methods_closed_form_and_book(built):
    text = built[2]
    for name, (w, b) in {**linreg.fit_all(), **linreg.BOOK}.items():
        assert f"| {name} | {w:.6f} | {b:.6f} |" in text, name
    assert "| closed form | 2.706908 | 4.970000 |" in text


def test_parity_lines(built):
    text = built[2]
    rows = re.findall(r"\| impl_(numpy|torch) \| (\d+\.\d\d)% \|", text)
    assert [twin for twin, _ in rows] == ["numpy", "torch"], rows
    acc = [float(a) for _, a in rows]
    assert abs(acc[0] - acc[1]) <= 0.5 and min(acc) >= 90.0, acc
    assert "scikit-learn digits" in text and "lr 1.0" in text


def test_markdown_is_a_pure_function_of_the_numbers():
    """``markdown`` quotes the numbers it is given (``compute``'s), with no training."""
    results = {"fits": {"closed form": (1.5, 2.5)}, "replay": {}, "w0": 0.25,
               "predicted": (1.25, 2.25), "softmax": [0.5, 0.25, 0.25],
               "tanh_saturated": [0.0, 0.0], "relu_saturated": [1.0, 1.0],
               "parity": {"acc_numpy": 0.9512, "acc_torch": 0.9487, "n_in": 64,
                          "data": "test data", "epochs": 3, "dtype": "float64",
                          "max_param_diff": 1e-12}}
    text = section.markdown(results, activation_link="act.png")
    assert "| closed form | 1.500000 | 2.500000 |" in text
    assert "| impl_numpy | 95.12% |" in text and "| impl_torch | 94.87% |" in text
    assert "predicts w = 1.2500, b = 2.2500" in text and "w0 = 0.2500" in text
    assert _links(text) == ["linreg.png", "act.png", "parity.png"]


def test_links_planted_in_the_out_folder_are_replaced_not_written_through(tmp_path, capsys):
    """section.md and the figures are written beside, then renamed over their paths: a
    symlink planted at one of them is replaced and the file it points at stays as it was."""
    out, victims = tmp_path / "out", tmp_path / "victims"
    out.mkdir()
    victims.mkdir()
    for name in ("section.md", "linreg.png", "parity.png"):
        (victims / name).write_text("precious")
        (out / name).symlink_to(victims / name)
    assert section.main([str(out)]) == 0
    capsys.readouterr()
    for name in ("section.md", "linreg.png", "parity.png"):
        assert (victims / name).read_text() == "precious", name
        assert not (out / name).is_symlink() and (out / name).stat().st_size > 100, name
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary left


@pytest.mark.parametrize("name", ["a)b.png", "a]b.png", "x<y>.png", "with space.png",
                                  "100%.png", "q?x#y.png", "ü.png"])
def test_the_activation_link_is_percent_encoded(tmp_path, name):
    """A ``)``, ``]``, ``<``, space, ``%``, ``?`` or ``#`` in the figure's name cannot end or
    break the Markdown link: the target is percent-encoded and decodes to the file."""
    from urllib.parse import unquote

    figure = tmp_path / "figures" / name
    link = section._link(figure, tmp_path / "out")
    assert not set(link) & set(")]<> %?#ü") - {"%"} and unquote(link) == f"../figures/{name}"
    text = section.markdown({"fits": {}, "replay": {}, "w0": 0.25, "predicted": (1.0, 2.0),
                             "softmax": [0.5, 0.25, 0.25], "tanh_saturated": [0.0, 0.0],
                             "relu_saturated": [1.0, 1.0],
                             "parity": {"acc_numpy": 0.9, "acc_torch": 0.9, "n_in": 64,
                                        "data": "d", "epochs": 1, "dtype": "float64",
                                        "max_param_diff": 0.0}}, link)
    assert _links(text)[1] == link


@pytest.mark.parametrize("name", ["a\nb.png", "tab\there.png", "cr\r.png", "del\x7f.png"])
def test_an_activation_figure_with_a_control_character_is_refused(tmp_path, capsys, name):
    figure = tmp_path / name
    figure.write_bytes(PNG_SIGNATURE)
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as info:
        section.main([str(out), "--activation-figure", str(figure)])
    err = capsys.readouterr().err
    assert info.value.code == 2 and err.count("\n") == 1 and "control character" in err, err
    assert not out.exists()
    with pytest.raises(ValueError, match="control character"):
        section._link(figure, out)


@pytest.mark.parametrize("empty", ["", " ", "\t"])
def test_an_empty_out_dir_is_refused(tmp_path, capsys, monkeypatch, empty):
    """An empty OUT_DIR would write into the current folder, unasked."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as info:
        section.main([empty])
    err = capsys.readouterr().err
    assert info.value.code == 2 and err.count("\n") == 1 and "empty folder name" in err, err
    assert list(tmp_path.iterdir()) == []
