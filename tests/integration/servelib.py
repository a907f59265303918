"""Helpers for the end-to-end tests of the live server (`orderpulse serve`), on top of oplib.

  * a test runner whose closing line is "N passed, M failed" (exit 1 on any failure);
  * Server: starts `orderpulse serve --ingest 127.0.0.1:0 --http 127.0.0.1:0` in a test
    directory, reads the two "... listening on IP:PORT" log lines, talks HTTP to it, stops it with
    a signal and always kills it in the end (the child also dies with the test process);
  * a strict reader of the Prometheus text format and of socket entries of dropped.jsonl;
  * a WebSocket feed collector (python3-websockets 10.x, in a thread with its own event loop);
  * bounded waits, socket senders, process memory.

Standard library plus Debian's python3-websockets; everything bounded in time.
"""

import asyncio
import collections
import ctypes
import json
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

import http.client

import oplib
from oplib import Failures, FormError

# --------------------------------------------------------------------------------------------
# Runner
# --------------------------------------------------------------------------------------------


def run_cases(description, cases, extra_args=None):
    """oplib.run_cases, killing every process a case started when it ends."""
    oplib.run_cases(description, cases, extra_args, cleanup=kill_all)


# --------------------------------------------------------------------------------------------
# Processes: every child is registered, dies with us (PR_SET_PDEATHSIG) and is killed at the end
# --------------------------------------------------------------------------------------------

_children = []
_libc = ctypes.CDLL(None, use_errno=True)
PR_SET_PDEATHSIG = 1


def _die_with_parent():
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def popen(cmd, **kw):
    """subprocess.Popen that is killed with the test (call from the main thread only)."""
    kw.setdefault("stdin", subprocess.DEVNULL)
    p = subprocess.Popen([str(c) for c in cmd], preexec_fn=_die_with_parent, **kw)
    _children.append(p)
    return p


def kill_all():
    for p in list(_children):
        if p.poll() is None:
            try:
                p.kill()
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        _children.remove(p)


def _on_term(signum, frame):  # ctest's timeout: leave nothing behind
    kill_all()
    sys.exit(128 + signum)


signal.signal(signal.SIGTERM, _on_term)


