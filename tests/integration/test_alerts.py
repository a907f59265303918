#!/usr/bin/python3
"""End-to-end: alerts (docs/alerts.md).

  * one scenario file (steady orders with a sales burst, a drop, a whale customer, a product sold
    out and restocked) makes each data rule fire at its known event time, once, and resolve; a
    product and customers that stay within bounds never appear;
  * batch runs at micro-batch sizes 7 and 65536 and a streaming run (`serve --follow FILE
    --exit-at-eof`) write the same alerts.jsonl, byte for byte;
  * `serve --follow` killed with SIGKILL after an episode fired and restarted from its checkpoint
    repeats no alert: alerts.jsonl equals the batch run's;
  * the feed carries `alert` messages (with wall_time) and /metrics counts them by rule and severity;
  * the simulator's scenario flags (--burst, --drop, --whale, --sold-out, --restock) make each data
    rule fire at the time its summary names, once, with the default thresholds; the same stream
    without the flags fires none of them.
"""

import json
import random
import signal
import time
from decimal import Decimal
from pathlib import Path

import oplib
import servelib
from oplib import Check

T0 = oplib.parse_time_text("2024-06-01T10:00:00Z")
MIN = 60_000
CONFIG = {"alerts": {
    "order_pattern": {"trailing": "10m", "min_history": "10m", "z": 4, "z_resolve": 1, "min_orders": 5},
    "customer_window": "10m",
    "customer_burst": {"orders": 8},
    "high_value_customer": {"revenue": 2800, "severity": "critical"},
    "high_value_order": {"revenue": "2500.00"},
}}
CATALOG = "product_id,category,stock,reorder_level\nsoldout,toys,40,5\nplenty,toys,100000,5\n"


def iso(ms):
    return oplib.format_time(ms)


def scenario():
    """(lines, expectations). 30 minutes of about 20 orders a minute from many customers; minute
    12 is a burst (4x), minute 24 has no orders at all; a whale orders 10 times in minute 16 and once
    for 2600.00; 'soldout' sells out in minute 8 and is restocked in minute 20."""
    rng = random.Random(8)
    recs = []
    n = 0

    def order(t, customer, product="plenty", price="10.00", qty=1):
        nonlocal n
        n += 1
        recs.append((t, {"order_id": f"o{n}", "line": 1, "customer_id": customer, "product_id": product,
                         "quantity": qty, "unit_price": price, "event_time": iso(t)}))

    for m in range(30):
        count = 0 if m == 24 else (80 if m == 12 else 18 + rng.randrange(5))
        for k in range(count):
            order(T0 + m * MIN + rng.randrange(MIN), f"c{rng.randrange(5000)}")
    for k in range(7):  # 7 x 5 = 35 of 40: stock 5 reaches the reorder level at minute 8
        order(T0 + 8 * MIN + k * 1000, f"s{k}", "soldout", "3.00", 5)
    recs.append((T0 + 20 * MIN, {"type": "restock", "product_id": "soldout", "quantity": 100,
                                 "event_time": iso(T0 + 20 * MIN)}))
    for k in range(10):
        order(T0 + 16 * MIN + k * 2000, "whale", price="30.00")
    order(T0 + 16 * MIN + 30_000, "whale", price="2600.00")
    recs.sort(key=lambda r: r[0])
    # Bounded disorder (well inside the 30 s watermark delay), deterministic.
    lines = [json.dumps(r, separators=(",", ":")) for _, r in recs]
    for i in range(0, len(lines) - 3, 3):
        if rng.random() < 0.3:
            lines[i], lines[i + 2] = lines[i + 2], lines[i]
    expect = [  # (rule, state, subject, event_time)
        ("low_inventory", "firing", "product:soldout", T0 + 8 * MIN + 6000),
        ("low_inventory", "resolved", "product:soldout", T0 + 20 * MIN),
        ("order_spike", "firing", "metric:orders_per_minute", T0 + 12 * MIN),
        ("order_drop", "firing", "metric:orders_per_minute", T0 + 24 * MIN),
        ("customer_burst", "firing", "customer:whale", T0 + 16 * MIN + 16_000),
        ("customer_burst", "resolved", "customer:whale", T0 + 20 * MIN),
        ("high_value_order", "firing", "customer:whale", T0 + 16 * MIN + 30_000),
        ("high_value_customer", "firing", "customer:whale", T0 + 16 * MIN + 30_000),
    ]
    return "\n".join(lines) + "\n", expect


