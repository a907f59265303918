#!/usr/bin/python3
"""End-to-end: orderpulse batch against an independent Python recomputation.

Generates fault-injected streams with orderpulse-sim, runs `orderpulse batch`, and recomputes
every window, every drop (reason, file, line, raw) and the summary with the reference model in
oplib.py (its own parsing, validation, watermark/late/duplicate rules and window aggregation).
Also: hand-made streams pinning the late/duplicate rules at their exact boundaries, ranking
ties, distinct-customer estimates, a randomized stream whose keys recur across the dedup
horizon, configs and batch sizes drawn at random, CSV edge cases read from a file and from a pipe
written a few bytes at a time, and the same file given twice.
"""

import json

import oplib
from oplib import Check, Model, parse_time_text

START = "2017-10-02T10:00:00Z"
FAULTS = dict(start_time=START, disorder="20s", late=0.01, duplicates=0.02, malformed=0.01)


def check_generated(chk, m, count, label):
    """The simulator's side of the contract, seen through the reference model (default config,
    whose watermark delay the simulator's late injection targets): --count records, fault
    fractions roughly as asked, duplicates that are exact copies of earlier lines."""
    chk.eq(len(m.records), count, f"{label}records written for --count {count}")
    n = len(m.records)
    for what, got, frac in (("late", m.counts["late"], FAULTS["late"]),
                            ("duplicate", m.counts["duplicate"], FAULTS["duplicates"]),
                            ("rejected (malformed)", m.rejected, FAULTS["malformed"])):
        chk.expect(0.8 * frac * n <= got <= 1.25 * frac * n,
                   f"{label}{what}: {got} of {n} records, asked for a fraction {frac}")
    earlier = set()
    not_copies = 0
    for r in m.records:
        if r.reason == "duplicate" and r.raw not in earlier:
            not_copies += 1
        earlier.add(r.raw)
    chk.eq(not_copies, 0, f"{label}duplicates that are not exact copies of an earlier line")


def recompute(ctx, path, config=None, label="", min_windows=100, generated=None):
    result = oplib.run_batch(ctx, [path], config=config)
    model = Model(config)
    m = model.run(model.read(path))
    chk = Check()
    if generated:
        check_generated(chk, m, generated, label)
    # Sanity of the generated stream itself, so that the comparison means something.
    chk.expect(len(m.records) > 0 and len(m.windows) >= min_windows,
               f"{label}generated stream too small: {len(m.records)} records, {len(m.windows)} windows")
    for reason in ("late", "duplicate"):
        chk.expect(m.counts.get(reason, 0) > 0, f"{label}model found no {reason} records in the generated stream")
    chk.expect(m.rejected > 0, f"{label}model found no rejected (malformed) records in the generated stream")
    oplib.compare_all(chk, result, m, label=label)
    print(f"    {label}{len(m.records)} records, {len(m.accepted)} accepted, {len(m.windows)} windows, "
          f"drops {dict(sorted(m.counts.items()))}")
    chk.done()


def test_ndjson_default_config(ctx):
    path = oplib.generate(ctx, "ndjson", 200_000, 11, "ndjson", rate=25, customers=20_000, products=2_000,
                          **FAULTS)
    recompute(ctx, path, label="ndjson: ", generated=200_000)


def test_csv_default_config(ctx):
    path = oplib.generate(ctx, "csv", 200_000, 12, "csv", rate=25, customers=20_000, products=2_000, **FAULTS)
    recompute(ctx, path, label="csv: ", generated=200_000)


def test_custom_config(ctx):
    # Low rate: 30s windows hold ~150 records, so active_customers must be exact there.
    path = oplib.generate(ctx, "custom", 100_000, 13, "ndjson", rate=5, customers=5_000, products=500, **FAULTS)
    config = {
        "watermark_delay": "10s",
        "dedup_horizon": "1m",
        "windows": [{"size": "30s", "slide": "10s"}, {"size": "5m", "slide": "5m"}],
        "top_n": 3,
    }
    recompute(ctx, path, config=config, label="custom config: ")


