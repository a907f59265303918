#!/usr/bin/python3
"""End-to-end: the dashboard page of the real `orderpulse serve`, in headless Chromium.

Starts the server, feeds it live with `orderpulse-sim generate --to tcp://... --rate 200
--duration 60s` (killed at the end), and runs tests/browser/dashboard_test.mjs (playwright-core
driving Debian's /usr/bin/chromium) against it: the page loads without external requests or
console errors, the feed connects, KPIs and counters equal /api/snapshot, layout checks, the
reconnect after a dropped socket, a real alert (watermark_lag, made to fire by the config) in the
alerts panel. The full-page screenshot is kept as a test artifact
(--artifacts DIR, from CMake: <build dir>/test-artifacts/dashboard.png).

Needs node and /usr/bin/chromium (fails with a clear message otherwise); installs the npm
dependencies of tests/browser (`npm ci`) when node_modules is missing.
"""

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import oplib
import servelib
from oplib import Check

BROWSER_DIR = oplib.REPO / "tests" / "browser"
CHROMIUM = "/usr/bin/chromium"


def extra_args(ap):
    ap.add_argument("--artifacts", default=str(oplib.REPO / "build" / "release" / "test-artifacts"),
                    help="directory for the screenshot (dashboard.png)")


def require_tools():
    node = shutil.which("node")
    problems = []
    if not node:
        problems.append("`node` is not on PATH (Debian: apt-get install nodejs npm)")
    if not os.access(CHROMIUM, os.X_OK):
        problems.append(f"{CHROMIUM} is missing (Debian: apt-get install chromium)")
    if problems:
        raise oplib.Failures(["cannot run the browser test: " + "; ".join(problems)])
    if not (BROWSER_DIR / "node_modules" / "playwright-core").is_dir():
        npm = shutil.which("npm")
        if not npm:
            raise oplib.Failures([f"{BROWSER_DIR}/node_modules is missing and `npm` is not on PATH"])
        print(f"    installing npm dependencies: npm ci --no-audit --no-fund (in {BROWSER_DIR})", flush=True)
        p = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=BROWSER_DIR, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=240, stdin=subprocess.DEVNULL)
        if p.returncode != 0 or not (BROWSER_DIR / "node_modules" / "playwright-core").is_dir():
            raise oplib.Failures([f"`npm ci --no-audit --no-fund` in {BROWSER_DIR} failed (exit {p.returncode}): "
                                  f"{p.stdout.decode('utf-8', 'replace')[-1500:]}"])
    return node


def test_dashboard_live(ctx):
    chk = Check()
    node = require_tools()
    shot = Path(ctx.args.artifacts).resolve() / "dashboard.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    if shot.exists():
        shot.unlink()
    # A live stream's watermark trails the wall clock by the 30 s delay: a 1 s bound makes the
    # watermark_lag health rule fire at once, so the page must show a real alert.
    with servelib.Server(ctx, config={"alerts": {"watermark_lag": {"max": "1s"}}}) as srv:
        gen = servelib.popen([ctx.sim, "generate", "--to", srv.ingest_url, "--rate", 200, "--duration", "60s",
                              "--late", "0.01", "--duplicates", "0.01", "--malformed", "0.01"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            servelib.wait_until("the live generator's first records",
                                lambda: srv.snap_data()["counters"]["read"] >= 200, 20, 0.2)
            time.sleep(1.0)
            cmd = [node, str(BROWSER_DIR / "dashboard_test.mjs"), "--url", srv.base_url, "--screenshot", str(shot),
                   "--timeout", "90", "--chromium", CHROMIUM, "--expect-alert", "watermark_lag"]
            t0 = time.monotonic()
            p = servelib.popen(cmd, cwd=BROWSER_DIR, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            try:
                out, _ = p.communicate(timeout=150)
            except subprocess.TimeoutExpired:
                p.kill()
                out, _ = p.communicate(timeout=10)
                chk.fail("dashboard_test.mjs did not finish within 150 s")
            text = out.decode("utf-8", "replace")
            print("    | " + "\n    | ".join(text.rstrip().splitlines()))
            print(f"    (browser test {time.monotonic() - t0:.1f}s)")
            chk.eq(p.returncode, 0, f"`{' '.join(map(str, cmd))}` exit status")
            lines = text.rstrip().splitlines()
            chk.expect(bool(lines) and lines[-1].endswith(" 0 failed") and not lines[-1].startswith("0 passed"),
                       f"dashboard_test.mjs closing line: {lines[-1] if lines else '(no output)'!r}")
            for l in lines:
                if l.startswith("FAIL"):
                    chk.fail(f"dashboard_test.mjs: {l}")
            chk.expect(gen.poll() is None, f"the live generator stopped early (exit {gen.poll()}): "
                                           f"{(gen.stderr.read() if gen.poll() is not None else b'')[-300:]!r}")
            snap = srv.snap_data()
            servelib.check_counters_identity(chk, snap["counters"], "/api/snapshot after the browser test")
        finally:
            gen.kill()
            gen.wait(10)
        code, _ = srv.stop(signal.SIGTERM)
        chk.eq(code, 0, "server exit status after SIGTERM")
    if chk.expect(shot.is_file() and shot.stat().st_size > 1000, f"screenshot {shot} missing or empty"):
        chk.expect(shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"{shot} is not a PNG")
        print(f"    screenshot: {shot}")
    chk.done()


if __name__ == "__main__":
    servelib.run_cases(__doc__, [test_dashboard_live], extra_args=extra_args)
