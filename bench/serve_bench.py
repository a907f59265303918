#!/usr/bin/python3
"""End-to-end benchmark of `orderpulse serve`.

Throughput: the simulator replays an NDJSON file over TCP at full speed; the clock runs from the
start of the replay until the server has read every record (polled on /api/snapshot). Peak RSS is
the server's VmHWM. Latency: a client sends live records at a fixed rate in 1 ms slices while a
WebSocket client listens; a record's latency is the time from its send to the first `metrics`
message whose counters.read includes it. Every phase is bounded in time and stops by itself.
Prints a table and one JSON object (also written to --json).
"""
import argparse, asyncio, json, os, re, signal, socket, subprocess, sys, tempfile, threading, time, urllib.request

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


def throughput(bin_dir, path, records, timeout):
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
            rss = peak_rss_mib(proc.pid)
        finally:
            stop(proc)
    return {"records": read, "seconds": round(elapsed, 3), "records_per_second": round(read / elapsed),
            "peak_rss_mib": round(rss, 1), "complete": read >= records}


def batch_reference(bin_dir, path, records):
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.monotonic()
        subprocess.run([os.path.join(bin_dir, "orderpulse"), "batch", "-q", "--input", path, "--output-dir", tmp],
                       check=True, timeout=600)
        elapsed = time.monotonic() - t0
    return {"seconds": round(elapsed, 3), "records_per_second": round(records / elapsed)}


def latency(bin_dir, rate, seconds):
    with tempfile.TemporaryDirectory() as tmp:
        proc, ingest, http = start_server(bin_dir, tmp)
        sends = []  # (cumulative records after the slice, send time)
        arrivals = []  # (counters.read, arrival time)
        done = threading.Event()

        # Every 1 ms slice is built before the clock starts, so the sender does little more than
        # sendall and the measuring client stays light (its GIL would otherwise delay the
        # listener). Event times are the planned send times: live, never late.
        per_ms = rate / 1000.0
        t_base = time.time()
        slices = []
        n = 0
        for ms in range(int(seconds * 1000)):
            due = int((ms + 1) * per_ms)
            ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t_base + ms / 1000)) + ".%03dZ" % ((t_base * 1000 + ms) % 1000)
            lines = []
            while n < due:
                n += 1
                lines.append('{"order_id":"L%d","customer_id":"c%d","product_id":"p%d","unit_price":9.99,'
                             '"event_time":"%s"}\n' % (n, n % 5000, n % 500, ts))
            slices.append((n, "".join(lines).encode()))

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
                    sock.sendall(data)
                    sends.append((count, time.monotonic()))
            sock.close()

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
        loop_thread = threading.Thread(target=lambda: asyncio.run(listener()))
        loop_thread.start()
        ready.wait(10)
        send_thread = threading.Thread(target=sender)
        send_thread.start()
        send_thread.join(seconds + 30)
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
    return {"rate": rate, "sent": sends[-1][0] if sends else 0, "slices": len(lat), "p50_ms": pick(0.50),
            "p99_ms": pick(0.99), "max_ms": round(lat[-1] * 1000, 1)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", required=True)
    ap.add_argument("--input", required=True, help="NDJSON file for the throughput run")
    ap.add_argument("--records", type=int, required=True)
    ap.add_argument("--rates", default="10000,100000")
    ap.add_argument("--latency-seconds", type=float, default=10)
    ap.add_argument("--json")
    a = ap.parse_args()
    result = {"throughput": throughput(a.bin_dir, a.input, a.records, timeout=600),
              "batch_reference": batch_reference(a.bin_dir, a.input, a.records),
              "latency": [latency(a.bin_dir, int(r), a.latency_seconds) for r in a.rates.split(",")]}
    t, b = result["throughput"], result["batch_reference"]
    result["serve_over_batch"] = round(t["records_per_second"] / b["records_per_second"], 3)
    print(f"\norderpulse serve, {a.records} records replayed over TCP at full speed")
    print(f"  serve: {t['seconds']:.2f} s, {t['records_per_second']:,} records/s, peak RSS {t['peak_rss_mib']} MiB")
    print(f"  batch: {b['seconds']:.2f} s, {b['records_per_second']:,} records/s; serve/batch = {result['serve_over_batch']}")
    for l in result["latency"]:
        print(f"  latency at {l['rate']:,} records/s: p50 {l.get('p50_ms')} ms, p99 {l.get('p99_ms')} ms, max {l.get('max_ms')} ms")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(result, f, indent=2)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