def test_rules_at_boundaries(ctx):
    """Hand-made stream: every expectation below follows from the rules in the specification
    (default config: watermark_delay 30s, dedup_horizon = 10m, windows 1m/1m and 10m/1m)."""
    t0 = parse_time_text(START)
    d = ctx.dir("rules")
    catalog = d / "catalog.csv"
    catalog.write_text("product_id,category,stock,reorder_level\np1,toys,10,2\np2,garden,5,1\n")

    def rec(order, t_ms, product="p1", line=None, qty=None, price="1.00", category=None, customer="c1"):
        o = {"order_id": order}
        if line is not None:
            o["line"] = line
        o["customer_id"] = customer
        o["product_id"] = product
        if category is not None:
            o["category"] = category
        if qty is not None:
            o["quantity"] = qty
        o["unit_price"] = "__PRICE__"
        o["event_time"] = oplib.format_time(t0 + t_ms)
        return json.dumps(o).replace('"__PRICE__"', price)

    s = 1000
    rows = [
        # (record, expected fate)
        (rec("o1", 0, qty=2, price="10.00"), "accepted"),                     # first record: no watermark
        (rec("o2", 60 * s, product="p2", price="5.25", customer="c2"), "accepted"),  # max 60s, wm 30s
        (rec("o3", 30 * s - 1), "late"),                                         # 29.999s < wm 30s
        (rec("o4", 30 * s, product="p9", price="0.10", customer="c3"), "accepted"),  # == wm: on time
        (rec("o1", 40 * s), "duplicate"),                     # o1/1 accepted at 0s >= wm - 10m
        (rec("o1", 45 * s, line=2, price="3.00", category="books"), "accepted"),  # other key (o1, 2)
        (rec("o5", 660 * s, line=3, price="7.00"), "accepted"),               # max 660s, wm 630s
        (rec("o1", 650 * s, price="2.00", customer="c4"), "accepted"),  # o1/1 at 0s < 630s - 10m = 30s
        (rec("o4", 655 * s, product="p9"), "duplicate"),     # o4/1 at 30s >= 30s (boundary)
        (rec("o1", 700 * s), "duplicate"),                   # o1/1 re-accepted at 650s is in horizon
        (rec("o6", 720 * s, qty=3, price="1.50", customer="c2"), "accepted"),  # 12:00 exactly: window start
    ]
    path = d / "rules.ndjson"
    path.write_text("".join(r + "\n" for r, _ in rows))

    model = Model(catalog=oplib.load_catalog(catalog))
    m = model.run(model.read(path))
    chk = Check()
    fates = [r.reason or "accepted" for r in m.records]
    chk.eq(fates, [f for _, f in rows], "reference model self-check: fates of the hand-made records")

    result = oplib.run_batch(ctx, [path], catalog=catalog)
    windows = oplib.compare_all(chk, result, m, label="rules: ")
    # A few values written out from first principles, independent of the model:
    by = {(w["window"], w["start"]): w for w in windows}
    w = by.get(("1m/1m", "2017-10-02T10:00:00Z"))
    if chk.expect(w is not None, "rules: 1m/1m window at 10:00 missing"):
        # o1 (2 x 10.00 toys), o4 (0.10, p9 not in catalog -> unknown), o1/2 (3.00 books)
        chk.eq((w["lines"], w["items"], w["orders"], w["revenue"]), (3, 4, 2, 2310), "rules: 1m/1m 10:00 counts")
        chk.eq(w["top_products"], [("p1", 2300, 3), ("p9", 10, 1)], "rules: 1m/1m 10:00 top_products")
        chk.eq(w["categories"], [("toys", 2000), ("books", 300), ("unknown", 10)], "rules: 1m/1m 10:00 categories")
        chk.eq(w["active_customers"], 2, "rules: 1m/1m 10:00 active_customers")
    w = by.get(("1m/1m", "2017-10-02T10:12:00Z"))
    if chk.expect(w is not None, "rules: 1m/1m window at 10:12 (record at exactly 10:12:00) missing"):
        chk.eq((w["lines"], w["items"], w["revenue"]), (1, 3, 450), "rules: 1m/1m 10:12 counts")
    chk.expect(("1m/1m", "2017-10-02T10:11:00Z") in by, "rules: 1m/1m window at 10:11 missing")
    chk.expect(("1m/1m", "2017-10-02T10:02:00Z") not in by, "rules: empty 1m window 10:02 emitted")
    w = by.get(("10m/1m", "2017-10-02T10:02:00Z"))
    if chk.expect(w is not None, "rules: 10m/1m window [10:02, 10:12) missing"):
        # holds 10:10:50 (o1 again, 2.00, c4) and 10:11:00 (o5 line 3, 7.00, c1); not 10:12:00
        chk.eq((w["lines"], w["orders"], w["revenue"], w["active_customers"]), (2, 1, 900, 2),
               "rules: 10m/1m [10:02,10:12) lines/orders/revenue/customers")
    chk.eq([(d["reason"], d["line"]) for d in result.dropped()],
           [(f, i) for i, (_, f) in enumerate(rows, 1) if f != "accepted"], "rules: dropped (reason, line)")
    chk.done()


