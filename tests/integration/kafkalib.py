"""Helpers for the end-to-end tests that need Kafka, on top of oplib and servelib.

  * MockBroker: `kafka-mock-broker` (librdkafka's mock cluster, built next to orderpulse) as a
    context manager: its bootstrap address, and down()/up()/rtt()/create_topic() through its
    stdin control channel. Registered with servelib, so it dies with the test;
  * producing: a file's (or a list's) lines to a topic with python3-confluent-kafka, one
    message per non-blank line, keyed by the record's product_id, with the same partitioner as
    `orderpulse-sim --to kafka://` (Java's murmur2), so both put a product on the same partition;
  * reading back: committed group offsets, end offsets, and every message of a topic (without
    joining a group, so no rebalance wait);
  * java_partition(): Kafka's murmur2 partitioner, to check where a key must land.

    with kafkalib.MockBroker(ctx, topics={"orders": 4}) as kafka:
        kafkalib.produce_file(kafka.bootstrap, "orders", events_path)
        kafka.down(); ...; kafka.up()
        offsets = kafkalib.committed_offsets(kafka.bootstrap, "orderpulse", "orders")

Mock limits (librdkafka 2.0.2): each partition keeps only about 5 MiB (older messages are
deleted: keep consumer lag below that); the first join of a consumer group takes about 3 s; no
topic creation through the admin API (use MockBroker.create_topic or auto-creation: a topic
named before it exists gets 4 partitions); transactions are not real.

Needs Debian's python3-confluent-kafka (Debian's /usr/bin/python3); every wait is bounded.
"""

import collections
import json
import os
import re
import select
import signal
import subprocess
import time
from pathlib import Path

import servelib
from oplib import Failures

try:
    import confluent_kafka
    from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
except ImportError:  # pragma: no cover - the message is the point
    raise SystemExit("kafkalib: python3-confluent-kafka is missing (scripts/install-deps.sh installs it; "
                     "run the tests with Debian's /usr/bin/python3)") from None

BOOTSTRAP_RE = re.compile(r"^127\.0\.0\.1:\d+(,127\.0\.0\.1:\d+)*$")

# librdkafka logs every failed reconnect on stderr; the tests look at delivery reports and
# metadata instead, so the clients here only log what is critical (override with log_level=7).
CLIENT_DEFAULTS = {"log_level": 2}

# The producer settings of `orderpulse-sim --to kafka://` that decide where and how records land.
PRODUCER_DEFAULTS = {
    **CLIENT_DEFAULTS,
    "partitioner": "murmur2_random",
    "enable.idempotence": True,
    "linger.ms": 10,
    "compression.type": "lz4",
    "reconnect.backoff.ms": 100,
    "reconnect.backoff.max.ms": 2000,
}


def mock_broker_path(ctx):
    path = Path(ctx.bin_dir) / "kafka-mock-broker"
    if not os.access(path, os.X_OK):
        raise Failures([f"{path} is missing or not executable (build the kafka-mock-broker target)"])
    return path


# --------------------------------------------------------------------------------------------
# The mock broker
# --------------------------------------------------------------------------------------------


