"""Shared helpers for the orderpulse end-to-end tests.

Three parts:
  * running the binaries (orderpulse batch, orderpulse-sim) with time limits;
  * reading their outputs strictly (windows.jsonl form, dropped.jsonl, summary.json);
  * an independent reference model of batch mode, written directly from the specification:
    its own record framing, field validation, timestamp and money parsing, watermark/late/
    duplicate classification and window aggregation. It deliberately shares nothing with the
    C++ code.

Money is always integer cents here: JSON numbers are parsed as Decimal from their text, never
as floats.

Standard library only (Debian's /usr/bin/python3).
"""

import argparse
import calendar
import collections
import csv
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import traceback
from decimal import Decimal, InvalidOperation, ROUND_HALF_EVEN
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SKIP = 77  # ctest SKIP_RETURN_CODE

DEFAULT_TIMEOUT = 300  # seconds for one subprocess

# --------------------------------------------------------------------------------------------
# Command line of the test scripts and the test harness
# --------------------------------------------------------------------------------------------


class Ctx:
    """What every test needs: paths of the two binaries and a scratch directory."""

    def __init__(self, bin_dir, keep=False):
        self.bin_dir = Path(bin_dir).resolve()
        self.orderpulse = self.bin_dir / "orderpulse"
        self.sim = self.bin_dir / "orderpulse-sim"
        for b in (self.orderpulse, self.sim):
            if not os.access(b, os.X_OK):
                print(f"ERROR: {b} is missing or not executable (build first, or pass --bin-dir)")
                sys.exit(1)
        self.keep = keep
        self._tmp = tempfile.TemporaryDirectory(prefix="op-it-")
        self.tmp = Path(self._tmp.name)
        self._n = 0

    def dir(self, name="d"):
        """A fresh empty directory inside the scratch area."""
        self._n += 1
        p = self.tmp / f"{self._n:03d}-{name}"
        p.mkdir(parents=True)
        return p

    def close(self):
        if self.keep:
            print(f"(keeping scratch dir {self.tmp})")
            self._tmp._finalizer.detach()  # noqa: SLF001 - keep files for debugging
        else:
            self._tmp.cleanup()


def parse_args(description, extra=None):
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--bin-dir", default=os.environ.get("ORDERPULSE_BIN_DIR", str(REPO / "build" / "release")),
                    help="directory holding orderpulse and orderpulse-sim")
    ap.add_argument("--keep", action="store_true", help="keep the scratch directory")
    ap.add_argument("--only", action="append", default=[], help="run only cases whose name contains this")
    if extra:
        extra(ap)
    return ap.parse_args()


class Failures(Exception):
    """Raised by a case with a list of precise failure messages."""

    def __init__(self, messages):
        super().__init__("\n".join(messages))
        self.messages = list(messages)


class Check:
    """Collects failures inside one case so that one run reports all of them."""

    def __init__(self, limit=40):
        self.messages = []
        self.count = 0
        self.limit = limit

    def fail(self, msg):
        self.count += 1
        if len(self.messages) < self.limit:
            self.messages.append(msg)

    def expect(self, cond, msg):
        if not cond:
            self.fail(msg)
        return cond

    def eq(self, got, expected, what):
        if got != expected:
            self.fail(f"{what}: expected {expected!r}, got {got!r}")
            return False
        return True

    def done(self):
        if self.count:
            more = self.count - len(self.messages)
            extra = [f"... and {more} more failures"] if more > 0 else []
            raise Failures(self.messages + extra)


def run_cases(description, cases, extra_args=None, cleanup=None):
    """Runs each case(ctx) in order (ctx.args holds the parsed arguments); prints PASS/FAIL per
    case and a closing "N passed, M failed"; exits 1 when any case failed (or none ran).
    cleanup() runs after every case and at the end (the server tests kill what a case started)."""
    args = parse_args(description, extra_args)
    ctx = Ctx(args.bin_dir, keep=args.keep)
    ctx.args = args
    passed, failed = [], []
    t_all = time.monotonic()
    try:
        for case in cases:
            name = case.__name__
            if args.only and not any(o in name for o in args.only):
                continue
            t0 = time.monotonic()
            print(f"--- {name}", flush=True)
            ok = False
            try:
                case(ctx)
                ok = True
            except Failures as f:
                for m in f.messages:
                    print(f"    FAIL: {m}")
            except AssertionError as e:
                print(f"    FAIL: {e}")
            except subprocess.TimeoutExpired as e:
                print(f"    FAIL: timed out after {e.timeout}s: {e.cmd}")
            except Exception:  # noqa: BLE001 - report and go on with the next case
                print("    ERROR:\n" + traceback.format_exc())
            finally:
                if cleanup:
                    cleanup()
            (passed if ok else failed).append(name)
            print(f"{'PASS' if ok else 'FAIL'} {name} ({time.monotonic() - t0:.1f}s)", flush=True)
    finally:
        if cleanup:
            cleanup()
        ctx.close()
    if failed:
        print(f"failed: {', '.join(failed)}")
    print(f"(total {time.monotonic() - t_all:.1f}s)")
    print(f"{len(passed)} passed, {len(failed)} failed", flush=True)
    sys.exit(1 if failed or not passed else 0)


