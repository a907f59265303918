#!/usr/bin/python3
"""End-to-end on real data: orderpulse-sim olist -> orderpulse batch on the Olist sample.

Everything expected here is computed in this file from the raw Olist CSVs with the csv module:
which item rows become events (with which fields, in which order), the total revenue in cents,
the number of orders, the per-minute line counts (hence the busiest minute), per-product and
per-category revenue. Skips (exit 77) only when the datasets directory is absent.
"""

import collections
import csv
import json
import os
import re
import sys
from pathlib import Path

import oplib
from oplib import Check


def candidate_dirs():
    """<repo>/../shared/datasets (CI: a fresh clone with shared/ beside it), then
    /work/shared/datasets; ORDERPULSE_DATASETS replaces both."""
    if os.environ.get("ORDERPULSE_DATASETS"):
        return [Path(os.environ["ORDERPULSE_DATASETS"])]
    return [oplib.REPO.parent / "shared" / "datasets", Path("/work/shared/datasets")]


def datasets_dir():
    for d in candidate_dirs():
        if (d / "olist").is_dir():
            return d
    return None


_US = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})(?: +(\d{1,2}):(\d{2})(?::(\d{2}))?)?$")


def olist_time(text):
    """Olist purchase timestamps: 'M/D/YYYY H:MM[:SS]' (this sample) or 'YYYY-MM-DD HH:MM:SS'
    (the original export); both taken as UTC. -> epoch ms or None."""
    m = _US.match(text)
    if m:
        mo, d, y = int(m.group(1)), int(m.group(2)), int(m.group(3))
        h, mi, s = int(m.group(4) or 0), int(m.group(5) or 0), int(m.group(6) or 0)
        return oplib.parse_time_text(f"{y:04d}-{mo:02d}-{d:02d} {h:02d}:{mi:02d}:{s:02d}")
    return oplib.parse_time_text(text)


