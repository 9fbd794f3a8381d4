"""Open an HTML page in headless Chromium, as a visitor would, and report what went wrong.

    python -m tests.browser docs/report/index.html [--shots DIR]   # prints the checks and the PNGs

Chromium (Debian's ``chromium``) is driven through the DevTools protocol over
``--remote-debugging-pipe``: JSON messages, each ending in a NUL byte, on file descriptors 3
(to the browser) and 4 (from it); no websocket client and no browser download. The page is
laid out at each width with ``Emulation.setDeviceMetricsOverride`` (window sizes under
500 px are not honoured by headless Chromium), ``mobile`` for phone widths so the page's
viewport tag counts as on a phone. What is checked, per width (``CHECKS``): every image
loaded (``naturalWidth > 0``), every table has a data row, no element reaches past the
viewport's right edge unless a scrolling box of its own holds it, and nothing was logged
as an error (exceptions, ``console.error``, failed loads: ``Runtime`` and ``Log`` events).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from core import cli

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--remote-debugging-pipe")
WIDTHS = {"laptop": 1280, "phone": 400}  # px; a phone width lays out as mobile
HEIGHT = 900  # px, the first screen
PHONE_MAX = 600  # widths up to this are emulated as a phone
TIMEOUT_S = 60.0  # one page at one width, launch to screenshot
SLACK_PX = 1.0  # sub-pixel rounding allowed at the right edge
PROFILE_REMOVE_TRIES = 10  # removing the profile, while a helper process may still write
PROFILE_REMOVE_WAIT_S = 0.2

# Runs in the page after its load event; returns what the test asserts on. ``vw`` is the
# width inside the vertical scrollbar, ``innerWidth`` the emulated width itself.
CHECKS = r"""(() => {
  const vw = document.documentElement.clientWidth;
  const scrolls = el => { for (let a = el.parentElement; a; a = a.parentElement) {
      const o = getComputedStyle(a).overflowX;
      if (o === 'auto' || o === 'scroll' || o === 'hidden') return true; } return false; };
  const name = el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
      + (el.className ? '.' + String(el.className).split(' ').join('.') : '')
      + ' "' + (el.textContent || el.alt || '').trim().slice(0, 40) + '"';
  const overflow = [];
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width > 0 && r.right > vw + SLACK && !scrolls(el))
      overflow.push(name(el) + ' right=' + Math.round(r.right));
  }
  return {viewport: innerWidth, visible: vw, scroll_width: document.documentElement.scrollWidth,
    images: [...document.images].map(i => ({alt: i.alt, width: i.complete ? i.naturalWidth : 0})),
    tables: [...document.querySelectorAll('table')].map(
      t => [...t.querySelectorAll('tr')].filter(tr => tr.querySelector('td')).length),
    overflow: overflow.slice(0, 20), headings: [...document.querySelectorAll('h2, h3')]
      .slice(0, 3).map(h => h.tagName + ' ' + h.textContent)};
})()""".replace("SLACK", str(SLACK_PX))


class BrowserError(RuntimeError):
    """Chromium did not start, answer or load the page in time."""


def find_browser() -> str | None:
    """The first Chromium on PATH (``MLP_TWINS_BROWSER`` overrides), or None."""
    own = os.environ.get("MLP_TWINS_BROWSER")
    names = [own] if own else BROWSERS
    return next((p for p in map(shutil.which, names) if p), None)


def _onto_3_and_4(read_end: int, write_end: int) -> None:
    """In the child: ``read_end`` becomes fd 3 and ``write_end`` fd 4 (copied first, so
    neither is overwritten when it already is 3 or 4)."""
    a, b = os.dup(read_end), os.dup(write_end)
    os.dup2(a, 3)
    os.dup2(b, 4)


class Pipe:
    """The DevTools protocol over the two pipes of one Chromium process."""

    def __init__(self, browser: str, profile: Path):
        to_r, self._to = os.pipe()
        self._from, from_w = os.pipe()
        # Chromium reads commands on fd 3 and writes replies on fd 4
        self.proc = subprocess.Popen(
            [browser, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            pass_fds=(3, 4), preexec_fn=lambda: _onto_3_and_4(to_r, from_w))
        os.close(to_r)
        os.close(from_w)
        self._buf, self._id, self.events = b"", 0, []
        self.deadline = time.monotonic() + TIMEOUT_S

    def _read(self) -> dict:
        while b"\0" not in self._buf:
            left = self.deadline - time.monotonic()
            if left <= 0 or not select.select([self._from], [], [], left)[0]:
                raise BrowserError(f"no answer from Chromium within {TIMEOUT_S:.0f} s")
            chunk = os.read(self._from, 1 << 20)
            if not chunk:
                raise BrowserError(f"Chromium exited (status {self.proc.poll()})")
            self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        return json.loads(msg)

    def send(self, method: str, session: str | None = None, **params) -> dict:
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params}
        if session:
            msg["sessionId"] = session
        os.write(self._to, json.dumps(msg).encode() + b"\0")
        while True:
            reply = self._read()
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error'].get('message')}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait(self, method: str) -> None:
        while not any(e.get("method") == method for e in self.events):
            self.events.append(self._read())

    def close(self) -> None:
        for fd in (self._to, self._from):
            os.close(fd)
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def errors(events) -> list[str]:
    """Console errors, uncaught exceptions and failed loads among the protocol's events."""
    out = []
    for e in events:
        p, m = e.get("params", {}), e.get("method")
        if m == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            out.append(d.get("exception", {}).get("description") or d.get("text", "exception"))
        elif m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            out.append(" ".join(str(a.get("value", a.get("description"))) for a in p["args"]))
        elif m == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
            out.append(f"{p['entry'].get('text')} {p['entry'].get('url', '')}".strip())
    return out