# --------------------------------------------------------------------------------------------
# Running the binaries
# --------------------------------------------------------------------------------------------

STACK_TRACE_MARKERS = ("terminate called", "what():", "Traceback", "Aborted", "core dumped",
                       "Segmentation fault", "AddressSanitizer", "runtime error:", "#0 0x")


def run(cmd, timeout=DEFAULT_TIMEOUT, input_bytes=None, cwd=None):
    """Runs cmd (list); returns CompletedProcess with bytes stdout/stderr. Never raises on exit code."""
    cmd = [str(c) for c in cmd]
    return subprocess.run(cmd, input=input_bytes, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=timeout, cwd=cwd, stdin=None if input_bytes is not None else subprocess.DEVNULL)


def describe(proc):
    err = proc.stderr.decode("utf-8", "replace").strip()
    out = proc.stdout.decode("utf-8", "replace").strip()
    return (f"`{' '.join(proc.args)}` exited {proc.returncode}; stderr: {err[-2000:]!r}"
            + (f"; stdout: {out[-500:]!r}" if out else ""))


def require_ok(proc):
    if proc.returncode != 0:
        raise Failures([describe(proc)])
    return proc


def sim_generate(ctx, out, count, seed=1, fmt=None, timeout=DEFAULT_TIMEOUT, **opts):
    """orderpulse-sim generate. opts: customers, products, start_time, rate, disorder, late,
    duplicates, malformed, catalog_out (underscores become dashes)."""
    cmd = [ctx.sim, "generate", "--count", count, "--out", out, "--seed", seed]
    if fmt:
        cmd += ["--format", fmt]
    for k, v in opts.items():
        if v is None:
            continue
        cmd += ["--" + k.replace("_", "-"), v]
    return require_ok(run(cmd, timeout=timeout))


def generate(ctx, name, count, seed, fmt="ndjson", **opts):
    """Generates `count` records into a fresh directory; returns the file (.ndjson or .csv)."""
    path = ctx.dir(name) / f"events.{'csv' if fmt == 'csv' else 'ndjson'}"
    sim_generate(ctx, path, count, seed=seed, fmt=fmt, **opts)
    return path


def first_diff(a, b):
    """Where two byte strings of lines first differ, for messages."""
    la, lb = a.split(b"\n"), b.split(b"\n")
    for i, (x, y) in enumerate(zip(la, lb), 1):
        if x != y:
            return f"first difference at line {i}: {x[:160]!r} vs {y[:160]!r}"
    return f"{len(la)} vs {len(lb)} lines"


class OutputFiles:
    """The result files of an output directory (batch mode and the server write the same ones)."""

    @property
    def windows_path(self):
        return self.out_dir / "windows.jsonl"

    @property
    def dropped_path(self):
        return self.out_dir / "dropped.jsonl"

    @property
    def summary_path(self):
        return self.out_dir / "summary.json"


class BatchResult(OutputFiles):
    def __init__(self, proc, out_dir):
        self.proc = proc
        self.out_dir = Path(out_dir)

    def windows_bytes(self):
        return self.windows_path.read_bytes()

    def dropped_bytes(self):
        return self.dropped_path.read_bytes()

    def windows(self):
        return read_windows(self.windows_path)

    def dropped(self):
        return read_dropped(self.dropped_path)

    def summary(self, chk=None):
        return read_summary(self.summary_path, chk)


def batch_cmd(ctx, inputs, out_dir, config=None, catalog=None, fmt=None, batch_size=None, extra=()):
    cmd = [ctx.orderpulse, "batch"]
    for i in inputs:
        cmd += ["--input", i]
    cmd += ["--output-dir", out_dir]
    if config is not None:
        cmd += ["--config", config]
    if catalog is not None:
        cmd += ["--catalog", catalog]
    if fmt is not None:
        cmd += ["--format", fmt]
    if batch_size is not None:
        cmd += ["--batch-size", batch_size]
    return cmd + list(extra)


def run_batch(ctx, inputs, out_dir=None, config=None, catalog=None, fmt=None, batch_size=None,
              extra=(), stdin=None, timeout=DEFAULT_TIMEOUT):
    """Runs orderpulse batch and requires success. config may be a dict (written to a file)."""
    if out_dir is None:
        out_dir = ctx.dir("out")
    if isinstance(config, dict):
        cfg_path = Path(out_dir).parent / (Path(out_dir).name + "-config.json")
        cfg_path.write_text(json.dumps(config))
        config = cfg_path
    proc = run(batch_cmd(ctx, inputs, out_dir, config, catalog, fmt, batch_size, extra),
               timeout=timeout, input_bytes=stdin)
    require_ok(proc)
    return BatchResult(proc, out_dir)


# --------------------------------------------------------------------------------------------
# Reading outputs strictly
# --------------------------------------------------------------------------------------------

WINDOW_KEYS = ["window", "start", "end", "lines", "items", "orders", "revenue", "active_customers",
               "top_products", "categories"]
PRODUCT_KEYS = ["product_id", "revenue", "items"]
CATEGORY_KEYS = ["category", "revenue"]
DROPPED_KEYS = ["reason", "source", "file", "line", "raw"]


