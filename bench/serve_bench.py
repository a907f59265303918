#!/usr/bin/python3
"""End-to-end benchmark of `orderpulse serve`.

Throughput: the simulator replays an NDJSON file over TCP at full speed into a fresh server; the
clock runs from the start of the replay until the server has read every record (polled on
/api/snapshot). One warm-up replay, then --runs measured ones (median). Peak RSS is the server's
VmHWM, CPU its user + system time. A fast wrong answer does not count: the windows the server
wrote must be, line for line, the first lines of batch mode's windows.jsonl for the same file
(--expect-windows; the server finalises what its watermark passed, batch mode also the rest).
Latency: a client sends live records at a fixed rate in 1 ms slices while a WebSocket client
listens; a record's latency is the time from its send to the first `metrics` message whose
counters.read includes it. A rate the sender cannot hold is reported with the rate achieved.
Every phase is bounded in time and stops by itself. Prints a table and one JSON object (also
written to --json).
"""
import argparse, asyncio, json, os, re, signal, socket, statistics, subprocess, sys, tempfile, threading, time, urllib.request

import websockets


def start_server(bin_dir, out_dir):
    proc = subprocess.Popen([os.path.join(bin_dir, "orderpulse"), "serve", "--ingest", "127.0.0.1:0", "--http",
                             "127.0.0.1:0", "--output-dir", out_dir], stderr=subprocess.PIPE, text=True)
    ingest = http = None
    deadline = time.time() + 10
    while time.time() < deadline and not (ingest and http):
        line = proc.stderr.readline()
        m = re.search(r"(ingest|http) listening on ([\d.]+):(\d+)", line)
        if m:
            if m.group(1) == "ingest":
                ingest = (m.group(2), int(m.group(3)))
            else:
                http = (m.group(2), int(m.group(3)))
    if not (ingest and http):
        proc.kill()
        sys.exit("server did not start")
    threading.Thread(target=lambda: [None for _ in proc.stderr], daemon=True).start()  # drain its log
    return proc, ingest, http


def snapshot(http):
    with urllib.request.urlopen(f"http://{http[0]}:{http[1]}/api/snapshot", timeout=5) as r:
        return json.loads(r.read())["data"]


def peak_rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def replay_once(bin_dir, path, records, timeout, expect_windows):
    with tempfile.TemporaryDirectory() as tmp:
        proc, ingest, http = start_server(bin_dir, tmp)
        try:
            t0 = time.monotonic()
            replay = subprocess.Popen([os.path.join(bin_dir, "orderpulse-sim"), "replay", "--in", path, "--to",
                                       f"tcp://{ingest[0]}:{ingest[1]}", "--rate", "max"], stderr=subprocess.DEVNULL)
            while time.monotonic() - t0 < timeout:
                if snapshot(http)["counters"]["read"] >= records:
                    break
                time.sleep(0.05)
            elapsed = time.monotonic() - t0
            replay.wait(timeout=30)
            read = snapshot(http)["counters"]["read"]
            rss, cpu = peak_rss_mib(proc.pid), cpu_seconds(proc.pid)
        finally:
            stop(proc)
        with open(os.path.join(tmp, "windows.jsonl")) as f:
            served = f.readlines()
    check = None
    if expect_windows:
        with open(expect_windows) as f:
            batch = f.readlines()
        same = served == batch[:len(served)]
        check = {"ok": same and len(served) > 0, "windows": len(served), "batch_windows": len(batch)}
    return {"records": read, "seconds": elapsed, "cpu_seconds": cpu, "peak_rss_mib": rss,
            "complete": read >= records, "check": check}