def read_csv(path):
    """-> (header, [row dicts of stripped values for non-blank rows], number of blank rows)."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        header = [h.strip() for h in next(reader)]
        rows, blank = [], 0
        for row in reader:
            cells = [c.strip(" \t") for c in row]
            if all(c == "" for c in cells):
                blank += 1
                continue
            rows.append(dict(zip(header, cells)))
    return header, rows, blank


class Expected:
    """The events the Olist sample must turn into, from the raw CSVs."""

    def __init__(self, olist_dir, products_file):
        _, orders, _ = read_csv(olist_dir / "olist_orders_dataset.csv")
        _, items, self.item_blank_rows = read_csv(olist_dir / "olist_order_items_dataset.csv")
        _, products, _ = read_csv(products_file)
        self.item_rows = len(items)
        order_by_id = {}
        for o in orders:
            order_by_id.setdefault(o["order_id"], o)
        self.category = {}
        for p in products:
            if p["product_id"]:
                self.category.setdefault(p["product_id"], p["product_category_name"])
        events = []
        for it in items:
            o = order_by_id.get(it["order_id"])
            if o is None or not o["customer_id"]:
                continue
            t = olist_time(o["order_purchase_timestamp"])
            if t is None or not re.fullmatch(r"\d+", it["order_item_id"]) or int(it["order_item_id"]) < 1:
                continue
            price = oplib.parse_decimal_text(it["price"])
            if price is None or price < 0:
                continue
            events.append((it["order_id"], int(it["order_item_id"]), o["customer_id"], it["product_id"],
                           oplib.decimal_to_cents(price), t, self.category.get(it["product_id"]) or None))
        self.events = sorted(events, key=lambda e: e[5])  # stable: file order within one time

    def revenue(self):
        return sum(e[4] for e in self.events)

    def orders(self):
        return len({e[0] for e in self.events if e[1] == 1})

    def per_minute(self):
        return collections.Counter(e[5] // 60_000 for e in self.events)

    def per_product(self):
        c = collections.Counter()
        for e in self.events:
            c[e[3]] += e[4]
        return c

    def per_category(self):
        c = collections.Counter()
        for e in self.events:
            c[e[6] or "unknown"] += e[4]
        return c

    def minute_ranks_ok(self, product, top_n=10):
        """True when `product` is within the top_n of every minute it sells in (so that the 1m
        windows' top_products hold all of its revenue)."""
        by_min = collections.defaultdict(collections.Counter)
        for e in self.events:
            by_min[e[5] // 60_000][e[3]] += e[4]
        for prods in by_min.values():
            if product in prods:
                ranked = sorted(prods.items(), key=lambda kv: (-kv[1], kv[0]))
                if [p for p, _ in ranked[:top_n]].count(product) == 0:
                    return False
        return True


def find_report(proc, events_path):
    for line in reversed(proc.stdout.decode("utf-8", "replace").splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                pass
    p = Path(str(events_path) + ".report.json")
    if p.exists():
        return json.loads(p.read_text())
    return None


def test_olist_end_to_end(ctx):
    ds = datasets_dir()
    olist_dir = ds / "olist"
    products = ds / "olist-catalog" / "olist_products_dataset.csv"
    exp = Expected(olist_dir, products)
    chk = Check()
    assert len(exp.events) > 100, f"expected-event computation found only {len(exp.events)} events"
    keys = [(e[0], e[1]) for e in exp.events]
    assert len(set(keys)) == len(keys), "the sample has repeated (order_id, order_item_id): rework the test"

    d = ctx.dir("olist")
    events_path = d / "events.ndjson"
    catalog_out = d / "catalog.csv"
    proc = oplib.require_ok(oplib.run([ctx.sim, "olist", "--dir", olist_dir, "--out", events_path,
                                       "--products", products, "--catalog-out", catalog_out]))

    # 1. The events file: exactly the expected events, in stable event-time order.
    recs = oplib.read_input(events_path)
    bad = [r for r in recs if r.reason]
    chk.expect(not bad, f"olist events that do not validate: {[(r.line, r.reason) for r in bad[:5]]}")
    got = [(r.order_id, r.line_no, r.customer_id, r.product_id, r.cents, r.t, r.category or None)
           for r in recs if not r.reason]
    chk.eq(len(got), len(exp.events), "number of olist events")
    if got != exp.events:
        for i, (g, e) in enumerate(zip(got, exp.events)):
            if g != e:
                chk.fail(f"olist event #{i + 1}: expected (order, line, customer, product, cents, time, category) "
                         f"{e}, got {g}")
                break
        chk.eq(collections.Counter(got) == collections.Counter(exp.events), True,
               "olist events equal as a multiset (ignoring order)")
    chk.expect(all(r.quantity == 1 for r in recs if not r.reason), "olist events must have quantity 1")

    # 2. Conservation: every non-blank item row is an event or counted as skipped.
    report = find_report(proc, events_path)
    if chk.expect(isinstance(report, dict), f"orderpulse-sim olist printed no JSON report: {oplib.describe(proc)}"):
        items_skips = (report.get("skipped_by_file") or {}).get("items")
        if chk.expect(isinstance(items_skips, dict), f"report has no skipped_by_file.items: {report}"):
            skipped = sum(v for k, v in items_skips.items() if k != "blank_row")
            chk.eq(report.get("events"), len(exp.events), "report.events")
            chk.eq(len(exp.events) + skipped, exp.item_rows,
                   f"conservation: events + skipped item rows ({items_skips}) vs non-blank item rows")
            chk.eq(items_skips.get("blank_row", 0), exp.item_blank_rows, "report: blank item rows")

    # 3. The catalog written alongside.
    with open(catalog_out, newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    if rows:
        chk.eq(list(rows[0].keys())[:4], ["product_id", "category", "stock", "reorder_level"], "catalog-out header")
    cat_out = {r["product_id"]: r.get("category", "") for r in rows}
    missing = {e[3] for e in exp.events} - set(cat_out)
    chk.expect(not missing, f"catalog-out lacks {len(missing)} products of the events, e.g. {sorted(missing)[:3]}")
    wrong = [(p, cat_out[p], c) for p, c in exp.category.items() if p in cat_out and c and cat_out[p] != c]
    chk.expect(not wrong, f"catalog-out categories differ from the products file: {wrong[:3]}")

    # 4. Batch over the events.
    result = oplib.run_batch(ctx, [events_path])
    s = result.summary()
    n = len(exp.events)
    # Sorted by time -> nothing late; unique (order, line) -> nothing duplicate; all valid.
    chk.eq((s["read"], s["accepted"], s["rejected"], s["late"], s["duplicate"]), (n, n, 0, 0, 0),
           "summary (read, accepted, rejected, late, duplicate)")
    chk.eq(s["totals"]["revenue"], exp.revenue(), "summary.totals.revenue (cents)")
    chk.eq(s["totals"]["orders"], exp.orders(), "summary.totals.orders (distinct orders with an item line 1)")
    chk.eq(s["totals"]["lines"], n, "summary.totals.lines")
    customers = len({e[2] for e in exp.events})
    chk.expect(oplib.hll_ok(s["totals"]["active_customers"], customers),
               f"summary.totals.active_customers: exact {customers}, got {s['totals']['active_customers']}")
    windows = result.windows()
    one_min = [w for w in windows if w["window"] == "1m/1m"]
    chk.eq(sum(w["revenue"] for w in one_min), exp.revenue(), "sum of 1m/1m window revenue (cents)")
    chk.eq(sum(w["orders"] for w in one_min), exp.orders(), "sum of 1m/1m window orders")

    # Busiest minute, and every minute's line count.
    per_min = exp.per_minute()
    got_min = {oplib.parse_time_text(w["start"]) // 60_000: w["lines"] for w in one_min}
    chk.eq(got_min == dict(per_min), True, "1m/1m windows: lines per minute equal the raw data's")
    top_count = max(per_min.values())
    busiest = {m for m, c in per_min.items() if c == top_count}
    b = max(one_min, key=lambda w: w["lines"])
    chk.eq(b["lines"], top_count, "busiest 1m window: lines")
    chk.expect(oplib.parse_time_text(b["start"]) // 60_000 in busiest,
               f"busiest 1m window starts at {b['start']}, expected one of "
               f"{sorted(oplib.format_time(m * 60_000) for m in busiest)[:5]}")
    print(f"    {n} events, {len(one_min)} 1m windows, busiest minute {top_count} lines, "
          f"revenue {oplib.cents_text(exp.revenue())}, {exp.orders()} orders")

    # Top products over the whole data.
    per_product = exp.per_product()
    top = sorted(per_product.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
    sums = collections.Counter()
    for w in one_min:
        for pid, rev, _ in w["top_products"]:
            sums[pid] += rev
    checked = 0
    for pid, rev in top:
        if exp.minute_ranks_ok(pid):
            chk.eq(sums[pid], rev, f"product {pid}: revenue summed over 1m/1m windows' top_products (cents)")
            checked += 1
    chk.expect(checked >= 1, "no top product could be checked (all fall out of some minute's top 10)")
    ranked = sorted(sums.items(), key=lambda kv: (-kv[1], kv[0]))
    chk.eq(ranked[0] if ranked else None, top[0], "top product by revenue over the whole data (from 1m windows)")

    # Categories, filled from the products file.
    per_cat = exp.per_category()
    got_cat = collections.Counter()
    for w in one_min:
        for c, rev in w["categories"]:
            got_cat[c] += rev
    chk.eq(dict(got_cat), dict(per_cat), "revenue per category summed over 1m/1m windows (cents)")
    known = sum(v for k, v in per_cat.items() if k != "unknown")
    chk.expect(known > 0.9 * exp.revenue(), f"categories not filled: only {known}/{exp.revenue()} cents "
                                             f"have a known category")
    chk.done()


def test_olist_variants(ctx):
    """Small hand-made Olist files in the forms a user may have (quoted and bare fields, CRLF and
    LF, blank rows, both timestamp forms), with one row of each kind the converter cannot use:
    each is counted under its reason, and the rows after it are read normally. In particular a
    stray quote inside a bare field (an inch mark) spoils only its own row, a row that is not
    UTF-8 is refused rather than altered, and a price below zero is refused even when it rounds
    to 0.00."""
    chk = Check()
    d = ctx.dir("variants")
    (d / "olist_orders_dataset.csv").write_bytes(
        b"order_id,customer_id,order_status,order_purchase_timestamp\r\n"
        b'"o1","c1",delivered,10/2/2017 10:56\r\n'
        b"\r\n"
        b"o2,c2,delivered,2017-10-02 10:56:33\r\n"
        b",,,\r\n"
        b"o3,c3,delivered,\r\n"
        b"o\xff4,c4,delivered,2017-10-02 11:00:00\r\n")
    (d / "olist_order_items_dataset.csv").write_bytes(
        b"order_id,order_item_id,product_id,seller_id,price\n"
        b"o1,1,p1,s,10.50\n"
        b'"o1","2","p2",s,"-0.004"\n'
        b'o2,1,p1 12",s,5\n'
        b"o2,2,p2,s,6\n"
        b"o3,1,p1,s,1\n"
        b"o9,1,p1,s,1\n")
    (d / "olist_products_dataset.csv").write_bytes(
        b"product_id,product_category_name\n"
        b"p1,toys\n"
        b'p2,"garden, outdoor"\n')
    events_path = d / "events.ndjson"
    proc = oplib.require_ok(oplib.run([ctx.sim, "olist", "--dir", d, "--out", events_path]))
    report = find_report(proc, events_path)
    lines = [json.loads(l) for l in events_path.read_text().splitlines()]
    chk.eq(lines, [
        {"order_id": "o1", "line": 1, "customer_id": "c1", "product_id": "p1", "category": "toys", "quantity": 1,
         "unit_price": 10.5, "event_time": "2017-10-02T10:56:00Z"},
        {"order_id": "o2", "line": 2, "customer_id": "c2", "product_id": "p2", "category": "garden, outdoor",
         "quantity": 1, "unit_price": 6.0, "event_time": "2017-10-02T10:56:33Z"},
    ], "the two usable items, in event-time order, with exactly the event fields")
    if chk.expect(report is not None, f"no report found: {oplib.describe(proc)}"):
        by_file = report.get("skipped_by_file", {})
        chk.eq(by_file.get("orders"), {"blank_row": 2, "no_timestamp": 1, "bad_row": 1}, "orders skipped by reason")
        chk.eq(by_file.get("items"), {"bad_price": 1, "bad_row": 1, "no_timestamp": 1, "unknown_order": 1},
               "items skipped by reason (o3's item carries its order's reason)")
        chk.eq((report.get("events"), report.get("items_read")), (2, 6), "events, items read (events + skipped)")
    chk.done()


if __name__ == "__main__":
    if datasets_dir() is None:
        print(f"no Olist datasets (olist/) under any of {[str(d) for d in candidate_dirs()]}: "
              f"the hand-made variants only")
        oplib.run_cases(__doc__, [test_olist_variants])
    oplib.run_cases(__doc__, [test_olist_variants, test_olist_end_to_end])
