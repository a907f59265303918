#!/usr/bin/python3
"""End-to-end: orderpulse batch error handling and input edge cases.

  * usage/config errors exit 2 with a one-line message (unknown config key named), runtime
    failures exit 1 naming the missing input; never a stack trace;
  * crafted bad records each land in dropped.jsonl with the specified reason and line number,
    while the good records around them are accepted (checked through the windows);
  * RFC 4180 CSV: quoted commas, doubled quotes, newlines inside quotes, CRLF, BOM, columns in
    another order, an extra column;
  * unit prices are rounded half-even to cents before being multiplied by the quantity; money
    is printed with exactly two decimals (windows and summary);
  * max_line_bytes, empty inputs, a CSV lacking a required column.
"""

import json

import oplib
from oplib import Check, Model, parse_time_text

T0 = parse_time_text("2017-10-02T10:00:00Z")
ONE_SECOND_WINDOWS = {"watermark_delay": "1h", "windows": [{"size": "1s", "slide": "1s"}], "top_n": 50}


# ------------------------------------------------------------------------------------------
# usage and config errors
# ------------------------------------------------------------------------------------------

def good_input(ctx):
    p = ctx.dir("in") / "good.ndjson"
    p.write_text(json.dumps({"order_id": "o1", "customer_id": "c1", "product_id": "p1", "unit_price": 1,
                             "event_time": "2017-10-02T10:00:00Z"}) + "\n")
    return p


def no_stack_trace(chk, proc, what):
    err = proc.stderr.decode("utf-8", "replace")
    for marker in oplib.STACK_TRACE_MARKERS:
        if marker in err:
            chk.fail(f"{what}: stderr looks like a crash/stack trace ({marker!r}): {err[:500]!r}")
            return
    chk.expect(proc.returncode >= 0, f"{what}: killed by signal {-proc.returncode}")


def expect_exit(chk, ctx, args, code, what, one_line=True, must_mention=(), timeout=60):
    proc = oplib.run([ctx.orderpulse, "batch"] + [str(a) for a in args], timeout=timeout)
    cmd = "orderpulse batch " + " ".join(str(a) for a in args)
    err = proc.stderr.decode("utf-8", "replace")
    lines = [l for l in err.splitlines() if l.strip()]
    chk.expect(proc.returncode == code,
               f"{what}: `{cmd}`: expected exit {code}, got {proc.returncode}; stderr {err[:300]!r}")
    chk.expect(len(lines) >= 1, f"{what}: `{cmd}`: no message on stderr")
    if one_line:
        chk.expect(len(lines) <= 1, f"{what}: `{cmd}`: expected a one-line message on stderr, got "
                                    f"{len(lines)} lines: {err[:400]!r}")
    for m in must_mention:
        chk.expect(m in err, f"{what}: `{cmd}`: stderr should name {m!r}: {err[:300]!r}")
    no_stack_trace(chk, proc, f"{what} (`{cmd}`)")
    return proc