def rss_bytes(pid):
    """Resident memory of a process (from /proc), or None when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def raise_nofile(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def wait_until(what, fn, timeout, interval=0.05):
    """Calls fn until it returns a true value (returned); raises Failures after timeout seconds."""
    end = time.monotonic() + timeout
    last = None
    while True:
        try:
            last = fn()
            if last:
                return last
        except (OSError, http.client.HTTPException, ValueError) as e:
            last = e
        if time.monotonic() >= end:
            raise Failures([f"timed out after {timeout}s waiting for {what} (last: {str(last)[:300]})"])
        time.sleep(interval)


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------

LISTEN_RE = {
    "ingest": re.compile(r"\bingest listening on (\d+\.\d+\.\d+\.\d+):(\d+)\s*$", re.M),
    "http": re.compile(r"\bhttp listening on (\d+\.\d+\.\d+\.\d+):(\d+)\s*$", re.M),
}


def kill_process(proc):
    """SIGKILL unless it has exited; waits for it (bounded)."""
    if proc and proc.poll() is None:
        proc.kill()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass


def stop_process(proc, sig, timeout, describe):
    """Sends sig and waits up to timeout s for the exit code; on a hang kills the process and raises
    Failures naming describe() (called only then)."""
    proc.send_signal(sig)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_process(proc)
        raise Failures([f"{describe()} did not exit within {timeout}s of {signal.Signals(sig).name}"]) from None


class ManagedProcess:
    """A child process the test owns (self.cmd, self.proc; the subclass defines start()). A context
    manager that always kills it on the way out."""

    def cmdline(self):
        return " ".join(str(c) for c in self.cmd)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.kill()
        return False

    def kill(self):
        kill_process(self.proc)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None


class Server(ManagedProcess, oplib.OutputFiles):
    """`orderpulse serve` in a directory of its own. Use as a context manager (always killed)."""

    def __init__(self, ctx, workdir=None, config=None, catalog=None, ingest="127.0.0.1:0", http_addr="127.0.0.1:0",
                 extra=(), env=None):
        self.ctx = ctx
        self.dir = Path(workdir) if workdir else ctx.dir("serve")
        self.out_dir = self.dir / "out"
        self.config_path = None
        if isinstance(config, dict):
            self.config_path = self.dir / "config.json"
            self.config_path.write_text(json.dumps(config))
        elif config is not None:
            self.config_path = Path(config)
        self.cmd = [ctx.orderpulse, "serve", "--ingest", ingest, "--http", http_addr, "--output-dir", self.out_dir]
        if self.config_path:
            self.cmd += ["--config", self.config_path]
        if catalog:
            self.cmd += ["--catalog", catalog]
        self.cmd += list(extra)
        self.env = None if env is None else {**os.environ, **env}  # added to the inherited environment
        self.stdout_path = self.dir / "server.stdout"
        self.stderr_path = self.dir / "server.stderr"
        self.proc = None
        self.ingest = self.http = None
        self.log_stream = None  # where the listening lines were found
        self.returncode = None

    # ---- lifecycle
    def start(self, timeout=15):
        with open(self.stdout_path, "wb") as so, open(self.stderr_path, "wb") as se:
            self.proc = popen(self.cmd, stdout=so, stderr=se, cwd=self.dir, env=self.env)
        end = time.monotonic() + timeout
        while True:
            err = self.stderr_text()
            out = self.stdout_text()
            for stream, text in (("stderr", err), ("stdout", out)):
                mi, mh = LISTEN_RE["ingest"].search(text), LISTEN_RE["http"].search(text)
                if mi and mh:
                    self.ingest = (mi.group(1), int(mi.group(2)))
                    self.http = (mh.group(1), int(mh.group(2)))
                    self.log_stream = stream
                    if stream != "stderr":
                        print(f"    WARNING: the listening lines are on {stream}, docs/server.md says stderr "
                              f"(checked by test_serve_robustness' startup case)")
                    return self
            if self.proc.poll() is not None:
                raise Failures([f"`{self.cmdline()}` exited {self.proc.returncode} before listening; "
                                f"stderr {err[-1000:]!r}; stdout {out[-500:]!r}"])
            if time.monotonic() >= end:
                raise Failures([f"`{self.cmdline()}` did not log both listening lines within {timeout}s; "
                                f"stderr {err[-1000:]!r}; stdout {out[-500:]!r}"])
            time.sleep(0.02)

    def stop(self, sig=signal.SIGTERM, timeout=5.0):
        """Sends sig and waits up to timeout s. Returns (exit code, seconds); kills it and raises
        Failures when it does not exit in time."""
        t0 = time.monotonic()
        self.returncode = stop_process(self.proc, sig, timeout, lambda: f"server (`{self.cmdline()}`; stderr "
                                                                        f"{self.stderr_text()[-800:]!r})")
        return self.returncode, time.monotonic() - t0

    def run_to_exit(self, timeout=60):
        """Starts a server that ends by itself (--exit-at-eof) and waits for it; Failures unless it
        exits 0 within timeout s. Returns self."""
        self.start()
        try:
            self.returncode = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise Failures([f"`{self.cmdline()}` did not finish within {timeout}s; "
                            f"stderr {self.stderr_text()[-800:]!r}"]) from None
        if self.returncode != 0:
            raise Failures([f"`{self.cmdline()}` exited {self.returncode}; stderr {self.stderr_text()[-800:]!r}"])
        return self

    def stderr_text(self):
        try:
            return self.stderr_path.read_bytes().decode("utf-8", "replace")
        except OSError:
            return ""

    def stdout_text(self):
        try:
            return self.stdout_path.read_bytes().decode("utf-8", "replace")
        except OSError:
            return ""

    @property
    def ingest_url(self):
        return f"tcp://{self.ingest[0]}:{self.ingest[1]}"

    @property
    def base_url(self):
        return f"http://{self.http[0]}:{self.http[1]}/"

    def ws_url(self, query=""):
        return f"ws://{self.http[0]}:{self.http[1]}/ws{query}"

    # ---- HTTP
    def get(self, path, timeout=10, method="GET"):
        """-> (status, headers dict (lower-case names), body bytes)."""
        conn = http.client.HTTPConnection(self.http[0], self.http[1], timeout=timeout)
        try:
            conn.request(method, path)
            r = conn.getresponse()
            body = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, body
        finally:
            conn.close()

    def snapshot(self, timeout=10):
        """GET /api/snapshot -> the message {"type":"snapshot","data":{...}} parsed (floats as Decimal)."""
        status, headers, body = self.get("/api/snapshot", timeout)
        if status != 200:
            raise Failures([f"GET /api/snapshot: HTTP {status}: {body[:200]!r}"])
        try:
            return loads(body.decode("utf-8"))
        except (FormError, ValueError) as e:
            raise Failures([f"GET /api/snapshot: not JSON ({e}): {body[:300]!r}"]) from None

    def snap_data(self, timeout=10):
        msg = self.snapshot(timeout)
        if not isinstance(msg, dict) or msg.get("type") != "snapshot" or not isinstance(msg.get("data"), dict):
            raise Failures([f"GET /api/snapshot: expected {{\"type\":\"snapshot\",\"data\":{{...}}}}, "
                            f"got {str(msg)[:300]}"])
        return msg["data"]

    def metrics_text(self, timeout=10):
        status, headers, body = self.get("/metrics", timeout)
        if status != 200:
            raise Failures([f"GET /metrics: HTTP {status}: {body[:200]!r}"])
        return body.decode("utf-8")

    def metrics(self, timeout=10):
        return parse_prometheus(self.metrics_text(timeout))

    def wait_read(self, n, timeout, what=None):
        """Waits until the snapshot's counters.read == n (fails early if it goes above)."""
        def probe():
            d = self.snap_data()
            r = d["counters"]["read"]
            if r > n:
                raise Failures([f"counters.read went past the expected {n}: {r}"])
            return d if r == n else None
        return wait_until(what or f"/api/snapshot counters.read == {n}", probe, timeout, interval=0.05)

    # ---- outputs (paths from oplib.OutputFiles)
    def summary(self, chk=None):
        return read_serve_summary(self.summary_path, chk)


