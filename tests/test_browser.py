"""The HTML report in a real browser (headless Chromium, ``tests/browser.py``), as a visitor
opens it: every image loaded, no error logged, every table has rows, nothing runs off the
screen at a laptop's 1280 px or a phone's 400 px, and the page leads with the answer.

Without a Chromium these skip and say so; ``MLP_TWINS_REQUIRE_BROWSER=1`` (set by
``.ci/run``, which installs Debian's ``chromium``) turns that skip into a failure. The
screenshots go to ``MLP_TWINS_SHOTS`` (default: a pytest temporary folder); each test prints
their paths (``pytest tests/test_browser.py -s`` shows them).
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest

from reports.__main__ import main as report_main
from reports.html import lead_with_answer, page
from runfile import synthetic

from . import browser

ROOT = Path(__file__).resolve().parents[1]
DOCS_PAGE = ROOT / "docs" / "report" / "index.html"
OPENING = ["H2 Headline", "H3 Speedup over NumPy"]  # the answer, then the figure
BROKEN_PAGE = """<!DOCTYPE html><html><head><meta name="viewport" content="width=device-width">
</head><body><img alt="gone" src="no-such.png"><table><tr><th>empty</th></tr></table>
<div style="width:2000px">too wide</div><script>console.error("logged on purpose");
undefined_function();</script></body></html>"""


@pytest.fixture(scope="module")
def chromium():
    found = browser.find_browser()
    if found is None:
        why = ("no Chromium on PATH (Debian: apt-get install chromium; or set "
               "MLP_TWINS_BROWSER)")
        if os.environ.get("MLP_TWINS_REQUIRE_BROWSER") == "1":
            pytest.fail(f"MLP_TWINS_REQUIRE_BROWSER=1 but {why}")
        pytest.skip(why)
    return found


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    own = os.environ.get("MLP_TWINS_SHOTS")
    return Path(own) if own else tmp_path_factory.mktemp("screenshots")


@pytest.fixture(scope="module")
def synthetic_page(tmp_path_factory):
    """A report of a CPU and a GPU synthetic run (no chapter section, for speed: the
    committed docs/ page has it)."""
    tmp = tmp_path_factory.mktemp("browser-report")
    cpu = synthetic.write_run(tmp / "cpu.json", synthetic.make_run())
    gpu_costs = {**synthetic.COSTS, "torch-cuda": ("torch", "cuda", 30e-6, 0.05e-9)}
    gpu = synthetic.write_run(tmp / "gpu.json", synthetic.make_run(
        gpu_costs, node="gpubox", extras=False, gpu={
            "name": "Synthetic GPU", "driver": "1", "capability": "9.0", "memory_gb": 80}))
    out = tmp / "report"
    assert report_main([str(cpu), str(gpu), "--out", str(out), "--no-chapter"]) == 0
    return out / "index.html"


def _visit(page: Path, width: int, chromium, shots, tag: str) -> dict:
    found = browser.visit(page, width, shots, chromium, tag=tag)
    print(f"{tag} at {width} px, screenshots: {', '.join(found['shots'])}")
    for path in found["shots"]:
        assert Path(path).stat().st_size > 0, path
    return found


@pytest.mark.parametrize("width", browser.WIDTHS.values(), ids=browser.WIDTHS.keys())
def test_report_reads_well_in_a_browser(synthetic_page, width, chromium, shots):
    found = _visit(synthetic_page, width, chromium, shots, "synthetic")
    assert browser.problems(found, width) == [], found["shots"]
    assert len(found["images"]) >= 5 and len(found["tables"]) >= 4  # it did check something
    assert found["headings"][:2] == OPENING


@pytest.mark.parametrize("width", browser.WIDTHS.values(), ids=browser.WIDTHS.keys())
def test_committed_report_reads_well_in_a_browser(width, chromium, shots):
    if not DOCS_PAGE.is_file():
        pytest.skip("docs/report/index.html is not rendered yet "
                    "(make docs, from results/reference/)")
    found = _visit(DOCS_PAGE, width, chromium, shots, "docs")
    assert browser.problems(found, width) == [], found["shots"]
    assert found["headings"][:2] == OPENING


def test_the_checks_catch_a_broken_page(tmp_path, chromium, shots):
    """Each check fails when it should: the browser test is not a rubber stamp."""
    page = tmp_path / "broken.html"
    page.write_text(BROKEN_PAGE)
    found = _visit(page, browser.WIDTHS["phone"], chromium, shots, "broken")
    issues = "\n".join(browser.problems(found, browser.WIDTHS["phone"]))
    for expected in ("image not loaded: 'gone'", "table 0 has no rows", "logged on purpose",
                     "undefined_function", "no-such.png", "overflows the viewport: div",
                     "the page scrolls sideways"):
        assert expected in issues, f"{expected!r} not reported; got:\n{issues}"


def _lines(text: str) -> Counter:
    return Counter(line for line in text.splitlines() if line.strip())


def test_lead_with_answer_moves_and_keeps_every_line():
    md = ("# T\n\n## Headline\n\nAnswer.\n\n## Environment\n\n| | |\n|---|---|\n| a | b |\n\n"
          "## Figures\n\n### Time\n\n![t](fig1_step_time.png)\n\n### Speedup\n\n"
          "![s](fig2_speedup.png)\n\ncaption\n\n## Measurement quality\n\nq\n\n## End\n")
    out = lead_with_answer(md)
    heads = [line for line in out.splitlines() if line.startswith("#")]
    assert heads == ["# T", "## Headline", "### Speedup", "## Figures", "### Time",
                     "## Environment", "## Measurement quality", "## End"]
    assert _lines(out) == _lines(md)
    assert lead_with_answer("no sections\n") == "no sections\n"


def test_key_value_tables_have_no_empty_header(tmp_path):
    md = "| | |\n|---|---|\n| CPU | AMD EPYC, 2 cores |\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"
    html = page(md, tmp_path, "t")
    assert '<div class="scroll wide"><table><tr><td>CPU</td>' in html
    assert '<div class="scroll"><table><tr><th>a</th>' in html and "<th></th>" not in html