def write_inputs(ctx):
    d = ctx.dir("inputs")
    text, expect = scenario()
    (d / "orders.ndjson").write_text(text)
    (d / "catalog.csv").write_text(CATALOG)
    (d / "config.json").write_text(json.dumps(CONFIG))
    return d, expect


def read_alerts(path):
    return [json.loads(line) for line in Path(path).read_text().splitlines()]


def check_expected(chk, alerts, expect, what):
    for rule, state, subject, t in expect:
        hits = [a for a in alerts if a["rule"] == rule and a["state"] == state and a["subject"] == subject]
        if chk.expect(len(hits) == 1, f"{what}: expected one {rule} {state} for {subject}, got {len(hits)}"):
            chk.eq(hits[0]["event_time"], iso(t), f"{what}: event time of {rule} {state} {subject}")
    chk.expect(not [a for a in alerts if "plenty" in a["subject"] or a["subject"].startswith("customer:c")],
               f"{what}: alerts for subjects within bounds")
    chk.expect(all("wall_time" not in a for a in alerts), f"{what}: wall_time in alerts.jsonl")
    firing = {}
    for a in alerts:
        key = a["id"]
        firing[key] = firing.get(key, 0) + (a["state"] == "firing")
    chk.expect(all(v == 1 for v in firing.values()), f"{what}: an episode fired more than once")


def batch(ctx, d, batch_size):
    return oplib.run_batch(ctx, [d / "orders.ndjson"], config=d / "config.json", catalog=d / "catalog.csv",
                           batch_size=batch_size)


def test_batch_and_stream_agree(ctx):
    chk = Check()
    d, expect = write_inputs(ctx)
    ref = batch(ctx, d, 65536)
    ref_bytes = (ref.out_dir / "alerts.jsonl").read_bytes()
    check_expected(chk, read_alerts(ref.out_dir / "alerts.jsonl"), expect, "batch")
    small = batch(ctx, d, 7)
    chk.expect((small.out_dir / "alerts.jsonl").read_bytes() == ref_bytes, "batch size 7: alerts.jsonl differs from 65536: "
               + oplib.first_diff((small.out_dir / "alerts.jsonl").read_bytes(), ref_bytes))
    srv = servelib.Server(ctx, config=d / "config.json", catalog=d / "catalog.csv",
                          extra=["--follow", str(d / "orders.ndjson"), "--exit-at-eof"])
    with srv:
        srv.proc.wait(timeout=60)
    got = (srv.out_dir / "alerts.jsonl").read_bytes()
    chk.expect(got == ref_bytes, "serve --follow --exit-at-eof: alerts.jsonl differs from batch: " + oplib.first_diff(got, ref_bytes))
    chk.expect((srv.out_dir / "windows.jsonl").read_bytes() == ref.windows_bytes(), "serve: windows.jsonl differs from batch")
    chk.done()


