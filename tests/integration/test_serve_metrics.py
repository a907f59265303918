#!/usr/bin/python3
"""End-to-end: /metrics and the plain HTTP endpoints of `orderpulse serve`.

  * `promtool check metrics` (Debian's prometheus package) finds nothing at all in /metrics, on a
    fresh server and after a stream with every kind of drop;
  * every metric of docs/server.md is there with its type and labels; names start with
    orderpulse_, counters end in _total, no other labels (no ids);
  * after N known records sent over three connections (bad ones, duplicates and late ones among
    them), checked against the independent reference model: read == N, accepted and every drop
    reason as the model says, sum(dropped) + accepted == read, connections accepted, bytes,
    orders/items/revenue, watermark, batches and the batch-duration histogram, windows emitted,
    WebSocket clients;
  * /healthz 200 "ok", /readyz 200 "ready", / serves the dashboard without external assets,
    an unknown path is 404.
"""

import re
import signal
import socket
import time

import oplib
import servelib
from oplib import Check, parse_time_text

T0 = parse_time_text("2024-03-01T12:00:00Z")

# docs/server.md, "Metrics"
DOCUMENTED = {
    "orderpulse_records_read_total": ("counter", set()),
    "orderpulse_records_accepted_total": ("counter", set()),
    "orderpulse_records_dropped_total": ("counter", {"reason"}),
    "orderpulse_batches_total": ("counter", set()),
    "orderpulse_batch_duration_seconds": ("histogram", set()),
    "orderpulse_watermark_timestamp_seconds": ("gauge", set()),
    "orderpulse_watermark_lag_seconds": ("gauge", set()),
    "orderpulse_orders_total": ("counter", set()),
    "orderpulse_items_total": ("counter", set()),
    "orderpulse_revenue_total": ("counter", set()),
    "orderpulse_window_revenue": ("gauge", {"window"}),
    "orderpulse_window_active_customers": ("gauge", {"window"}),
    "orderpulse_windows_emitted_total": ("counter", set()),
    "orderpulse_websocket_clients": ("gauge", set()),
    "orderpulse_websocket_messages_sent_total": ("counter", set()),
    "orderpulse_websocket_slow_disconnects_total": ("counter", set()),
    "orderpulse_ingest_connections": ("gauge", set()),
    "orderpulse_ingest_connections_accepted_total": ("counter", set()),
    "orderpulse_ingest_bytes_total": ("counter", set()),
    "orderpulse_engine_busy_ratio": ("gauge", set()),
    "orderpulse_engine_queue_records": ("gauge", set()),
    "orderpulse_process_resident_memory_bytes": ("gauge", set()),
    "orderpulse_records_not_checkpointed": ("gauge", set()),
    "orderpulse_sources_idle": ("gauge", set()),
    "orderpulse_alerts_total": ("counter", {"rule", "severity"}),
    "orderpulse_alerts_firing": ("gauge", {"rule", "severity"}),
}
# every rejection reason of the README, plus late, duplicate and (sockets) truncated
KNOWN_REASONS = {"malformed_json", "malformed_csv", "line_too_long", "bad_timestamp", "late", "duplicate", "truncated"}
REASON_RE = re.compile(r"^(missing_field|bad_value):(order_id|line|customer_id|product_id|category|quantity|unit_price|"
                       r"event_time)$")


def promtool_clean(chk, srv, what):
    text = srv.metrics_text()
    code, out = servelib.promtool_check(text)
    chk.expect(code == 0 and out.strip() == "",
               f"`promtool check metrics` on /metrics ({what}): expected exit 0 and no output, got exit {code}: "
               f"{out.strip()[:1500]!r}")
    return text


def check_catalogue(chk, m, what):
    for name, (typ, labels) in DOCUMENTED.items():
        if not chk.expect(name in m.types, f"/metrics ({what}): {name} missing (no # TYPE line)"):
            continue
        chk.eq(m.types[name], typ, f"/metrics ({what}): # TYPE of {name}")
        sample_names = {name + s for s in ("_bucket", "_sum", "_count")} if typ == "histogram" else {name}
        series = [(n, dict(lab)) for (n, lab) in m.samples if n in sample_names]
        if not chk.expect(series, f"/metrics ({what}): {name} has no samples"):
            continue
        for n, lab in series:
            extra = set(lab) - labels - ({"le"} if n.endswith("_bucket") else set())
            chk.expect(not extra, f"/metrics ({what}): {n} has undocumented labels {sorted(extra)}")
            if "reason" in lab:
                r = lab["reason"]
                chk.expect(r in KNOWN_REASONS or REASON_RE.match(r), f"/metrics ({what}): unknown reason label {r!r}")
    for name, typ in m.types.items():
        chk.expect(name.startswith("orderpulse_"), f"/metrics ({what}): {name} does not start with orderpulse_")
        if typ == "counter":
            chk.expect(name.endswith("_total"), f"/metrics ({what}): counter {name} does not end in _total")
    for n, lab in m.samples:
        for k, _ in lab:
            chk.expect(k in ("reason", "window", "le", "source", "file", "partition", "rule", "severity"),
                       f"/metrics ({what}): sample {n} has label {k!r} (only reason/window/le/source/file/partition/rule/severity "
                       f"expected: no customer or product ids)")