def batch_seconds(bin_dir, path, timeout):
    """Wall seconds of `orderpulse batch` over the same file, as run.sh's batch_ndjson measure runs it
    (both cores): the other half of a serve/batch pair."""
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.monotonic()
        subprocess.run([os.path.join(bin_dir, "orderpulse"), "batch", "-q", "--input", path, "--output-dir", tmp],
                       check=True, timeout=timeout, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return time.monotonic() - t0


def throughput(bin_dir, path, records, runs, timeout, expect_windows):
    """One warm-up replay (its windows are checked), then `runs` measured ones, each followed by a batch
    run over the same file. This VM's speed drifts by a third from one minute to the next, so serve's
    speed against batch mode's is judged on these pairs, each taken in one phase, not on two medians
    measured minutes apart."""
    warm = replay_once(bin_dir, path, records, timeout, expect_windows)
    if warm["check"] and not warm["check"]["ok"]:
        return {"check": warm["check"], "error": "windows differ from batch mode: not timed"}
    done, batch = [], []
    for _ in range(runs):
        done.append(replay_once(bin_dir, path, records, timeout, expect_windows))
        batch.append(batch_seconds(bin_dir, path, timeout))
    ratios = [b / r["seconds"] for b, r in zip(batch, done)]
    med = sorted(done, key=lambda r: r["seconds"])[len(done) // 2]
    complete = all(r["complete"] for r in done)
    checks = [r["check"] for r in [warm] + done if r["check"]]
    return {"records": records, "runs": [round(r["seconds"], 3) for r in done], "seconds": round(med["seconds"], 3),
            "cpu_seconds": round(med["cpu_seconds"], 2), "records_per_second": round(med["records"] / med["seconds"]),
            "records_per_cpu_second": round(med["records"] / med["cpu_seconds"]),
            "peak_rss_mib": round(max(r["peak_rss_mib"] for r in done), 1), "complete": complete,
            "batch_runs": [round(b, 3) for b in batch], "serve_over_batch_paired": round(statistics.median(ratios), 4),
            "check": {"ok": all(c["ok"] for c in checks), "windows": checks[-1]["windows"],
                      "batch_windows": checks[-1]["batch_windows"]} if checks else None}


def latency(bin_dir, rate, seconds):
    with tempfile.TemporaryDirectory() as tmp:
        proc, ingest, http = start_server(bin_dir, tmp)
        sends = []  # (cumulative records after the slice, send time)
        arrivals = []  # (counters.read, arrival time)
        done = threading.Event()

        # Every 1 ms slice is built before the clock starts, so the sender does little more than
        # sendall and the measuring client stays light (its GIL would otherwise delay the
        # listener). Event times are the planned send times: live, never late. Order ids are
        # unique, so nothing is a duplicate.
        per_ms = rate / 1000.0
        t_base = time.time()
        slices = []
        n = 0
        for ms in range(int(seconds * 1000)):
            due = int((ms + 1) * per_ms)
            ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t_base + ms / 1000)) + ".%03dZ" % ((t_base * 1000 + ms) % 1000)
            body = "".join(['{"order_id":"L%d","customer_id":"c%d","product_id":"p%d","unit_price":9.99,'
                            '"event_time":"%s"}\n' % (i, i % 5000, i % 500, ts) for i in range(n + 1, due + 1)])
            n = due
            slices.append((n, body.encode()))

        def sender():
            sock = socket.create_connection(ingest)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # measure the server, not Nagle
            start = time.monotonic()
            for ms, (count, data) in enumerate(slices):
                if done.is_set():
                    break
                delay = start + ms / 1000 - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                if data:
                    sock.sendall(data)  # blocks when the server pushes back: the rate drops
                    sends.append((count, time.monotonic()))
            sock.close()
            span.append(time.monotonic() - start)

        async def listener():
            async with websockets.connect(f"ws://{http[0]}:{http[1]}/ws?channels=metrics", max_size=None) as ws:
                ready.set()
                while not done.is_set():
                    try:
                        msg = await asyncio.wait_for(ws.recv(), 0.5)
                    except asyncio.TimeoutError:
                        continue
                    m = json.loads(msg)
                    if m["type"] == "metrics":
                        arrivals.append((m["data"]["counters"]["read"], time.monotonic()))

        ready = threading.Event()
        span = []  # seconds the sender took for all slices
        loop_thread = threading.Thread(target=lambda: asyncio.run(listener()))
        loop_thread.start()
        ready.wait(10)
        send_thread = threading.Thread(target=sender)
        send_thread.start()
        send_thread.join(seconds * 3 + 30)
        time.sleep(1.0)
        done.set()
        loop_thread.join(10)
        stop(proc)
    lat = []
    j = 0
    for count, t_send in sends:
        while j < len(arrivals) and arrivals[j][0] < count:
            j += 1
        if j == len(arrivals):
            break
        lat.append(arrivals[j][1] - t_send)
    lat.sort()
    if not lat:
        return {"rate": rate, "error": "no feed updates"}
    pick = lambda q: round(lat[min(len(lat) - 1, int(q * len(lat)))] * 1000, 1)
    sent = sends[-1][0] if sends else 0
    achieved = round(sent / span[0]) if span else None
    return {"rate": rate, "seconds": seconds, "sent": sent, "achieved_rate": achieved,
            "rate_held": bool(achieved and achieved >= 0.95 * rate), "slices": len(lat), "p50_ms": pick(0.50),
            "p99_ms": pick(0.99), "max_ms": round(lat[-1] * 1000, 1)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", required=True)
    ap.add_argument("--input", required=True, help="NDJSON file for the throughput run")
    ap.add_argument("--records", type=int, required=True)
    ap.add_argument("--runs", type=int, default=3, help="measured replays after one warm-up")
    ap.add_argument("--expect-windows", help="batch mode's windows.jsonl for --input")
    ap.add_argument("--rates", default="10000,100000,1000000")
    ap.add_argument("--latency-seconds", type=float, default=10)
    # Latency slices are built in memory up front (~110 bytes a record): cap a run's records so a
    # high rate is measured for fewer seconds rather than for more memory and set-up time.
    ap.add_argument("--latency-max-records", type=int, default=5_000_000)
    ap.add_argument("--json")
    a = ap.parse_args()
    rates = [int(r) for r in a.rates.split(",")]
    result = {"throughput": throughput(a.bin_dir, a.input, a.records, a.runs, 600, a.expect_windows),
              "latency": [latency(a.bin_dir, r, min(a.latency_seconds, a.latency_max_records / r)) for r in rates]}
    t = result["throughput"]
    print(f"\norderpulse serve, {a.records} records replayed over TCP at full speed")
    if "error" in t:
        print(f"  serve: {t['error']} ({t['check']})")
    else:
        print(f"  serve: {t['seconds']:.2f} s (median of {len(t['runs'])}), {t['records_per_second']:,} records/s, "
              f"{t['cpu_seconds']} CPU s, peak RSS {t['peak_rss_mib']} MiB; windows check {t['check']}")
        print(f"  batch mode beside each run: {t['batch_runs']} s; serve / batch, median of the pairs: "
              f"{t['serve_over_batch_paired']}")
    for l in result["latency"]:
        print(f"  latency at {l['rate']:,} records/s (achieved {l.get('achieved_rate') or 0:,}/s over "
              f"{l.get('seconds', 0):g} s): p50 {l.get('p50_ms')} ms, p99 {l.get('p99_ms')} ms, max {l.get('max_ms')} ms")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(result, f, indent=2)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