def test_same_file_twice(ctx):
    """--input F --input F: one source, so the second copy is duplicate or late (or rejected)."""
    path = oplib.generate(ctx, "twice", 20_000, 14, "ndjson", rate=5, customers=2_000, products=300, **FAULTS)
    result = oplib.run_batch(ctx, [path, path])
    model = Model()
    m = model.run(model.read(path) + model.read(path))
    chk = Check()
    chk.eq(len(m.accepted), len(model.run(model.read(path)).accepted), "model: the second copy adds nothing")
    oplib.compare_all(chk, result, m, label="same file twice: ")
    chk.done()


def test_distinct_customers(ctx):
    """active_customers: exact for small counts, within 2.5% for large ones. Minute i holds
    COUNTS[i] records of COUNTS[i] distinct customers (plus repeats that must not count)."""
    counts = [1, 2, 50, 150, 199, 250, 400, 1_000, 5_000, 20_000, 100_000]
    t0 = parse_time_text(START)
    out = []
    for i, n in enumerate(counts):
        base_t = t0 + i * 60_000
        for k in range(n):
            out.append(f'{{"order_id":"o{i}-{k}","customer_id":"cust-{i}-{k}","product_id":"p","unit_price":1,'
                       f'"event_time":{base_t + (k * 59_000) // n}}}')
        for k in range(min(n, 500)):  # repeat customers: no new distinct ones
            out.append(f'{{"order_id":"r{i}-{k}","customer_id":"cust-{i}-{k}","product_id":"p","unit_price":1,'
                       f'"event_time":{base_t + 59_500}}}')
    path = ctx.dir("hll") / "customers.ndjson"
    path.write_text("\n".join(out) + "\n")
    config = {"watermark_delay": "2m", "windows": [{"size": "1m", "slide": "1m"}]}
    result = oplib.run_batch(ctx, [path], config=config)
    model = Model(config)
    m = model.run(model.read(path))
    chk = Check()
    chk.eq([w["customers"] for w in m.windows], counts, "model: distinct customers per minute")
    oplib.compare_all(chk, result, m, label="distinct customers: ")
    got = [w["active_customers"] for w in result.windows()]
    print(f"    exact {counts}\n    estimates {got}")
    chk.done()


def test_ranking_ties(ctx):
    """top_products: revenue desc, ties by product_id ascending (byte order), top_n of them;
    categories: all of them, revenue desc then name ascending."""
    ids = ["p2", "p10", "P9", "p1", "a", "b", "c", "d", "e", "f", "g", "h"]  # all tie at 5.00
    recs = [(pid, "5.00", 1, "cat-" + "zyxwvutsrqpo"[i]) for i, pid in enumerate(ids)]
    recs += [("big", "2.50", 4, "beta"), ("big2", "10.00", 1, "alpha"), ("zero", "0.00", 7, "gamma")]
    path = ctx.dir("ties") / "ties.ndjson"
    path.write_text("".join(
        f'{{"order_id":"o{i}","customer_id":"c","product_id":"{pid}","category":"{cat}","quantity":{q},'
        f'"unit_price":{price},"event_time":"2017-10-02T10:00:{i:02d}Z"}}\n'
        for i, (pid, price, q, cat) in enumerate(recs)))
    config = {"windows": [{"size": "1m", "slide": "1m"}]}
    result = oplib.run_batch(ctx, [path], config=config)
    model = Model(config)
    m = model.run(model.read(path))
    chk = Check()
    # written out by hand: 10.00 ties between big (4 x 2.50) and big2, then the 5.00 ties by id
    want_top = [("big", 1000, 4), ("big2", 1000, 1)] + [(p, 500, 1) for p in sorted(ids)[:8]]
    chk.eq(sorted(ids)[:3], ["P9", "a", "b"], "self-check: byte order puts upper case first")
    chk.eq(m.windows[0]["top_products"], want_top, "model self-check: top_products")
    want_cats = [("alpha", 1000), ("beta", 1000)] + sorted((c, 500) for *_, c in recs[:12]) + [("gamma", 0)]
    chk.eq(m.windows[0]["categories"], want_cats, "model self-check: categories")
    oplib.compare_all(chk, result, m, label="ties: ")
    chk.done()