def test_kill_and_restart_repeats_nothing(ctx):
    chk = Check()
    d, expect = write_inputs(ctx)
    ref_bytes = (batch(ctx, d, 65536).out_dir / "alerts.jsonl").read_bytes()
    w = ctx.dir("crash")
    follow = w / "orders.ndjson"
    lines = (d / "orders.ndjson").read_bytes().splitlines(keepends=True)
    # The first 22 minutes: the low-inventory episode and the whale's have fired.
    cut = next(i for i, line in enumerate(lines) if json.loads(line)["event_time"] >= iso(T0 + 22 * MIN))
    follow.write_bytes(b"".join(lines[:cut]))
    extra = ["--follow", str(follow), "--checkpoint-dir", str(w / "ckpt"), "--checkpoint-interval", "100ms"]
    srv = servelib.Server(ctx, workdir=w, config=d / "config.json", catalog=d / "catalog.csv", extra=extra)
    with srv:
        servelib.wait_until("the whale's alerts in alerts.jsonl",
                            lambda: b"customer_burst" in (srv.out_dir / "alerts.jsonl").read_bytes(), 30)
        time.sleep(0.5)  # a checkpoint after them
        srv.proc.send_signal(signal.SIGKILL)
        srv.proc.wait(timeout=10)
    with open(follow, "ab") as f:
        f.write(b"".join(lines[cut:]))
    srv2 = servelib.Server(ctx, workdir=w, config=d / "config.json", catalog=d / "catalog.csv", extra=extra + ["--exit-at-eof"])
    with srv2:
        srv2.proc.wait(timeout=60)
    chk.expect("restored checkpoint" in srv2.stderr_text(), "the restart did not restore a checkpoint")
    got = (srv2.out_dir / "alerts.jsonl").read_bytes()
    chk.expect(got == ref_bytes, "after kill -9 and restart: alerts.jsonl differs from batch: " + oplib.first_diff(got, ref_bytes))
    check_expected(chk, read_alerts(srv2.out_dir / "alerts.jsonl"), expect, "restarted")
    chk.done()


def test_feed_and_metrics(ctx):
    chk = Check()
    d, expect = write_inputs(ctx)
    srv = servelib.Server(ctx, config=d / "config.json", catalog=d / "catalog.csv", extra=["--follow", str(d / "orders.ndjson")])
    with srv:
        feed = servelib.FeedClient(f"ws://{srv.http[0]}:{srv.http[1]}/ws?channels=alert").start()
        servelib.wait_until("a low_inventory alert on the feed",
                            lambda: any(m[1] == "alert" and m[2].get("rule") == "low_inventory" for m in list(feed.messages)), 30)
        feed.stop()
        alerts = [m[2] for m in feed.messages if m[1] == "alert"]
        a = next(a for a in alerts if a["rule"] == "low_inventory")
        for key in ("id", "rule", "severity", "state", "subject", "event_time", "wall_time", "values", "message"):
            chk.expect(key in a, f"alert message without {key}: {a}")
        m = srv.metrics()
        chk.expect((m.get("orderpulse_alerts_total", rule="low_inventory", severity="warning") or 0) >= 1,
                   "orderpulse_alerts_total{rule=low_inventory} not counted")
        chk.expect(m.get("orderpulse_alerts_firing", rule="low_inventory", severity="warning") is not None,
                   "orderpulse_alerts_firing{rule=low_inventory} missing")
        snap = srv.snap_data()
        chk.expect(any(x.get("rule") == "low_inventory" for x in snap.get("alerts", [])), "snapshot without recent alerts")
    chk.done()


# The default thresholds of docs/alerts.md, which the scenario test runs with: the expected times
# are derived from them and from the generator's summary, not from the server's output.
DEFAULT_HIGH_VALUE_ORDER = 500_000
DEFAULT_HIGH_VALUE_CUSTOMER = 1_000_000
DEFAULT_BURST_ORDERS = 50
SCENARIO_FLAGS = ["--drop", "20m", "--whale", "33m", "--sold-out", "40m", "--burst", "55m", "--restock", "62m"]


def generate_scenario(ctx, name, flags):
    d = ctx.dir(name)
    # No disorder: it would move a few of a burst's records into the minute before it.
    cmd = [ctx.sim, "generate", "--count", "90000", "--rate", "20", "--customers", "100000", "--seed", "5", "--disorder", "0",
           "--start-time", "2024-01-01T00:00:00Z", "--out", d / "events.ndjson", "--catalog-out", d / "catalog.csv"] + flags
    proc = oplib.require_ok(oplib.run(cmd))
    summary = json.loads(proc.stderr.decode().strip().splitlines()[-1], parse_float=Decimal)
    return d, summary


