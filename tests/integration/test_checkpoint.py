#!/usr/bin/python3
"""End-to-end: checkpoints and exactly-once recovery of `orderpulse serve --follow`.

  * crash test: a generated file with disorder, duplicates, late and malformed records grows while
    the server follows it; the server is killed with SIGKILL at random moments (some of them while
    a checkpoint file is being written) and restarted, at least 10 times; a last run with
    --exit-at-eof must leave windows.jsonl and dropped.jsonl byte-identical to one uninterrupted
    batch run over the same file, and the same counts in summary.json;
  * a corrupt newest checkpoint and a truncated one are reported, set aside, and the previous one is
    used; when none is usable the server starts over from the beginning of the file (still exact);
  * a checkpoint made under other window settings is refused (exit 2, one line naming the setting)
    unless --reset-state is given;
  * a missing checkpoint folder is created; one that cannot be written is a one-line error, exit 1;
  * a full disk (a tiny tmpfs, when root): the failure is logged once and counted in /metrics, the
    server keeps serving, and a restart resumes from the last checkpoint that fit: still exact;
  * records from the socket that no checkpoint covers yet are counted in /metrics;
  * the followed file rotated by rename: both files are read, the rotation is counted.
"""

import os
import random
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import oplib
import servelib
from oplib import Check

COUNTS = ("read", "accepted", "rejected", "late", "duplicate", "rejected_by_reason")


def expected_batch(ctx, path, config=None):
    """One uninterrupted batch run over the whole file: the reference."""
    return oplib.run_batch(ctx, [path], config=config)


def compare_with_batch(chk, out_dir, ref, what):
    out = Path(out_dir)
    for name, want in (("windows.jsonl", ref.windows_bytes()), ("dropped.jsonl", ref.dropped_bytes()),
                       ("alerts.jsonl", (ref.out_dir / "alerts.jsonl").read_bytes())):
        got = (out / name).read_bytes() if (out / name).exists() else b""
        if got != want:
            chk.fail(f"{what}: {name} differs from the batch run ({len(got)} vs {len(want)} bytes); "
                     f"first difference: {oplib.first_diff(got, want)}")
    got_s = servelib.read_serve_summary(out / "summary.json")
    want_s = ref.summary()
    for k in COUNTS:
        chk.eq(got_s.get(k), want_s.get(k), f"{what}: summary {k}")


def follow_server(ctx, workdir, path, interval="100ms", extra=(), config=None):
    return servelib.Server(ctx, workdir=workdir, config=config,
                           extra=["--follow", str(path), "--checkpoint-dir", str(Path(workdir) / "ckpt"),
                                  "--checkpoint-interval", interval, *extra])


def finish_run(ctx, workdir, path, timeout=60, extra=(), config=None):
    """Runs the server with --exit-at-eof to the end; returns it (exited)."""
    return follow_server(ctx, workdir, path, extra=["--exit-at-eof", *extra], config=config).run_to_exit(timeout)


def checkpoints(workdir):
    d = Path(workdir) / "ckpt"
    return sorted(p for p in d.glob("checkpoint-*.ckpt")) if d.exists() else []


class Grower:
    """Appends the bytes of `src` to `dst` in uneven chunks (cut anywhere, mid-line included) over
    about `seconds`, on a thread: the file the server follows grows like a log."""

    def __init__(self, src, dst, seconds, chunks=40, seed=7):
        self.data = Path(src).read_bytes()
        self.dst = Path(dst)
        rng = random.Random(seed)
        cuts = sorted(rng.sample(range(1, len(self.data)), chunks - 1))
        self.pieces = [self.data[a:b] for a, b in zip([0] + cuts, cuts + [len(self.data)])]
        self.pause = seconds / chunks
        self.dst.write_bytes(b"")
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        with open(self.dst, "ab") as f:
            for piece in self.pieces:
                f.write(piece)
                f.flush()
                time.sleep(self.pause)

    def start(self):
        self.thread.start()
        return self

    def done(self):
        return not self.thread.is_alive()


# ------------------------------------------------------------------------------------------