def loads(text):
    """Strict JSON: duplicate keys and NaN are errors, numbers with a fraction become Decimal."""
    return oplib._loads(text)  # noqa: SLF001 - the shared strict reader


def read_serve_summary(path, chk=None):
    """summary.json of the server: the batch keys (wall time and rate may be 0)."""
    if not Path(path).exists():
        raise Failures([f"{path} was not written"])
    return oplib.read_summary(path, chk)


# --------------------------------------------------------------------------------------------
# dropped.jsonl of socket input
# --------------------------------------------------------------------------------------------

SOCKET_DROPPED_KEYS = ["reason", "source", "peer", "line", "raw"]
_PEER_RE = re.compile(r"^\d+\.\d+\.\d+\.\d+:\d+$")


def read_socket_dropped(path):
    """dropped.jsonl written by the server: every entry {"reason","source":"socket","peer","line","raw"}."""
    out = []
    for i, line in enumerate(oplib.read_lines(path), 1):
        try:
            obj = loads(line)
            if not isinstance(obj, dict) or list(obj) != SOCKET_DROPPED_KEYS:
                raise FormError(f"keys {list(obj) if isinstance(obj, dict) else obj!r} != {SOCKET_DROPPED_KEYS}")
            if obj["source"] != "socket":
                raise FormError(f"source should be \"socket\", got {obj['source']!r}")
            if not isinstance(obj["peer"], str) or not _PEER_RE.match(obj["peer"]):
                raise FormError(f"peer should be IP:PORT, got {obj['peer']!r}")
            if not isinstance(obj["line"], int) or isinstance(obj["line"], bool) or obj["line"] < 1:
                raise FormError(f"line should be a positive integer, got {obj['line']!r}")
            if not isinstance(obj["reason"], str) or not isinstance(obj["raw"], str):
                raise FormError("reason and raw should be strings")
        except (FormError, ValueError) as e:
            raise Failures([f"{path}:{i}: {e}: {line[:300]!r}"]) from None
        out.append(obj)
    return out


# --------------------------------------------------------------------------------------------
# Prometheus text format
# --------------------------------------------------------------------------------------------

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_SAMPLE_RE = re.compile(rf"^({_NAME})(?:\{{(.*)\}})?[ \t]+(\S+)(?:[ \t]+(-?\d+))?$")
_LABEL_RE = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"\s*(,|$)')