def test_config_errors(ctx):
    chk = Check()
    inp = good_input(ctx)
    d = ctx.dir("cfg")
    cases = [
        ("unknown config key", '{"watermark_delay": "30s", "frobnicate_level": 3}', ["frobnicate_level"]),
        ("bad duration (watermark_delay)", '{"watermark_delay": "30 parsecs"}', []),
        ("bad duration (window size)", '{"windows": [{"size": "1fortnight", "slide": "1m"}]}', []),
        ("bad duration (negative)", '{"dedup_horizon": "-5s"}', []),
        ("malformed JSON config", '{"watermark_delay": "30s",', []),
        ("burst limit above 10^9", '{"alerts": {"customer_burst": {"orders": 1000000001}}}',
         ["alerts.customer_burst.orders", "1000000000"]),
        ("a number JSON cannot hold", '{"top_n": 1e999}', ["config"]),
        ("a duration that would overflow", '{"watermark_delay": "1000000000000d"}', ["watermark_delay"]),
        ("a NUL byte hiding the rest", '{"top_n": 5}\0{"frobnicate": 1', ["NUL"]),
        # Specs whose state would grow without bound are refused, not left to exhaust memory.
        ("a slide that puts each record in 60000 windows", '{"windows": [{"size": "10m", "slide": "10ms"}]}',
         ["windows[0]", "10m/10ms", "60000"]),
        ("sizes whose common divisor makes 1 ms panes", '{"windows": [{"size": "10m", "slide": "1m"}, {"size": "60001ms"}]}',
         ["1ms", "600000"]),
    ]
    for i, (what, text, mention) in enumerate(cases):
        cfg = d / f"config{i}.json"
        cfg.write_text(text)
        mention = [str(cfg) if m == "config" else m for m in mention]
        out = ctx.dir("out")
        expect_exit(chk, ctx, ["--input", inp, "--output-dir", out, "--config", cfg], 2, what, must_mention=mention)
    expect_exit(chk, ctx, ["--input", inp, "--output-dir", ctx.dir("out"), "--config", d], 2, "a directory as the config",
                must_mention=[str(d), "directory"])
    # and a valid config file is accepted
    cfg = d / "valid.json"
    cfg.write_text(json.dumps({"watermark_delay": "30s", "dedup_horizon": "10m",
                               "windows": [{"size": "1m", "slide": "1m"}, {"size": "10m", "slide": "1m"}],
                               "max_line_bytes": 1048576, "max_batch_size": 65536, "top_n": 10}))
    proc = oplib.run(oplib.batch_cmd(ctx, [inp], ctx.dir("out"), config=cfg), timeout=60)
    chk.expect(proc.returncode == 0, f"the spec's example config is rejected: {oplib.describe(proc)}")
    # and so are specs at the bounds: a day sliding by 10 s (8640 windows a record), 1 s panes.
    cfg = d / "bounds.json"
    cfg.write_text(json.dumps({"windows": [{"size": "1d", "slide": "10s"}, {"size": "1m", "slide": "1s"}]}))
    proc = oplib.run(oplib.batch_cmd(ctx, [inp], ctx.dir("out"), config=cfg), timeout=120)
    chk.expect(proc.returncode == 0, f"a config at the window bounds is rejected: {oplib.describe(proc)}")
    chk.done()


def test_usage_errors(ctx):
    chk = Check()
    inp = good_input(ctx)
    expect_exit(chk, ctx, ["--input", inp, "--output-dir", ctx.dir("out"), "--frobnicate"], 2, "unknown flag",
                must_mention=["--frobnicate"])
    expect_exit(chk, ctx, ["--input", inp], 2, "missing --output-dir")
    expect_exit(chk, ctx, ["--input", inp, "--output-dir", ctx.dir("out"), "--format", "xml"], 2, "bad --format")
    expect_exit(chk, ctx, ["--input", inp, "--output-dir", ctx.dir("out"), "--batch-size", "lots"], 2,
                "non-numeric --batch-size")
    expect_exit(chk, ctx, ["--input", inp, "--output-dir", ctx.dir("out"), "--threads", "3"], 2, "--threads out of range",
                must_mention=["--threads"])
    # An empty path is nearly always an unset shell variable: refused, not read as "no config".
    for flag in ("--config", "--catalog", "--output-dir"):
        args = ["--input", inp, "--output-dir", ctx.dir("out"), flag, ""]
        expect_exit(chk, ctx, args, 2, f"an empty {flag}", must_mention=[flag, "empty"])
    expect_exit(chk, ctx, ["--input", "", "--output-dir", ctx.dir("out")], 2, "an empty --input", must_mention=["--input"])
    missing = ctx.tmp / "no-such-dir" / "missing-input.ndjson"
    expect_exit(chk, ctx, ["--input", missing, "--output-dir", ctx.dir("out")], 1, "missing input file",
                one_line=False, must_mention=[str(missing)])
    a_file = ctx.dir("file") / "not-a-dir"
    a_file.write_text("x")
    expect_exit(chk, ctx, ["--input", inp, "--output-dir", a_file], 1, "--output-dir is a regular file",
                one_line=False)
    expect_exit(chk, ctx, ["--input", inp, "--output-dir", ctx.dir("out"), "--catalog", ctx.dir("catdir")], 1,
                "a directory as the catalog", must_mention=["catalog"])
    # A read failure mid-run (/proc/self/mem opens, but reading it at offset 0 fails) names the
    # input, and leaves no summary of an earlier run behind to pass the output off as complete.
    out = ctx.dir("out")
    require = oplib.run(oplib.batch_cmd(ctx, [inp], out), timeout=60)
    chk.expect(require.returncode == 0 and (out / "summary.json").exists(), f"a first good run: {oplib.describe(require)}")
    expect_exit(chk, ctx, ["--input", inp, "--input", "/proc/self/mem", "--output-dir", out], 1,
                "an input that fails to read", must_mention=["/proc/self/mem"])
    chk.expect(not (out / "summary.json").exists(), "a failed run left the earlier run's summary.json in place")
    # A catalog without stock figures fills categories but tracks no stock: no low_inventory
    # alert for a product it lists (it used to read as stock 0 and fire for every sale).
    cat = ctx.dir("cat") / "catalog.csv"
    cat.write_text("product_id,category\np1,toys\n")
    out = ctx.dir("out")
    proc = oplib.run(oplib.batch_cmd(ctx, [inp], out, catalog=cat), timeout=60)
    chk.expect(proc.returncode == 0, f"a catalog without stock: {oplib.describe(proc)}")
    chk.eq((out / "alerts.jsonl").read_text(), "", "alerts.jsonl with a catalog that gives no stock")
    chk.expect('"category":"toys"' in (out / "windows.jsonl").read_text(), "the catalog's category fills the record's")
    # help works and exits 0
    proc = oplib.run([ctx.orderpulse, "batch", "--help"], timeout=60)
    chk.expect(proc.returncode == 0 and b"--input" in proc.stdout + proc.stderr,
               f"`orderpulse batch --help`: {oplib.describe(proc)}")
    chk.done()