class FormError(Exception):
    pass


def _pairs_hook(pairs):
    d = {}
    for k, v in pairs:
        if k in d:
            raise FormError(f"duplicate key {k!r}")
        d[k] = v
    return d


def _loads(text):
    return json.loads(text, object_pairs_hook=_pairs_hook, parse_float=Decimal,
                      parse_constant=lambda c: (_ for _ in ()).throw(FormError(f"constant {c}")))


def money_cents(v, what):
    """A money value as printed: a JSON number with exactly two decimals -> integer cents."""
    if not isinstance(v, Decimal) or v.as_tuple().exponent != -2:
        raise FormError(f"{what}: money must be printed with exactly two decimals, got {v!r}")
    return int(v * 100)


def _int(v, what):
    if not isinstance(v, int) or isinstance(v, bool):
        raise FormError(f"{what}: expected an integer, got {v!r}")
    return v


def _str(v, what):
    if not isinstance(v, str):
        raise FormError(f"{what}: expected a string, got {v!r}")
    return v


def canonical_json(obj):
    """Compact JSON with Decimals printed as parsed: what the spec's lines look like."""
    if isinstance(obj, dict):
        return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + canonical_json(v) for k, v in obj.items()) + "}"
    if isinstance(obj, list):
        return "[" + ",".join(canonical_json(v) for v in obj) + "]"
    if isinstance(obj, str):
        return json.dumps(obj, ensure_ascii=False)
    if isinstance(obj, bool) or obj is None:
        return json.dumps(obj)
    if isinstance(obj, (int, Decimal)):
        return str(obj)
    raise TypeError(type(obj))


def parse_window_line(text):
    """One windows.jsonl line -> normalized dict (money in cents). Raises FormError on any
    deviation from the specified form (key order, types, two-decimal money, compactness)."""
    obj = _loads(text)
    if not isinstance(obj, dict):
        raise FormError("not an object")
    if list(obj) != WINDOW_KEYS:
        raise FormError(f"keys {list(obj)} != {WINDOW_KEYS}")
    if canonical_json(obj) != text:
        raise FormError(f"not in compact canonical form: {text[:200]!r}")
    w = {
        "window": _str(obj["window"], "window"),
        "start": _str(obj["start"], "start"),
        "end": _str(obj["end"], "end"),
        "lines": _int(obj["lines"], "lines"),
        "items": _int(obj["items"], "items"),
        "orders": _int(obj["orders"], "orders"),
        "revenue": money_cents(obj["revenue"], "revenue"),
        "active_customers": _int(obj["active_customers"], "active_customers"),
    }
    if not isinstance(obj["top_products"], list) or not isinstance(obj["categories"], list):
        raise FormError("top_products/categories must be arrays")
    tops = []
    for p in obj["top_products"]:
        if not isinstance(p, dict) or list(p) != PRODUCT_KEYS:
            raise FormError(f"top_products entry {p!r} keys != {PRODUCT_KEYS}")
        tops.append((_str(p["product_id"], "product_id"), money_cents(p["revenue"], "product revenue"),
                     _int(p["items"], "product items")))
    cats = []
    for c in obj["categories"]:
        if not isinstance(c, dict) or list(c) != CATEGORY_KEYS:
            raise FormError(f"categories entry {c!r} keys != {CATEGORY_KEYS}")
        cats.append((_str(c["category"], "category"), money_cents(c["revenue"], "category revenue")))
    w["top_products"] = tops
    w["categories"] = cats
    return w


def read_lines(path):
    data = Path(path).read_bytes()
    if data and not data.endswith(b"\n"):
        raise FormError(f"{path}: last line not terminated by a newline")
    return [l.decode("utf-8") for l in data.split(b"\n")[:-1]] if data else []


def read_windows(path):
    out = []
    for i, line in enumerate(read_lines(path), 1):
        try:
            out.append(parse_window_line(line))
        except (FormError, ValueError) as e:
            raise Failures([f"{path}:{i}: {e}: {line[:300]!r}"]) from None
    return out


def read_dropped(path):
    out = []
    for i, line in enumerate(read_lines(path), 1):
        try:
            obj = _loads(line)
            if not isinstance(obj, dict) or list(obj) != DROPPED_KEYS:
                raise FormError(f"keys {list(obj) if isinstance(obj, dict) else obj!r} != {DROPPED_KEYS}")
            _str(obj["reason"], "reason")
            _str(obj["source"], "source")
            _str(obj["file"], "file")
            _int(obj["line"], "line")
            _str(obj["raw"], "raw")
        except (FormError, ValueError) as e:
            raise Failures([f"{path}:{i}: {e}: {line[:300]!r}"]) from None
        out.append(obj)
    return out


SUMMARY_KEYS = ["read", "accepted", "rejected", "rejected_by_reason", "late", "duplicate", "windows_emitted",
                "first_event_time", "last_event_time", "wall_time_seconds", "records_per_second", "totals"]
TOTALS_KEYS = ["lines", "items", "orders", "revenue", "active_customers"]


