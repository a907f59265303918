#!/usr/bin/python3
"""End-to-end: the WebSocket feed (/ws) and /api/snapshot of `orderpulse serve`.

WebSocket clients (python3-websockets) connect before any data flows, then a generated stream is
replayed over TCP (paced, so that it spans many micro-batches):

  * every client gets a `snapshot` first (once), in the documented form;
  * the default client gets `metrics` and `window` messages while the replay runs; the `data` of
    its window messages, in order, equals the server's windows.jsonl lines parsed as JSON;
  * every metrics message has the documented fields, read = accepted + rejected + late +
    duplicate, and counters never go backwards;
  * `/ws?channels=window` gets no metrics (the snapshot first is allowed) and the same windows;
    `/ws?channels=metrics` gets no windows;
  * once the stream has settled, /api/snapshot's totals and counters equal the last metrics
    message's, and its recent_windows are the last (up to 120) lines of windows.jsonl;
  * a client joining after the stream gets a snapshot with the current state first.
"""

import signal
import time
from decimal import Decimal

import oplib
import servelib
from oplib import Check

COUNT = 60_000


def window_objects(path):
    return [servelib.loads(line) for line in oplib.read_lines(path)]


def check_window_object(chk, w, where, partial=False):
    keys = list(oplib.WINDOW_KEYS) + (["partial"] if partial else [])
    if not chk.expect(isinstance(w, dict) and list(w) == keys,
                      f"{where}: keys {list(w) if isinstance(w, dict) else w!r} != {keys}"):
        return
    if partial:
        chk.expect(w["partial"] is True, f"{where}: partial should be true")


def check_times(chk, data, where):
    """watermark_lag_seconds = server_time - watermark; open_windows: the newest open window per
    spec (at most one per spec, partial, not final yet)."""
    st, wm, lag = data.get("server_time"), data.get("watermark"), data.get("watermark_lag_seconds")
    if isinstance(st, str) and isinstance(wm, str) and lag is not None:
        t_st, t_wm = oplib.parse_time_text(st), oplib.parse_time_text(wm)
        if t_st is not None and t_wm is not None:
            chk.expect(abs(Decimal(t_st - t_wm) / 1000 - lag) <= Decimal("0.002"),
                       f"{where}: watermark_lag_seconds {lag} != server_time {st} - watermark {wm}")
    opens = data.get("open_windows", [])
    specs = [w.get("window") for w in opens if isinstance(w, dict)]
    chk.expect(len(specs) == len(set(specs)) and set(specs) <= set(data.get("windows", [])),
               f"{where}: open_windows should hold at most the newest open window per spec, got {specs}")
    for j, w in enumerate(opens[:4]):
        check_window_object(chk, w, f"{where} open_windows[{j}]", partial=True)
        if isinstance(w, dict) and isinstance(wm, str) and isinstance(w.get("end"), str):
            chk.expect(oplib.parse_time_text(w["end"]) > oplib.parse_time_text(wm),
                       f"{where}: open window {w.get('window')} {w.get('start')}..{w['end']} is already final "
                       f"(watermark {wm})")