def test_promtool_and_catalogue(ctx):
    chk = Check()
    inp = ctx.dir("gen") / "events.ndjson"
    servelib.sim(ctx, ["generate", "--count", 50000, "--seed", 3, "--late", "0.02", "--duplicates", "0.02",
                       "--malformed", "0.03", "--out", inp])
    n = servelib.count_records(inp)
    with servelib.Server(ctx) as srv:
        text = promtool_clean(chk, srv, "fresh server")
        check_catalogue(chk, servelib.parse_prometheus(text), "fresh server")
        with servelib.FeedClient(srv.ws_url()):
            servelib.replay(ctx, srv, inp, rate="max")
            srv.wait_read(n, timeout=60)
            time.sleep(0.3)
            text = promtool_clean(chk, srv, f"after {n} records")
        m = servelib.parse_prometheus(text)
        check_catalogue(chk, m, "after a stream")
        # Once records arrived, exactly one source holds the watermark: the socket here.
        chk.eq(m.series("orderpulse_watermark_holder"), {(("source", "socket"),): 1.0},
               "orderpulse_watermark_holder after a stream")
        status, headers, _ = srv.get("/metrics")
        chk.expect(headers.get("content-type", "").startswith("text/plain"),
                   f"/metrics Content-Type {headers.get('content-type')!r}")
        code, _ = srv.stop(signal.SIGTERM)
        chk.eq(code, 0, "exit status after SIGTERM")
    chk.done()


def known_connections():
    """Three connections' bytes, sent one after the other."""
    c1 = bytearray()
    for i in range(80):
        order = f"o{i % 60}"
        line = 1 if i < 60 else 2
        c1 += servelib.record(order, T0 + i * 1000, customer=f"c{i % 17}", product=f"p{i % 7}",
                              price=f"{(i % 9) + 1}.{i % 100:02d}", line=line, quantity=(i % 3) + 1)
    c1 += b"not json at all\n"
    c1 += b'{"order_id":"x1","customer_id":"c1"\n'
    c1 += b'{"order_id":"x2","product_id":"p1","unit_price":"1.00","event_time":"2024-03-01T12:00:00Z"}\n'
    c1 += b'{"order_id":"x3","customer_id":"c1","product_id":"p1","quantity":0,"unit_price":"1.00",' \
          b'"event_time":"2024-03-01T12:00:00Z"}\n'
    c1 += b'{"order_id":"x4","customer_id":"c1","product_id":"p1","unit_price":"-1",' \
          b'"event_time":"2024-03-01T12:00:00Z"}\n'
    c1 += b'{"order_id":"x5","customer_id":"c1","product_id":"p1","unit_price":"1.00","event_time":"yesterday"}\n'
    c2 = bytearray()
    for i in (52, 58, 61, 70, 79):  # duplicates of accepted records (same order, line, time), not late
        order, line = f"o{i % 60}", (1 if i < 60 else 2)
        c2 += servelib.record(order, T0 + i * 1000, customer="c-dup", product="p-dup", price="99.00", line=line)
    for i in range(3):  # late: ten minutes before the watermark
        c2 += servelib.record(f"late{i}", T0 - 600_000, price="5.00")
    for i in range(10):
        c2 += servelib.record(f"n{i}", T0 + 80_000 + i * 1000, customer=f"c{i}", product=f"p{i % 4}", price="2.50",
                              quantity=2)
    c3 = bytearray(b"\n   \n")  # blank lines are not records
    c3 += b"[1,2,3]\n"
    c3 += b"\x00\xff\xfe binary \xc3\x28\n"
    for i in range(5):
        c3 += servelib.record(f"m{i}", T0 + 95_000 + i * 100, customer="c99", product="p99", price="0.10")
    return [bytes(c1), bytes(c2), bytes(c3)]