def test_crash_recovery_exactly_once(ctx):
    chk = Check()
    d = ctx.dir("crash")
    src = oplib.generate(ctx, "gen", 300_000, seed=11, rate=500, disorder="20s", late=0.01, duplicates=0.03,
                         malformed=0.005)
    follow = d / "orders.ndjson"
    shutil.copyfile(src, follow)
    ref = expected_batch(ctx, follow)
    follow.write_bytes(b"")

    rng = random.Random(2024)
    grower = Grower(src, follow, seconds=12).start()
    kills = during_write = 0
    deadline = time.monotonic() + 120
    while (kills < 12 or not grower.done()) and time.monotonic() < deadline:
        srv = follow_server(ctx, d, follow, interval="100ms")
        srv.start()
        if kills % 2 == 1:
            # Wait for a checkpoint being written (its temporary file) and kill right then.
            end = time.monotonic() + 3
            ckpt = d / "ckpt"
            while time.monotonic() < end and not any(p.name.endswith(".tmp") for p in ckpt.glob(".*")):
                time.sleep(0.0005)
            during_write += time.monotonic() < end
        else:
            time.sleep(rng.uniform(0.05, 1.2))
        srv.proc.send_signal(signal.SIGKILL)
        srv.proc.wait(timeout=10)
        kills += 1
        chk.expect("AddressSanitizer" not in srv.stderr_text() and "terminate called" not in srv.stderr_text(),
                   f"server crashed on its own: {srv.stderr_text()[-500:]!r}")
    chk.expect(kills >= 10, f"only {kills} kills happened within the time bound")
    chk.expect(during_write >= 1, f"no kill landed while a checkpoint was being written ({kills} kills)")
    while not grower.done():
        time.sleep(0.05)
    srv = finish_run(ctx, d, follow, timeout=120)
    chk.expect("restored checkpoint" in srv.stderr_text(), "the last run did not say it restored a checkpoint")
    compare_with_batch(chk, srv.out_dir, ref, f"after {kills} SIGKILLs ({during_write} during checkpoint writes)")
    print(f"    {kills} kills, {during_write} while a checkpoint was being written")
    chk.done()