def read_summary(path, chk=None):
    """summary.json -> dict; totals.revenue becomes integer cents. A money value not printed with
    exactly two decimals is reported to chk (when given) but still read when it is exact."""
    try:
        s = _loads(Path(path).read_text())
        missing = [k for k in SUMMARY_KEYS if k not in s]
        if missing:
            raise FormError(f"missing keys {missing}")
        for k in ("read", "accepted", "rejected", "late", "duplicate", "windows_emitted"):
            _int(s[k], k)
        if not isinstance(s["rejected_by_reason"], dict):
            raise FormError("rejected_by_reason must be an object")
        for k, v in s["rejected_by_reason"].items():
            _int(v, f"rejected_by_reason.{k}")
        for k in ("wall_time_seconds", "records_per_second"):
            v = s[k]
            if isinstance(v, bool) or not isinstance(v, (int, Decimal)) or v < 0:
                raise FormError(f"{k} must be a non-negative number, got {v!r}")
        t = s["totals"]
        missing = [k for k in TOTALS_KEYS if k not in t]
        if missing:
            raise FormError(f"totals: missing keys {missing}")
        for k in ("lines", "items", "orders", "active_customers"):
            _int(t[k], f"totals.{k}")
        rev = t["revenue"]
        try:
            t["revenue"] = money_cents(rev, "totals.revenue")
        except FormError as e:
            if chk is not None:
                chk.fail(f"{path}: {e} (text {json.dumps(str(rev))[1:-1]})")
            if isinstance(rev, bool) or not isinstance(rev, (int, Decimal)) or (rev * 100) % 1 != 0:
                raise
            t["revenue"] = int(rev * 100)
    except (FormError, ValueError) as e:
        raise Failures([f"{path}: {e}"]) from None
    return s


# --------------------------------------------------------------------------------------------
# Reference model: parsing primitives
# --------------------------------------------------------------------------------------------

_DURATION_RE = re.compile(r"^(\d+)(ms|s|m|h)$")
_DURATION_UNIT = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000}


def parse_duration(text):
    m = _DURATION_RE.match(text)
    if not m:
        raise ValueError(f"bad duration {text!r}")
    return int(m.group(1)) * _DURATION_UNIT[m.group(2)]


_ISO_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?(Z|z|[+-]\d{2}(?::?\d{2})?)?$",
    re.ASCII)


def _days_in_month(y, m):
    return calendar.monthrange(y, m)[1]


def parse_time_text(s):
    """Event-time text -> epoch ms, or None. Accepts epoch milliseconds (digits only), ISO-8601
    with 'T' and an optional zone ('Z' or an offset), and 'YYYY-MM-DD HH:MM[:SS[.fff]]' (UTC).
    Fractions beyond milliseconds are truncated; a comma may stand for the decimal point, as ISO-8601
    allows. Blanks (space, tab) around the text are ignored. Digits are ASCII digits."""
    s = s.strip(" \t")
    if re.fullmatch(r"[0-9]{1,15}", s):
        return int(s)
    m = _ISO_RE.match(s)
    if not m:
        return None
    y, mo, d, h, mi = (int(m.group(i)) for i in range(1, 6))
    sec = int(m.group(6)) if m.group(6) else 0
    frac = m.group(7) or ""
    ms = int((frac + "000")[:3]) if frac else 0
    zone = m.group(8)
    if not (1 <= mo <= 12) or y < 1970 or not (1 <= d <= _days_in_month(y, mo)) or h > 23 or mi > 59 or sec > 59:
        return None
    off_min = 0
    if zone and zone not in ("Z", "z"):
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        oh = int(digits[:2])
        om = int(digits[2:4]) if len(digits) > 2 else 0
        if oh > 23 or om > 59:
            return None
        off_min = sign * (oh * 60 + om)
    t = calendar.timegm((y, mo, d, h, mi, sec, 0, 0, 0)) * 1000 + ms - off_min * 60_000
    return t if t >= 0 else None


def format_time(ms):
    s = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000))
    if ms % 1000:
        s += f".{ms % 1000:03d}"
    return s + "Z"


_DECIMAL_RE = re.compile(r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$")
MAX_CENTS = 10 ** 12  # the largest price orderpulse takes (README): 10,000,000,000.00
MAX_LINE = 2 ** 31 - 1  # the largest `line` (README)
BLANKS = " \t\r\n"  # blanks around a CSV cell, or a JSON string holding a number or a time, are ignored


def decimal_to_cents(d):
    """Decimal -> integer cents, rounded half-even."""
    return int(d.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN) * 100)


def parse_decimal_text(s):
    s = s.strip(BLANKS)
    if not _DECIMAL_RE.match(s):
        return None
    try:
        return Decimal(s)
    except InvalidOperation:
        return None


# --------------------------------------------------------------------------------------------
# Reference model: records
# --------------------------------------------------------------------------------------------

FIELDS = ["order_id", "line", "customer_id", "product_id", "category", "quantity", "unit_price", "event_time"]
REQUIRED = {"order_id", "customer_id", "product_id", "unit_price", "event_time"}
# A record whose `type` is "restock" (blanks around it ignored) adds stock: only these fields are
# read, quantity up to 10,000,000; it is subject to lateness, never a duplicate, in no window.
RESTOCK_FIELDS = ["product_id", "quantity", "event_time"]
RESTOCK_REQUIRED = {"product_id", "event_time"}
ID_FIELDS = ("order_id", "customer_id", "product_id")
ABSENT = object()


