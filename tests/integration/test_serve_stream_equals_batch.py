#!/usr/bin/python3
"""End-to-end: the live server over TCP gives what batch mode gives on the same file.

A generated stream (200k records with disorder, late records, duplicates and malformed lines) is
run through `orderpulse batch`, and replayed over one TCP connection into `orderpulse serve` (at
full speed, and paced at 100k lines/s for many more micro-batches). Once the server has read every
record it is stopped with SIGTERM (exit 0 within a few seconds) and:

  * its windows.jsonl is, line for line, the first lines of the batch windows.jsonl: exactly the
    batch windows whose end <= the final watermark (from /api/snapshot before stopping);
  * the counts per drop reason (summary.json, /metrics, the snapshot) equal the batch run's;
  * its dropped.jsonl entries (reason, line, raw), in order, equal the batch's (source "socket",
    one peer);
  * totals and first/last event times of summary.json equal the batch's.
"""

import signal

import oplib
import servelib
from oplib import Check

COUNT = 200_000


def stream_equals_batch(ctx, rate):
    chk = Check()
    d = ctx.dir("gen")
    inp = d / "events.ndjson"
    servelib.sim(ctx, ["generate", "--count", COUNT, "--seed", 7, "--disorder", "20s", "--late", "0.01",
                       "--duplicates", "0.02", "--malformed", "0.01", "--out", inp])
    n = servelib.count_records(inp)
    batch = oplib.run_batch(ctx, [inp], extra=["--quiet"], timeout=120)
    bsum = batch.summary()
    chk.eq(bsum["read"], n, "batch summary.read vs non-blank lines of the input")
    b_windows = oplib.read_lines(batch.windows_path)
    b_dropped = oplib.read_dropped(batch.dropped_path)
    # the stream must actually exercise every kind of drop
    for reason in ("late", "duplicate", "malformed_json"):
        assert any(x["reason"] == reason for x in b_dropped), f"generated input has no {reason} records"

    with servelib.Server(ctx) as srv:
        rep = servelib.replay(ctx, srv, inp, rate=rate)
        chk.eq(rep.get("sent"), n, "orderpulse-sim replay summary 'sent'")
        snap = srv.wait_read(n, timeout=60)
        # the final state: one more look once nothing moves any more
        snap = srv.snap_data()
        metrics = srv.metrics()
        wm_text = snap["watermark"]
        code, secs = srv.stop(signal.SIGTERM, timeout=5)
        chk.eq(code, 0, "exit status after SIGTERM")
        print(f"    {n} records, final watermark {wm_text}, stopped in {secs:.2f}s")

    wm = servelib.parse_iso(wm_text)
    # ---------------------------------------------------------------- windows
    s_windows = oplib.read_lines(srv.windows_path)
    expected = [w for w in b_windows if oplib.parse_time_text(oplib.parse_window_line(w)["end"]) <= wm]
    # the batch file is ordered by end, so the final ones are exactly a prefix
    chk.eq(expected, b_windows[:len(expected)], "(test premise) batch windows with end <= watermark form a prefix")
    if s_windows != expected:
        chk.fail(f"server windows.jsonl ({len(s_windows)} lines) should equal the first {len(expected)} lines of the "
                 f"batch windows.jsonl (those with end <= watermark {wm_text}); "
                 f"{oplib.first_diff(chr(10).join(s_windows).encode(), chr(10).join(expected).encode())}")
        if s_windows != b_windows[:len(s_windows)]:
            chk.fail("server windows.jsonl is not even a prefix of the batch windows.jsonl")
    chk.expect(len(expected) >= 4, f"(test premise) only {len(expected)} final windows to compare")

    # ---------------------------------------------------------------- drops
    s_dropped = servelib.read_socket_dropped(srv.dropped_path)
    got = [(x["reason"], x["line"], x["raw"]) for x in s_dropped]
    want = [(x["reason"], x["line"], x["raw"]) for x in b_dropped]
    if got != want:
        chk.fail(f"dropped.jsonl: {len(got)} entries vs batch {len(want)}")
        for i, (g, w) in enumerate(zip(got, want)):
            if g != w:
                chk.fail(f"dropped.jsonl entry #{i + 1}: expected (reason, line, raw) {str(w)[:200]}, "
                         f"got {str(g)[:200]}")
                break
    chk.eq(len({x["peer"] for x in s_dropped}), 1, "distinct peers in dropped.jsonl (one connection)")

    # ---------------------------------------------------------------- counts
    ssum = srv.summary(chk)
    for k in ("read", "accepted", "rejected", "late", "duplicate", "first_event_time", "last_event_time"):
        chk.eq(ssum[k], bsum[k], f"server summary.{k} vs batch")
    chk.eq({k: v for k, v in ssum["rejected_by_reason"].items() if v},
           {k: v for k, v in bsum["rejected_by_reason"].items() if v}, "summary.rejected_by_reason vs batch")
    chk.eq(ssum["totals"], bsum["totals"], "summary.totals vs batch")
    chk.eq(ssum["windows_emitted"], len(s_windows), "server summary.windows_emitted vs its windows.jsonl lines")

    batch_reasons = dict(bsum["rejected_by_reason"])
    batch_reasons = {k: v for k, v in batch_reasons.items() if v}
    batch_reasons["late"] = bsum["late"]
    batch_reasons["duplicate"] = bsum["duplicate"]
    snap_reasons = {k: v for k, v in snap["counters"]["dropped_by_reason"].items() if v}
    chk.eq(snap_reasons, batch_reasons, "/api/snapshot counters.dropped_by_reason vs batch")
    servelib.check_counters_identity(chk, snap["counters"], "/api/snapshot")
    metric_reasons = {dict(lab)["reason"]: int(v)
                      for lab, v in metrics.series("orderpulse_records_dropped_total").items() if v}
    chk.eq(metric_reasons, batch_reasons, "/metrics orderpulse_records_dropped_total by reason vs batch")
    chk.eq(int(metrics.value("orderpulse_records_read_total")), n, "/metrics orderpulse_records_read_total")
    chk.eq(int(metrics.value("orderpulse_records_accepted_total")), bsum["accepted"],
           "/metrics orderpulse_records_accepted_total vs batch accepted")
    chk.done()


def test_stream_equals_batch(ctx):
    """--rate max: a few large micro-batches."""
    stream_equals_batch(ctx, "max")


def test_stream_equals_batch_paced(ctx):
    """--rate 100000: the same stream cut into a few dozen micro-batches."""
    stream_equals_batch(ctx, "100000")


if __name__ == "__main__":
    servelib.run_cases(__doc__, [test_stream_equals_batch, test_stream_equals_batch_paced])