# ------------------------------------------------------------------------------------------
# crafted bad records
# ------------------------------------------------------------------------------------------

def jline(**fields):
    """A JSON object line; values given as raw JSON text via the J wrapper stay unquoted."""
    parts = []
    for k, v in fields.items():
        parts.append(json.dumps(k) + ":" + (v.text if isinstance(v, J) else json.dumps(v, ensure_ascii=False)))
    return ("{" + ",".join(parts) + "}").encode("utf-8")


class J:
    def __init__(self, text):
        self.text = text


def base(i, **over):
    f = {"order_id": f"bad{i}", "customer_id": f"cb{i}", "product_id": f"pb{i}", "unit_price": J("1.00"),
         "event_time": "2017-10-02T10:00:30Z"}
    f.update(over)
    return {k: v for k, v in f.items() if v is not DROP}


DROP = object()
X65 = "x" * 65


def crafted_ndjson():
    """[(line bytes, expected)], expected = 'accepted' with (product, second, qty, cents) or a
    set of acceptable drop reasons. Blank lines are (b'', None)."""
    def g(i, when, sec=None, qty=1, price="2.50", cents=None, explicit_qty=False, **kw):
        """A good record g<i> at `when`, expected in the 1-second window `sec` (default i)."""
        fields = {"order_id": f"g{i}", "customer_id": f"c{i % 3}", "product_id": f"pg{i}"}
        if qty != 1 or explicit_qty:
            fields["quantity"] = J(str(qty))
        fields.update(kw)
        fields["unit_price"] = J(price)
        fields["event_time"] = when
        if cents is None:
            cents = oplib.decimal_to_cents(oplib.Decimal(price))
        return jline(**fields), ("accepted", fields["product_id"], i if sec is None else sec, qty, cents)

    bad = lambda *reasons: set(reasons)  # noqa: E731
    big = b'{"order_id":"big","customer_id":"c","product_id":"' + b"p" * (2 * 1024 * 1024) + \
          b'","unit_price":1,"event_time":"2017-10-02T10:00:30Z"}'
    rows = [
        g(0, "2017-10-02T10:00:00Z"),
        (b"this is not json", bad("malformed_json")),
        g(1, "2017-10-02T12:00:01+02:00"),
        (b"\x00\x01\x02\xff\xfe\xfd binary \x80\x81\xc3\x28", bad("malformed_json")),
        (b"", None),
        g(2, "2017-10-02 10:00:02"),
        (big, bad("line_too_long")),
        g(3, "2017-10-02 10:00:03.250", qty=4, price="0.99"),
        (b"[1,2,3]", bad("malformed_json")),
        (b'"just a string"', bad("malformed_json")),
        (b'{"order_id":"t1","customer_id":"c1","product_id":', bad("malformed_json")),
        (b'{"order_id":"t2",,"customer_id":"c1"}', bad("malformed_json")),
        g(4, J(str(T0 + 4000))),
        (jline(**base(1, order_id=DROP)), bad("missing_field:order_id")),
        (jline(**base(2, customer_id=DROP)), bad("missing_field:customer_id")),
        (jline(**base(3, product_id=DROP)), bad("missing_field:product_id")),
        (jline(**base(4, unit_price=DROP)), bad("missing_field:unit_price")),
        (jline(**base(5, event_time=DROP)), bad("missing_field:event_time")),
        g(5, "2017-10-02T10:00:05.5Z", line=2, category="books"),
        (jline(**base(6, order_id=X65)), bad("bad_value:order_id")),
        (jline(**base(7, customer_id=X65)), bad("bad_value:customer_id")),
        (jline(**base(8, product_id=X65)), bad("bad_value:product_id")),
        (jline(**base(9, customer_id=J("42"))), bad("bad_value:customer_id")),
        (jline(**base(10, order_id="")), bad("bad_value:order_id", "missing_field:order_id")),
        (jline(**base(11, product_id=J("null"))), bad("missing_field:product_id", "bad_value:product_id")),
        (b"{}", bad("missing_field:order_id", "missing_field:customer_id", "missing_field:product_id",
                    "missing_field:unit_price", "missing_field:event_time")),
        g(6, "2017-10-02T05:00:06-05:00", qty=10000, price="0.01"),
        (jline(**base(12, line=J("0"))), bad("bad_value:line")),
        (jline(**base(13, line=J("-3"))), bad("bad_value:line")),
        (jline(**base(14, line=J("1.5"))), bad("bad_value:line")),
        (jline(**base(15, line="one")), bad("bad_value:line")),
        (jline(**base(16, category=J('{"a":1}'))), bad("bad_value:category")),
        (jline(**base(17, category=J("7"))), bad("bad_value:category")),
        g(7, "2017-10-02 10:00", sec=0, price="3"),
        (jline(**base(18, quantity=J("0"))), bad("bad_value:quantity")),
        (jline(**base(19, quantity=J("10001"))), bad("bad_value:quantity")),
        (jline(**base(20, quantity=J("-1"))), bad("bad_value:quantity")),
        (jline(**base(21, quantity=J("2.5"))), bad("bad_value:quantity")),
        (jline(**base(22, quantity="many")), bad("bad_value:quantity")),
        g(8, "2017-10-02T10:00:08.123+00:00", price="0"),
        (jline(**base(23, unit_price=J("-0.01"))), bad("bad_value:unit_price")),
        (jline(**base(24, unit_price=J("-5"))), bad("bad_value:unit_price")),
        (jline(**base(25, unit_price="abc")), bad("bad_value:unit_price")),
        (jline(**base(26, unit_price=J("true"))), bad("bad_value:unit_price")),
        g(9, "2017-10-02T15:30:09+05:30", order_id="o" * 64),
        (jline(**base(27, event_time="not a time")), bad("bad_timestamp")),
        (jline(**base(28, event_time="2017-02-30T10:00:00Z")), bad("bad_timestamp")),
        (jline(**base(29, event_time="2017-10-02T24:00:00Z")), bad("bad_timestamp")),
        (jline(**base(30, event_time="2017-13-01T10:00:00Z")), bad("bad_timestamp")),
        (jline(**base(31, event_time="2017-10-02T10:61:00Z")), bad("bad_timestamp")),
        (jline(**base(32, event_time="10/2/2017 10:56")), bad("bad_timestamp")),
        (jline(**base(33, event_time=J("true"))), bad("bad_timestamp")),
        (jline(**base(34, event_time=J('{"t":1}'))), bad("bad_timestamp")),
        (jline(**base(35, event_time="2017-10-02T10:00:00+25:00")), bad("bad_timestamp")),
        g(10, "2017-10-02T10:00:10Z", coupon="XYZ", nested=J('{"a":[1,2,{"b":null}]}')),
        g(11, "2017-10-02T10:00:11Z", product_id="pé-ünïcode", price="12.5"),
        (b"", None),
        g(12, "2017-10-02T10:00:12Z", line=1000, qty=2, explicit_qty=True, price="1e1", cents=1000),
        g(13, "2017-10-02T10:00:13Z", category="toys & games, \"deluxe\""),
        (b'  { "event_time" : "2017-10-02T10:00:15Z" , "unit_price" : 4.00 ,\t"product_id" : "pg15", '
         b'"customer_id" : "c0" , "order_id" : "g15" }  ', ("accepted", "pg15", 15, 1, 400)),
        # last line without a terminating newline (see below)
        g(14, "2017-10-02T10:00:14Z", qty=1, explicit_qty=True),
    ]
    # product ids of good records are unique: they identify the record in the windows
    return rows