@contextlib.contextmanager
def profile_dir():
    """A temporary Chromium profile, removed afterwards: Chromium's helper processes can
    still write into it for a moment after the browser exits (seen once: 'Directory not
    empty: Default'), so removal is retried briefly before the rest is left to the OS."""
    path = tempfile.mkdtemp(prefix="mlp-twins-chromium-")
    try:
        yield path
    finally:
        for _ in range(PROFILE_REMOVE_TRIES):
            shutil.rmtree(path, ignore_errors=True)
            if not os.path.exists(path):
                break
            time.sleep(PROFILE_REMOVE_WAIT_S)


def visit(page: Path, width: int, shots: Path, browser: str, tag: str = "") -> dict:
    """Load ``page`` at ``width`` px; the checks' result plus ``errors`` and ``shots``: the
    first screen and the whole page as PNG files in ``shots``."""
    stem = f"{tag or page.stem}-{width}px"
    with profile_dir() as profile:
        pipe = Pipe(browser, Path(profile))
        try:
            target = pipe.send("Target.createTarget", url="about:blank")["targetId"]
            s = pipe.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
            for domain in ("Page", "Runtime", "Log"):
                pipe.send(f"{domain}.enable", s)
            pipe.send("Emulation.setDeviceMetricsOverride", s, width=width, height=HEIGHT,
                      deviceScaleFactor=1, mobile=width <= PHONE_MAX)
            pipe.send("Page.navigate", s, url=page.resolve().as_uri())
            pipe.wait("Page.loadEventFired")
            result = pipe.send("Runtime.evaluate", s, expression=CHECKS, returnByValue=True)
            if "exceptionDetails" in result:
                raise BrowserError(f"the checks failed in the page: {result['exceptionDetails']}")
            found = result["result"]["value"]
            shots.mkdir(parents=True, exist_ok=True)
            found["shots"] = []
            for kind, beyond in (("first", False), ("full", True)):
                size = pipe.send("Page.getLayoutMetrics", s)["cssContentSize"]
                clip = {"x": 0, "y": 0, "width": width, "scale": 1,
                        "height": size["height"] if beyond else HEIGHT}
                png = pipe.send("Page.captureScreenshot", s, format="png", clip=clip,
                                captureBeyondViewport=beyond)["data"]
                path = shots / f"{stem}-{kind}.png"
                path.write_bytes(base64.b64decode(png))
                found["shots"].append(str(path))
            found["errors"] = errors(pipe.events)
        finally:
            pipe.close()
    return found


def problems(found: dict, width: int) -> list[str]:
    """Everything a visitor would see as broken, one line each (empty: all good)."""
    out = [f"error logged: {e}" for e in found["errors"]]
    if found["viewport"] != width:
        out.append(f"laid out at {found['viewport']} px, not {width} px")
    if found["scroll_width"] > found["visible"] + SLACK_PX:
        out.append(f"the page scrolls sideways ({found['scroll_width']} px wide)")
    out += [f"image not loaded: {i['alt']!r}" for i in found["images"] if i["width"] <= 0]
    out += [f"table {n} has no rows" for n, rows in enumerate(found["tables"]) if rows < 1]
    out += [f"overflows the viewport: {o}" for o in found["overflow"]]
    return out


def main(argv=None) -> int:
    p = cli.Parser(prog="python -m tests.browser", description=__doc__,
                   formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("page", type=Path)
    p.add_argument("--shots", type=Path, default=Path(tempfile.gettempdir()) / "mlp-twins-shots")
    args = p.parse_args(argv)
    browser = find_browser()
    if browser is None or not args.page.is_file():
        why = "no Chromium on PATH" if browser is None else f"{args.page}: no such file"
        print(f"error: {why}", file=sys.stderr)
        return 2
    bad = 0
    for label, width in WIDTHS.items():
        found = visit(args.page, width, args.shots, browser)
        issues = problems(found, width)
        bad += len(issues)
        print(f"{label} {width} px: {len(found['images'])} images, {len(found['tables'])} tables, "
              f"{'ok' if not issues else '; '.join(issues)}; screenshots: "
              + ", ".join(found["shots"]))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