def test_simulator_scenarios(ctx):
    chk = Check()
    d, summary = generate_scenario(ctx, "scenarios", SCENARIO_FLAGS)
    scen = {s["kind"]: s for s in summary.get("scenarios", [])}
    chk.eq(sorted(scen), ["burst", "drop", "restock", "sold_out", "whale"], "scenarios in the generator's summary")
    run = oplib.run_batch(ctx, [d / "events.ndjson"], catalog=d / "catalog.csv")
    alerts = read_alerts(run.out_dir / "alerts.jsonl")
    t = oplib.parse_time_text
    whale = scen["whale"]
    start, n, span = t(whale["event_time"]), whale["orders"], whale["span_ms"]
    first, other = oplib.decimal_to_cents(whale["first_order"]), oplib.decimal_to_cents(whale["other_orders"])

    def whale_time(k):  # the k-th order (1-based)
        return start + span * (k - 1) // n

    # The order whose revenue first reaches the threshold, and the first order above the burst limit.
    spent, k_value = 0, None
    for k in range(1, n + 1):
        spent += first if k == 1 else other
        if spent >= DEFAULT_HIGH_VALUE_CUSTOMER:
            k_value = k
            break
    chk.expect(first >= DEFAULT_HIGH_VALUE_ORDER and k_value is not None and n > DEFAULT_BURST_ORDERS,
               "the whale no longer crosses the default thresholds")
    subject = whale["subject"]
    expect = [
        ("order_drop", "firing", "metric:orders_per_minute", t(scen["drop"]["from"])),
        ("order_spike", "firing", "metric:orders_per_minute", t(scen["burst"]["from"])),
        ("revenue_spike", "firing", "metric:revenue_per_minute", t(scen["burst"]["from"])),
        ("high_value_order", "firing", subject, whale_time(1)),
        ("high_value_customer", "firing", subject, whale_time(k_value)),
        ("customer_burst", "firing", subject, whale_time(DEFAULT_BURST_ORDERS + 1)),
        ("low_inventory", "firing", scen["sold_out"]["subject"], t(scen["sold_out"]["event_time"])),
        ("low_inventory", "resolved", scen["restock"]["subject"], t(scen["restock"]["event_time"])),
    ]
    for rule, state, subj, when in expect:
        hits = [a for a in alerts if a["rule"] == rule and a["state"] == state and a["subject"] == subj]
        if chk.expect(len(hits) == 1, f"scenario: expected one {rule} {state} for {subj}, got {len(hits)}"):
            chk.eq(hits[0]["event_time"], iso(when), f"scenario: event time of {rule} {state} {subj}")
    # A spike is one minute long: it resolves with the next one.
    chk.expect(any(a["rule"] == "order_spike" and a["state"] == "resolved" and a["event_time"] == iso(t(scen["burst"]["to"]))
                   for a in alerts), "the burst's order_spike did not resolve the minute after")
    # The control: the same stream without the scenarios fires none of these.
    d2, summary2 = generate_scenario(ctx, "control", [])
    chk.expect("scenarios" not in summary2, "control run reports scenarios")
    control = read_alerts(oplib.run_batch(ctx, [d2 / "events.ndjson"], catalog=d2 / "catalog.csv").out_dir / "alerts.jsonl")
    fired = sorted({(a["rule"], a["subject"]) for a in control
                    if a["subject"] in (subject, scen["sold_out"]["subject"]) or a["subject"].startswith("metric:")
                    or a["rule"] in ("customer_burst", "high_value_customer", "high_value_order")})
    chk.eq(fired, [], "control run (no scenario flags): alerts of the scenario rules")
    chk.done()