def test_bad_records_ndjson(ctx):
    rows = crafted_ndjson()
    d = ctx.dir("bad")
    path = d / "crafted.ndjson"
    path.write_bytes(b"\n".join(r for r, _ in rows))  # no newline after the last record
    result = oplib.run_batch(ctx, [path], config=ONE_SECOND_WINDOWS)
    chk = Check()

    # Expected drops, derived from the table above.
    exp_drops = [(i, e) for i, (_, e) in enumerate(rows, 1) if isinstance(e, set)]
    got = result.dropped()
    got_by_line = {}
    for dd in got:
        chk.expect(dd["line"] not in got_by_line, f"dropped.jsonl: line {dd['line']} appears twice")
        got_by_line[dd["line"]] = dd
    chk.eq([dd["line"] for dd in got], sorted(got_by_line), "dropped.jsonl is in read (line) order")
    for line_no, reasons in exp_drops:
        dd = got_by_line.get(line_no)
        raw = rows[line_no - 1][0]
        if dd is None:
            chk.fail(f"line {line_no} ({raw[:80]!r}) should be dropped with {sorted(reasons)}, but is not in "
                     f"dropped.jsonl")
            continue
        chk.expect(dd["reason"] in reasons, f"line {line_no} ({raw[:80]!r}): expected reason "
                                            f"{' or '.join(sorted(reasons))}, got {dd['reason']!r}")
        chk.eq(dd["file"], str(path), f"line {line_no}: dropped.file")
        chk.eq(dd["source"], "file", f"line {line_no}: dropped.source")
        if len(raw) > 1024:
            chk.expect(len(dd["raw"]) > 0 and raw.decode().startswith(dd["raw"]),
                       f"line {line_no}: raw of the too-long line is not a prefix of it: {dd['raw'][:80]!r}")
        else:
            try:
                want = raw.decode("utf-8")
            except UnicodeDecodeError:
                chk.expect(" binary " in dd["raw"], f"line {line_no}: raw of binary line: {dd['raw']!r}")
            else:
                chk.eq(dd["raw"], want, f"line {line_no}: dropped.raw")
    extra = sorted(set(got_by_line) - {l for l, _ in exp_drops})
    for l in extra:
        chk.fail(f"line {l} ({rows[l - 1][0][:100]!r}) should be accepted, but was dropped as "
                 f"{got_by_line[l]['reason']!r}")

    # Good records: each product in the 1-second window of its expected second.
    goods = [e for _, e in rows if isinstance(e, tuple)]
    check_goods(chk, result, goods, "crafted NDJSON")

    # The reference model agrees with the hand-written expectations (self-check of the model)
    # and with the binary.
    model = Model(ONE_SECOND_WINDOWS)
    m = model.run(model.read(path))
    for r in m.records:
        e = rows[r.line - 1][1]
        ok = (r.reason is None) if isinstance(e, tuple) else (r.reason in e)
        chk.expect(ok, f"reference model self-check: line {r.line}: model says {r.reason or 'accepted'}, "
                       f"table says {e if isinstance(e, set) else 'accepted'}")
    s = result.summary()
    chk.eq(s["read"], len([1 for _, e in rows if e is not None]), "summary.read (blank lines are not records)")
    chk.eq(s["accepted"], len(goods), "summary.accepted")
    chk.eq(s["rejected"], len(exp_drops), "summary.rejected")
    chk.eq(s["read"], s["accepted"] + s["rejected"] + s["late"] + s["duplicate"], "summary read balance")
    chk.done()