def test_feed_during_replay(ctx):
    chk = Check()
    d = ctx.dir("gen")
    inp = d / "events.ndjson"
    # 100 records per event-second: 60k records span 10 minutes, ~20 windows
    servelib.sim(ctx, ["generate", "--count", COUNT, "--seed", 11, "--rate", 100, "--disorder", "5s", "--late", "0.01",
                       "--duplicates", "0.01", "--malformed", "0.01", "--out", inp])
    n = servelib.count_records(inp)

    with servelib.Server(ctx) as srv:
        # (the snapshot of the first instants after start is test_snapshot_before_any_data's business)
        time.sleep(0.5)
        all_c = servelib.FeedClient(srv.ws_url()).start()
        win_c = servelib.FeedClient(srv.ws_url("?channels=window")).start()
        met_c = servelib.FeedClient(srv.ws_url("?channels=metrics")).start()
        try:
            time.sleep(0.3)  # let each client receive its snapshot before the data
            t_replay0 = time.monotonic()
            servelib.replay(ctx, srv, inp, rate="20000")
            t_replay1 = time.monotonic()
            srv.wait_read(n, timeout=60)
            time.sleep(2.5)  # the stream settles; clients receive what is still in flight
            snap = srv.snap_data()
            metrics = srv.metrics()
        finally:
            for c in (all_c, win_c, met_c):
                c.stop()
        code, _ = srv.stop(signal.SIGTERM, timeout=5)
        chk.eq(code, 0, "exit status after SIGTERM")

    file_windows = window_objects(srv.windows_path)
    chk.expect(len(file_windows) >= 10, f"(test premise) only {len(file_windows)} windows in windows.jsonl")
    for c in (all_c, win_c, met_c):
        for e in c.errors[:5]:
            chk.fail(f"{c.url}: {e}")
        chk.expect(c.closed_by_server is None, f"{c.url}: the server closed the connection: {c.closed_by_server}")

    # ---------------------------------------------------------------- the default client
    msgs = all_c.snapshot_list()
    types = [m[1] for m in msgs]
    print(f"    all channels: {len(msgs)} messages ({types.count('metrics')} metrics, {types.count('window')} window); "
          f"windows.jsonl {len(file_windows)} lines; replay {t_replay1 - t_replay0:.1f}s")
    if chk.expect(bool(msgs) and types[0] == "snapshot", f"/ws: first message should be a snapshot, got {types[:3]}"):
        first = msgs[0][2]
        servelib.check_state_shape(chk, first, servelib.SNAPSHOT_KEYS, "/ws first snapshot")
        chk.eq(first.get("counters", {}).get("read"), 0, "/ws first snapshot (before any data): counters.read")
        chk.eq(first.get("watermark"), None, "/ws first snapshot (before any data): watermark")
        chk.eq(first.get("windows"), ["1m/1m", "10m/1m"], "/ws first snapshot: windows (config order)")
    chk.eq(types.count("snapshot"), 1, "/ws: number of snapshot messages (sent once on connect)")
    unknown = sorted(set(types) - {"snapshot", "metrics", "window", "alert"})
    chk.expect(not unknown, f"/ws: unknown message types {unknown}")

    ws_windows = [m[2] for m in msgs if m[1] == "window"]
    if ws_windows != file_windows:
        chk.fail(f"/ws window messages ({len(ws_windows)}) should equal windows.jsonl lines ({len(file_windows)}) "
                 f"in order")
        for i, (a, b) in enumerate(zip(ws_windows, file_windows)):
            if a != b:
                chk.fail(f"window #{i + 1}: feed {str(a)[:200]} vs file {str(b)[:200]}")
                break
    for i, w in enumerate(ws_windows[:50]):
        check_window_object(chk, w, f"/ws window message #{i + 1}")

    mets = [m for m in msgs if m[1] == "metrics"]
    during = [m for m in msgs if t_replay0 <= m[0] <= t_replay1]
    chk.expect(any(m[1] == "metrics" for m in during) and any(m[1] == "window" for m in during),
               f"/ws: expected metrics and window messages while the replay ran "
               f"({t_replay1 - t_replay0:.1f}s); got types {sorted(set(m[1] for m in during))}")
    chk.expect(len(mets) >= 5, f"/ws: only {len(mets)} metrics messages for a stream of ~{t_replay1 - t_replay0:.1f}s")
    prev = None
    for i, (_, _, data, _) in enumerate(mets):
        where = f"/ws metrics message #{i + 1}"
        servelib.check_state_shape(chk, data, servelib.METRICS_KEYS, where)
        c = data.get("counters", {})
        servelib.check_counters_identity(chk, c, where)
        check_times(chk, data, where)
        if prev is not None:
            for k in ("read", "accepted", "rejected", "late", "duplicate"):
                if c.get(k, 0) < prev.get(k, 0):
                    chk.fail(f"{where}: counters.{k} went backwards: {prev.get(k)} -> {c.get(k)}")
        prev = c
        if chk.count > 30:
            break

    # records_per_second: accepted + dropped over the last few seconds, here ~20000 at the end of the replay
    streaming = [m for m in mets if t_replay0 + 1.5 <= m[0] <= t_replay1]
    if chk.expect(streaming, "(test premise) no metrics message in the second half of the replay"):
        rps = streaming[-1][2].get("records_per_second")
        chk.expect(isinstance(rps, (int, Decimal)) and 8000 <= rps <= 32000,
                   f"records_per_second {rps} at the end of a replay paced at 20000 lines/s (expected 8000..32000)")

    # ---------------------------------------------------------------- settled state
    servelib.check_state_shape(chk, snap, servelib.SNAPSHOT_KEYS, "/api/snapshot (settled)")
    check_times(chk, snap, "/api/snapshot (settled)")
    servelib.check_counters_identity(chk, snap["counters"], "/api/snapshot (settled)")
    chk.eq(snap["counters"]["read"], n, "/api/snapshot counters.read")
    if mets:
        last = mets[-1][2]
        chk.eq(last.get("totals"), snap["totals"], "last metrics message totals vs /api/snapshot totals")
        chk.eq(last.get("counters"), snap["counters"], "last metrics message counters vs /api/snapshot counters")
        chk.eq(last.get("watermark"), snap["watermark"], "last metrics message watermark vs /api/snapshot")
        chk.eq(last.get("batches"), snap["batches"], "last metrics message batches vs /api/snapshot")
    chk.eq(snap["recent_windows"], file_windows[-120:], "/api/snapshot recent_windows vs the last 120 lines of "
                                                        "windows.jsonl (oldest first)")
    # Once ingest has stopped the open windows are current (the server recomputes them at most
    # every 250 ms under load): each equals batch mode's final window for the same spec and start,
    # which holds every record of the input.
    batch_windows = window_objects(oplib.run_batch(ctx, [inp], ctx.dir("batch")).windows_path)
    final = {(w["window"], w["start"]): w for w in batch_windows}
    opens = snap.get("open_windows", [])
    chk.expect(len(opens) == 2, f"(test premise) settled open windows: {len(opens)}, expected one per spec")
    for w in opens:
        got = {k: v for k, v in w.items() if k != "partial"}
        chk.eq(got, final.get((w.get("window"), w.get("start"))),
               f"settled open window {w.get('window')} {w.get('start')} vs batch mode's")
    chk.eq(int(metrics.value("orderpulse_windows_emitted_total")), len(file_windows),
           "/metrics orderpulse_windows_emitted_total vs windows.jsonl lines")
    ssum = srv.summary(chk)
    chk.eq(ssum["totals"], {**snap["totals"], "revenue": oplib.money_cents(snap["totals"]["revenue"], "revenue")},
           "summary.json totals vs the settled /api/snapshot totals")

    # ---------------------------------------------------------------- channel selection
    wtypes = [m[1] for m in win_c.snapshot_list()]
    chk.expect("metrics" not in wtypes, f"/ws?channels=window got {wtypes.count('metrics')} metrics messages")
    chk.expect("snapshot" not in wtypes[1:], "/ws?channels=window: a snapshot after the first message")
    chk.eq([m[2] for m in win_c.snapshot_list() if m[1] == "window"], file_windows,
           "/ws?channels=window window messages vs windows.jsonl")
    mtypes = [m[1] for m in met_c.snapshot_list()]
    chk.expect("window" not in mtypes, f"/ws?channels=metrics got {mtypes.count('window')} window messages")
    chk.expect(mtypes.count("metrics") >= 5,
               f"/ws?channels=metrics got only {mtypes.count('metrics')} metrics messages")
    chk.done()