class Metrics:
    def __init__(self):
        self.samples = collections.OrderedDict()  # (name, ((k, v), ...)) -> float
        self.types = {}
        self.helps = {}

    def value(self, name, **labels):
        key = (name, tuple(sorted(labels.items())))
        if key not in self.samples:
            raise Failures([f"/metrics has no sample {name}{labels or ''}"])
        return self.samples[key]

    def get(self, name, default=None, **labels):
        return self.samples.get((name, tuple(sorted(labels.items()))), default)

    def series(self, name):
        """{labels dict as tuple: value} of every sample of a metric name."""
        return {lab: v for (n, lab), v in self.samples.items() if n == name}

    def sum(self, name):
        return sum(self.series(name).values())

    def names(self):
        return {n for n, _ in self.samples}


def _unescape_label(v):
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "\\": "\\", '"': '"'}[m.group(1)], v)


def parse_prometheus(text):
    """Parses the text exposition format strictly enough for the tests (raises Failures)."""
    m = Metrics()
    errs = []
    for i, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        if line.startswith("#"):
            parts = line.split(None, 3)
            if len(parts) >= 3 and parts[1] == "TYPE":
                m.types[parts[2]] = parts[3].strip() if len(parts) > 3 else ""
            elif len(parts) >= 3 and parts[1] == "HELP":
                m.helps[parts[2]] = parts[3] if len(parts) > 3 else ""
            continue
        sm = _SAMPLE_RE.match(line)
        if not sm:
            errs.append(f"/metrics line {i} unparsable: {line[:200]!r}")
            continue
        name, labels_text, value_text = sm.group(1), sm.group(2), sm.group(3)
        labels = []
        if labels_text:
            pos = 0
            while pos < len(labels_text):
                lm = _LABEL_RE.match(labels_text, pos)
                if not lm:
                    errs.append(f"/metrics line {i} bad labels: {line[:200]!r}")
                    break
                labels.append((lm.group(1), _unescape_label(lm.group(2))))
                pos = lm.end()
        try:
            value = float(value_text)
        except ValueError:
            errs.append(f"/metrics line {i} bad value {value_text!r}")
            continue
        key = (name, tuple(sorted(labels)))
        if key in m.samples:
            errs.append(f"/metrics line {i}: duplicate sample {line[:200]!r}")
        m.samples[key] = value
    if errs:
        raise Failures(errs[:10])
    return m


def promtool_check(text, timeout=30):
    """Runs `promtool check metrics` on text -> (exit code, combined output)."""
    p = subprocess.run(["/usr/bin/promtool", "check", "metrics"], input=text.encode(), stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=timeout)
    return p.returncode, p.stdout.decode("utf-8", "replace")


# --------------------------------------------------------------------------------------------
# Feed: a WebSocket client in a thread
# --------------------------------------------------------------------------------------------

class FeedClient:
    """Connects to /ws (python3-websockets), records every message as (monotonic time, type,
    data, raw text) until stop(). Bounded: connect within open_timeout, stop joins within 10 s."""

    def __init__(self, url, open_timeout=10):
        self.url = url
        self.open_timeout = open_timeout
        self.messages = []
        self.errors = []
        self.closed_by_server = None  # (code, reason) when the server closed the connection
        self._lock = threading.Lock()
        self._connected = threading.Event()
        self._done = threading.Event()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name=f"ws {url}", daemon=True)

    def start(self):
        self._thread.start()
        if not self._connected.wait(self.open_timeout + 2):
            raise Failures([f"WebSocket {self.url}: not connected within {self.open_timeout}s: {self.errors}"])
        if self.errors:
            raise Failures([f"WebSocket {self.url}: {self.errors[0]}"])
        return self

    def _run(self):
        try:
            asyncio.run(self._main())
        except Exception as e:  # noqa: BLE001
            self.errors.append(f"{type(e).__name__}: {e}")
        finally:
            self._connected.set()
            self._done.set()

    async def _main(self):
        import websockets  # Debian's python3-websockets
        try:
            ws = await websockets.connect(self.url, open_timeout=self.open_timeout, close_timeout=2,
                                          ping_interval=None, max_size=64 * 1024 * 1024, max_queue=None)
        except Exception as e:  # noqa: BLE001
            self.errors.append(f"connect failed: {type(e).__name__}: {e}")
            return
        self._connected.set()
        try:
            while not self._stop:
                try:
                    text = await asyncio.wait_for(ws.recv(), 0.2)
                except asyncio.TimeoutError:
                    continue
                except websockets.ConnectionClosed as e:
                    self.closed_by_server = (e.code, e.reason)
                    return
                now = time.monotonic()
                if isinstance(text, bytes):
                    self.errors.append(f"binary frame of {len(text)} bytes (expected text)")
                    continue
                try:
                    obj = loads(text)
                except (FormError, ValueError) as e:
                    self.errors.append(f"message is not strict JSON ({e}): {text[:200]!r}")
                    continue
                if not isinstance(obj, dict) or list(obj) != ["type", "data"] or not isinstance(obj["data"], dict):
                    self.errors.append(f"message is not {{\"type\":T,\"data\":{{...}}}}: {text[:200]!r}")
                    continue
                with self._lock:
                    self.messages.append((now, obj["type"], obj["data"], text))
        finally:
            try:
                await asyncio.wait_for(ws.close(), 3)
            except Exception:  # noqa: BLE001
                pass

    def stop(self):
        self._stop = True
        self._done.wait(10)

    def snapshot_list(self):
        with self._lock:
            return list(self.messages)

    def of_type(self, t):
        return [m for m in self.snapshot_list() if m[1] == t]

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False