def test_health_rules_on_a_live_server(ctx):
    """rejected_share and late_share fire from what a real socket client sends, once per episode,
    land in health_alerts.jsonl (not alerts.jsonl) and on the feed; a clean batch fires nothing."""
    chk = Check()
    now = int(time.time() * 1000)
    config = {"trigger_interval": "200ms", "alerts": {
        "watermark_lag": {"enabled": False},
        "rejected_share": {"max": 0.2, "min_records": 50}, "late_share": {"max": 0.2, "min_records": 50}}}
    with servelib.Server(ctx, config=config) as srv:
        feed = servelib.FeedClient(f"ws://{srv.http[0]}:{srv.http[1]}/ws?channels=alert").start()
        clean = b"".join(servelib.record(f"a{i}", now + i) for i in range(100))
        servelib.send_connection(srv.ingest, clean)
        servelib.wait_until("the clean records counted", lambda: srv.metrics().value("orderpulse_records_read_total") >= 100, 20)
        time.sleep(0.5)
        chk.eq([m[2] for m in feed.messages if m[1] == "alert"], [], "alerts after a clean batch")
        # 60 of 100 broken, then 60 of 100 late (older than the 30 s watermark delay); each its own
        # batch (a micro-batch holding both would still be 30% of each).
        bad = b"".join(servelib.record(f"b{i}", now + 1000 + i) if i % 5 > 2 else b"{broken\n" for i in range(100))
        servelib.send_connection(srv.ingest, bad)
        servelib.wait_until("the broken records counted", lambda: srv.metrics().value("orderpulse_records_read_total") >= 200, 20)
        late = b"".join(servelib.record(f"c{i}", now + 2000 + i) if i % 5 > 2 else servelib.record(f"l{i}", now - 120_000)
                        for i in range(100))
        servelib.send_connection(srv.ingest, late)
        servelib.wait_until("rejected_share and late_share on the feed", lambda: {m[2].get("rule") for m in list(feed.messages)
                            if m[1] == "alert" and m[2].get("state") == "firing"} >= {"rejected_share", "late_share"}, 20)
        feed.stop()
        # Read while the server runs (and the input is idle): written when they fire.
        health = read_alerts(srv.out_dir / "health_alerts.jsonl")
    for rule in ("rejected_share", "late_share"):
        fired = [a for a in health if a["rule"] == rule and a["state"] == "firing"]
        if chk.expect(len(fired) == 1, f"{rule}: expected one firing record in health_alerts.jsonl, got {len(fired)}"):
            chk.eq(float(fired[0]["values"]["max"]), 0.2, f"{rule}: the bound in its values")
            chk.expect(float(fired[0]["values"]["share"]) > 0.2 and "wall_time" in fired[0], f"{rule}: share/wall_time {fired[0]}")
    chk.eq(read_alerts(srv.out_dir / "alerts.jsonl") if (srv.out_dir / "alerts.jsonl").exists() else [], [],
           "health alerts in alerts.jsonl")
    chk.done()


def test_shipped_config_is_the_defaults(ctx):
    """config/orderpulse.json spells out every default (alert rules included): a run with it writes
    what a run without any config writes, on a stream where every data rule fires."""
    chk = Check()
    d, _ = generate_scenario(ctx, "shipped", SCENARIO_FLAGS)
    shipped = Path(__file__).resolve().parents[2] / "config" / "orderpulse.json"
    plain = oplib.run_batch(ctx, [d / "events.ndjson"], catalog=d / "catalog.csv")
    configured = oplib.run_batch(ctx, [d / "events.ndjson"], catalog=d / "catalog.csv", config=shipped)
    for name in ("windows.jsonl", "alerts.jsonl", "dropped.jsonl"):
        a, b = (plain.out_dir / name).read_bytes(), (configured.out_dir / name).read_bytes()
        chk.expect(a == b, f"{name} with config/orderpulse.json differs from the defaults: " + oplib.first_diff(b, a))
    chk.expect(len(read_alerts(plain.out_dir / "alerts.jsonl")) >= 8, "the scenario stream fired too few alerts to compare")
    chk.done()