def test_randomized_key_reuse(ctx):
    """The simulator's duplicates are exact copies (same event time), which never reach the dedup
    horizon. Here (order_id, line) keys from a small pool recur at random distances in time, with
    disorder around the watermark delay, so both boundaries are crossed many times."""
    import random
    rnd = random.Random(4242)
    t = parse_time_text(START)
    lines = []
    for i in range(30_000):
        t += rnd.choice((0, 50, 100, 200, 400, 1000))
        if rnd.random() < 0.002:
            t += rnd.randint(60_000, 300_000)  # a gap: windows stay empty
        et = t - rnd.randint(0, 14_000)  # up to 14s behind: late or not around a 10s delay
        o = {"order_id": f"o{rnd.randint(1, 400)}", "line": rnd.randint(1, 2), "customer_id": f"c{rnd.randint(1, 250)}",
             "product_id": f"p{rnd.randint(1, 40)}", "quantity": rnd.randint(1, 5),
             "event_time": oplib.format_time(et) if i % 3 else et}
        if i % 5 == 0:
            o["category"] = rnd.choice(["toys", "books", "garden"])
        price = f"{rnd.randint(0, 5000) / 100:.2f}"
        lines.append(json.dumps(o)[:-1] + f',"unit_price":{price}}}')
    path = ctx.dir("keys") / "keys.ndjson"
    path.write_text("\n".join(lines) + "\n")
    # the larger window first: at equal ends, config order (not size) decides the output order
    config = {"watermark_delay": "10s", "dedup_horizon": "2m",
              "windows": [{"size": "3m", "slide": "30s"}, {"size": "1m", "slide": "1m"}]}
    result = oplib.run_batch(ctx, [path], config=config)
    model = Model(config)
    m = model.run(model.read(path))
    chk = Check()
    # Re-accepted keys (an earlier accepted record with the key exists but is out of the horizon)
    seen, reaccepted = set(), 0
    for r in m.records:
        if r.reason is None:
            reaccepted += (r.order_id, r.line_no) in seen
            seen.add((r.order_id, r.line_no))
    chk.expect(m.counts["late"] > 1000 and m.counts["duplicate"] > 1000 and reaccepted > 1000,
               f"stream does not exercise the rules: {dict(m.counts)}, {reaccepted} keys accepted again")
    oplib.compare_all(chk, result, m, label="key reuse: ")
    print(f"    {len(m.records)} records, {len(m.windows)} windows, {dict(sorted(m.counts.items()))}, "
          f"{reaccepted} keys accepted again past the horizon")
    chk.done()


def test_product_beyond_four_billion_items(ctx):
    """A pane packs a product's items into 32 bits and moves sums that outgrow them to a side map.
    A product selling more than 2^32 - 1 items in one minute must still come out exact, in every
    window holding it, at batch sizes 1 and 65536."""
    n = 429_500  # 10,000 items each: 4,295,000,000 in minute 0
    t0 = parse_time_text(START)
    lines = [f'{{"order_id":"o{i}","customer_id":"c{i % 97}","product_id":"p","quantity":10000,'
             f'"unit_price":"0.07","event_time":{t0 + i * 60_000 // n}}}' for i in range(n)]
    lines += [f'{{"order_id":"x{i}","customer_id":"x","product_id":"p","quantity":{1 + i},"unit_price":"0.07",'
              f'"event_time":{t0 + 60_000 + i * 1000}}}' for i in range(5)]
    path = ctx.dir("giant") / "giant.ndjson"
    path.write_text("\n".join(lines) + "\n")
    model = Model(None)
    m = model.run(model.read(path))
    chk = Check()
    items = max(w["items"] for w in m.windows)
    chk.expect(items > 2**32, f"model self-check: a window past 2^32 items (largest {items})")
    for size in (1, 65536):
        result = oplib.run_batch(ctx, [path], out_dir=ctx.dir(f"out-{size}"), batch_size=size)
        oplib.compare_all(chk, result, m, label=f"batch size {size}: ")
    chk.done()