def raw_ws_handshake(host, port, path="/ws", rcvbuf=None, timeout=10):
    """Opens a WebSocket by hand (optionally with a small SO_RCVBUF, set before connecting) and
    reads only the 101 response headers. Returns the socket, which the caller never reads."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(timeout)
    s.connect((host, port))
    key = "dGhlIHNhbXBsZSBub25jZQ=="
    req = (f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n")
    s.sendall(req.encode())
    head = b""
    while b"\r\n\r\n" not in head:  # one byte at a time: read nothing past the headers
        c = s.recv(1)
        if not c:
            raise Failures([f"WebSocket handshake on {path}: connection closed; got {head!r}"])
        head += c
        if len(head) > 8192:
            raise Failures([f"WebSocket handshake on {path}: headers too long"])
    status = head.split(b"\r\n", 1)[0]
    if b" 101 " not in status + b" ":
        raise Failures([f"WebSocket handshake on {path}: {status!r}"])
    return s


# --------------------------------------------------------------------------------------------
# Ingest helpers
# --------------------------------------------------------------------------------------------

def send_connection(addr, data, timeout=30, wait_close=True, chunk=None):
    """One ingest connection: sends data, half-closes, and (wait_close) waits until the server
    closes its side, i.e. it has seen our end of stream. Returns our local "IP:PORT"."""
    s = socket.create_connection(addr, timeout=timeout)
    try:
        local = "%s:%d" % s.getsockname()[:2]
        if chunk:
            for i in range(0, len(data), chunk):
                s.sendall(data[i:i + chunk])
        else:
            s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        if wait_close:
            end = time.monotonic() + timeout
            while time.monotonic() < end:
                try:
                    if not s.recv(65536):
                        break
                except socket.timeout:
                    break
                except ConnectionResetError:
                    break
        return local
    finally:
        s.close()


def record(order_id, t, customer="c1", product="p1", price="10.00", line=None, quantity=None, category=None):
    """One NDJSON record (bytes, with newline); t is epoch ms or ISO text."""
    obj = {"order_id": order_id}
    if line is not None:
        obj["line"] = line
    obj["customer_id"] = customer
    obj["product_id"] = product
    if category is not None:
        obj["category"] = category
    if quantity is not None:
        obj["quantity"] = quantity
    obj["unit_price"] = price
    obj["event_time"] = oplib.format_time(t) if isinstance(t, int) else t
    return (json.dumps(obj, separators=(",", ":")) + "\n").encode()


def model_of(data, config=None, name="socket.ndjson"):
    """The reference model (oplib) over bytes sent in read order -> ModelResult."""
    m = oplib.Model(config)
    recs = oplib.read_input(name, display_name=name, data=data, max_line_bytes=m.max_line_bytes)
    return m.run(recs)


def sim(ctx, args, timeout=120):
    """Runs orderpulse-sim with args (killed with the test, bounded by timeout); returns a
    CompletedProcess with bytes stdout/stderr; requires exit 0."""
    cmd = [str(ctx.sim)] + [str(a) for a in args]
    p = popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate(timeout=10)
        raise
    return oplib.require_ok(subprocess.CompletedProcess(cmd, p.returncode, out, err))


def replay(ctx, server, path, rate="max", connections=None, timeout=120):
    """orderpulse-sim replay --in path --to the server; returns its JSON summary (stderr)."""
    args = ["replay", "--in", path, "--to", server.ingest_url, "--rate", rate]
    if connections:
        args += ["--connections", connections]
    p = sim(ctx, args, timeout=timeout)
    return last_json_line(p.stderr, "orderpulse-sim replay")


def last_json_line(blob, what):
    for line in reversed(blob.decode("utf-8", "replace").splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                break
    raise Failures([f"{what}: no JSON summary line on stderr: {blob[-500:]!r}"])


def count_records(path):
    """Non-blank lines of an NDJSON file (what the server counts as read)."""
    n = 0
    with open(path, "rb") as fh:
        for line in fh:
            if line.strip(b" \t\r\n"):
                n += 1
    return n


def windows_lines(path):
    return oplib.read_lines(path) if Path(path).exists() else []


def parse_iso(text):
    t = oplib.parse_time_text(text) if isinstance(text, str) else None
    if t is None:
        raise Failures([f"not an ISO-8601 time: {text!r}"])
    return t


def check_counters_identity(chk, counters, where):
    """read = accepted + rejected + late + duplicate; dropped_by_reason sums to read - accepted."""
    try:
        r, a, rj, l, d = (counters[k] for k in ("read", "accepted", "rejected", "late", "duplicate"))
    except (KeyError, TypeError):
        chk.fail(f"{where}: counters lack read/accepted/rejected/late/duplicate: {str(counters)[:300]}")
        return False
    ok = chk.expect(r == a + rj + l + d, f"{where}: read {r} != accepted {a} + rejected {rj} + late {l} + "
                                          f"duplicate {d} (= {a + rj + l + d})")
    dbr = counters.get("dropped_by_reason")
    if not isinstance(dbr, dict):
        chk.fail(f"{where}: counters.dropped_by_reason missing or not an object")
        return False
    ok &= chk.expect(sum(dbr.values()) == r - a,
                     f"{where}: sum(dropped_by_reason) {sum(dbr.values())} != read - accepted {r - a}")
    ok &= chk.expect(dbr.get("late", 0) == l and dbr.get("duplicate", 0) == d,
                     f"{where}: dropped_by_reason late/duplicate {dbr.get('late', 0)}/{dbr.get('duplicate', 0)} "
                     f"!= counters {l}/{d}")
    return ok


SNAPSHOT_KEYS = ["server_time", "watermark", "watermark_lag_seconds", "watermark_source", "windows", "totals", "counters",
                 "records_per_second", "batches", "open_windows", "recent_windows", "alerts"]
METRICS_KEYS = SNAPSHOT_KEYS[:-2]


def check_state_shape(chk, data, keys, where):
    """The documented fields of a snapshot/metrics message (in the documented order)."""
    if not chk.expect(isinstance(data, dict), f"{where}: data is not an object"):
        return
    chk.expect(list(data) == keys, f"{where}: keys {list(data)} != documented {keys}")
    st = data.get("server_time")
    chk.expect(isinstance(st, str) and oplib.parse_time_text(st) is not None,
               f"{where}: server_time should be an ISO-8601 time, got {st!r}")
    wm = data.get("watermark")
    chk.expect(wm is None or (isinstance(wm, str) and oplib.parse_time_text(wm) is not None),
               f"{where}: watermark should be null or an ISO-8601 time, got {wm!r}")
    lag = data.get("watermark_lag_seconds")
    chk.expect((wm is None and lag is None) or (wm is not None and isinstance(lag, (int, Decimal))
                                                 and not isinstance(lag, bool)),
               f"{where}: watermark_lag_seconds {lag!r} with watermark {wm!r}")
    src = data.get("watermark_source")
    chk.expect((wm is None and src is None) or (wm is not None and isinstance(src, str) and src),
               f"{where}: watermark_source {src!r} with watermark {wm!r}")
    t = data.get("totals")
    chk.expect(isinstance(t, dict) and list(t) == oplib.TOTALS_KEYS,
               f"{where}: totals keys {list(t) if isinstance(t, dict) else t!r} != {oplib.TOTALS_KEYS}")
    c = data.get("counters")
    ck = ["read", "accepted", "rejected", "late", "duplicate", "dropped_by_reason"]
    chk.expect(isinstance(c, dict) and list(c) == ck,
               f"{where}: counters keys {list(c) if isinstance(c, dict) else c!r} != {ck}")
    for k in ("open_windows",) + (("recent_windows",) if "recent_windows" in keys else ()):
        chk.expect(isinstance(data.get(k), list), f"{where}: {k} should be an array")