def test_known_records(ctx):
    chk = Check()
    conns = known_connections()
    data = b"".join(conns)
    model = servelib.model_of(data)
    n = len(model.records)
    with servelib.Server(ctx) as srv:
        with servelib.FeedClient(srv.ws_url()) as feed:
            servelib.wait_until("orderpulse_websocket_clients == 1",
                                lambda: srv.metrics().get("orderpulse_websocket_clients") == 1, 10)
            sent = 0
            for i, c in enumerate(conns):
                servelib.send_connection(srv.ingest, c)
                sent += len(servelib.model_of(c).records)
                srv.wait_read(sent, timeout=20, what=f"counters.read == {sent} after connection {i + 1}")
            time.sleep(0.3)
            m = srv.metrics()
            text = srv.metrics_text()
            snap = srv.snap_data()
        code, out = servelib.promtool_check(text)
        chk.expect(code == 0 and out.strip() == "", f"`promtool check metrics` after the known records: exit {code}: "
                                                   f"{out.strip()[:1000]!r}")
        servelib.wait_until("orderpulse_websocket_clients == 0 after the client left",
                            lambda: srv.metrics().get("orderpulse_websocket_clients") == 0, 10)
        rss = servelib.rss_bytes(srv.proc.pid)
        code, _ = srv.stop(signal.SIGTERM)
        chk.eq(code, 0, "exit status after SIGTERM")

    read = m.value("orderpulse_records_read_total")
    accepted = m.value("orderpulse_records_accepted_total")
    dropped = {dict(lab)["reason"]: v for lab, v in m.series("orderpulse_records_dropped_total").items()}
    chk.eq(read, n, "orderpulse_records_read_total (records sent)")
    chk.eq(accepted + sum(dropped.values()), read,
           "sum(orderpulse_records_dropped_total) + orderpulse_records_accepted_total vs read")
    chk.eq(accepted, len(model.accepted), "orderpulse_records_accepted_total (model)")
    chk.eq({k: int(v) for k, v in dropped.items() if v}, dict(model.counts),
           "orderpulse_records_dropped_total by reason (model)")
    chk.eq(m.value("orderpulse_ingest_connections_accepted_total"), len(conns),
           "orderpulse_ingest_connections_accepted_total")
    chk.eq(m.value("orderpulse_ingest_connections"), 0, "orderpulse_ingest_connections (all closed)")
    chk.eq(m.value("orderpulse_ingest_bytes_total"), len(data), "orderpulse_ingest_bytes_total (bytes sent)")
    chk.eq(m.value("orderpulse_orders_total"), model.totals.orders, "orderpulse_orders_total")
    chk.eq(m.value("orderpulse_items_total"), model.totals.items, "orderpulse_items_total")
    chk.expect(abs(m.value("orderpulse_revenue_total") - model.totals.revenue / 100) < 0.005,
               f"orderpulse_revenue_total: expected {oplib.cents_text(model.totals.revenue)}, "
               f"got {m.value('orderpulse_revenue_total')}")
    max_t = max(r.t for r in model.accepted)
    chk.eq(m.value("orderpulse_watermark_timestamp_seconds"), (max_t - 30_000) / 1000,
           "orderpulse_watermark_timestamp_seconds (max accepted event time - 30s)")
    chk.eq(servelib.parse_iso(snap["watermark"]), max_t - 30_000, "/api/snapshot watermark")
    lag = m.value("orderpulse_watermark_lag_seconds")
    expect_lag = time.time() - (max_t - 30_000) / 1000
    chk.expect(abs(lag - expect_lag) < 30, f"orderpulse_watermark_lag_seconds {lag} vs wall clock - watermark "
                                           f"~{expect_lag:.0f}")
    batches = m.value("orderpulse_batches_total")
    chk.eq(batches, snap["batches"], "orderpulse_batches_total vs /api/snapshot batches")
    chk.expect(batches >= len(conns), f"orderpulse_batches_total {batches} < {len(conns)} (three separate sends)")
    chk.eq(m.value("orderpulse_batch_duration_seconds_count"), batches,
           "orderpulse_batch_duration_seconds_count vs orderpulse_batches_total")
    buckets = sorted((float(dict(lab)["le"]), v)
                     for lab, v in m.series("orderpulse_batch_duration_seconds_bucket").items())
    chk.expect(all(a[1] <= b[1] for a, b in zip(buckets, buckets[1:])), f"histogram buckets not cumulative: {buckets}")
    chk.expect(buckets and buckets[-1][0] == float("inf") and buckets[-1][1] == batches,
               f"histogram +Inf bucket should equal the count {batches}: {buckets[-3:]}")
    wins = servelib.windows_lines(srv.windows_path)
    chk.eq(m.value("orderpulse_windows_emitted_total"), len(wins), "orderpulse_windows_emitted_total vs windows.jsonl")
    chk.expect(m.value("orderpulse_websocket_messages_sent_total") >= len(feed.snapshot_list()),
               f"orderpulse_websocket_messages_sent_total {m.value('orderpulse_websocket_messages_sent_total')} < "
               f"{len(feed.snapshot_list())} messages the client received")
    chk.eq(m.value("orderpulse_websocket_slow_disconnects_total"), 0, "orderpulse_websocket_slow_disconnects_total")
    mem = m.value("orderpulse_process_resident_memory_bytes")
    chk.expect(rss and 0.5 * rss <= mem <= 2 * rss,
               f"orderpulse_process_resident_memory_bytes {mem} vs /proc RSS {rss}")
    busy = m.value("orderpulse_engine_busy_ratio")
    chk.expect(0 <= busy <= 1, f"orderpulse_engine_busy_ratio {busy} outside [0, 1]")
    chk.eq(m.value("orderpulse_engine_queue_records"), 0, "orderpulse_engine_queue_records once all is processed")
    for spec in ("1m/1m", "10m/1m"):
        chk.expect(m.get("orderpulse_window_revenue", window=spec) is not None,
                   f"orderpulse_window_revenue{{window=\"{spec}\"}} missing")
    # the newest final 1m window's revenue
    last_1m = [oplib.parse_window_line(w) for w in wins if '"window":"1m/1m"' in w]
    if last_1m:
        got_rev = m.value("orderpulse_window_revenue", window="1m/1m")
        chk.expect(abs(got_rev - last_1m[-1]["revenue"] / 100) < 0.005,
                   f"orderpulse_window_revenue{{window=\"1m/1m\"}} {got_rev} "
                   f"vs the newest final 1m window's revenue {oplib.cents_text(last_1m[-1]['revenue'])}")
    # summary.json agrees
    s = srv.summary(chk)
    chk.eq(s["read"], n, "summary.json read")
    chk.eq(s["accepted"], len(model.accepted), "summary.json accepted")
    chk.eq(s["blank_lines"] if "blank_lines" in s else None, 2, "summary.json blank_lines (two blank lines sent)")
    chk.done()