def check_goods(chk, result, goods, label):
    windows = result.windows()
    by_start = {w["start"]: w for w in windows if w["window"] == "1s/1s"}
    chk.eq(len(windows), len(by_start), f"{label}: only 1s/1s windows, one per start")
    expected = {}
    for _, pid, sec, qty, cents in goods:
        expected.setdefault(sec, {})[pid] = (qty * cents, qty)
    for sec, prods in sorted(expected.items()):
        start = oplib.format_time(T0 + sec * 1000)
        w = by_start.get(start)
        if w is None:
            chk.fail(f"{label}: no window at {start}, expected products {sorted(prods)}")
            continue
        got = {pid: (rev, items) for pid, rev, items in w["top_products"]}
        chk.eq(got, prods, f"{label}: window {start} top_products {{product: (revenue cents, items)}}")
        chk.eq(w["lines"], len(prods), f"{label}: window {start} lines")
        chk.eq(w["revenue"], sum(r for r, _ in prods.values()), f"{label}: window {start} revenue")
    extra = sorted(set(by_start) - {oplib.format_time(T0 + s * 1000) for s in expected})
    chk.expect(not extra, f"{label}: unexpected windows at {extra}")
    return by_start


# ------------------------------------------------------------------------------------------
# CSV parsing
# ------------------------------------------------------------------------------------------