class MockBroker(servelib.ManagedProcess):
    """`kafka-mock-broker` in a directory of its own (its log is kafka-mock-broker.log there).

    topics: {name: partitions} (or a list of (name, partitions)) created at start.
    Use as a context manager; it returns itself: .bootstrap is the address to give clients."""

    def __init__(self, ctx, topics=None, brokers=1, workdir=None, extra=()):
        self.binary = mock_broker_path(ctx)
        self.dir = Path(workdir) if workdir else ctx.dir("kafka")
        self.log_path = self.dir / "kafka-mock-broker.log"
        self.brokers = brokers
        items = list(topics.items()) if isinstance(topics, dict) else list(topics or [])
        self.cmd = [self.binary, "--brokers", brokers]
        for name, partitions in items:
            self.cmd += ["--topic", name, "--partitions", partitions]
        self.cmd += list(extra)
        self.proc = None
        self.bootstrap = None
        self._buf = b""
        self.returncode = None

    # ---- lifecycle
    def start(self, timeout=15):
        with open(self.log_path, "wb") as log:
            self.proc = servelib.popen(self.cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                                       cwd=self.dir)
        line = self._read_line(timeout, "its bootstrap address (first stdout line)")
        if not BOOTSTRAP_RE.match(line):
            raise Failures([f"{self.cmdline()}: first stdout line should be the bootstrap address "
                            f"127.0.0.1:PORT[,...], got {line!r}"])
        self.bootstrap = line
        return self

    def log_text(self):
        try:
            return self.log_path.read_bytes().decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self, sig=signal.SIGTERM, timeout=5.0):
        """Sends sig, waits up to timeout s; returns the exit code (Failures when it hangs)."""
        self.returncode = servelib.stop_process(self.proc, sig, timeout, lambda: "kafka-mock-broker")
        return self.returncode

    # ---- control channel
    def _read_line(self, timeout, what):
        end = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._buf:
            left = end - time.monotonic()
            if left <= 0:
                raise Failures([f"kafka-mock-broker: no {what} within {timeout}s; log {self.log_text()[-800:]!r}"])
            ready, _, _ = select.select([fd], [], [], min(left, 0.2))
            if ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    raise Failures([f"kafka-mock-broker closed stdout before {what} (exit "
                                    f"{self.proc.poll()}); log {self.log_text()[-800:]!r}"])
                self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return line.decode("utf-8", "replace")

    def command(self, text, timeout=10, expect_ok=True):
        """Sends one control line; returns the reply line (Failures unless `ok` when expect_ok)."""
        self.proc.stdin.write(text.encode() + b"\n")
        self.proc.stdin.flush()
        reply = self._read_line(timeout, f"reply to {text!r}")
        if expect_ok and reply != "ok":
            raise Failures([f"kafka-mock-broker: {text!r} -> {reply!r}"])
        return reply

    def down(self, broker=None):
        """Disconnects broker N (default: all) and refuses new connections until up()."""
        return self.command("down" if broker is None else f"down {broker}")

    def up(self, broker=None):
        return self.command("up" if broker is None else f"up {broker}")

    def rtt(self, ms, broker=None):
        """Delays every response of broker N (default: all) by ms milliseconds."""
        return self.command(f"rtt {ms}" if broker is None else f"rtt {ms} {broker}")

    def create_topic(self, name, partitions):
        return self.command(f"topic {name} {partitions}")


# --------------------------------------------------------------------------------------------
# Producing
# --------------------------------------------------------------------------------------------


def product_id_of(value):
    """The key of a record: its top-level product_id string (UTF-8 bytes), or None when the line
    is no JSON object or has no string product_id. (`orderpulse-sim` takes the text between the
    quotes as written; the two differ only for ids with JSON escapes, which no generator writes.)"""
    try:
        obj = json.loads(value)
    except ValueError:
        return None
    if not isinstance(obj, dict) or not isinstance(obj.get("product_id"), str):
        return None
    return obj["product_id"].encode()


def producer(bootstrap, **overrides):
    """A confluent_kafka.Producer with PRODUCER_DEFAULTS (dots in override names as underscores:
    message_timeout_ms=3000)."""
    conf = {"bootstrap.servers": bootstrap, **PRODUCER_DEFAULTS}
    conf.update({k.replace("_", "."): v for k, v in overrides.items()})
    return Producer(conf)


def produce_lines(bootstrap, topic, lines, partition=None, timeout=60, **overrides):
    """Produces each non-blank line (bytes or str, without its newline) as one message keyed by
    its product_id (none when it has no product_id); partition: None for the partitioner, or a
    fixed partition number. Waits until every message is acknowledged; Failures on any delivery
    error or after timeout s. Returns {"delivered": n, "partitions": Counter{partition: n}}."""
    p = producer(bootstrap, **overrides)
    errors = []
    parts = collections.Counter()

    def on_delivery(err, msg):
        if err is not None:
            errors.append(str(err))
        else:
            parts[msg.partition()] += 1

    n = 0
    end = time.monotonic() + timeout
    for line in lines:
        value = line.encode() if isinstance(line, str) else bytes(line)
        value = value.rstrip(b"\n")
        if not value.strip(b" \t\r"):
            continue
        kw = {"key": product_id_of(value), "value": value, "on_delivery": on_delivery}
        if partition is not None:
            kw["partition"] = partition
        while True:
            try:
                p.produce(topic, **kw)
                break
            except BufferError:  # local queue full: let deliveries make room
                p.poll(0.1)
                if time.monotonic() > end:
                    raise Failures([f"producing to {topic}: local queue still full after {timeout}s"]) from None
        n += 1
        p.poll(0)
    left = p.flush(max(0.0, end - time.monotonic()))
    if left:
        raise Failures([f"producing to {topic}: {left} of {n} messages unacknowledged after {timeout}s"])
    if errors:
        raise Failures([f"producing to {topic}: {len(errors)} of {n} deliveries failed, e.g. {errors[:3]}"])
    return {"delivered": n, "partitions": parts}