def test_adversarial_lines(ctx):
    """Lines a differential fuzzer found the two sides reading differently, each with the fate the
    specification gives it (README "Input format"): not-quite-JSON anywhere in a line is
    malformed; escaped keys name their fields; ids count characters; a price below zero is
    rejected even when it rounds to 0.00; the CR of a CRLF end does not count against
    max_line_bytes; times past the year 9999 keep all their digits; CSV text must be UTF-8; blank
    rows are not records; a restock reads only its product, quantity and time, is never a
    duplicate and sells nothing. Checked against the model as well, at batch sizes 1 and 4096."""
    tail = '"customer_id":"c","product_id":"p","unit_price":1,"event_time":"2017-10-02T10:00:00Z"}'
    e64 = "\u00e9" * 64
    ndjson = [  # (line bytes, fate)
        (b'{"order_id":"a1","pro\\u0064uct_id":"p7","customer_id":"c","unit_price":1,"event_time":"2017-10-02T10:00:00Z"}', "accepted"),
        (b'{"order_id":"a2","quantity":007,' + tail.encode(), "malformed_json"),
        (b'{"order_id":"a3","unit_price":01,"customer_id":"c","product_id":"p","event_time":1506938400000}', "malformed_json"),
        (b'{"order_id":"a4","x":[1,,2],' + tail.encode(), "malformed_json"),
        (b'{"order_id":"a5","x":"\\x",' + tail.encode(), "malformed_json"),
        (b'{"order_id":"a6","x":[1 2],' + tail.encode(), "malformed_json"),
        (b'{"order_id":{,},' + tail.encode(), "malformed_json"),
        (b'{"order_id":"a7","quantity":nul,' + tail.encode(), "malformed_json"),
        (b'{"order_id":"a8","x":{"y":[true,null,-1.5e3,"\\u00e9"]},' + tail.encode(), "accepted"),
        (b'{"order_id":"a9","customer_id":"c","product_id":"p","unit_price":-0.004,"event_time":"2017-10-02T10:00:00Z"}', "bad_value:unit_price"),
        (b'{"order_id":"a10","customer_id":"c","product_id":"p","unit_price":-0.00,"event_time":"2017-10-02T10:00:00Z"}', "accepted"),
        (('{"order_id":"' + e64 + '",' + tail).encode(), "accepted"),
        (('{"order_id":"' + e64 + 'x",' + tail).encode(), "bad_value:order_id"),
        (b'{"order_id":"a11","category":"' + b"k" * 100 + b'",' + tail.encode(), "accepted"),
        (b'{"order_id":"a12","customer_id":"c","product_id":"p","unit_price":1,"event_time":"2017-10-02T10:00:01,5Z"}', "accepted"),
        # Restocks: only product, quantity (up to 10^7) and time are read; never duplicates; no sales.
        (b'{"type":"restock","product_id":"p","quantity":20000,"event_time":"2017-10-02T10:00:02Z"}', "accepted"),
        (b'{"type":" restock\\t","product_id":"p","event_time":"2017-10-02T10:00:02Z","line":"x","unit_price":-5}', "accepted"),
        (b'{"type":"restock","product_id":"p","quantity":20000,"event_time":"2017-10-02T10:00:02Z"}', "accepted"),
        (b'{"type":"re\u0073tock","product_id":"p","quantity":10000000,"event_time":1506938402000}', "accepted"),
        (b'{"type":"restock","product_id":"p","quantity":10000001,"event_time":"2017-10-02T10:00:02Z"}', "bad_value:quantity"),
        (b'{"type":"restock","quantity":5,"event_time":"2017-10-02T10:00:02Z"}', "missing_field:product_id"),
        (b'{"type":"restock","product_id":"p","event_time":"yesterday"}', "bad_timestamp"),
        (b'{"type":"restock","product_id":"p","event_time":"2017-10-02T09:00:00Z"}', "late"),
        (b'{"type":"Restock","product_id":"p","quantity":5,"event_time":"2017-10-02T10:00:02Z"}', "missing_field:order_id"),
        (b'{"type":7,"order_id":"a14",' + tail.encode(), "accepted"),
    ]
    d = ctx.dir("adversarial")
    chk = Check()
    # max_line_bytes at the longest line above: a line of exactly that many bytes ends in CRLF
    limit = max(len(raw) for raw, _ in ndjson)
    at_limit = b'{"order_id":"a13",' + tail.encode()
    at_limit = at_limit[:-1] + b',"pad":"' + b"y" * (limit - len(at_limit) - 9) + b'"}'
    chk.eq(len(at_limit), limit, "self-check: a line of exactly max_line_bytes")
    over = at_limit[:-2] + b'y"}'
    data = b"".join(raw + b"\n" for raw, _ in ndjson) + at_limit + b"\r\n" + over + b"\r\n" + b"\r\r\n \t\n"
    fates = [f for _, f in ndjson] + ["accepted", "line_too_long"]
    path = d / "adversarial.ndjson"
    path.write_bytes(data)
    config = {"max_line_bytes": limit}
    model = Model(config)
    m = model.run(model.read(path))
    chk.eq([r.reason or "accepted" for r in m.records], fates, "model self-check: fates of the adversarial lines")
    for size in (1, 4096):
        result = oplib.run_batch(ctx, [path], out_dir=ctx.dir(f"nd-{size}"), config=config, batch_size=size)
        oplib.compare_all(chk, result, m, label=f"adversarial ndjson, batch size {size}: ")
        chk.eq([x["line"] for x in result.dropped()], [i for i, f in enumerate(fates, 1) if f != "accepted"],
               f"batch size {size}: dropped lines")
    # Epoch milliseconds past the year 9999, and a window that ends in the year 10000.
    far = d / "far.ndjson"
    far.write_text('{"order_id":"f1","customer_id":"c","product_id":"p","unit_price":1,"event_time":"9999-12-31T23:59:59Z"}\n'
                   '{"order_id":"f2","customer_id":"c","product_id":"p","unit_price":1,"event_time":999999999999999}\n')
    m = Model().run(Model().read(far))
    result = oplib.run_batch(ctx, [far])
    oplib.compare_all(chk, result, m, label="far future: ")
    ends = {w["end"] for w in map(json.loads, result.windows_path.read_text().splitlines())}
    chk.expect("10000-01-01T00:00:00Z" in ends and "33658-09-27T01:47:00Z" in ends, f"window ends past 9999: {sorted(ends)}")
    # Money past 64 bits: one record is at most 10^16 cents, and 923 of them pass 2^63 (two
    # customers, two products and two categories, across two minutes).
    huge = d / "huge.ndjson"
    huge.write_text("".join(
        f'{{"order_id":"h{i}","customer_id":"c{i % 2}","product_id":"p{i % 2}","category":"k{i % 2}",'
        f'"quantity":10000,"unit_price":"10000000000.00","event_time":"2017-10-02T10:0{i // 1200}:{i % 1200 // 20:02d}Z"}}\n'
        for i in range(2400)))
    m = Model().run(Model().read(huge))
    result = oplib.run_batch(ctx, [huge])
    oplib.compare_all(chk, result, m, label="money past 64 bits: ")
    chk.eq(result.summary()["totals"]["revenue"], 2400 * 10**16, "money past 64 bits: total revenue in cents")
    # CSV: UTF-8 only, blank rows, blanks around numbers and times.
    csv_path = d / "adversarial.csv"
    csv_path.write_bytes(b"order_id,customer_id,product_id,unit_price,event_time,quantity\r\n"
                         b"b1,c,p\xff,1,2017-10-02T10:00:00Z,1\r\n"
                         b",,,,,\r\n"
                         b'"","",""," ",,"\t"\r\n'  # quoted empty cells: blank too
                         b'"""",,,,,\r\n'  # a cell holding a quote: a record (missing fields)
                         b"b2,c,p\xc3\xa9, 1.50 , 2017-10-02T10:00:00Z , 2\r\n"
                         b"b3,c,p,1,2017-10-02T10:00:00Z,  \r\n"
                         b"b4,c,tv 55\" led,1,2017-10-02T10:00:00Z,1\r\n"  # a stray quote: this row only
                         b"b5,c,p,1,2017-10-02T10:00:00Z,1\r\n")
    m = Model().run(Model().read(csv_path))
    chk.eq([r.reason or "accepted" for r in m.records], ["malformed_csv", "missing_field:customer_id", "accepted", "accepted", "malformed_csv", "accepted"],
           "model self-check: CSV fates")
    result = oplib.run_batch(ctx, [csv_path])
    oplib.compare_all(chk, result, m, label="adversarial csv: ")
    chk.eq(result.summary().get("blank_lines"), 2, "the rows of empty cells, bare and quoted, are blank lines")
    # CSV restocks: a `type` column; the order columns of a restock row are not read.
    restock_csv = d / "restocks.csv"
    restock_csv.write_bytes(b"type,order_id,customer_id,product_id,unit_price,event_time,quantity\r\n"
                            b"restock,,,p,,2017-10-02T10:00:00Z,20000\r\n"
                            b'" restock ",x,c,p,-1,2017-10-02T10:00:01Z,\r\n'
                            b"restock,,,,,2017-10-02T10:00:01Z,5\r\n"
                            b"order,r1,c,p,2.50,2017-10-02T10:00:01Z,20000\r\n"
                            b",r2,c,p,2.50,2017-10-02T10:00:01Z,3\r\n")
    m = Model().run(Model().read(restock_csv))
    chk.eq([r.reason or "accepted" for r in m.records],
           ["accepted", "accepted", "missing_field:product_id", "bad_value:quantity", "accepted"], "model self-check: CSV restock fates")
    result = oplib.run_batch(ctx, [restock_csv])
    oplib.compare_all(chk, result, m, label="csv restocks: ")
    chk.done()