def test_snapshot_before_any_data(ctx):
    """A fresh server: /api/snapshot right after the listening lines, and the first /ws message.
    A long trigger_interval makes the state before the engine's first tick observable for sure."""
    chk = Check()
    with servelib.Server(ctx, config={"trigger_interval": "3s"}) as srv:
        msg = srv.snapshot()  # before the engine's first tick
        chk.expect(isinstance(msg, dict) and list(msg) == ["type", "data"] and msg.get("type") == "snapshot",
                   f"/api/snapshot should be {{\"type\":\"snapshot\",\"data\":{{...}}}}, got {str(msg)[:200]}")
        data = msg.get("data", {}) if isinstance(msg, dict) else {}
        servelib.check_state_shape(chk, data, servelib.SNAPSHOT_KEYS, "/api/snapshot of a fresh server (at once)")
        chk.eq(data.get("watermark"), None, "fresh /api/snapshot watermark")
        chk.eq(data.get("watermark_lag_seconds"), None, "fresh /api/snapshot watermark_lag_seconds")
        chk.eq(data.get("counters"), {"read": 0, "accepted": 0, "rejected": 0, "late": 0, "duplicate": 0,
                                      "dropped_by_reason": {}}, "fresh /api/snapshot counters")
        chk.eq(data.get("open_windows"), [], "fresh open_windows")
        chk.eq(data.get("recent_windows"), [], "fresh recent_windows")
        with servelib.FeedClient(srv.ws_url()) as c:
            servelib.wait_until("a first /ws message", lambda: c.snapshot_list(), 10)
        first = c.snapshot_list()[0]
        chk.eq(first[1], "snapshot", "first /ws message type (before the first tick)")
        servelib.check_state_shape(chk, first[2], servelib.SNAPSHOT_KEYS, "first /ws message before the first tick")
        time.sleep(3.5)
        data = srv.snap_data()
        servelib.check_state_shape(chk, data, servelib.SNAPSHOT_KEYS, "/api/snapshot of a fresh server (after a tick)")
        status, headers, _ = srv.get("/api/snapshot")
        chk.expect(headers.get("content-type", "").startswith("application/json"),
                   f"/api/snapshot Content-Type {headers.get('content-type')!r}")
        with servelib.FeedClient(srv.ws_url()) as c:
            servelib.wait_until("a first /ws message", lambda: c.snapshot_list(), 10)
        first = c.snapshot_list()[0]
        chk.eq(first[1], "snapshot", "first /ws message type (after a tick)")
        servelib.check_state_shape(chk, first[2], servelib.SNAPSHOT_KEYS, "first /ws message (after a tick)")
        code, _ = srv.stop(signal.SIGTERM)
        chk.eq(code, 0, "exit status after SIGTERM")
    chk.done()