def test_scenario_usage_errors_and_live_pacing(ctx):
    chk = Check()
    d = ctx.dir("usage")
    gen = [ctx.sim, "generate", "--count", "100", "--out", d / "x.ndjson"]
    for flags in (["--burst", "5m:1m:0.5"], ["--drop", "5m:1m:2"], ["--burst", "soon"], ["--burst", "1m:0s"],
                  ["--whale", "1m:2m"], ["--sold-out", "1m:p999999"], ["--sold-out", "1m:x12"],
                  ["--restock", "1m:p000001:3"], ["--restock", "1m", "--format", "csv"]):
        proc = oplib.run(gen + flags)
        err = proc.stderr.decode()
        chk.eq(proc.returncode, 2, f"generate {' '.join(flags)}: exit status (stderr {err!r})")
        chk.expect(err.count("\n") == 1 and err.startswith("orderpulse-sim: "), f"generate {' '.join(flags)}: one stderr line, got {err!r}")
    # Live: a burst makes the wall-clock pacing faster for its span too. 4 s at 200/s with a 1 s
    # burst of 5x: 200 x 3 + 1000 = 1600 records. (--start-time: the burst counts from the start,
    # not from the next whole minute.)
    with servelib.Server(ctx, workdir=ctx.dir("live")) as srv:
        proc = servelib.sim(ctx, ["generate", "--to", f"tcp://{srv.ingest[0]}:{srv.ingest[1]}", "--rate", "200",
                                  "--start-time", "2024-01-01T00:00:00Z", "--duration", "4s", "--burst", "1s:1s:5"],
                            timeout=60)
        sent = json.loads(proc.stderr.decode().strip().splitlines()[-1])["sent"]
        chk.eq(sent, 1600, "generate --to with --burst 1s:1s:5 at 200/s for 4s: records sent")
        servelib.wait_until("the server to read every record",
                            lambda: srv.metrics().value("orderpulse_records_read_total") >= sent, 10)
    chk.done()



def test_sums_beyond_eleven_billion_stay_exact(ctx):
    """A customer's sums are packed into 40 bits of cents (about $11 billion) and 20 bits of orders;
    past that they move to a side map. The alerts must carry them to the cent, at any batch size."""
    chk = Check()
    d = ctx.dir("titan")
    lines = [json.dumps({"order_id": f"t{k}", "line": 1, "customer_id": "titan", "product_id": "p", "quantity": 2,
                         "unit_price": "4000000000.00", "event_time": iso(T0 + k * 60_000)}) for k in range(3)]
    lines.append(json.dumps({"order_id": "z", "line": 1, "customer_id": "z", "product_id": "p",
                             "unit_price": "1.00", "event_time": iso(T0 + 15 * MIN)}))
    (d / "orders.ndjson").write_text("\n".join(lines) + "\n")
    (d / "config.json").write_text(json.dumps({"alerts": {
        "customer_window": "10m", "customer_burst": {"orders": 2}, "high_value_customer": {"revenue": "10000000000.00"},
        "high_value_order": {"enabled": False}, "order_pattern": {"enabled": False}}}))
    texts = {}
    for size in (1, 65536):
        out = oplib.run_batch(ctx, [d / "orders.ndjson"], out_dir=ctx.dir(f"out-{size}"), config=d / "config.json",
                              batch_size=size)
        texts[size] = (out.out_dir / "alerts.jsonl").read_text()
    chk.eq(texts[1], texts[65536], "alerts.jsonl at batch sizes 1 and 65536")
    value = [l for l in texts[1].splitlines() if '"high_value_customer"' in l and '"firing"' in l]
    burst = [l for l in texts[1].splitlines() if '"customer_burst"' in l and '"firing"' in l]
    # $8,000,000,000.00 after the first order (fits), $16,000,000,000.00 after the second (spilled).
    chk.expect(len(value) == 1 and '"values":{"revenue":16000000000.00,"threshold":10000000000.00}' in value[0],
               f"high-value firing with the exact sum: {value}")
    chk.expect(len(burst) == 1 and '"values":{"orders":3,"limit":2}' in burst[0] and iso(T0 + 2 * MIN) in burst[0],
               f"burst firing at the third order, counted from the spilled sums: {burst}")
    chk.done()

if __name__ == "__main__":
    servelib.run_cases(__doc__.splitlines()[0], [test_batch_and_stream_agree, test_kill_and_restart_repeats_nothing,
                                                 test_feed_and_metrics, test_simulator_scenarios, test_health_rules_on_a_live_server,
                                                 test_shipped_config_is_the_defaults,
                                                 test_scenario_usage_errors_and_live_pacing,
                                                 test_sums_beyond_eleven_billion_stay_exact])