def test_catalog_cells_as_written(ctx):
    """Catalog ids and categories are taken as written, as in records, and a cell of blanks only is
    empty: a padded category keeps its blanks, a blank one leaves the product's records to their
    own category or `unknown`, and a padded id names another product than the bare one."""
    d = ctx.dir("catalog-cells")
    catalog = d / "catalog.csv"
    catalog.write_text("product_id,category,stock,reorder_level\r\n"
                       "p1, toys ,10,2\r\n"
                       "p2,  ,5,1\r\n"
                       " p3,books,5,1\r\n"
                       "p4,\"garden\",,\r\n")
    lines = []
    for i, (product, category) in enumerate((("p1", None), ("p2", None), ("p2", "tools"), ("p3", None),
                                             ("p4", None), ("p1", "toys"))):
        o = {"order_id": f"k{i}", "customer_id": "c", "product_id": product, "unit_price": 1 + i,
             "event_time": "2017-10-02T10:00:00Z"}
        if category:
            o["category"] = category
        lines.append(json.dumps(o))
    path = d / "records.ndjson"
    path.write_text("\n".join(lines) + "\n")
    chk = Check()
    model = Model(catalog=oplib.load_catalog(catalog))
    m = model.run(model.read(path))
    result = oplib.run_batch(ctx, [path], catalog=catalog)
    windows = oplib.compare_all(chk, result, m, label="catalog cells: ")
    # From the rule itself: p1 " toys " (1.00) and "toys" (6.00) are two categories; p2 unknown
    # (2.00) and its own "tools" (3.00); " p3" is not p3 (4.00, unknown); p4 "garden" (5.00).
    want = [("toys", 600), ("unknown", 600), ("garden", 500), ("tools", 300), (" toys ", 100)]
    for w in windows:
        chk.eq(w["categories"], want, f"catalog cells: {w['window']} categories")
    chk.done()