def test_http_endpoints(ctx):
    chk = Check()
    with servelib.Server(ctx) as srv:
        for path, status, body in (("/healthz", 200, b"ok"), ("/readyz", 200, b"ready")):
            st, _, b = srv.get(path)
            chk.eq(st, status, f"GET {path} status")
            chk.eq(b.strip(), body, f"GET {path} body")
        for path in ("/nope", "/api/snapshots", "/metrics/x", "/index.php", "/api/snapshot/../../etc/passwd"):
            st, _, b = srv.get(path)
            chk.eq(st, 404, f"GET {path} status")
        st, h, b = srv.get("/")
        chk.eq(st, 200, "GET / status")
        chk.expect(h.get("content-type", "").startswith("text/html"), f"GET / Content-Type {h.get('content-type')!r}")
        html = b.decode("utf-8", "replace")
        chk.expect("orderpulse" in html.lower(), "GET /: the page does not mention orderpulse")
        ext = re.findall(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//[^"'\s>]+""", html)
        chk.expect(not ext, f"GET /: external assets referenced: {ext[:5]}")
        # a raw HTTP/1.0 request without Host still gets an answer and the connection closes
        with socket.create_connection(srv.http, timeout=10) as s:
            s.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
            resp = b""
            end = time.monotonic() + 10
            while time.monotonic() < end:
                chunk = s.recv(4096)
                if not chunk:
                    break
                resp += chunk
            chk.expect(resp.startswith(b"HTTP/1.") and b" 200 " in resp.split(b"\r\n")[0],
                       f"raw HTTP/1.0 GET /healthz: {resp[:100]!r}")
        code, _ = srv.stop(signal.SIGTERM)
        chk.eq(code, 0, "exit status after SIGTERM")
    chk.done()


if __name__ == "__main__":
    servelib.run_cases(__doc__, [test_promtool_and_catalogue, test_known_records, test_http_endpoints])
