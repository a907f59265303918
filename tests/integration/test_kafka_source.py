#!/usr/bin/python3
"""End-to-end: `orderpulse serve --kafka-brokers ... --kafka-topic ...` against the mock broker
(kafka-mock-broker), with python3-confluent-kafka as the independent producer and offset reader.

  * a generated file produced to 4 partitions (keyed by product_id; disorder below the watermark
    delay, so no record's lateness depends on the partitioning): the server's windows.jsonl is
    byte-identical to a batch run over the file, the counts equal, and the drop ledger holds the
    same records, each named by topic, partition and offset;
  * SIGKILL and restart while consuming a growing topic: the final windows equal the batch run's,
    and the offsets committed to the group never run ahead of the checkpoint the next start resumes;
  * the brokers down for a while, then up: the outage shows in /metrics, /readyz and one
    kafka_broker_down alert (firing, then resolved), nothing is lost;
  * an idle partition stops holding the watermark back after idle_timeout;
  * a partition revoked in a rebalance (a second server joins the group) stops holding it at once;
  * malformed messages are counted with their offsets and consumption continues.
  * a stop, and a run-time failure, while the group coordinator stalls: both end promptly.
"""

import json
import random
import re
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import kafkalib
import oplib
import servelib
from oplib import Check

TOPIC = "orders"


def kafka_server(ctx, workdir, bootstrap, extra=(), config=None, group="orderpulse", env=None):
    return servelib.Server(ctx, workdir=workdir, config=config, env=env,
                           extra=["--kafka-brokers", bootstrap, "--kafka-topic", TOPIC, "--kafka-group", group, *extra])


def partition_safe_file(ctx, name, count, seed):
    """Disorder (5 s) below the watermark delay (30 s) and no injected late records: lateness
    cannot depend on how records are spread over partitions."""
    return oplib.generate(ctx, name, count, seed=seed, rate=200, disorder="5s", late=0, duplicates=0.02, malformed=0.01)


def ledger_records(path):
    """The drop ledger as a sorted list of (reason, raw): what was dropped, wherever it came from."""
    return sorted((d["reason"], d["raw"]) for d in map(json.loads, Path(path).read_text().splitlines()))