def random_csv(rnd, rows):
    """CSV with every RFC 4180 case at random places: quoted cells with commas, doubled quotes and
    newlines, stray quotes in bare cells, unterminated quotes, blanks, empty cells, trailing
    commas, blank rows, CRLF or LF, a BOM; values long enough to cross 16-byte boundaries."""
    cols = ["order_id", "line", "customer_id", "product_id", "category", "quantity", "unit_price", "event_time"]
    rnd.shuffle(cols)
    t = parse_time_text(START)
    out = [",".join(cols)]
    for _ in range(rows):
        t += rnd.choice((0, 100, 1000, 5000))
        vals = {"order_id": f"order-{rnd.randint(1, 400):05d}", "line": str(rnd.randint(1, 3)),
                "customer_id": f"customer-{rnd.randint(1, 50)}", "product_id": f"p{rnd.randint(1, 30)}",
                "category": rnd.choice(["toys", "home,garden", 'the "best" tools', "", "books and more books"]),
                "quantity": str(rnd.randint(1, 4)), "unit_price": f"{rnd.randint(0, 9999) / 100:.2f}",
                "event_time": oplib.format_time(t - rnd.randint(0, 20_000))}
        cells = []
        for c in cols:
            v, r = vals[c], rnd.random()
            if r < 0.04:
                v = '"' + v.replace('"', '""') + '"'
            elif r < 0.05:
                v = '"' + v + ',x""y\n z"'
            elif r < 0.055:
                v = v + '"'
            elif r < 0.058:
                v = '"' + v
            elif r < 0.07:
                v = " " + v + " "
            cells.append(v)
        row = ",".join(cells)
        if rnd.random() < 0.02:
            row += ","
        if rnd.random() < 0.01:
            row = ""
        out.append(row)
    eol = rnd.choice(("\r\n", "\n"))
    return (("\ufeff" if rnd.random() < 0.3 else "") + eol.join(out) + eol).encode()