def test_late_joiner_gets_current_state(ctx):
    chk = Check()
    inp = ctx.dir("gen") / "events.ndjson"
    servelib.sim(ctx, ["generate", "--count", 20000, "--seed", 5, "--rate", 2, "--out", inp])
    n = servelib.count_records(inp)
    with servelib.Server(ctx) as srv:
        servelib.replay(ctx, srv, inp, rate="max")
        srv.wait_read(n, timeout=60)
        time.sleep(0.3)
        snap = srv.snap_data()
        with servelib.FeedClient(srv.ws_url()) as c:
            servelib.wait_until("a first /ws message", lambda: c.snapshot_list(), 10)
            time.sleep(1.5)
        msgs = c.snapshot_list()
        file_windows = window_objects(srv.windows_path)
        chk.expect(len(file_windows) > 120, f"(test premise) only {len(file_windows)} windows; want more than 120")
        if chk.eq(msgs[0][1], "snapshot", "first message of a client joining after the stream"):
            first = msgs[0][2]
            servelib.check_state_shape(chk, first, servelib.SNAPSHOT_KEYS, "late joiner's snapshot")
            chk.eq(first["counters"], snap["counters"], "late joiner's snapshot counters vs /api/snapshot")
            chk.eq(first["totals"], snap["totals"], "late joiner's snapshot totals vs /api/snapshot")
            chk.eq(first["recent_windows"], file_windows[-120:], "late joiner's recent_windows vs last 120 windows")
        chk.expect(not [m for m in msgs if m[1] == "window"], "late joiner got window messages with no new data")
        code, _ = srv.stop(signal.SIGTERM)
        chk.eq(code, 0, "exit status after SIGTERM")
    chk.done()


if __name__ == "__main__":
    servelib.run_cases(__doc__, [test_feed_during_replay, test_snapshot_before_any_data,
                                 test_late_joiner_gets_current_state])
