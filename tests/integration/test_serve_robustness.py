#!/usr/bin/python3
"""End-to-end: `orderpulse serve` under abuse.

  * startup: the two "listening on IP:PORT" lines are on stderr (docs/server.md), ports non-zero;
  * a WebSocket client that never reads (tiny receive buffer) while 500k records producing
    thousands of windows are replayed: the engine still reads everything in time, a normal client
    keeps receiving metrics (and every window), and the slow client is disconnected
    (orderpulse_websocket_slow_disconnects_total) or at least the server's resident memory stays
    under 1 GiB; a client that reads continuously is not disconnected when one micro-batch
    finalizes more windows than the per-client queue holds;
  * 500 ingest connections open at once, 20 records each: read == accepted == 10000 and
    orderpulse_ingest_connections_accepted_total == 500;
  * bad bytes on the socket: garbage text, random binary (NUL, invalid UTF-8), a 10 MiB line,
    JSON that is not an object, a connection closed mid-line and one reset mid-line: each lands in
    dropped.jsonl (reason, socket source, peer, line within the connection, raw) and in /metrics
    with the right reason, and the server keeps serving (a valid record afterwards is accepted);
  * max_line_bytes (config 1000) at the byte: 1000 is a record, 1001 is line_too_long, a CR does
    not count; several over-long lines arriving together each keep their own raw prefix;
  * a busy ingest or HTTP port: exit 1 with one stderr line naming the address; a bad config or
    address: exit 2 with one line;
  * SIGINT/SIGTERM: exit 0 within 5 s, summary.json written with read = accepted + rejected +
    late + duplicate, matching the last snapshot (idle) or the output files (in the middle of a
    paced stream, and of a full-speed stream over 4 connections).
"""

import random
import select
import signal
import socket
import struct
import subprocess
import time

import oplib
import servelib
from oplib import Check, parse_time_text

T0 = parse_time_text("2024-05-01T08:00:00Z")
GIB = 1 << 30


# ------------------------------------------------------------------------------------------
# startup
# ------------------------------------------------------------------------------------------

def test_startup_lines_on_stderr(ctx):
    chk = Check()
    with servelib.Server(ctx) as srv:
        err = srv.stderr_text()
        for what in ("ingest", "http"):
            m = servelib.LISTEN_RE[what].search(err)
            chk.expect(m is not None, f"`{srv.cmdline()}`: expected a line '... {what} listening on IP:PORT' on "
                                      f"stderr (docs/server.md), stderr was {err[:300]!r}; stdout was "
                                      f"{srv.stdout_text()[:300]!r}")
        chk.expect(srv.ingest[1] != 0 and srv.http[1] != 0 and srv.ingest != srv.http,
                   f"listening addresses ingest {srv.ingest}, http {srv.http}: port 0 should pick two free ports")
        st, _, body = srv.get("/readyz")
        chk.eq((st, body.strip()), (200, b"ready"), "GET /readyz once both lines are logged")
        code, _ = srv.stop(signal.SIGTERM)
        chk.eq(code, 0, "exit status after SIGTERM")
    chk.done()


# ------------------------------------------------------------------------------------------
# (a) a WebSocket client that never reads
# ------------------------------------------------------------------------------------------