def test_csv_edge_cases_file_and_pipe(ctx):
    """Random RFC 4180 edge cases (random_csv) against the model, read from a file and from a pipe
    written a few bytes at a time, so that records, quoted fields and CRLF ends span many short
    reads: the framing's state must carry across every one of them."""
    import random
    import subprocess
    chk = Check()
    for seed in range(4):
        rnd = random.Random(7200 + seed)
        data = random_csv(rnd, rnd.randint(1500, 3000))
        path = ctx.dir(f"csv-edge-{seed}") / "edge.csv"
        path.write_bytes(data)
        model = Model()
        m = model.run(model.read(path))
        chk.expect(len(m.accepted) > 100 and m.counts.get("malformed_csv", 0) > 10,
                   f"seed {seed}: model self-check: {len(m.accepted)} accepted, {dict(m.counts)}")
        result = oplib.run_batch(ctx, [path], batch_size=rnd.choice((1, 1000)))
        oplib.compare_all(chk, result, m, label=f"csv edge cases {seed}, file: ")
        out = ctx.dir(f"csv-edge-{seed}-pipe")
        proc = subprocess.Popen(oplib.batch_cmd(ctx, ["-"], out, fmt="csv"), stdin=subprocess.PIPE,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        i = 0
        while i < len(data):
            n = rnd.randint(1, 40)
            proc.stdin.write(data[i:i + n])
            proc.stdin.flush()
            i += n
        proc.stdin.close()
        err = proc.stderr.read()
        if chk.eq(proc.wait(timeout=oplib.DEFAULT_TIMEOUT), 0, f"seed {seed}: batch over a pipe exit ({err[-300:]!r})"):
            via_pipe = model.run(model.read(path, display_name="<stdin>"))
            oplib.compare_all(chk, oplib.BatchResult(proc, out), via_pipe, label=f"csv edge cases {seed}, pipe: ")
        print(f"    seed {seed}: {len(m.records)} records, {len(m.accepted)} accepted, {dict(sorted(m.counts.items()))}")
    chk.done()


def duration_text(ms):
    """A duration as the config and the window names write it: the largest unit that divides it."""
    for unit, n in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        if ms % n == 0:
            return f"{ms // n}{unit}"
    return f"{ms}ms"


def test_random_window_specs(ctx):
    """Configs drawn at random (fixed seeds): one to four window specs whose sizes and slides give
    panes from 1s to 2m, watermark delays from 0 to 2m, dedup horizons shorter and longer than the
    windows, any top_n, and batch sizes from 1 record up, over fault-injected streams of varied
    rates and key pools. Every window, drop and count against the model."""
    import random
    chk = Check()
    for seed in range(6):
        rnd = random.Random(7100 + seed)
        specs = []
        for _ in range(rnd.randint(1, 4)):
            slide = rnd.choice((1000, 5000, 10_000, 30_000, 60_000, 120_000))
            size = slide * rnd.randint(1, 12)
            spec = {"size": duration_text(size), "slide": duration_text(slide)}
            if spec not in specs:
                specs.append(spec)
        config = {"windows": specs, "watermark_delay": rnd.choice(("0s", "1s", "5s", "30s", "2m")),
                  "top_n": rnd.randint(1, 12)}
        if rnd.random() < 0.6:
            config["dedup_horizon"] = rnd.choice(("1s", "10s", "1m", "10m"))
        fmt = rnd.choice(("ndjson", "csv"))
        path = oplib.generate(ctx, f"random-{seed}", rnd.randint(10_000, 20_000), 7100 + seed, fmt,
                              start_time=START, disorder=rnd.choice(("0s", "2s", "20s", "2m")),
                              late=rnd.choice((0.01, 0.05)), duplicates=rnd.choice((0.02, 0.1)),
                              malformed=rnd.choice((0.01, 0.05)), customers=rnd.choice((10, 300, 5000)),
                              products=rnd.choice((3, 50, 1000)), rate=rnd.choice((10, 100, 1000)))
        batch_size = rnd.choice((1, 7, 1000, 65536))
        label = f"seed {7100 + seed} ({fmt}, {json.dumps(config)}, batch size {batch_size}): "
        model = Model(config)
        m = model.run(model.read(path))
        chk.expect(len(m.windows) > 0 and len(m.accepted) > 0, f"{label}model self-check: nothing accepted")
        result = oplib.run_batch(ctx, [path], out_dir=ctx.dir(f"random-{seed}-out"), config=config,
                                 batch_size=batch_size)
        oplib.compare_all(chk, result, m, label=label)
        print(f"    {label}{len(m.records)} records, {len(m.windows)} windows, {dict(sorted(m.counts.items()))}")
    chk.done()

if __name__ == "__main__":
    oplib.run_cases(__doc__, [test_rules_at_boundaries, test_ranking_ties, test_distinct_customers,
                              test_randomized_key_reuse, test_same_file_twice, test_product_beyond_four_billion_items,
                              test_adversarial_lines, test_catalog_cells_as_written, test_csv_edge_cases_file_and_pipe,
                              test_random_window_specs, test_ndjson_default_config, test_csv_default_config, test_custom_config])