def test_csv_quoting_crlf_bom_column_order(ctx):
    header = "event_time,unit_price,note,product_id,customer_id,category,quantity,line,order_id"
    rows = [
        # line 2
        '2017-10-02T10:00:00Z,1.50,"hello, world",p1,c1,"toys, games",2,1,o1',
        # line 3
        '2017-10-02 10:00:01,2.25,,"p""quoted""",c2,"say ""hi""",1,1,o2',
        # lines 4-6: newlines inside quotes (CRLF in an ignored column, LF in the category)
        '2017-10-02T10:00:02Z,3.00,"line one\r\nline two","p,3",c3,"multi\nline",1,2,o3',
        # line 7: blank
        '',
        # line 8: quotes inside a bare field (balanced, so framing is unaffected)
        '2017-10-02T10:00:03Z,1.00,x,p"4"x,c4,toys,1,1,o4',
        # line 9: too few columns
        '2017-10-02T10:00:04Z,1.00,p5',
        # line 10: empty optional cells: category unknown, quantity 1, line 1
        '2017-10-02T10:00:05Z,4.00,,p6,c6,,,,o6',
        # line 11: epoch milliseconds
        f'{T0 + 6000},0.50,,p7,c7,books,3,1,o7',
        # line 12: empty required cell
        '2017-10-02T10:00:07Z,1.00,,p8,,books,1,1,o8',
        # line 13: every cell quoted
        '"2017-10-02T10:00:08Z","5.00","","p9","c9","","4","1","o9"',
        # line 14: text after a closing quote
        '2017-10-02T10:00:09Z,1.00,"a"b,p10,c10,toys,1,1,o10',
        # line 15: too many columns
        '2017-10-02T10:00:10Z,1.00,,p11,c11,toys,1,1,o11,extra',
        # line 16
        '2017-10-02T10:00:11Z,6.00,,p12,c12,toys,1,1,o12',
    ]
    data = b"\xef\xbb\xbf" + ("\r\n".join([header] + rows) + "\r\n").encode()
    d = ctx.dir("csv")
    path = d / "crafted.csv"
    path.write_bytes(data)
    result = oplib.run_batch(ctx, [path], config=ONE_SECOND_WINDOWS)
    chk = Check()
    goods = [  # (_, product, second, qty, unit cents)
        (None, "p1", 0, 2, 150), (None, 'p"quoted"', 1, 1, 225), (None, "p,3", 2, 1, 300),
        (None, "p6", 5, 1, 400), (None, "p7", 6, 3, 50), (None, "p9", 8, 4, 500), (None, "p12", 11, 1, 600),
    ]
    by_start = check_goods(chk, result, goods, "crafted CSV")
    cats = {}
    for w in by_start.values():
        for c, rev in w["categories"]:
            cats[c] = cats.get(c, 0) + rev
    chk.eq(cats, {"toys, games": 300, 'say "hi"': 225, "multi\nline": 300, "unknown": 400 + 2000,
                  "books": 150, "toys": 600}, "crafted CSV: revenue by category (cents)")
    w = by_start.get(oplib.format_time(T0 + 2000))
    if w:
        chk.eq(w["orders"], 0, "crafted CSV: o3 has line 2 so is not an order")
    got = [(dd["reason"], dd["line"]) for dd in result.dropped()]
    chk.eq([l for _, l in got], [8, 9, 12, 14, 15], "crafted CSV: dropped line numbers (header is line 1)")
    want = {8: {"malformed_csv"}, 9: {"malformed_csv"}, 12: {"missing_field:customer_id", "bad_value:customer_id"},
            14: {"malformed_csv"}, 15: {"malformed_csv"}}
    for reason, line in got:
        if line in want:
            chk.expect(reason in want[line], f"crafted CSV: line {line}: expected {sorted(want[line])}, got {reason}")
    for dd in result.dropped():
        if dd["line"] == 8:
            chk.eq(dd["raw"], rows[4], "crafted CSV: raw of line 8 (no CR, no BOM)")
    # --format csv on a file whose extension says nothing
    txt = d / "crafted.txt"
    txt.write_bytes(data)
    forced = oplib.run_batch(ctx, [txt], config=ONE_SECOND_WINDOWS, fmt="csv")
    chk.expect(forced.windows_bytes() == result.windows_bytes(), "--format csv on crafted.txt: windows differ from "
                                                                 "crafted.csv's")
    s = result.summary()
    chk.eq((s["read"], s["accepted"]), (12, 7), "crafted CSV: summary (read, accepted): header and blank line "
                                               "are not records")
    chk.done()