def order_record(i, t_ms):
    """One valid order message: order o{i} at event time t_ms (epoch ms, whole seconds)."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t_ms / 1000)) + "Z"
    return json.dumps({"order_id": f"o{i}", "customer_id": f"c{i % 7}", "product_id": f"p{i % 5}",
                       "unit_price": "2.50", "event_time": stamp}).encode()


def compare_counts(chk, got_path, ref, what):
    got = servelib.read_serve_summary(got_path)
    want = ref.summary()
    for k in ("read", "accepted", "rejected", "late", "duplicate", "rejected_by_reason"):
        chk.eq(got.get(k), want.get(k), f"{what}: summary {k}")


# ------------------------------------------------------------------------------------------

def test_four_partitions_equal_batch(ctx):
    chk = Check()
    src = partition_safe_file(ctx, "gen", 40_000, seed=21)
    ref = oplib.run_batch(ctx, [src])
    with kafkalib.MockBroker(ctx, topics={TOPIC: 4}) as kafka:
        produced = kafkalib.produce_file(kafka.bootstrap, TOPIC, src)
        chk.eq(len(produced["partitions"]), 4, "partitions that received records")
        d = ctx.dir("srv")
        srv = kafka_server(ctx, d, kafka.bootstrap, extra=["--exit-at-eof"]).run_to_exit(90)
        # The last positions are committed as the server leaves the group, for lag tools.
        chk.eq(kafkalib.committed_offsets(kafka.bootstrap, "orderpulse", TOPIC, range(4)),
               kafkalib.end_offsets(kafka.bootstrap, TOPIC), "the group's committed offsets after a run to the end")
    got = srv.windows_path.read_bytes()
    chk.expect(got == ref.windows_bytes(), f"windows.jsonl differs from the batch run: {oplib.first_diff(got, ref.windows_bytes())}")
    compare_counts(chk, srv.summary_path, ref, "4 partitions")
    chk.eq(ledger_records(srv.dropped_path), ledger_records(ref.dropped_path), "dropped records (reason, raw)")
    for d in map(json.loads, srv.dropped_path.read_text().splitlines()[:50]):
        chk.expect(list(d) == ["reason", "source", "topic", "partition", "offset", "raw"] and d["source"] == "kafka"
                   and d["topic"] == TOPIC and 0 <= d["partition"] < 4 and d["offset"] >= 0,
                   f"a Kafka ledger line should name topic, partition and offset: {d}")
    chk.done()


# A killed member holds its partitions until the group's session times out: keep that short (the
# broker's minimum is 6 s) so restarts rejoin quickly.
FAST_REJOIN = {"kafka": {"session.timeout.ms": "6000", "heartbeat.interval.ms": "500"}}


def test_sigkill_restart_exactly_once(ctx):
    chk = Check()
    src = partition_safe_file(ctx, "gen", 60_000, seed=22)
    ref = oplib.run_batch(ctx, [src])
    lines = [l for l in Path(src).read_bytes().split(b"\n") if l.strip()]
    d = ctx.dir("srv")
    rng = random.Random(5)
    with kafkalib.MockBroker(ctx, topics={TOPIC: 4}) as kafka:
        # The topic grows while the server is killed and restarted.
        chunks = [lines[i:i + 6000] for i in range(0, len(lines), 6000)]
        producer_done = threading.Event()

        def produce():
            for c in chunks:
                kafkalib.produce_lines(kafka.bootstrap, TOPIC, c)
                time.sleep(1.0)
            producer_done.set()

        threading.Thread(target=produce, daemon=True).start()
        kills = 0
        deadline = time.monotonic() + 200
        while (kills < 5 or not producer_done.is_set()) and time.monotonic() < deadline:
            srv = kafka_server(ctx, d, kafka.bootstrap, config=FAST_REJOIN,
                               extra=["--checkpoint-dir", str(d / "ckpt"), "--checkpoint-interval", "200ms"])
            srv.start()
            # Past the group join (~3 s with the mock, plus the dead member's session), then at a
            # random moment.
            servelib.wait_until("partitions assigned", lambda: "assigned" in srv.stderr_text(), 30)
            time.sleep(rng.uniform(0.2, 1.5))
            committed = kafkalib.committed_offsets(kafka.bootstrap, "orderpulse", TOPIC, range(4))
            srv.proc.send_signal(signal.SIGKILL)
            srv.proc.wait(timeout=10)
            kills += 1
            # What the group holds may lag the checkpoint, never lead it: compare with what the next
            # start resumes at (the newest checkpoint's offsets, logged at assignment).
            nxt = kafka_server(ctx, d, kafka.bootstrap, config=FAST_REJOIN,
                               extra=["--checkpoint-dir", str(d / "ckpt"), "--checkpoint-interval", "200ms"])
            nxt.start()
            servelib.wait_until("partitions assigned", lambda: "assigned" in nxt.stderr_text(), 30)
            m = re.search(r"assigned \d+ partition\(s\) of \w+: (.*)$", nxt.stderr_text(), re.M)
            resumed = {int(p): (None if o == "committed" else int(o)) for p, o in
                       (x.split("@") for x in m.group(1).split(", "))} if m else {}
            for p, off in committed.items():
                if off is not None and resumed.get(p) is not None:
                    chk.expect(off <= resumed[p], f"partition {p}: committed {off} is ahead of the checkpoint ({resumed[p]})")
            nxt.proc.send_signal(signal.SIGKILL)
            nxt.proc.wait(timeout=10)
            kills += 1
        chk.expect(kills >= 5, f"only {kills} kills within the time bound")
        producer_done.wait(60)
        srv = kafka_server(ctx, d, kafka.bootstrap, config=FAST_REJOIN,
                           extra=["--checkpoint-dir", str(d / "ckpt"), "--exit-at-eof"]).run_to_exit(90)
        final = kafkalib.committed_offsets(kafka.bootstrap, "orderpulse", TOPIC, range(4))
        ends = kafkalib.end_offsets(kafka.bootstrap, TOPIC)
        chk.eq(final, ends, "committed offsets after the final checkpoint (the partitions' ends)")
    got = srv.windows_path.read_bytes()
    chk.expect(got == ref.windows_bytes(), f"after {kills} SIGKILLs windows.jsonl differs from the batch run: "
                                           f"{oplib.first_diff(got, ref.windows_bytes())}")
    compare_counts(chk, srv.summary_path, ref, f"after {kills} SIGKILLs")
    chk.eq(ledger_records(srv.dropped_path), ledger_records(ref.dropped_path), "dropped records after restarts")
    print(f"    {kills} kills")
    chk.done()


def health_alerts(srv):
    path = srv.out_dir / "health_alerts.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_broker_outage(ctx):
    chk = Check()
    src = partition_safe_file(ctx, "gen", 20_000, seed=23)
    ref = oplib.run_batch(ctx, [src])
    lines = [l for l in Path(src).read_bytes().split(b"\n") if l.strip()]
    half = len(lines) // 2
    with kafkalib.MockBroker(ctx, topics={TOPIC: 2}) as kafka:
        kafkalib.produce_lines(kafka.bootstrap, TOPIC, lines[:half])
        d = ctx.dir("srv")
        with kafka_server(ctx, d, kafka.bootstrap) as srv:
            srv.wait_read(half, 30)
            servelib.wait_until("/readyz ready", lambda: srv.get("/readyz")[0] == 200, 10)
            kafka.down()
            servelib.wait_until("orderpulse_kafka_broker_up 0",
                                lambda: srv.metrics().get("orderpulse_kafka_broker_up") == 0, 30)
            chk.eq(srv.get("/readyz")[0], 503, "/readyz while the brokers are down")
            servelib.wait_until("a kafka_broker_down alert in health_alerts.jsonl", lambda: any(
                a["rule"] == "kafka_broker_down" and a["state"] == "firing" for a in health_alerts(srv)), 10)
            chk.expect(srv.get("/healthz")[0] == 200, "the server keeps serving /healthz during the outage")
            time.sleep(2)
            kafka.up()
            kafkalib.produce_lines(kafka.bootstrap, TOPIC, lines[half:])
            srv.wait_read(len(lines), 60, "every record after the brokers came back")
            servelib.wait_until("orderpulse_kafka_broker_up 1", lambda: srv.metrics().get("orderpulse_kafka_broker_up") == 1, 30)
            chk.eq(srv.get("/readyz")[0], 200, "/readyz after the brokers came back")
            servelib.wait_until("kafka_broker_down resolved", lambda: any(
                a["rule"] == "kafka_broker_down" and a["state"] == "resolved" for a in health_alerts(srv)), 10)
            chk.eq(sum(a["rule"] == "kafka_broker_down" and a["state"] == "firing" for a in health_alerts(srv)), 1,
                   "kafka_broker_down fired once for the outage")
            chk.expect(srv.metrics().get("orderpulse_kafka_fetch_errors_total", 0) >= 0, "fetch errors counted")
            chk.expect("brokers" in srv.stderr_text(), f"the outage is not in the log: {srv.stderr_text()[-600:]!r}")
            code, _ = srv.stop(signal.SIGTERM)
            chk.eq(code, 0, "exit after SIGTERM")
    s = servelib.read_serve_summary(srv.summary_path)
    want = ref.summary()
    for k in ("read", "accepted", "rejected", "duplicate"):
        chk.eq(s.get(k), want.get(k), f"summary {k} after the outage")
    chk.done()


def test_idle_partition_does_not_stall_windows(ctx):
    chk = Check()
    t0 = oplib.parse_time_text("2024-05-01T08:00:00Z")

    with kafkalib.MockBroker(ctx, topics={TOPIC: 2}) as kafka:
        # Partition 1: two records at the start, then nothing. Partition 0 keeps receiving records,
        # one event-time second apart, for the whole test.
        kafkalib.produce_lines(kafka.bootstrap, TOPIC, [order_record(1000 + i, t0 + i * 1000) for i in range(2)], partition=1)
        kafkalib.produce_lines(kafka.bootstrap, TOPIC, [order_record(i, t0 + i * 1000) for i in range(100)], partition=0)
        stop = threading.Event()

        def trickle():
            i = 100
            while not stop.is_set() and i < 600:
                kafkalib.produce_lines(kafka.bootstrap, TOPIC, [order_record(i + k, t0 + (i + k) * 1000) for k in range(10)], partition=0)
                i += 10
                time.sleep(0.2)

        feeder = threading.Thread(target=trickle, daemon=True)
        feeder.start()
        d = ctx.dir("srv")
        try:
            with kafka_server(ctx, d, kafka.bootstrap, config={"idle_timeout": "2s"}) as srv:
                # Partition 1 holds the watermark at t0 - 30s until it counts as idle; then the
                # 1-minute windows up to partition 0's watermark become final.
                m = servelib.wait_until(
                    "windows final although partition 1 is idle",
                    lambda: (lambda mm: mm if mm.get("orderpulse_windows_emitted_total", 0) >= 4 else None)(srv.metrics()), 30)
                chk.eq(m.get("orderpulse_sources_idle"), 1, "orderpulse_sources_idle")
                chk.eq(m.series("orderpulse_watermark_holder"), {(("source", f"kafka:{TOPIC}/0"),): 1.0},
                       "the watermark is held by partition 0 once partition 1 is idle")
                snap = srv.snap_data()
                chk.eq(snap.get("watermark_source"), f"kafka:{TOPIC}/0", "watermark_source in the snapshot")
                code, _ = srv.stop(signal.SIGTERM)
                chk.eq(code, 0, "exit after SIGTERM")
        finally:
            stop.set()
            feeder.join(10)
    chk.done()


def test_revoked_partition_stops_holding_the_watermark(ctx):
    """Two servers in one group share a 2-partition topic. Whichever partition the first server loses
    when the second joins must stop holding its watermark at once (idle_timeout is 10 minutes):
    records sent afterwards to the partition it kept then make windows final."""
    chk = Check()
    t0 = oplib.parse_time_text("2024-05-01T08:00:00Z")

    config = {"idle_timeout": "10m", **FAST_REJOIN}
    assigned_one = re.compile(r"kafka: assigned 1 partition\(s\) of " + TOPIC + r": (\d+)@")
    with kafkalib.MockBroker(ctx, topics={TOPIC: 2}) as kafka:
        for p in (0, 1):  # the same five seconds of event time in both partitions
            kafkalib.produce_lines(kafka.bootstrap, TOPIC, [order_record(100 * p + i, t0 + i * 1000) for i in range(5)], partition=p)
        with kafka_server(ctx, ctx.dir("a"), kafka.bootstrap, config=config) as a:
            servelib.wait_until("server a read both partitions",
                                lambda: a.metrics().get("orderpulse_watermark_timestamp_seconds") == (t0 + 4000 - 30_000) / 1000, 60)
            with kafka_server(ctx, ctx.dir("b"), kafka.bootstrap, config=config) as b:
                m = servelib.wait_until("the rebalance leaves server a one partition",
                                        lambda: assigned_one.search(a.stderr_text()), 60)
                kept = int(m.group(1))
                servelib.wait_until("server b is assigned the other one", lambda: assigned_one.search(b.stderr_text()), 60)
                # Five minutes later in event time, to the partition server a kept only.
                kafkalib.produce_lines(kafka.bootstrap, TOPIC, [order_record(1000 + i, t0 + 300_000 + i * 1000) for i in range(5)],
                                       partition=kept)
                want = (t0 + 304_000 - 30_000) / 1000
                mm = servelib.wait_until(
                    "server a's watermark follows the partition it kept",
                    lambda: (lambda x: x if x.get("orderpulse_watermark_timestamp_seconds") == want else None)(a.metrics()), 30)
                chk.eq(mm.series("orderpulse_watermark_holder"), {(("source", f"kafka:{TOPIC}/{kept}"),): 1.0},
                       "the partition server a kept holds its watermark")
                chk.eq(mm.get("orderpulse_sources_idle"), 0, "a revoked partition is not counted as idle")
                chk.expect(mm.get("orderpulse_windows_emitted_total", 0) >= 1, "windows made final by the kept partition")
                code, _ = b.stop(signal.SIGTERM)
                chk.eq(code, 0, "server b exits after SIGTERM")
            code, _ = a.stop(signal.SIGTERM)
            chk.eq(code, 0, "server a exits after SIGTERM")
    chk.done()


def test_malformed_messages(ctx):
    chk = Check()
    good = [json.dumps({"order_id": f"o{i}", "customer_id": "c", "product_id": "p", "unit_price": "1.00",
                        "event_time": "2024-05-01T08:00:00Z"}).encode() for i in range(20)]
    # Over max_line_bytes (200) but under the ledger's 256-byte prefix: the ledger holds it whole.
    too_long = b'{"order_id":"long","pad":"' + b"z" * 200 + b'"}'
    bad = [b"garbage", b"\x00\xff\xfe binary", b'{"order_id":"x"}', b"[1,2,3]", too_long]
    msgs = good[:10] + bad + good[10:]
    with kafkalib.MockBroker(ctx, topics={TOPIC: 1}) as kafka:
        kafkalib.produce_lines(kafka.bootstrap, TOPIC, msgs, partition=0)
        d = ctx.dir("srv")
        srv = kafka_server(ctx, d, kafka.bootstrap, config={"max_line_bytes": 200}, extra=["--exit-at-eof"]).run_to_exit(90)
    s = servelib.read_serve_summary(srv.summary_path)
    chk.eq((s["read"], s["accepted"], s["rejected"]), (25, 20, 5), "read, accepted, rejected")
    ledger = [json.loads(l) for l in srv.dropped_path.read_text().splitlines()]
    chk.eq(sorted(x["offset"] for x in ledger), [10, 11, 12, 13, 14], "offsets of the dropped messages")
    long_entry = [x for x in ledger if x["offset"] == 14]
    chk.eq([(x["reason"], x["raw"]) for x in long_entry], [("line_too_long", too_long.decode())],
           "the over-long message in the ledger: its own bytes, nothing past them")
    chk.expect(all(x["topic"] == TOPIC and x["partition"] == 0 for x in ledger), f"ledger names topic/partition: {ledger}")
    chk.done()


def test_stop_is_bounded_when_the_coordinator_stalls(ctx):
    """librdkafka's close waits for the group coordinator (up to session.timeout.ms). A server
    told to stop has written its checkpoint and summary by then: it must exit promptly anyway."""
    chk = Check()
    src = partition_safe_file(ctx, "gen", 2_000, seed=29)
    ref = oplib.run_batch(ctx, [src])
    lines = [l for l in Path(src).read_bytes().split(b"\n") if l.strip()]
    with kafkalib.MockBroker(ctx, topics={TOPIC: 2}) as kafka:
        kafkalib.produce_lines(kafka.bootstrap, TOPIC, lines)
        # With debug logs on (SPDLOG_LEVEL, and librdkafka's group log), as one would diagnose it.
        with kafka_server(ctx, ctx.dir("srv"), kafka.bootstrap, config={"kafka": {"debug": "cgrp"}},
                          env={"SPDLOG_LEVEL": "debug"}) as srv:
            srv.wait_read(len(lines), 30)
            kafka.rtt(20_000)  # every broker answers 20 s late from now on, the coordinator too
            code, took = srv.stop(signal.SIGTERM, timeout=10.0)
            chk.eq(code, 0, "exit code after SIGTERM")
            chk.expect(took < 4.0, f"the server took {took:.1f}s to stop with a stalled coordinator")
            chk.expect("leaving the group" in srv.stderr_text(), f"the slow close is not in the log: {srv.stderr_text()[-600:]!r}")
            chk.expect(" debug kafka: " in srv.stderr_text(), "SPDLOG_LEVEL=debug shows librdkafka's debug log")
    s = servelib.read_serve_summary(srv.summary_path)
    for k in ("read", "accepted", "rejected", "duplicate"):
        chk.eq(s.get(k), ref.summary().get(k), f"summary {k}")
    chk.done()


def test_failure_with_a_stalled_coordinator(ctx):
    """A run-time failure while the group coordinator stalls: the server may not write its result
    files past a size limit (RLIMIT_FSIZE, SIGXFSZ ignored, so a write fails with EFBIG), and junk
    sent to the ingest port fills dropped.jsonl. Leaving the group cannot finish, so the consumer
    is abandoned with librdkafka's threads running; the server must still name the failure in one
    line and exit 1 within its close timeout, not hang or die of a signal on the way out."""
    chk = Check()
    lines = [order_record(i, 1_700_000_000_000 + i * 1000) for i in range(50)]
    with kafkalib.MockBroker(ctx, topics={TOPIC: 2}) as kafka:
        kafkalib.produce_lines(kafka.bootstrap, TOPIC, lines)
        srv = kafka_server(ctx, ctx.dir("srv"), kafka.bootstrap)
        limit_kib = 256
        srv.cmd = ["bash", "-c", f'trap "" XFSZ; ulimit -f {limit_kib}; exec "$@"', "bash", *map(str, srv.cmd)]
        with srv:
            srv.wait_read(len(lines), 30)
            kafka.rtt(20_000)  # the coordinator (every broker) answers 20 s late from now on
            junk = b"".join(b'{"order_id":"x%d","pad":"%s"\n' % (i, b"y" * 900) for i in range(2 * limit_kib))
            t0 = time.monotonic()
            try:
                with socket.create_connection(srv.ingest, timeout=10) as s:
                    s.sendall(junk)
            except OSError:
                pass  # the server may fail (and close the port) before it has read everything
            try:
                code = srv.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                code = None
            took = time.monotonic() - t0
            err = srv.stderr_text()
            chk.eq(code, 1, f"exit code of the failed server (stderr {err[-600:]!r})")
            chk.expect(took < 8.0, f"the failed server took {took:.1f}s to exit")
            chk.expect("leaving the group did not finish" in err, f"the abandoned close is not in the log: {err[-600:]!r}")
            last = err.rstrip("\n").split("\n")[-1]
            chk.expect(re.fullmatch(r"orderpulse: write to .*dropped\.jsonl failed: File too large", last) is not None,
                       f"last stderr line names the failure: {last!r}")
    chk.done()


if __name__ == "__main__":
    oplib.run_cases(__doc__, [test_four_partitions_equal_batch, test_malformed_messages, test_idle_partition_does_not_stall_windows,
                              test_revoked_partition_stops_holding_the_watermark, test_broker_outage,
                              test_stop_is_bounded_when_the_coordinator_stalls, test_failure_with_a_stalled_coordinator,
                              test_sigkill_restart_exactly_once],
                    cleanup=servelib.kill_all)