class Record:
    """One framed record of the input, and (once validated) its event fields or drop reason."""
    __slots__ = ("file", "line", "raw", "too_long", "reason", "restock", "order_id", "line_no", "customer_id",
                 "product_id", "category", "quantity", "cents", "t")

    def __init__(self, file, line, raw, too_long=False):
        self.file, self.line, self.raw, self.too_long = file, line, raw, too_long
        self.reason = None
        self.restock = False
        self.category = None


def frame_ndjson(data, file, max_line_bytes):
    """bytes of an NDJSON file -> [Record]. One record per non-blank line; line numbers count
    every physical line (1-based). A trailing CR is not part of the record."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    parts = data.split(b"\n")
    if parts and parts[-1] == b"":
        parts.pop()
    out = []
    for i, raw in enumerate(parts, 1):
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        too_long = len(raw) > max_line_bytes  # judged first: an over-long line is not read to find it blank
        if not too_long and raw.strip(b" \t\r") == b"":
            continue
        out.append(Record(file, i, raw, too_long=too_long))
    return out


_CSV_SPECIAL = re.compile(rb'[",\n]')


def frame_csv(data, file, max_line_bytes):
    """bytes of a CSV file -> (header Record or None, [Record]). A record ends at a newline
    outside a quoted field; its line number is the physical line where it starts. A quote opens
    a quoted field only at the start of a field (RFC 4180: a bare field holds no quotes), so a
    stray quote inside a bare field does not swallow the lines after it."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    records = []
    line = 1
    start = 0
    start_line = 1
    n = len(data)
    state = "start"  # start of a field | bare | quoted | quote (a quote seen inside a quoted field)
    prev = 0
    for m in _CSV_SPECIAL.finditer(data):
        i = m.start()
        if i > prev and state in ("start", "quote"):
            state = "bare"  # other bytes since the last special one: a field's text
        prev = i + 1
        c = data[i:i + 1]
        if state == "quoted":
            if c == b'"':
                state = "quote"
            elif c == b"\n":
                line += 1
            continue
        if c == b'"':
            state = "quoted" if state in ("start", "quote") else "bare"
            continue
        if c == b"\n":
            line += 1
            raw = data[start:i]
            if raw.endswith(b"\r"):
                raw = raw[:-1]
            records.append((start_line, raw))
            start = i + 1
            start_line = line
            state = "start"
            continue
        state = "start" if c == b"," else "bare"
    if start < n:
        raw = data[start:]
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        records.append((start_line, raw))
    # Blank: a row of empty cells, bare or quoted, unless too long to be read.
    recs = [Record(file, ln, raw, too_long=len(raw) > max_line_bytes) for ln, raw in records
            if len(raw) > max_line_bytes or not blank_csv_row(raw)]
    if not recs:
        return None, []
    return recs[0], recs[1:]


def blank_csv_row(raw):
    """A row of cells that hold blanks only: `,,`, or quoted like `"",\" \"` (but `\"\"\"\"` holds a quote)."""
    if raw.strip(b" \t\r,") == b"":
        return True
    cells = split_csv(raw)
    return cells is not None and all(c.strip(BLANKS) == "" for c in cells)