# ------------------------------------------------------------------------------------------
# Half-even rounding of prices
# ------------------------------------------------------------------------------------------

# price text -> cents, by half-even rounding worked out by hand
ROUNDING = [
    ("1.005", 100), ("1.015", 102), ("2.675", 268), ("2.665", 266), ("0.125", 12), ("0.135", 14),
    ("1.0051", 101), ("0.005", 0), ("0.015", 2), ("1234567.895", 123456790), ("1234567.885", 123456788),
    ("19.999", 2000), ("7", 700), ("0.1", 10), ("1.5e-2", 2), ("2.5e-3", 0), ("0.0250000001", 3),
]


def test_half_even_rounding(ctx):
    config = {"watermark_delay": "1h", "windows": [{"size": "1h", "slide": "1h"}], "top_n": 50}
    chk = Check()
    d = ctx.dir("round")
    nd = d / "prices.ndjson"
    cs = d / "prices.csv"
    nd_lines, cs_lines = [], ["order_id,customer_id,product_id,quantity,unit_price,event_time"]
    for i, (price, _) in enumerate(ROUNDING):
        nd_lines.append(f'{{"order_id":"r{i}","customer_id":"c","product_id":"price-{price}","quantity":3,'
                        f'"unit_price":{price},"event_time":"2017-10-02T10:00:{i:02d}Z"}}')
        cs_lines.append(f"r{i},c,price-{price},3,{price},2017-10-02T10:00:{i:02d}Z")
    nd.write_text("\n".join(nd_lines) + "\n")
    cs.write_text("\n".join(cs_lines) + "\n")
    expected = {f"price-{p}": (3 * c, 3) for p, c in ROUNDING}
    for path in (nd, cs):
        label = path.suffix[1:]
        result = oplib.run_batch(ctx, [path], config=config)
        ws = result.windows()
        if not chk.eq(len(ws), 1, f"{label}: number of 1h windows"):
            continue
        got = {pid: (rev, items) for pid, rev, items in ws[0]["top_products"]}
        for pid, want in expected.items():
            chk.eq(got.get(pid), want, f"{label}: {pid} x3: (revenue cents, items) - unit price rounded "
                                       f"half-even to cents, then multiplied")
        chk.eq(ws[0]["revenue"], sum(v for v, _ in expected.values()), f"{label}: window revenue (cents)")
        chk.eq(result.summary()["totals"]["revenue"], sum(v for v, _ in expected.values()),
               f"{label}: summary totals.revenue (cents)")
        chk.eq(result.dropped(), [], f"{label}: nothing dropped")
    # the model agrees with the hand-worked table
    for p, c in ROUNDING:
        chk.eq(oplib.decimal_to_cents(oplib.Decimal(p)), c, f"reference self-check: {p}")
    chk.done()


def test_empty_and_headless_inputs(ctx):
    """Inputs without records give empty outputs and exit 0; a CSV lacking a required column
    drops every row for it."""
    chk = Check()
    d = ctx.dir("empty")
    cases = {"empty.ndjson": b"", "blank-lines.ndjson": b"\n\n\r\n", "header-only.csv": b"order_id,customer_id,"
             b"product_id,unit_price,event_time\r\n", "empty.csv": b""}
    for name, data in cases.items():
        p = d / name
        p.write_bytes(data)
        r = oplib.run_batch(ctx, [p])
        chk.eq((r.windows_bytes(), r.dropped_bytes()), (b"", b""), f"{name}: windows.jsonl and dropped.jsonl")
        s = r.summary()
        chk.eq((s["read"], s["accepted"], s["windows_emitted"]), (0, 0, 0), f"{name}: summary read/accepted/windows")
    p = d / "no-event-time.csv"
    p.write_text("order_id,customer_id,product_id,unit_price\no1,c1,p1,1.00\no2,c1,p2,2.00\n")
    r = oplib.run_batch(ctx, [p])
    chk.eq([(x["reason"], x["line"]) for x in r.dropped()],
           [("missing_field:event_time", 2), ("missing_field:event_time", 3)], "CSV without an event_time column")
    chk.done()