def _two_stage_run(ctx, d, src):
    """Follows the first half, checkpoints, stops; then the whole file: several checkpoints at
    different positions exist afterwards."""
    follow = d / "orders.ndjson"
    data = Path(src).read_bytes()
    half = data.index(b"\n", len(data) // 2) + 1
    follow.write_bytes(data[:half])
    srv = follow_server(ctx, d, follow, interval="50ms")
    srv.start()
    srv.wait_read(data[:half].count(b"\n"), 30)
    srv.stop(signal.SIGTERM)
    with open(follow, "ab") as f:
        f.write(data[half:])
    srv = follow_server(ctx, d, follow, interval="50ms")
    srv.start()
    srv.wait_read(data.count(b"\n"), 30)
    srv.stop(signal.SIGTERM)
    return follow


def test_damaged_checkpoints_fall_back(ctx):
    chk = Check()
    src = oplib.generate(ctx, "gen", 60_000, seed=5, rate=200, disorder="10s", late=0.01, duplicates=0.02,
                         malformed=0.01)
    for damage in ("flip", "truncate", "all"):
        d = ctx.dir(f"damage-{damage}")
        follow = _two_stage_run(ctx, d, src)
        ref = expected_batch(ctx, follow)
        files = checkpoints(d)
        chk.expect(len(files) >= 2, f"{damage}: expected several checkpoints, found {[p.name for p in files]}")
        victims = files if damage == "all" else files[-1:]
        for p in victims:
            b = bytearray(p.read_bytes())
            if damage == "truncate":
                p.write_bytes(bytes(b[: len(b) // 2]))
            else:
                b[len(b) // 2] ^= 0x5A
                p.write_bytes(bytes(b))
        srv = finish_run(ctx, d, follow)
        err = srv.stderr_text()
        for p in victims:
            chk.expect(p.name in err, f"{damage}: the damaged {p.name} is not named in the log: {err[-600:]!r}")
            chk.expect(Path(str(p) + ".corrupt").exists(), f"{damage}: {p.name} was not set aside as .corrupt")
        if damage == "all":
            chk.expect("starting from the beginning" in err, f"all damaged: no message about starting over: {err[-600:]!r}")
        else:
            chk.expect("restored checkpoint" in err, f"{damage}: the previous checkpoint was not restored: {err[-600:]!r}")
        compare_with_batch(chk, srv.out_dir, ref, f"newest checkpoint damaged ({damage})")
        # Reported once: the next start does not trip over the same file again.
        srv2 = finish_run(ctx, d, follow)
        chk.expect("damaged" not in srv2.stderr_text() and "unreadable" not in srv2.stderr_text(),
                   f"{damage}: the damaged file was reported again on the next start")
    chk.done()


def test_settings_change_refused(ctx):
    chk = Check()
    src = oplib.generate(ctx, "gen", 20_000, seed=3, rate=100)
    d = ctx.dir("settings")
    follow = d / "orders.ndjson"
    shutil.copyfile(src, follow)
    finish_run(ctx, d, follow)
    other = {"windows": [{"size": "5m", "slide": "5m"}]}
    srv = follow_server(ctx, d, follow, config=other)
    proc = oplib.run([*[str(c) for c in srv.cmd]], timeout=30)
    err = proc.stderr.decode("utf-8", "replace").strip()
    chk.eq(proc.returncode, 2, f"exit status with other windows (stderr {err[-400:]!r})")
    last = err.splitlines()[-1] if err else ""
    chk.expect("windows" in last and "1m/1m,10m/1m" in last and "5m/5m" in last and "--reset-state" in last,
               f"the refusal should name the setting, both values and --reset-state: {last!r}")
    chk.expect("terminate called" not in err and "what():" not in err, f"stack trace: {err[-400:]!r}")
    srv = finish_run(ctx, d, follow, config=other, extra=["--reset-state"])
    ref = expected_batch(ctx, follow, config=other)
    compare_with_batch(chk, srv.out_dir, ref, "after --reset-state with 5m windows")
    chk.done()


def test_checkpoint_dir_errors(ctx):
    chk = Check()
    src = oplib.generate(ctx, "gen", 5_000, seed=4)
    d = ctx.dir("dirs")
    follow = d / "orders.ndjson"
    shutil.copyfile(src, follow)
    nested = d / "a" / "b" / "ckpt"
    srv = servelib.Server(ctx, workdir=d, extra=["--follow", str(follow), "--checkpoint-dir", str(nested), "--exit-at-eof"])
    srv.start()
    chk.eq(srv.proc.wait(timeout=60), 0, "exit status with a checkpoint folder that did not exist")
    chk.expect(any(nested.glob("checkpoint-*.ckpt")), f"no checkpoint written in the created folder {nested}")

    blocker = d / "not-a-dir"
    blocker.write_text("x")
    cases = [(blocker / "ckpt", "a path below a regular file")]
    ro = d / "read-only"
    ro.mkdir()
    mounted = False
    if os.geteuid() == 0:
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(ro)]).returncode == 0
    else:
        ro.chmod(0o555)
    if mounted or os.geteuid() != 0:
        cases.append((ro, "a read-only folder"))
    try:
        for path, what in cases:
            cmd = [ctx.orderpulse, "serve", "--ingest", "127.0.0.1:0", "--http", "127.0.0.1:0", "--output-dir",
                   d / "out2", "--follow", follow, "--checkpoint-dir", path]
            proc = oplib.run(cmd, timeout=30)
            err = proc.stderr.decode("utf-8", "replace").strip()
            chk.eq(proc.returncode, 1, f"exit status with {what} (stderr {err[-300:]!r})")
            chk.expect(len(err.splitlines()) == 1 and str(path) in err,
                       f"{what}: expected one stderr line naming {path}, got {err[-400:]!r}")
    finally:
        if mounted:
            subprocess.run(["umount", str(ro)])
    chk.done()


def test_disk_full(ctx):
    if os.geteuid() != 0:
        print("    SKIP: mounting a tiny tmpfs needs root")
        return
    chk = Check()
    d = ctx.dir("full")
    src = oplib.generate(ctx, "gen", 200_000, seed=9, rate=300, customers=50_000, products=20_000, duplicates=0.01)
    follow = d / "orders.ndjson"
    data = Path(src).read_bytes()
    small = data.index(b"\n", 20_000) + 1  # a prefix whose checkpoint fits the tmpfs
    follow.write_bytes(data[:small])
    ckpt = d / "ckpt"
    ckpt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(ckpt)]).returncode != 0:
        print("    SKIP: cannot mount tmpfs")
        return
    try:
        srv = follow_server(ctx, d, follow, interval="50ms")
        srv.start()
        srv.wait_read(data[:small].count(b"\n"), 30)
        servelib.wait_until("a first checkpoint", lambda: checkpoints(d), 10)
        with open(follow, "ab") as f:
            f.write(data[small:])
        srv.wait_read(data.count(b"\n"), 60, "every record read although checkpoints fail")
        m = servelib.wait_until("orderpulse_checkpoint_failures_total > 0",
                                lambda: (lambda mm: mm if mm.get("orderpulse_checkpoint_failures_total", 0) > 0 else None)(srv.metrics()), 10)
        chk.expect(m.get("orderpulse_checkpoints_total", 0) >= 1, "no successful checkpoint counted before the disk filled")
        srv.proc.send_signal(signal.SIGKILL)
        srv.proc.wait(timeout=10)
        err = srv.stderr_text()
        n_logged = err.count("No space left on device")
        chk.expect(n_logged >= 1, f"the full disk is not in the log: {err[-600:]!r}")
        chk.expect(n_logged <= 3, f"the same failure was logged {n_logged} times (log spam)")
        chk.expect(not list(ckpt.glob(".*.tmp")), f"temporary files left on the full disk: {list(ckpt.glob('.*'))}")
        chk.expect(checkpoints(d), "the checkpoint that fitted was lost")
        srv = finish_run(ctx, d, follow)
        chk.expect("restored checkpoint" in srv.stderr_text(), "did not resume from the checkpoint that fitted")
        compare_with_batch(chk, srv.out_dir, expected_batch(ctx, follow), "after checkpoints failed on a full disk")
    finally:
        subprocess.run(["umount", "-l", str(ckpt)])
    chk.done()


def test_socket_records_not_checkpointed(ctx):
    chk = Check()
    d = ctx.dir("socket")
    with servelib.Server(ctx, workdir=d, extra=["--checkpoint-dir", str(d / "ckpt"), "--checkpoint-interval", "1h"]) as srv:
        lines = b"".join(b'{"order_id":"o%d","customer_id":"c","product_id":"p","unit_price":"1.00",'
                         b'"event_time":"2024-05-01T08:00:00Z"}\n' % i for i in range(100))
        with socket.create_connection(srv.ingest) as s:
            s.sendall(lines)
        srv.wait_read(100, 10)
        m = servelib.wait_until("orderpulse_records_not_checkpointed == 100",
                                lambda: (lambda mm: mm if mm.get("orderpulse_records_not_checkpointed") == 100 else None)(srv.metrics()), 5)
        chk.expect("orderpulse_checkpoint_age_seconds" in m.names(), "orderpulse_checkpoint_age_seconds missing")
        code, _ = srv.stop(signal.SIGTERM)
        chk.eq(code, 0, "exit after SIGTERM")
    chk.expect(checkpoints(d), "no final checkpoint on a graceful stop")
    with servelib.Server(ctx, workdir=d, extra=["--checkpoint-dir", str(d / "ckpt")]) as srv:
        snap = srv.snap_data()
        chk.eq(snap["counters"]["read"], 100, "records read, restored from the final checkpoint")
        chk.eq(srv.metrics().get("orderpulse_records_not_checkpointed"), 0, "nothing uncovered right after a restore")
    chk.done()


def test_follow_rotation(ctx):
    chk = Check()
    d = ctx.dir("rotate")
    src = oplib.generate(ctx, "gen", 10_000, seed=8, rate=100)
    data = Path(src).read_bytes()
    half = data.index(b"\n", len(data) // 2) + 1
    follow = d / "orders.ndjson"
    follow.write_bytes(data[:half])
    srv = follow_server(ctx, d, follow)
    srv.start()
    try:
        srv.wait_read(data[:half].count(b"\n"), 20)
        follow.rename(d / "orders.ndjson.1")
        follow.write_bytes(data[half:])
        srv.wait_read(data.count(b"\n"), 20, "records of the rotated and the new file")
        m = srv.metrics()
        chk.eq(m.get("orderpulse_follow_rotations_total"), 1, "orderpulse_follow_rotations_total")
        chk.expect("rotated" in srv.stderr_text(), "the rotation is not in the log")
        code, _ = srv.stop(signal.SIGTERM)
        chk.eq(code, 0, "exit after SIGTERM")
    finally:
        srv.kill()
    chk.done()


if __name__ == "__main__":
    oplib.run_cases(__doc__, [test_crash_recovery_exactly_once, test_damaged_checkpoints_fall_back,
                              test_settings_change_refused, test_checkpoint_dir_errors, test_disk_full,
                              test_socket_records_not_checkpointed, test_follow_rotation],
                    cleanup=servelib.kill_all)