def produce_file(bootstrap, topic, path, **kw):
    """produce_lines over a file's lines (NDJSON: one record per line)."""
    return produce_lines(bootstrap, topic, Path(path).read_bytes().split(b"\n"), **kw)


def java_partition(key, partitions):
    """Kafka's default partitioner for a non-null key (Java's murmur2; librdkafka's
    murmur2_random): the partition a keyed message lands on."""
    data = key if isinstance(key, bytes) else key.encode()
    m, r, mask = 0x5BD1E995, 24, 0xFFFFFFFF
    h = (0x9747B28C ^ len(data)) & mask
    n4 = len(data) // 4
    for i in range(n4):
        k = int.from_bytes(data[4 * i:4 * i + 4], "little")
        k = (k * m) & mask
        k ^= k >> r
        k = (k * m) & mask
        h = (h * m) & mask
        h ^= k
    tail = data[4 * n4:]
    if len(tail) == 3:
        h ^= tail[2] << 16
    if len(tail) >= 2:
        h ^= tail[1] << 8
    if len(tail) >= 1:
        h ^= tail[0]
        h = (h * m) & mask
    h ^= h >> 13
    h = (h * m) & mask
    h ^= h >> 15
    return (h & 0x7FFFFFFF) % partitions


# --------------------------------------------------------------------------------------------
# Reading back
# --------------------------------------------------------------------------------------------


def _consumer(bootstrap, group=None, **overrides):
    conf = {**CLIENT_DEFAULTS, "bootstrap.servers": bootstrap, "group.id": group or "kafkalib-reader",
            "enable.auto.commit": False, "auto.offset.reset": "earliest", "enable.partition.eof": True}
    conf.update({k.replace("_", "."): v for k, v in overrides.items()})
    return Consumer(conf)


def partition_count(bootstrap, topic, timeout=10):
    c = _consumer(bootstrap)
    try:
        md = c.list_topics(topic, timeout=timeout)
        t = md.topics.get(topic)
        if t is None or t.error is not None:
            raise Failures([f"topic {topic}: no metadata ({t.error if t else 'absent'})"])
        return len(t.partitions)
    finally:
        c.close()


def end_offsets(bootstrap, topic, timeout=10):
    """{partition: high watermark (next offset to be written)}."""
    c = _consumer(bootstrap)
    try:
        n = partition_count(bootstrap, topic, timeout)
        return {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout)[1] for p in range(n)}
    finally:
        c.close()


def committed_offsets(bootstrap, group, topic, partitions=None, timeout=10):
    """{partition: offset the group committed (the next record it will read), or None when it
    committed nothing for that partition}. Reads them without joining the group."""
    if partitions is None:
        partitions = range(partition_count(bootstrap, topic, timeout))
    c = _consumer(bootstrap, group)
    try:
        tps = c.committed([TopicPartition(topic, p) for p in partitions], timeout=timeout)
    finally:
        c.close()
    out = {}
    for tp in tps:
        if tp.error is not None:
            raise Failures([f"committed offset of {group} on {topic}[{tp.partition}]: {tp.error}"])
        out[tp.partition] = tp.offset if tp.offset >= 0 else None
    return out


Message = collections.namedtuple("Message", "partition offset key value")


def read_all(bootstrap, topic, timeout=30):
    """Every message of a topic, up to the end offsets seen at the start: [Message], ordered by
    partition then offset. Assigns partitions directly (no group join, nothing committed)."""
    ends = end_offsets(bootstrap, topic, timeout)
    c = _consumer(bootstrap)
    out = []
    try:
        c.assign([TopicPartition(topic, p, confluent_kafka.OFFSET_BEGINNING) for p in ends])
        pending = {p for p, e in ends.items() if e > 0}
        deadline = time.monotonic() + timeout
        while pending:
            if time.monotonic() > deadline:
                raise Failures([f"reading {topic}: partitions {sorted(pending)} not read to their end "
                                f"({ends}) within {timeout}s; got {len(out)} messages"])
            m = c.poll(0.2)
            if m is None:
                continue
            if m.error():
                if m.error().code() == KafkaError._PARTITION_EOF:
                    if m.offset() >= ends[m.partition()]:
                        pending.discard(m.partition())
                    continue
                raise Failures([f"reading {topic}: {m.error()}"])
            if m.offset() < ends[m.partition()]:
                out.append(Message(m.partition(), m.offset(), m.key(), m.value()))
            if m.offset() + 1 >= ends[m.partition()]:
                pending.discard(m.partition())
    finally:
        c.close()
    out.sort(key=lambda x: (x.partition, x.offset))
    return out