def test_money_printing(ctx):
    """Money is printed with exactly two decimals everywhere (windows and summary)."""
    path = ctx.dir("money") / "money.ndjson"
    recs = [("p1", "1", "2017-10-02T10:00:00Z"), ("p2", "0.1", "2017-10-02T10:00:01Z")]
    path.write_text("".join(json.dumps({"order_id": f"o{i}", "customer_id": "c", "product_id": pid,
                                        "event_time": t})[:-1] + f',"unit_price":{price}}}\n'
                            for i, (pid, price, t) in enumerate(recs)))
    result = oplib.run_batch(ctx, [path], config={"windows": [{"size": "1m", "slide": "1m"}]})
    chk = Check()
    text = result.windows_bytes().decode()
    want = ('{"window":"1m/1m","start":"2017-10-02T10:00:00Z","end":"2017-10-02T10:01:00Z","lines":2,"items":2,'
            '"orders":2,"revenue":1.10,"active_customers":1,"top_products":[{"product_id":"p1","revenue":1.00,'
            '"items":1},{"product_id":"p2","revenue":0.10,"items":1}],"categories":[{"category":"unknown",'
            '"revenue":1.10}]}\n')
    chk.eq(text, want, "windows.jsonl, byte for byte (the spec's form)")
    s = result.summary(chk)  # reports totals.revenue not printed with two decimals
    chk.eq(s["totals"]["revenue"], 110, "summary totals.revenue (cents)")
    chk.done()


def test_max_line_bytes(ctx):
    """A record longer than max_line_bytes is dropped as line_too_long; the limit is in bytes."""
    limit = 200

    def line_of(n, i):
        head = json.dumps({"order_id": f"m{i}", "customer_id": "c", "product_id": f"pm{i}", "unit_price": 1,
                           "event_time": f"2017-10-02T10:00:{i:02d}Z", "pad": ""})
        pad = n - len(head.encode())
        assert pad >= 0
        return head[:-2] + "x" * pad + '"}'

    lengths = [limit - 1, limit + 1, limit, limit + 5000, limit - 50]
    path = ctx.dir("long") / "long.ndjson"
    lines = [line_of(n, i) for i, n in enumerate(lengths)]
    assert [len(l.encode()) for l in lines] == lengths
    path.write_text("\n".join(lines) + "\n")
    result = oplib.run_batch(ctx, [path], config={"max_line_bytes": limit, "windows": [{"size": "1s", "slide": "1s"}]})
    chk = Check()
    chk.eq([(d["reason"], d["line"]) for d in result.dropped()], [("line_too_long", 2), ("line_too_long", 4)],
           f"dropped (reason, line) with max_line_bytes {limit}, line lengths {lengths}")
    chk.eq(result.summary()["accepted"], 3, "summary.accepted")
    chk.done()


def test_too_long_ledger_text(ctx):
    """The ledger keeps a too-long record's first bytes, and only its own: a limit below the 256-byte
    prefix and a record whose end is read last (here: unterminated at the end of the file)."""
    limit = 64
    tail = "{" + "x" * 98 + "}"  # 100 bytes, no line end
    path = ctx.dir("ledger") / "tail.ndjson"
    path.write_text('{"order_id":"a"}\n' + tail)
    result = oplib.run_batch(ctx, [path], config={"max_line_bytes": limit})
    chk = Check()
    dropped = result.dropped()
    chk.eq([(d["reason"], d["line"]) for d in dropped], [("missing_field:customer_id", 1), ("line_too_long", 2)],
           "dropped (reason, line)")
    chk.eq(dropped[-1]["raw"] if dropped else None, tail, "the too-long record's ledger text")
    chk.done()


if __name__ == "__main__":
    oplib.run_cases(__doc__, [test_usage_errors, test_config_errors, test_bad_records_ndjson,
                              test_csv_quoting_crlf_bom_column_order, test_half_even_rounding, test_money_printing,
                              test_max_line_bytes, test_too_long_ledger_text, test_empty_and_headless_inputs])