def split_csv(raw):
    """RFC 4180 split of one record's text -> list of str, or None when malformed."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    fields = []
    i, n = 0, len(text)
    while True:
        if i < n and text[i] == '"':
            i += 1
            buf = []
            closed = False
            while i < n:
                c = text[i]
                if c == '"':
                    if i + 1 < n and text[i + 1] == '"':
                        buf.append('"')
                        i += 2
                        continue
                    i += 1
                    closed = True
                    break
                buf.append(c)
                i += 1
            if not closed:
                return None
            fields.append("".join(buf))
            if i == n:
                return fields
            if text[i] != ",":
                return None
            i += 1
            if i == n:
                fields.append("")
                return fields
        else:
            j = text.find(",", i)
            cell = text[i:] if j == -1 else text[i:j]
            if '"' in cell:
                return None
            fields.append(cell)
            if j == -1:
                return fields
            i = j + 1
            if i == n:
                fields.append("")
                return fields


def _validate(rec, get, typed):
    """Applies the field rules in field order; sets rec's fields or rec.reason.
    get(name) -> ABSENT | value (JSON value when typed, else CSV cell text)."""
    kind = get("type")
    restock = isinstance(kind, str) and kind.strip(BLANKS) == "restock"
    vals = dict.fromkeys(FIELDS)
    for name in RESTOCK_FIELDS if restock else FIELDS:
        v = get(name)
        if v is None:
            v = ABSENT  # JSON null: as if absent
        if not typed and v is not ABSENT and v.strip(BLANKS) == "":
            v = ABSENT  # an empty CSV cell, or one of blanks only: absent
        if v is ABSENT:
            if name in (RESTOCK_REQUIRED if restock else REQUIRED):
                return f"missing_field:{name}"
            vals[name] = None
            continue
        if name in ID_FIELDS:
            if not isinstance(v, str) or not (1 <= len(v) <= 64):
                return f"bad_value:{name}"
            vals[name] = v
        elif name == "category":
            if not isinstance(v, str):
                return "bad_value:category"
            vals[name] = v if v != "" else None
        elif name in ("line", "quantity"):
            if typed:
                if not isinstance(v, int) or isinstance(v, bool):
                    return f"bad_value:{name}"
                iv = v
            else:
                if not re.fullmatch(r"-?[0-9]+", v.strip(BLANKS)):
                    return f"bad_value:{name}"
                iv = int(v.strip(BLANKS))
            max_quantity = 10_000_000 if restock else 10_000
            if iv < 1 or (name == "quantity" and iv > max_quantity) or (name == "line" and iv > MAX_LINE):
                return f"bad_value:{name}"
            vals[name] = iv
        elif name == "unit_price":
            if typed and not isinstance(v, str):
                # a JSON number; a JSON string holding a decimal is read like a CSV cell (the spec
                # says "decimal", not "number", unlike the integer fields)
                if isinstance(v, bool) or not isinstance(v, (int, Decimal)):
                    return "bad_value:unit_price"
                d = Decimal(v)
            else:
                d = parse_decimal_text(v)
                if d is None:
                    return "bad_value:unit_price"
            if d < 0 or d > MAX_CENTS // 100 + Decimal("0.005"):
                return "bad_value:unit_price"
            cents = decimal_to_cents(d)
            if cents > MAX_CENTS:
                return "bad_value:unit_price"
            vals[name] = cents
        elif name == "event_time":
            if typed:
                if isinstance(v, int) and not isinstance(v, bool):
                    t = v if 0 <= v < 10 ** 15 else None
                elif isinstance(v, str):
                    t = parse_time_text(v)
                else:
                    t = None
            else:
                t = parse_time_text(v)
            if t is None:
                return "bad_timestamp"
            vals[name] = t
    rec.restock = restock
    rec.order_id = vals["order_id"]
    rec.line_no = vals["line"] if vals["line"] is not None else 1
    rec.customer_id = vals["customer_id"]
    rec.product_id = vals["product_id"]
    rec.category = vals["category"]
    rec.quantity = vals["quantity"] if vals["quantity"] is not None else 1
    rec.cents = vals["unit_price"]
    rec.t = vals["event_time"]
    return None


def validate_json(rec):
    if rec.too_long:
        rec.reason = "line_too_long"
        return
    try:
        text = rec.raw.decode("utf-8")
        obj = json.loads(text, parse_float=Decimal,
                         parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
    except (UnicodeDecodeError, ValueError, RecursionError):
        rec.reason = "malformed_json"
        return
    if not isinstance(obj, dict):
        rec.reason = "malformed_json"
        return
    rec.reason = _validate(rec, lambda name: obj.get(name, ABSENT), typed=True)


def validate_csv(rec, columns):
    if rec.too_long:
        rec.reason = "line_too_long"
        return
    cells = split_csv(rec.raw)
    if cells is None or len(cells) != len(columns):
        rec.reason = "malformed_csv"
        return
    index = {}
    for i, name in enumerate(columns):
        index.setdefault(name, i)
    rec.reason = _validate(rec, lambda name: cells[index[name]] if name in index else ABSENT, typed=False)


def format_of(path, fmt=None):
    if fmt:
        return fmt
    p = str(path)
    if p.endswith(".csv"):
        return "csv"
    return "ndjson"


def read_input(path, display_name=None, fmt=None, max_line_bytes=1_048_576, data=None):
    """Reads and validates one input file -> [Record] in read order (blank lines omitted)."""
    name = display_name if display_name is not None else str(path)
    if data is None:
        data = Path(path).read_bytes()
    if format_of(path, fmt) == "csv":
        header, recs = frame_csv(data, name, max_line_bytes)
        if header is None:
            return []
        columns = [c.strip() for c in (split_csv(header.raw) or [])]
        for r in recs:
            validate_csv(r, columns)
        return recs
    recs = frame_ndjson(data, name, max_line_bytes)
    for r in recs:
        validate_json(r)
    return recs


def load_catalog(path):
    """Catalog CSV (product_id,category,stock,reorder_level) -> {product_id: category}. Ids and
    categories are taken as written, as in records (README "Input format"); a cell of blanks only
    is empty."""
    out = {}
    with open(path, newline="", encoding="utf-8-sig") as fh:
        for row in csv.DictReader(fh):
            pid = row.get("product_id") or ""
            cat = row.get("category") or ""
            if not pid.strip(" \t"):
                continue
            if cat.strip(" \t"):
                out[pid] = cat
            else:
                out.pop(pid, None)  # the last row of a product wins, even one without a category
    return out


# --------------------------------------------------------------------------------------------
# Reference model: classification and windows
# --------------------------------------------------------------------------------------------

DEFAULT_CONFIG = {
    "watermark_delay": "30s",
    "dedup_horizon": None,  # default: largest window size
    "windows": [{"size": "1m", "slide": "1m"}, {"size": "10m", "slide": "1m"}],
    "max_line_bytes": 1_048_576,
    "top_n": 10,
}


class Model:
    def __init__(self, config=None, catalog=None):
        cfg = dict(DEFAULT_CONFIG)
        cfg.update(config or {})
        self.specs = [(f"{w['size']}/{w['slide']}", parse_duration(w["size"]), parse_duration(w["slide"]))
                      for w in cfg["windows"]]
        self.delay = parse_duration(cfg["watermark_delay"])
        self.horizon = (parse_duration(cfg["dedup_horizon"]) if cfg.get("dedup_horizon")
                        else max(size for _, size, _ in self.specs))
        self.max_line_bytes = cfg["max_line_bytes"]
        self.top_n = cfg["top_n"]
        self.catalog = catalog or {}

    def read(self, path, display_name=None, fmt=None):
        return read_input(path, display_name, fmt, self.max_line_bytes)

    def run(self, records):
        """Classifies records in read order; returns a ModelResult."""
        max_t = None
        last_by_key = {}
        accepted = []
        dropped = []
        for r in records:
            if r.reason is None:
                wm = None if max_t is None else max_t - self.delay
                key = (r.order_id, r.line_no)
                if wm is not None and r.t < wm:
                    r.reason = "late"
                elif r.restock:
                    accepted.append(r)
                    max_t = r.t if max_t is None else max(max_t, r.t)
                    continue
                elif key in last_by_key and last_by_key[key] >= wm - self.horizon:
                    r.reason = "duplicate"
                else:
                    accepted.append(r)
                    max_t = r.t if max_t is None else max(max_t, r.t)
                    last_by_key[key] = max(r.t, last_by_key.get(key, r.t))
                    continue
            dropped.append(r)
        return ModelResult(self, records, accepted, dropped)


class Agg:
    __slots__ = ("lines", "items", "orders", "revenue", "customers", "products", "categories")

    def __init__(self):
        self.lines = self.items = self.orders = self.revenue = 0
        self.customers = set()
        self.products = {}
        self.categories = collections.Counter()

    def add(self, r, category):
        rev = r.cents * r.quantity
        self.lines += 1
        self.items += r.quantity
        self.orders += r.line_no == 1
        self.revenue += rev
        self.customers.add(r.customer_id)
        p = self.products.get(r.product_id)
        if p is None:
            self.products[r.product_id] = [rev, r.quantity]
        else:
            p[0] += rev
            p[1] += r.quantity
        self.categories[category] += rev

    def top_products(self, n):
        ranked = sorted(self.products.items(), key=lambda kv: (-kv[1][0], kv[0]))
        return [(pid, rev, items) for pid, (rev, items) in ranked[:n]]

    def category_list(self):
        return sorted(self.categories.items(), key=lambda kv: (-kv[1], kv[0]))


class ModelResult:
    def __init__(self, model, records, accepted, dropped):
        self.model = model
        self.records = records
        self.accepted = accepted
        self.dropped = dropped
        self.counts = collections.Counter(r.reason for r in dropped)
        self.totals = Agg()
        wins = {}
        for r in accepted:
            if r.restock:
                continue  # stock only: no sales
            cat = self.category_of(r)
            self.totals.add(r, cat)
            for si, (_, size, slide) in enumerate(model.specs):
                k_lo = (r.t - size) // slide + 1
                k_hi = r.t // slide
                for k in range(k_lo, k_hi + 1):
                    key = (k * slide + size, si, k * slide)
                    a = wins.get(key)
                    if a is None:
                        a = wins[key] = Agg()
                    a.add(r, cat)
        self.windows = []
        for (end, si, start) in sorted(wins):
            a = wins[(end, si, start)]
            self.windows.append({
                "window": model.specs[si][0], "start": format_time(start), "end": format_time(end),
                "lines": a.lines, "items": a.items, "orders": a.orders, "revenue": a.revenue,
                "customers": len(a.customers), "top_products": a.top_products(model.top_n),
                "categories": a.category_list(),
            })

    def category_of(self, r):
        if r.category:
            return r.category
        return self.model.catalog.get(r.product_id, "unknown")

    @property
    def rejected(self):
        return sum(v for k, v in self.counts.items() if k not in ("late", "duplicate"))


# --------------------------------------------------------------------------------------------
# Comparing the binary's outputs with the model
# --------------------------------------------------------------------------------------------

def hll_ok(estimate, exact):
    """active_customers: exact below a few hundred distinct, within 2.5% (at least 1) above."""
    if exact < 200:
        return estimate == exact
    return abs(estimate - exact) <= max(1, 0.025 * exact)


def compare_windows(chk, got, model_result, label=""):
    exp = model_result.windows
    chk.eq(len(got), len(exp), f"{label}number of windows")
    gk = [(w["window"], w["start"], w["end"]) for w in got]
    ek = [(w["window"], w["start"], w["end"]) for w in exp]
    if gk != ek:
        for i, (a, b) in enumerate(zip(gk, ek)):
            if a != b:
                chk.fail(f"{label}window #{i + 1} (ordered by end, spec, start): expected {b}, got {a}")
                break
        missing = set(ek) - set(gk)
        extra = set(gk) - set(ek)
        if missing:
            chk.fail(f"{label}{len(missing)} windows missing, e.g. {sorted(missing)[:3]}")
        if extra:
            chk.fail(f"{label}{len(extra)} unexpected windows, e.g. {sorted(extra)[:3]}")
    by_key = {(w["window"], w["start"]): w for w in got}
    for e in exp:
        g = by_key.get((e["window"], e["start"]))
        if g is None:
            continue
        where = f"{label}window {e['window']} {e['start']}"
        for f in ("end", "lines", "items", "orders", "revenue", "top_products", "categories"):
            if g[f] != e[f]:
                if f in ("top_products", "categories"):
                    chk.fail(f"{where} {f}: expected {e[f][:12]}, got {g[f][:12]}")
                else:
                    chk.fail(f"{where} {f}: expected {e[f]}, got {g[f]}")
        if not hll_ok(g["active_customers"], e["customers"]):
            chk.fail(f"{where} active_customers: exact {e['customers']}, estimate {g['active_customers']} "
                     f"(allowed: {'exact' if e['customers'] < 200 else 'within max(1, 2.5%)'})")


def compare_dropped(chk, got, model_result, check_raw=True, label=""):
    exp = model_result.dropped
    chk.eq(len(got), len(exp), f"{label}number of dropped.jsonl lines")
    g_seq = [(d["reason"], d["file"], d["line"]) for d in got]
    e_seq = [(r.reason, r.file, r.line) for r in exp]
    if g_seq != e_seq:
        for i, (a, b) in enumerate(zip(g_seq, e_seq)):
            if a != b:
                chk.fail(f"{label}dropped.jsonl entry #{i + 1}: expected (reason, file, line) {b}, got {a} "
                         f"(raw {got[i]['raw'][:120]!r})")
                break
        gc = collections.Counter(d["reason"] for d in got)
        ec = collections.Counter(r.reason for r in exp)
        if gc != ec:
            chk.fail(f"{label}drop reason counts: expected {dict(sorted(ec.items()))}, got {dict(sorted(gc.items()))}")
    for d in got:
        if d["source"] != "file":
            chk.fail(f"{label}dropped.jsonl: source should be \"file\" for file input, got {d['source']!r}")
            break
    if check_raw:
        bad = 0
        for d, r in zip(got, exp):
            if r.too_long or (d["file"], d["line"]) != (r.file, r.line):
                continue
            try:
                want = r.raw.decode("utf-8")
            except UnicodeDecodeError:
                continue
            if d["raw"] != want:
                bad += 1
                if bad <= 3:
                    chk.fail(f"{label}dropped.jsonl line {r.line}: raw expected {want[:150]!r}, got {d['raw'][:150]!r}")


def compare_summary(chk, s, model_result, n_windows, label=""):
    m = model_result
    chk.eq(s["read"], len(m.records), f"{label}summary.read")
    chk.eq(s["accepted"], len(m.accepted), f"{label}summary.accepted")
    chk.eq(s["rejected"], m.rejected, f"{label}summary.rejected")
    chk.eq(s["late"], m.counts.get("late", 0), f"{label}summary.late")
    chk.eq(s["duplicate"], m.counts.get("duplicate", 0), f"{label}summary.duplicate")
    chk.eq(s["read"], s["accepted"] + s["rejected"] + s["late"] + s["duplicate"],
           f"{label}summary: read vs accepted + rejected + late + duplicate")
    rbr = {k: v for k, v in s["rejected_by_reason"].items() if v and k not in ("late", "duplicate")}
    exp_rbr = {k: v for k, v in m.counts.items() if k not in ("late", "duplicate")}
    chk.eq(rbr, exp_rbr, f"{label}summary.rejected_by_reason (non-zero entries)")
    chk.eq(s["windows_emitted"], n_windows, f"{label}summary.windows_emitted vs windows.jsonl lines")
    if m.accepted:
        ts = [r.t for r in m.accepted]
        for key, candidates in (("first_event_time", (min(ts), ts[0])), ("last_event_time", (max(ts), ts[-1]))):
            chk.expect(s[key] == format_time(candidates[0]),
                       f"{label}summary.{key}: expected {format_time(candidates[0])} (min/max accepted event time), "
                       f"got {s[key]!r}")
    t = s["totals"]
    chk.eq(t["lines"], m.totals.lines, f"{label}summary.totals.lines")
    chk.eq(t["items"], m.totals.items, f"{label}summary.totals.items")
    chk.eq(t["orders"], m.totals.orders, f"{label}summary.totals.orders")
    chk.eq(t["revenue"], m.totals.revenue, f"{label}summary.totals.revenue (cents)")
    exact = len(m.totals.customers)
    chk.expect(hll_ok(t["active_customers"], exact),
               f"{label}summary.totals.active_customers: exact {exact}, estimate {t['active_customers']}")


def compare_all(chk, result, model_result, label="", check_raw=True):
    windows = result.windows()
    compare_windows(chk, windows, model_result, label)
    compare_dropped(chk, result.dropped(), model_result, check_raw=check_raw, label=label)
    # (the two-decimal form of summary money is checked once, in test_cli_errors' test_money_printing)
    compare_summary(chk, result.summary(), model_result, len(windows), label)
    return windows


def cents_text(c):
    sign = "-" if c < 0 else ""
    c = abs(c)
    return f"{sign}{c // 100}.{c % 100:02d}"