def test_slow_websocket_client(ctx):
    """500k records, ~8000 final windows, one client that never reads and one that does.
    max_batch_size 8192 keeps each batch's burst of windows (~140) under the per-client queue limit
    (512), so only the client that does not read can fall behind (see test_window_burst_*)."""
    chk = Check()
    inp = ctx.dir("gen") / "events.ndjson"
    total = 500_000
    # 2 records per event-second: 500k records span ~69 hours, i.e. ~8000 final windows to push
    servelib.sim(ctx, ["generate", "--count", total, "--seed", 21, "--rate", 2, "--out", inp])
    n = servelib.count_records(inp)
    with servelib.Server(ctx, config={"max_batch_size": 8192}) as srv:
        time.sleep(0.3)
        slow = servelib.raw_ws_handshake(srv.http[0], srv.http[1], "/ws", rcvbuf=4096)
        normal = servelib.FeedClient(srv.ws_url()).start()
        max_rss = 0
        try:
            rep = servelib.popen([ctx.sim, "replay", "--in", inp, "--to", srv.ingest_url, "--rate", "100000"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            t0 = time.monotonic()
            deadline = t0 + 120
            read = 0
            while time.monotonic() < deadline:
                rss = servelib.rss_bytes(srv.proc.pid) or 0
                max_rss = max(max_rss, rss)
                read = srv.snap_data()["counters"]["read"]
                if read >= n and rep.poll() is not None:
                    break
                time.sleep(0.2)
            t_done = time.monotonic() - t0
            chk.expect(read == n, f"the engine read {read} of {n} records within 120 s while a client did not read")
            try:
                rep.wait(timeout=10)
            except subprocess.TimeoutExpired:
                chk.fail("orderpulse-sim replay did not finish")
            chk.eq(rep.returncode, 0, f"orderpulse-sim replay exit status (stderr {rep.stderr.read()[-300:]!r})")
            # the normal client catches up with everything
            try:
                servelib.wait_until("the normal client's metrics to show every record read",
                                    lambda: [x for x in normal.of_type("metrics") if x[2]["counters"]["read"] == n], 30)
            except oplib.Failures as f:
                chk.fail(f"{f.messages[0]}; the normal client got {len(normal.of_type('metrics'))} metrics and "
                         f"{len(normal.of_type('window'))} window messages; closed by the server: "
                         f"{normal.closed_by_server}")
            time.sleep(1.0)
            m = srv.metrics()
            max_rss = max(max_rss, servelib.rss_bytes(srv.proc.pid) or 0)
        finally:
            normal.stop()
            slow.close()
        slow_disc = m.value("orderpulse_websocket_slow_disconnects_total")
        mets = normal.of_type("metrics")
        gaps = [b[0] - a[0] for a, b in zip(mets, mets[1:]) if a[2]["counters"]["read"] < n]
        print(f"    {n} records read in {t_done:.1f}s; normal client: {len(mets)} metrics, "
              f"{len(normal.of_type('window'))} windows, largest gap while streaming "
              f"{max(gaps) if gaps else 0:.2f}s; slow disconnects {slow_disc:.0f}; max RSS {max_rss / 2**20:.0f} MiB")
        chk.expect(normal.closed_by_server is None, f"the normal (reading) client was disconnected: "
                                                    f"{normal.closed_by_server}")
        chk.expect(not normal.errors, f"normal client errors: {normal.errors[:3]}")
        chk.expect(len(mets) >= 10, f"the normal client got only {len(mets)} metrics messages")
        chk.expect(not gaps or max(gaps) < 5,
                   f"the normal client's metrics stalled for {max(gaps) if gaps else 0:.1f}s")
        code, _ = srv.stop(signal.SIGTERM, timeout=10)
        chk.eq(code, 0, "exit status after SIGTERM (with a client that never reads)")
    file_windows = servelib.windows_lines(srv.windows_path)
    chk.expect(len(file_windows) > 5000, f"(test premise) only {len(file_windows)} windows")
    chk.eq(len(normal.of_type("window")), len(file_windows), "window messages the normal client got vs windows.jsonl")
    chk.expect(slow_disc >= 1 or max_rss < GIB,
               f"the slow client was not disconnected (orderpulse_websocket_slow_disconnects_total {slow_disc}) and "
               f"the server's resident memory reached {max_rss / 2**20:.0f} MiB (limit 1 GiB)")
    chk.expect(max_rss < GIB, f"server resident memory reached {max_rss / 2**20:.0f} MiB (> 1 GiB)")
    chk.done()


def test_window_burst_keeps_reading_client(ctx):
    """Default config, a backfill at full speed (orderpulse-sim replay --rate max) of a stream whose
    first micro-batch (65536 records over ~9 event-hours) finalizes ~1000 windows at once. A single
    client that reads as fast as it can must not be disconnected as "slow" (docs/server.md: a
    client is disconnected when its queue of window messages *stays* over the limit)."""
    chk = Check()
    inp = ctx.dir("gen") / "events.ndjson"
    servelib.sim(ctx, ["generate", "--count", 100_000, "--seed", 22, "--rate", 2, "--out", inp])
    n = servelib.count_records(inp)
    with servelib.Server(ctx) as srv:
        time.sleep(0.3)
        with servelib.FeedClient(srv.ws_url()) as c:
            servelib.replay(ctx, srv, inp, rate="max")
            srv.wait_read(n, timeout=60)
            try:
                servelib.wait_until("the client's metrics to show every record read",
                                    lambda: [x for x in c.of_type("metrics") if x[2]["counters"]["read"] == n]
                                    or c.closed_by_server, 20)
            except oplib.Failures as f:
                chk.fail(f.messages[0])
            time.sleep(0.5)
            m = srv.metrics()
        code, _ = srv.stop(signal.SIGTERM)
        chk.eq(code, 0, "exit status after SIGTERM")
    wins = servelib.windows_lines(srv.windows_path)
    got_w = len(c.of_type("window"))
    chk.expect(c.closed_by_server is None,
               f"`orderpulse-sim replay --rate max` of {n} records (generate --rate 2, {len(wins)} windows, default "
               f"config): a WebSocket client that reads continuously was disconnected (close {c.closed_by_server}) "
               f"after {len(c.snapshot_list())} messages ({got_w} windows); "
               f"orderpulse_websocket_slow_disconnects_total = "
               f"{m.value('orderpulse_websocket_slow_disconnects_total'):.0f}")
    chk.eq(got_w, len(wins), "window messages received vs windows.jsonl lines")
    chk.done()


# ------------------------------------------------------------------------------------------
# (b) 500 ingest connections at once
# ------------------------------------------------------------------------------------------

def test_500_ingest_connections(ctx):
    chk = Check()
    conns, per = 500, 20
    limit = servelib.raise_nofile(4096)
    assert limit >= conns + 100, f"RLIMIT_NOFILE is only {limit}"
    with servelib.Server(ctx) as srv:
        socks = []
        try:
            for c in range(conns):
                s = socket.create_connection(srv.ingest, timeout=20)
                socks.append(s)
            servelib.wait_until("orderpulse_ingest_connections == 500",
                                lambda: srv.metrics().get("orderpulse_ingest_connections") == conns, 20, 0.1)
            for c, s in enumerate(socks):
                data = b"".join(servelib.record(f"k{c}-{i}", T0 + c * per + i, customer=f"c{c % 50}",
                                                product=f"p{i}", price="1.25") for i in range(per))
                s.sendall(data)
            for s in socks:
                s.shutdown(socket.SHUT_WR)
            # every connection sees the server close its side
            pending = set(socks)
            end = time.monotonic() + 30
            while pending and time.monotonic() < end:
                r, _, _ = select.select(list(pending)[:1000], [], [], 0.5)
                for s in r:
                    try:
                        if not s.recv(4096):
                            pending.discard(s)
                    except OSError:
                        pending.discard(s)
            chk.expect(not pending, f"{len(pending)} ingest connections were not closed by the server after EOF")
        finally:
            for s in socks:
                s.close()
        snap = srv.wait_read(conns * per, timeout=30)
        m = servelib.wait_until("orderpulse_ingest_connections == 0",
                                lambda: (lambda mm: mm if mm.get("orderpulse_ingest_connections") == 0 else None)(
                                    srv.metrics()), 10)
        chk.eq(snap["counters"]["read"], conns * per, "counters.read")
        chk.eq(snap["counters"]["accepted"], conns * per, "counters.accepted (distinct ids, within 10 s)")
        chk.eq(m.value("orderpulse_records_read_total"), conns * per, "orderpulse_records_read_total")
        chk.eq(m.value("orderpulse_ingest_connections_accepted_total"), conns,
               "orderpulse_ingest_connections_accepted_total")
        chk.eq(snap["totals"]["orders"], conns * per, "totals.orders")
        st, _, _ = srv.get("/healthz")
        chk.eq(st, 200, "GET /healthz after the burst")
        code, _ = srv.stop(signal.SIGTERM)
        chk.eq(code, 0, "exit status after SIGTERM")
    s = srv.summary(chk)
    chk.eq((s["read"], s["accepted"]), (conns * per, conns * per), "summary.json read, accepted")
    chk.done()


# ------------------------------------------------------------------------------------------
# (c) bad input on the socket
# ------------------------------------------------------------------------------------------

def binary_lines(rng, k):
    out = b""
    for i in range(k):
        body = bytes(rng.choice([b for b in range(256) if b != 0x0A]) for _ in range(200))
        body = b"\x00" + body + b"\xff\xfe\xc3\x28"  # NUL and invalid UTF-8 for sure
        out += body + b"\n"
    return out


def reset_connection(addr, data, srv, timeout=20):
    """Sends data, waits until the server has read it (ingest bytes), then resets (RST)."""
    before = srv.metrics().value("orderpulse_ingest_bytes_total")
    s = socket.create_connection(addr, timeout=timeout)
    local = "%s:%d" % s.getsockname()[:2]
    s.sendall(data)
    servelib.wait_until("the server to read the bytes before the reset",
                        lambda: srv.metrics().value("orderpulse_ingest_bytes_total") >= before + len(data), timeout)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
    return local


def test_bad_input_on_socket(ctx):
    chk = Check()
    rng = random.Random(1234)
    valid = lambda oid, dt=0: servelib.record(oid, T0 + dt, customer="c1", product="p1", price="3.00")  # noqa: E731
    big = b'{"order_id":"' + b"a" * (10 * 1024 * 1024) + b'","customer_id":"c1"}'
    cases = [
        # name, bytes, expected [(reason, line, raw or None to skip)] ; accepted count
        ("garbage text", b"hello world\n{not json\n}\n\"unterminated\nabc\x00def\n",
         [("malformed_json", 1, "hello world"), ("malformed_json", 2, "{not json"), ("malformed_json", 3, "}"),
          ("malformed_json", 4, "\"unterminated"), ("malformed_json", 5, "abc\x00def")], 0),
        ("random binary", binary_lines(rng, 5), [("malformed_json", i, None) for i in range(1, 6)], 0),
        ("10 MiB line", big + b"\n" + valid("after-big"),
         [("line_too_long", 1, big[:256].decode())], 1),
        ("JSON that is not an object", b'[{"order_id":"o1"}]\n[]\n"a string"\n42\nnull\ntrue\n',
         [("malformed_json", i, raw) for i, raw in enumerate(
             ['[{"order_id":"o1"}]', "[]", '"a string"', "42", "null", "true"], 1)], 0),
        ("closed mid-line", valid("before-cut", 1) + b'{"order_id":"half","customer_id":"c',
         [("truncated", 2, '{"order_id":"half","customer_id":"c')], 1),
        # lines: 1 blank, 2 blank (CR), 3 UTF-8 text (CRLF), 4 a record (CRLF), 5 blank, 6 cut off
        ("blank lines, CRLF, UTF-8",
         b"\n \t \r\nh\xc3\xa9llo \xe2\x9c\x93\r\n" + valid("crlf", 4)[:-1] + b"\r\n\n{\"a\":\"\\u00e9\"}",
         [("malformed_json", 3, "h\u00e9llo \u2713"), ("truncated", 6, '{"a":"\\u00e9"}')], 1),
        ("closed after blanks only", b"   ", [], 0),
        # a UTF-8 BOM opening a connection's stream is not part of its first line, as in a file
        ("a BOM first", b"\xef\xbb\xbf" + valid("bom", 5) + b"\xef\xbb\xbf\n", [("malformed_json", 2, "\ufeff")], 1),
    ]
    with servelib.Server(ctx) as srv:
        peers = {}
        read = accepted = 0
        for name, data, exp, acc in cases:
            peers[name] = servelib.send_connection(srv.ingest, data, timeout=60, chunk=1 << 20)
            read += len(exp) + acc
            accepted += acc
            snap = srv.wait_read(read, timeout=30, what=f"counters.read == {read} after '{name}'")
            chk.eq(snap["counters"]["accepted"], accepted, f"counters.accepted after '{name}'")
        name = "reset mid-line"
        partial = b'{"order_id":"rst","customer_id":"c1","product_id":"p'
        peers[name] = reset_connection(srv.ingest, valid("before-reset", 2) + partial, srv)
        cases.append((name, None, [("truncated", 2, partial.decode())], 1))
        read += 2
        accepted += 1
        srv.wait_read(read, timeout=30, what=f"counters.read == {read} after '{name}'")
        # the BOM arriving a byte at a time
        servelib.send_connection(srv.ingest, b"\xef\xbb\xbf" + valid("bom-bytewise", 6), chunk=1)
        read += 1
        accepted += 1
        snap = srv.wait_read(read, timeout=30, what="the record after a BOM sent a byte at a time")
        chk.eq(snap["counters"]["accepted"], accepted, "counters.accepted after a BOM sent a byte at a time")
        # still serving: a valid record afterwards is accepted
        servelib.send_connection(srv.ingest, valid("final", 3))
        snap = srv.wait_read(read + 1, timeout=30, what="the valid record sent after the bad input")
        chk.eq(snap["counters"]["accepted"], accepted + 1, "counters.accepted after the final valid record")
        st, _, _ = srv.get("/healthz")
        chk.eq(st, 200, "GET /healthz after the bad input")
        m = srv.metrics()
        servelib.check_counters_identity(chk, snap["counters"], "/api/snapshot after the bad input")
        code, _ = srv.stop(signal.SIGTERM)
        chk.eq(code, 0, "exit status after SIGTERM")

    dropped = servelib.read_socket_dropped(srv.dropped_path)
    want_counts = {}
    for name, _, exp, _ in cases:
        got = [d for d in dropped if d["peer"] == peers[name]]
        chk.eq([(d["reason"], d["line"]) for d in got], [(r, l) for r, l, _ in exp],
               f"'{name}': dropped.jsonl (reason, line) of peer {peers[name]}")
        for d, (r, l, raw) in zip(got, exp):
            if raw is not None:  # (an over-long line's raw is its first 256 bytes)
                chk.eq(d["raw"], raw, f"'{name}': dropped.jsonl raw of line {l}")
        for r, _, _ in exp:
            want_counts[r] = want_counts.get(r, 0) + 1
    chk.eq(len(dropped), sum(want_counts.values()), "dropped.jsonl lines")
    got_counts = {dict(lab)["reason"]: int(v) for lab, v in m.series("orderpulse_records_dropped_total").items() if v}
    chk.eq(got_counts, want_counts, "/metrics orderpulse_records_dropped_total by reason")
    chk.eq({k: v for k, v in snap["counters"]["dropped_by_reason"].items() if v}, want_counts,
           "/api/snapshot counters.dropped_by_reason")
    # blank lines: two, and one more in the CRLF case, and the blanks-only tail of a closed connection
    chk.eq(srv.summary(chk).get("blank_lines"), 4, "summary.json blank_lines (a blank tail counts too)")
    chk.done()


def padded(oid, size, dt=0, end=b"\n"):
    """A valid record of exactly `size` bytes (without its line end), padded by an unknown field."""
    base = servelib.record(oid, T0 + dt, customer="c1", product="p1", price="1.00")[:-2] + b',"pad":""}'
    assert len(base) <= size
    return base[:-2] + b"x" * (size - len(base)) + b'"}' + end


def test_line_limit_boundary(ctx):
    """max_line_bytes 1000 (config): 1000 bytes is a record, 1001 is line_too_long (raw: its first
    256 bytes); a CR before the newline does not count; a 3 MiB line is skipped; several over-long
    lines arriving together each keep their own raw; the limit holds when the bytes arrive in
    7-byte pieces."""
    chk = Check()

    def lines_for(tag, with_huge):
        out = [
            (padded(f"{tag}1000", 1000), None),
            (padded(f"{tag}1001", 1001), "line_too_long"),
            (padded(f"{tag}1000crlf", 1000, end=b"\r\n"), None),
            (padded(f"{tag}5000", 5000), "line_too_long"),
        ]
        if with_huge:
            out.append((padded(f"{tag}3m", 3 * 1024 * 1024), "line_too_long"))
        out.append((padded(f"{tag}999", 999), None))
        return out

    big, small = lines_for("a", True), lines_for("b", False)
    with servelib.Server(ctx, config={"max_line_bytes": 1000}) as srv:
        peer_big = servelib.send_connection(srv.ingest, b"".join(l for l, _ in big), chunk=1 << 16)
        srv.wait_read(len(big), timeout=30)
        peer_small = servelib.send_connection(srv.ingest, b"".join(l for l, _ in small), chunk=7)
        srv.wait_read(len(big) + len(small), timeout=30)
        # 1000 bytes and a CR that arrive before their LF: the server holds one byte over the limit
        # until it sees whether a CR ends the line. A last line of 1001 bytes without any line end
        # is too long.
        with socket.create_connection(srv.ingest, timeout=10) as s:
            s.sendall(padded("c1000cr", 1000, end=b"\r"))
            time.sleep(0.3)
            s.sendall(b"\n" + padded("c1001eof", 1001, end=b""))
            s.shutdown(socket.SHUT_WR)
            peer_split = "%s:%d" % s.getsockname()[:2]
            srv.wait_read(len(big) + len(small) + 2, timeout=30)
        code, _ = srv.stop(signal.SIGTERM)
        chk.eq(code, 0, "exit status after SIGTERM")
    dropped = servelib.read_socket_dropped(srv.dropped_path)
    for what, peer, lines in (("sent in 64 KiB pieces", peer_big, big), ("sent in 7-byte pieces", peer_small, small)):
        got = [(d["reason"], d["line"], d["raw"][:40] + "..." + str(len(d["raw"])))
               for d in dropped if d["peer"] == peer]
        want = [(r, i, l[:256].decode()[:40] + "..." + str(min(256, len(l)))) for i, (l, r) in enumerate(lines, 1) if r]
        if not chk.eq(got, want, f"{what}: dropped.jsonl (reason, line, raw[:40]...len(raw)) around max_line_bytes "
                                 f"1000"):
            continue
        full = [(d["line"], d["raw"]) for d in dropped if d["peer"] == peer]
        exp_full = [(i, l[:256].decode()) for i, (l, r) in enumerate(lines, 1) if r]
        chk.expect(full == exp_full,
                   f"{what}: raw of the line_too_long entries should be each line's own first 256 bytes")
    chk.eq([(d["reason"], d["line"]) for d in dropped if d["peer"] == peer_split], [("line_too_long", 2)],
           "1000 bytes + CR, then LF later: a record; then 1001 bytes and the end of the stream: line_too_long")
    s = srv.summary(chk)
    chk.eq(s["accepted"], sum(1 for _, r in big + small if not r) + 1, "summary.json accepted")
    chk.done()


# ------------------------------------------------------------------------------------------
# (d) busy port, bad config
# ------------------------------------------------------------------------------------------

def expect_exit(chk, ctx, args, code, what, mention=()):
    d = ctx.dir("fail")
    cmd = [ctx.orderpulse, "serve"] + [str(a) for a in args]
    if "--output-dir" not in args:
        cmd += ["--output-dir", d / "out"]
    try:
        p = oplib.run(cmd, timeout=15, cwd=d)
    except subprocess.TimeoutExpired:
        chk.fail(f"{what}: `{' '.join(map(str, cmd))}` did not exit within 15 s (expected exit {code})")
        return
    err = p.stderr.decode("utf-8", "replace")
    lines = [l for l in err.splitlines() if l.strip()]
    shown = " ".join(str(a) for a in cmd[1:])
    chk.expect(p.returncode == code, f"{what}: `orderpulse {shown}`: expected exit {code}, got {p.returncode}; "
                                     f"stderr {err[:300]!r}")
    chk.expect(len(lines) == 1, f"{what}: `orderpulse {shown}`: expected exactly one line on stderr, got "
                                f"{len(lines)}: {err[:400]!r}")
    for m in mention:
        chk.expect(m in err, f"{what}: stderr should name {m!r}: {err[:300]!r}")
    for marker in oplib.STACK_TRACE_MARKERS:
        chk.expect(marker not in err, f"{what}: stderr looks like a crash ({marker!r})")


def test_busy_port_and_bad_config(ctx):
    chk = Check()
    with servelib.Server(ctx) as srv:
        ing = f"{srv.ingest[0]}:{srv.ingest[1]}"
        htp = f"{srv.http[0]}:{srv.http[1]}"
        expect_exit(chk, ctx, ["--ingest", ing, "--http", "127.0.0.1:0"], 1, "busy ingest port", mention=[ing])
        expect_exit(chk, ctx, ["--ingest", "127.0.0.1:0", "--http", htp], 1, "busy http port", mention=[htp])
        expect_exit(chk, ctx, ["--ingest", htp, "--http", "127.0.0.1:0"], 1, "ingest on the first server's http port",
                    mention=[htp])
        st, _, _ = srv.get("/healthz")
        chk.eq(st, 200, "the first server still answers after the failed starts")
        code, _ = srv.stop(signal.SIGTERM)
        chk.eq(code, 0, "exit status after SIGTERM")
    d = ctx.dir("cfg")
    configs = [
        ("unknown config key", '{"watermark_delay": "30s", "frobnicate_level": 3}', ["frobnicate_level"]),
        ("bad duration", '{"trigger_interval": "soon"}', []),
        ("malformed JSON config", '{"watermark_delay": "30s",', []),
        ("bad window", '{"windows": [{"size": "0s"}]}', []),
    ]
    for i, (what, text, mention) in enumerate(configs):
        cfg = d / f"config{i}.json"
        cfg.write_text(text)
        expect_exit(chk, ctx, ["--config", cfg, "--ingest", "127.0.0.1:0", "--http", "127.0.0.1:0"], 2, what,
                    mention=mention)
    expect_exit(chk, ctx, ["--config", d / "missing.json", "--ingest", "127.0.0.1:0", "--http", "127.0.0.1:0"], 2,
                "missing config file", mention=["missing.json"])
    expect_exit(chk, ctx, ["--ingest", "127.0.0.1:notaport", "--http", "127.0.0.1:0"], 2, "bad --ingest address",
                mention=["127.0.0.1:notaport"])
    chk.done()


# ------------------------------------------------------------------------------------------
# (e) SIGINT
# ------------------------------------------------------------------------------------------

def test_sigint_idle(ctx):
    chk = Check()
    inp = ctx.dir("gen") / "events.ndjson"
    servelib.sim(ctx, ["generate", "--count", 30000, "--seed", 9, "--late", "0.02", "--duplicates", "0.02",
                       "--malformed", "0.02", "--out", inp])
    n = servelib.count_records(inp)
    with servelib.Server(ctx) as srv:
        servelib.replay(ctx, srv, inp)
        srv.wait_read(n, timeout=60)
        time.sleep(0.3)
        snap = srv.snap_data()
        code, secs = srv.stop(signal.SIGINT, timeout=5)
        chk.eq(code, 0, "exit status after SIGINT")
    s = srv.summary(chk)
    c = snap["counters"]
    chk.eq(s["read"], s["accepted"] + s["rejected"] + s["late"] + s["duplicate"],
           "summary.json read vs accepted + rejected + late + duplicate")
    for k in ("read", "accepted", "rejected", "late", "duplicate"):
        chk.eq(s[k], c[k], f"summary.json {k} vs the last /api/snapshot")
    chk.eq(s["read"], n, "summary.json read vs records sent")
    chk.eq(s["windows_emitted"], len(servelib.windows_lines(srv.windows_path)), "summary.json windows_emitted vs file")
    chk.eq(len(servelib.read_socket_dropped(srv.dropped_path)), n - s["accepted"],
           "dropped.jsonl lines vs read - accepted")
    chk.done()


def stop_mid_stream(ctx, sig, count, rate, connections):
    chk = Check()
    inp = ctx.dir("gen") / "events.ndjson"
    servelib.sim(ctx, ["generate", "--count", count, "--seed", 10, "--late", "0.01", "--duplicates", "0.01",
                       "--malformed", "0.01", "--out", inp])
    with servelib.Server(ctx) as srv:
        rep = servelib.popen([ctx.sim, "replay", "--in", inp, "--to", srv.ingest_url, "--rate", rate,
                              "--connections", connections], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            servelib.wait_until("some records read", lambda: srv.snap_data()["counters"]["read"] > 10000, 30, 0.01)
            code, secs = srv.stop(sig, timeout=5)
            chk.eq(code, 0, f"exit status after {sig.name} in the middle of a stream (--rate {rate}, "
                            f"{connections} connections)")
        finally:
            rep.kill()
            rep.wait(10)
    s = srv.summary(chk)
    print(f"    stopped in {secs:.2f}s after {s['read']} of {count} records")
    chk.eq(s["read"], s["accepted"] + s["rejected"] + s["late"] + s["duplicate"],
           "summary.json read vs accepted + rejected + late + duplicate")
    chk.expect(10000 < s["read"] <= count, f"summary.json read {s['read']}: expected part of the stream")
    wins = servelib.windows_lines(srv.windows_path)
    chk.eq(s["windows_emitted"], len(wins), "summary.json windows_emitted vs windows.jsonl lines")
    for w in wins[:5]:
        oplib.parse_window_line(w)
    dropped = servelib.read_socket_dropped(srv.dropped_path)
    chk.eq(len(dropped), s["read"] - s["accepted"], "dropped.jsonl lines vs summary read - accepted")
    chk.eq(sum(1 for d in dropped if d["reason"] == "late"), s["late"], "dropped.jsonl late entries vs summary.late")
    chk.eq(sum(1 for d in dropped if d["reason"] == "duplicate"), s["duplicate"],
           "dropped.jsonl duplicate entries vs summary.duplicate")
    chk.eq(s["totals"]["lines"], s["accepted"], "summary.json totals.lines vs accepted")
    chk.done()


def test_sigint_mid_stream(ctx):
    """SIGINT while a paced replay (50k lines/s) is running."""
    stop_mid_stream(ctx, signal.SIGINT, 200_000, "50000", 1)


def test_sigterm_under_backpressure(ctx):
    """SIGTERM while 4 connections push 600k records at full speed (the engine is the bottleneck,
    sockets are paused): the server still exits 0 within 5 s with consistent files."""
    stop_mid_stream(ctx, signal.SIGTERM, 600_000, "max", 4)


if __name__ == "__main__":
    servelib.run_cases(__doc__, [
        test_startup_lines_on_stderr,
        test_slow_websocket_client,
        test_window_burst_keeps_reading_client,
        test_500_ingest_connections,
        test_bad_input_on_socket,
        test_line_limit_boundary,
        test_busy_port_and_bad_config,
        test_sigint_idle,
        test_sigint_mid_stream,
        test_sigterm_under_backpressure,
    ])
