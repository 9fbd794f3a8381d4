"""The report's text: Compare-style tables, labels of combined runs, the newest-run default,
and the Markdown-to-HTML page (escaping, tables, embedded images)."""

from __future__ import annotations

import os

from reports import analysis
from reports.html import page
from reports.load import load_runs, newest_run
from reports.render import compare_tables, headline
from runfile import synthetic


def _analysed(tmp_path, *runs):
    paths = [synthetic.write_run(tmp_path / f"r{i}.json", r) for i, r in enumerate(runs)]
    loaded, table = load_runs(paths)
    return loaded, analysis.add_metrics(table, loaded)


def test_same_machine_twice_gets_numbered_labels(tmp_path):
    runs, table = _analysed(tmp_path, synthetic.make_run(), synthetic.make_run())
    assert [r.label for r in runs] == ["synth (Synthetic CPU) #1", "synth (Synthetic CPU) #2"]
    assert table.groupby("run").size().tolist() == [len(runs[0].benchmarks)] * 2


def test_speedups_stay_within_their_run(tmp_path):
    slow = {"numpy": ("numpy", "cpu", 1.0, 0.0), "torch-cpu": ("torch", "cpu", 2.0, 0.0)}
    runs, table = _analysed(tmp_path, synthetic.make_run(slow, extras=False, node="a"),
                            synthetic.make_run(extras=False, node="b"))
    a = table[(table["run"] == runs[0].label) & (table["series"] == "torch-cpu")]
    assert (a["speedup"] == 0.5).all()


def test_compare_table_one_unit_and_flags(tmp_path):
    runs, table = _analysed(tmp_path, synthetic.make_run(extras=False))
    sl = analysis.default_slice(table, runs[0].label)
    text = "\n".join(compare_tables(table, runs[0].label, sl))
    assert "(times in microseconds, us)" in text
    assert "| 2 | 784-100-10 | 79,510 | 179.0 | 279.5 |" in text  # 20 + 2*79.51, 200 + 79.51
    assert text.count("(! 20%)") == 1 and "high variance" in text


def test_about_as_fast_is_said_so(tmp_path):
    same = {"numpy": ("numpy", "cpu", 1e-4, 1e-9), "torch-cpu": ("torch", "cpu", 1.01e-4, 1e-9)}
    runs, table = _analysed(tmp_path, synthetic.make_run(same, extras=False))
    fits = analysis.fit_table(table)
    cross = analysis.crossover_table(table, fits)
    sl = analysis.default_slice(table, runs[0].label)
    assert "torch-cpu is about as fast as NumPy" in headline(table, cross, sl, runs[0].label)


def test_newest_run_is_the_latest_written(tmp_path):
    old, new = tmp_path / "b-old.json", tmp_path / "a-new.json"
    for i, p in enumerate((old, new)):
        p.write_text("{}")
        os.utime(p, (1_000_000 + i, 1_000_000 + i))
    assert newest_run(tmp_path) == new


def test_html_escapes_and_embeds(tmp_path):
    (tmp_path / "f.png").write_bytes(b"\x89PNG fake")
    md = ("# Title <b>\n\nA `x < y` and **bold** [svg](f.svg).\n\n![a figure](f.png)\n\n"
          "| a | b |\n|---|---:|\n| 1 <i> | 2 |\n\n- item one\n- item two\n")
    html = page(md, tmp_path, "t")
    assert "<h1>Title &lt;b&gt;</h1>" in html
    assert "<code>x &lt; y</code>" in html and "<strong>bold</strong>" in html
    assert '<a href="f.svg">svg</a>' in html
    assert 'src="data:image/png;base64,' in html and 'src="f.png"' not in html
    assert "<td>1 &lt;i&gt;</td>" in html and html.count("<li>") == 2
