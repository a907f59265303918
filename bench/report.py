#!/usr/bin/python3
"""Turns one bench/run.sh run into a report people can read.

Reads DIR/runs.jsonl (one line per measure, from run.sh) and DIR/serve.json (serve_bench.py);
writes DIR/figures.json (every raw figure plus the derived ones), DIR/report.md and the charts
DIR/throughput.png, DIR/latency.png, DIR/scaling.png, and prints a short table.
"""
import argparse, datetime, json, os, platform, subprocess

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt

# Measures of the main job, in the order shown; labels for people.
LABELS = {
    "batch_csv": "orderpulse batch, CSV",
    "batch_ndjson": "orderpulse batch, NDJSON",
    "batch_csv_1core": "orderpulse batch, CSV, one core",
    "batch_ndjson_1core": "orderpulse batch, NDJSON, one core",
    "batch_ndjson_1core_core": "orderpulse batch, NDJSON, one core, alert rules off (issue #3's operators)",
    "serve": "orderpulse serve, NDJSON over TCP",
    "duckdb_1t": "DuckDB, 1 thread",
    "duckdb_2t": "DuckDB, 2 threads",
    "pandas": "pandas",
    "parse_csv": "parse only, CSV (limit)",
    "parse_ndjson": "parse only, NDJSON (limit)",
    "simdjson_1core": "simdjson alone, NDJSON, one core",
}
PEERS = ("duckdb_1t", "duckdb_2t", "pandas")
REFERENCE = "batch_csv"  # what the peers are compared with: orderpulse over the same CSV


def mib(kib):
    return kib / 1024


def human(n):
    return f"{n / 1e6:.2f}M" if n >= 1e6 else f"{n / 1e3:.1f}k" if n >= 1e3 else f"{n:.0f}"


def derive(r):
    """Adds records/s, records per CPU-second and MiB to a timed run.jsonl line."""
    if "seconds" in r:
        r["records_per_second"] = round(r["records"] / max(r["seconds"], 1e-3))
        r["records_per_cpu_second"] = round(r["records"] / max(r["cpu_seconds"], 1e-3))
        r["peak_rss_mib"] = round(mib(r["peak_rss_kib"]), 1)
    return r


def machine():
    cpu = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_gib = int(f.readline().split()[1]) / 1024 ** 2
    os_name = platform.platform()
    if os.path.exists("/etc/debian_version"):
        os_name = "Debian " + open("/etc/debian_version").read().strip()
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(mem_gib, 1), "os": os_name}


def versions(root):
    import pandas  # the peer's version, as /usr/bin/python3 has it
    v = {"pandas": pandas.__version__}
    try:
        with open(os.path.join(root, "bench/peers/duckdb/node_modules/@duckdb/node-api/package.json")) as f:
            v["duckdb_node_api"] = json.load(f)["version"]
        v["node"] = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    except OSError:
        pass
    git = lambda *a: subprocess.run(["git", "-C", root, *a], capture_output=True, text=True).stdout.strip()
    v["commit"] = git("rev-parse", "--short", "HEAD") + (" (with uncommitted changes)" if git("status", "--porcelain") else "")
    return v


def bars_throughput(path, main, serve, records):
    timed = dict(main, serve=serve or {})
    rows = [(LABELS[k], timed[k]["records_per_second"], timed[k]["records_per_cpu_second"]) for k in LABELS
            if "records_per_second" in timed.get(k, {})]
    fig, axes = plt.subplots(1, 2, figsize=(12, 0.5 * len(rows) + 1.8), sharey=True)
    names = [r[0] for r in rows][::-1]
    for ax, col, title in ((axes[0], 1, "records/s (wall clock)"), (axes[1], 2, "records per CPU-second")):
        vals = [r[col] / 1e6 for r in rows][::-1]
        colors = ["#1f77b4" if n.startswith("orderpulse") else "#bbbbbb" if n.startswith("parse") else "#ff7f0e"
                  for n in names]
        ax.barh(names, vals, color=colors)
        for y, v in enumerate(vals):
            ax.text(v, y, f" {v:.2f}M", va="center", fontsize=8)
        ax.set_title(title)
        ax.set_xlabel("million records")
        ax.set_xlim(0, max(vals) * 1.25)
    fig.suptitle(f"The same job on {human(records)} records (orange: peers, grey: parse-only limit)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def bars_latency(path, latency):
    ok = [l for l in latency if "p50_ms" in l]
    if not ok:
        return
    fig, ax = plt.subplots(figsize=(8, 4.5))
    width = 0.25
    for i, (q, color) in enumerate((("p50_ms", "#9ecae1"), ("p99_ms", "#3182bd"), ("max_ms", "#08519c"))):
        xs = [j + (i - 1) * width for j in range(len(ok))]
        vals = [l[q] for l in ok]
        ax.bar(xs, vals, width, label=q[:-3], color=color)
        for x, v in zip(xs, vals):
            ax.text(x, v, f"{v:.0f}", ha="center", va="bottom", fontsize=8)
    ax.axhline(100, color="grey", linestyle="--", linewidth=1, label="trigger interval (100 ms)")
    ax.set_xticks(range(len(ok)))
    ax.set_xticklabels([f"{human(l['rate'])}/s target\n{human(l['achieved_rate'] or 0)}/s achieved" for l in ok])
    ax.set_ylabel("send-to-feed latency, ms")
    ax.set_title("orderpulse serve: latency at fixed input rates")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_scaling(path, scale):
    if len(scale) < 2:
        return
    xs = [s["records"] for s in scale]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
    a1.plot(xs, [s["records_per_second"] / 1e6 for s in scale], "o-", label="records/s")
    a1.plot(xs, [s["records_per_cpu_second"] / 1e6 for s in scale], "s--", label="records per CPU-second")
    a1.set_xscale("log")
    a1.set_ylim(bottom=0)
    a1.set_xlabel("records in the file")
    a1.set_ylabel("million")
    a1.set_title("throughput (flat = cost grows linearly)")
    a1.legend(fontsize=8)
    a2.plot(xs, [s["peak_rss_mib"] for s in scale], "o-", color="#d62728")
    a2.set_xscale("log")
    a2.set_ylim(bottom=0)
    a2.set_xlabel("records in the file")
    a2.set_ylabel("peak RSS, MiB")
    a2.set_title("memory (flat = bounded by windows, not input)")
    fig.suptitle("orderpulse batch, CSV: scaling with input size")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def check_text(c):
    if not c:
        return "- (no windows to check)"
    if not c.get("ok"):
        return "**WRONG / failed** - not timed: " + (c.get("error") or "; ".join(c.get("first_problems", []))[:300])
    if "worst_customer_difference" in c:
        return f"agrees ({c['windows']} windows; customers within {c['worst_customer_difference']:.2%})"
    if "windows_equal_reference" in c:
        return f"all {c['accepted']:,} accepted, windows identical"
    if "batch_windows" in c:
        return f"its {c['windows']} windows identical to batch mode's first {c['windows']} of {c['batch_windows']}"
    return "ok"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--bin-dir", default="")
    ap.add_argument("--wall-seconds", type=int, default=0)
    ap.add_argument("--quick", default="0")
    a = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(os.path.join(a.dir, "runs.jsonl")) as f:
        runs = [derive(json.loads(line)) for line in f if line.strip()]
    serve = {}
    if os.path.exists(os.path.join(a.dir, "serve.json")):
        with open(os.path.join(a.dir, "serve.json")) as f:
            serve = json.load(f)
    latency_path = os.path.join(a.dir, "memory_latency.jsonl")
    memory_latency = []
    if os.path.exists(latency_path):
        with open(latency_path) as f:
            memory_latency = [json.loads(line) for line in f if line.strip()]
    by_job = {}
    for r in runs:
        by_job.setdefault(r["job"], {})[r["key"]] = r
    main_job, olist = by_job.get("main", {}), by_job.get("olist", {})
    records = main_job[REFERENCE]["records"]
    tp = serve.get("throughput", {})
    tp = tp if "records_per_second" in tp else None

    # orderpulse / peer, on the same job and the same CSV.
    def ratios(job):
        ref = job.get(REFERENCE, {})
        out = {}
        for k in PEERS:
            p = job.get(k, {})
            if "seconds" in p and "seconds" in ref:
                out[k] = {"records_per_second": round(ref["records_per_second"] / p["records_per_second"], 2),
                          "cpu": round(p["cpu_seconds"] / ref["cpu_seconds"], 2),
                          "peak_rss": round(p["peak_rss_mib"] / ref["peak_rss_mib"], 2)}
        return out

    ratio_main, ratio_olist = ratios(main_job), ratios(olist)
    # Judged on serve_bench's pairs (each replay followed by a batch run, so both halves see one phase
    # of this VM); the medians of the two rows, taken minutes apart, only where there are no pairs.
    serve_over_batch_unpaired = (tp["records_per_second"] / main_job["batch_ndjson"]["records_per_second"]
                                 if tp and "seconds" in main_job.get("batch_ndjson", {}) else None)
    serve_over_batch = tp.get("serve_over_batch_paired", serve_over_batch_unpaired) if tp else None

    # Targets are judged on the unrounded ratios (0.496 must not pass for 0.50) and shown to three
    # decimals, so a borderline result reads as one.
    def raw_ratio(peer):
        ref, p = main_job.get(REFERENCE, {}), main_job.get(peer, {})
        return ref["records_per_second"] / p["records_per_second"] if "seconds" in p and "seconds" in ref else None
    scale = sorted([r for r in by_job.get("scale", {}).values() if "seconds" in r] +
                   ([dict(main_job[REFERENCE])] if "seconds" in main_job.get(REFERENCE, {}) else []),
                   key=lambda r: r["records"])
    # Issue #3's per-core target, as stated (4M NDJSON records/s on one core) and at the machine
    # speed the issue measured it against: simdjson alone at 12M records/s. This VM's speed drifts by
    # a third between hours, so the second figure, orderpulse's share of simdjson's rate measured
    # beside it, is the one that says whether the code is fast enough.
    # The share comes from interleaved pairs (run.sh's share_pair), not from the two medians.
    one_core = main_job.get("batch_ndjson_1core", {})
    one_core_rate = one_core["records_per_second"] / 1e6 if "seconds" in one_core else None
    share = main_job.get("one_core_share", {}).get("median_share")
    at_issue_speed = share * 12.0 if share is not None else None
    # The same for issue #3's operators alone: the alert rules of issue #8 (on by default) off.
    core = main_job.get("batch_ndjson_1core_core", {})
    core_rate = core["records_per_second"] / 1e6 if "seconds" in core else None
    core_share = main_job.get("one_core_share_core", {}).get("median_share")
    core_at_issue_speed = core_share * 12.0 if core_share is not None else None
    targets = [
        ("orderpulse batch >= 2x DuckDB single-threaded", raw_ratio("duckdb_1t"), 2.0, "x"),
        ("orderpulse batch >= 10x pandas", raw_ratio("pandas"), 10.0, "x"),
        ("orderpulse serve >= 0.5x its own batch speed (NDJSON)", serve_over_batch, 0.5, "x"),
        ("orderpulse batch, one core, NDJSON >= 4M records/s", one_core_rate, 4.0, "M/s"),
        ("the same at the speed issue #3 measured against (simdjson alone 12M/s): 12M x orderpulse's share of "
         "simdjson's rate, median of interleaved pairs, >= 4M records/s", at_issue_speed, 4.0, "M/s"),
        ("issue #3's operators alone (the alert rules off), one core, NDJSON >= 4M records/s", core_rate, 4.0, "M/s"),
        ("the same at the speed issue #3 measured against: 12M x their share of simdjson's rate, median of "
         "interleaved pairs, >= 4M records/s", core_at_issue_speed, 4.0, "M/s"),
    ]
    meta = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "machine": machine(), "versions": versions(root), "bin_dir": a.bin_dir, "quick": a.quick == "1",
            "bench_wall_seconds": a.wall_seconds, "memory_latency": memory_latency,
            "runs": max((len(r.get("runs", [])) for r in runs), default=0)}
    figures = {"meta": meta, "runs": runs, "serve": serve, "ratios_orderpulse_over_peer": ratio_main,
               "ratios_olist": ratio_olist,
               "serve_over_batch": round(serve_over_batch, 3) if serve_over_batch is not None else None,
               "serve_over_batch_unpaired": (round(serve_over_batch_unpaired, 3)
                                             if serve_over_batch_unpaired is not None else None),
               "targets": [{"target": t, "reached": round(v, 3) if v is not None else None, "needed": n,
                            "unit": u, "met": v is not None and v >= n}
                           for t, v, n, u in targets]}
    with open(os.path.join(a.dir, "figures.json"), "w") as f:
        json.dump(figures, f, indent=1)

    bars_throughput(os.path.join(a.dir, "throughput.png"), main_job, tp, records)
    bars_latency(os.path.join(a.dir, "latency.png"), serve.get("latency", []))
    plot_scaling(os.path.join(a.dir, "scaling.png"), scale)

    # report.md
    m = meta["machine"]
    L = []
    w = L.append
    w(f"# orderpulse benchmark, {meta['date'][:10]}{' (quick)' if meta['quick'] else ''}\n")
    w(f"- Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, {m['os']}.")
    w(f"- Binaries: `{a.bin_dir}`; source tree at commit {meta['versions']['commit']}; peers: DuckDB "
      f"{meta['versions'].get('duckdb_node_api', '?')} (@duckdb/node-api on Node {meta['versions'].get('node', '?')}), "
      f"pandas {meta['versions']['pandas']} (Debian's python3-pandas).")
    w(f"- Command: `make bench{'-quick' if meta['quick'] else ''}` (bench/run.sh); the whole run took "
      f"{a.wall_seconds // 60} min {a.wall_seconds % 60} s.")
    w(f"- Every figure: median of {meta['runs']} measured run(s) after one warm-up run; CPU = user + system "
      "seconds; peak RSS = the largest over the runs (`/usr/bin/time`). Records/s counts the whole process: "
      "start-up, reading, computing and writing the results. The machine is a shared 2-core VM: the same "
      "command varies by about ±20% between runs.")
    one_chain = [r for r in memory_latency if r["chains"] == 1]
    if one_chain:
        walk = ", ".join(f"{r['working_set_mib']} MiB {r['ns_per_read']:g} ns" for r in one_chain)
        many = ", ".join(f"{r['chains']} chains {r['ns_per_read']:g} ns" for r in memory_latency if r["chains"] > 1)
        w(f"- A random read on CPU 0 during this run (`bench/memory_latency`), by working set: {walk}; over 64 MiB "
          f"with overlapped misses: {many}.")
    w("")

    w("## The job\n")
    w("orderpulse's default windows — 1m tumbling and 10m sliding by 1m — and per window: lines, items, "
      "orders, revenue (integer cents), distinct customers, the top 10 products by revenue (ties by product id) "
      "and revenue per category (descending, then name). Every peer reads the same CSV file and writes every "
      "window; its answer is compared with orderpulse's `windows.jsonl` **before** its time counts.\n")
    w(f"The input is {records:,} generated records (`orderpulse-sim generate --seed 42 --customers 100000 "
      "--products 10000 --rate 1000 --disorder 5s`, no injected faults): no late, duplicate or malformed "
      "records, and disorder (5 s) within the watermark delay (30 s). So orderpulse accepts every record "
      "(checked: `accepted` = records) and its watermark, lateness and de-duplication rules drop nothing, "
      "which makes the job well defined for a plain SQL or pandas group-by: the peers compute exactly "
      "orderpulse's windows without re-implementing its event-time rules. orderpulse still runs those rules "
      "(watermark, dedup table, drop checks) on every record; the peers do not.\n")

    def table(job, with_ratio=True):
        w("| | wall s | CPU s | records/s | records per CPU-second | peak RSS MiB | orderpulse is x faster "
          "(wall / CPU) | answer |")
        w("|---|---|---|---|---|---|---|---|")
        keys = [k for k in LABELS if k in job] + (["serve"] if job is main_job and tp else [])
        rat = ratio_main if job is main_job else ratio_olist
        for k in keys:
            r = tp if k == "serve" else job[k]
            if "seconds" not in r:
                w(f"| {LABELS[k]} | | | | | | | {check_text(r.get('check'))} |")
                continue
            rr = rat.get(k)
            ratio = f"{rr['records_per_second']} / {rr['cpu']}" if rr else ""
            w(f"| {LABELS[k]} | {r['seconds']:.2f} | {r['cpu_seconds']:.2f} | {human(r['records_per_second'])} | "
              f"{human(r['records_per_cpu_second'])} | {r['peak_rss_mib']:.0f} | {ratio} | {check_text(r.get('check'))} |")
        w("")

    w(f"## Peers on the same job: {records:,} generated records\n")
    table(main_job)
    w("\"orderpulse is x faster\" compares `orderpulse batch` over the same CSV with the peer: records/s "
      "ratio, then the ratio of CPU seconds used (peer / orderpulse). orderpulse batch uses two threads "
      "(read + parse, then the operators); DuckDB with 2 threads uses both cores too. The one-core rows "
      "run it under `taskset -c 0`, where it reads, parses and runs the operators on one thread (issue "
      "#3's per-core target: 4M NDJSON records/s).\n")
    w("![throughput per peer](throughput.png)\n")

    w("## Targets\n")
    for t in figures["targets"]:
        val = "not measured" if t["reached"] is None else f"{t['reached']}{' ' if t['unit'] != 'x' else ''}{t['unit']}"
        w(f"- {t['target']}: {val} — **{'met' if t['met'] else 'not met'}**")
    for key, what in (("one_core_share", "orderpulse as configured by default"),
                      ("one_core_share_core", "orderpulse with the alert rules off (issue #3's operators)")):
        sh = main_job.get(key, {})
        if sh.get("pairs"):
            w(f"\nShare of simdjson's rate, one core, {what}: pairs of (simdjson alone, orderpulse) wall "
              "seconds: " + ", ".join(f"({r:.2f}, {o:.2f}) {r / o:.3f}" for r, o in sh["pairs"]) +
              f"; median {sh['median_share']:.3f}. The target needs a third (0.333).")
    w("")
    wins = []
    ref = main_job.get(REFERENCE, {})
    for k in PEERS:
        p = main_job.get(k, {})
        if "seconds" in p and "seconds" in ref:
            for what, better in (("records/s", p["records_per_second"] > ref["records_per_second"]),
                                 ("CPU seconds", p["cpu_seconds"] < ref["cpu_seconds"]),
                                 ("peak RSS", p["peak_rss_mib"] < ref["peak_rss_mib"])):
                if better:
                    wins.append(f"{LABELS[k]} beats orderpulse batch (CSV) on {what}")
    w("Where a peer wins: " + ("; ".join(wins) if wins else "nowhere in this run") +
      ". Why: see docs/performance.md.\n")

    if olist:
        n = olist[REFERENCE]["records"]
        w(f"## The Olist replay: {n:,} events\n")
        w("`orderpulse-sim olist` over the bundled sample (/work/shared/datasets/olist, products from "
          "olist-catalog), as CSV. It is small: these timings are mostly process start-up (Node and DuckDB, "
          "Python and pandas imports); the point is that every peer gets the real data right.\n")
        table(olist)

    w("## Live server\n")
    if tp:
        w(f"{tp['records']:,} records (the job's NDJSON file) replayed over one TCP connection at full speed "
          "(`orderpulse-sim replay --rate max`), into a fresh server each run: "
          f"**{human(tp['records_per_second'])} records/s** (median of {len(tp['runs'])}: {tp['runs']} s), "
          f"{tp['cpu_seconds']} CPU s, peak RSS {tp['peak_rss_mib']:.0f} MiB; serve / batch (NDJSON) = "
          f"{figures['serve_over_batch']}"
          + (f", the median of {len(tp['batch_runs'])} pairs, each replay followed by a batch run over the same file "
             f"(batch: {tp['batch_runs']} s; the two rows' medians, taken minutes apart, give "
             f"{figures['serve_over_batch_unpaired']})" if "batch_runs" in tp else "")
          + " (serve's clock runs from the replay's start until the server has read the last "
          "record; batch's from process start to exit, writing every window included). "
          f"Check: {check_text(tp.get('check'))}.\n")
    elif serve:
        w(f"Throughput not counted: {serve.get('throughput')}\n")
    lat = serve.get("latency", [])
    if lat:
        w("| target rate | achieved | seconds | p50 ms | p99 ms | max ms |")
        w("|---|---|---|---|---|---|")
        for l in lat:
            held = "" if l.get("rate_held") else " (not held)"
            w(f"| {human(l['rate'])}/s | {human(l.get('achieved_rate') or 0)}/s{held} | {l.get('seconds', 0):g} | "
              f"{l.get('p50_ms')} | {l.get('p99_ms')} | {l.get('max_ms')} |")
        w("\nLatency: from a record's send to the first `metrics` message on `/ws` whose `counters.read` "
          "includes it (bench/serve_bench.py; sender and listener run on the same 2 cores as the server). "
          "With the default 100 ms trigger interval a record waits half an interval on average for its batch. "
          "A rate the Python sender cannot hold, or that the server pushes back on, shows as a lower "
          "achieved rate.\n")
        w("![latency](latency.png)\n")

    if len(scale) >= 2:
        w("## Scaling: orderpulse batch over CSV files of growing size\n")
        w("| records | wall s | records/s | CPU s per million records | peak RSS MiB |")
        w("|---|---|---|---|---|")
        for s in scale:
            w(f"| {s['records']:,} | {s['seconds']:.2f} | {human(s['records_per_second'])} | "
              f"{s['cpu_seconds'] / s['records'] * 1e6:.2f} | {s['peak_rss_mib']:.0f} |")
        lo, mid, hi = scale[0], scale[-2], scale[-1]
        w(f"\nCPU per record from {human(lo['records'])} to {human(hi['records'])} records: x"
          f"{(hi['cpu_seconds'] / hi['records']) / (lo['cpu_seconds'] / lo['records']):.2f} (1.0 = cost grows "
          f"linearly; below 1, fixed start-up costs spread thinner). Peak RSS from {human(mid['records'])} to "
          f"{human(hi['records'])} records: x{hi['peak_rss_mib'] / mid['peak_rss_mib']:.2f} (1.0 = flat). orderpulse's "
          "state is bounded by the open windows (10 minutes of panes), the dedup horizon (10 minutes of keys) "
          "and the ids seen (100k customers, 10k products in this generator), not by the input; at 1000 records "
          "per second of event time, 10 minutes are 600k records.\n")
        w("![scaling](scaling.png)\n")

    w("## How answers are checked\n")
    w("- orderpulse: every measured input must be accepted in full (`summary.json`: accepted = records); "
      "batch over NDJSON must write a `windows.jsonl` byte-identical to batch over the CSV (the reference); "
      "the server's windows must be exactly the first lines of that reference (it finalises what its "
      "watermark passed).")
    w("- Peers (bench/check_windows.py) on the warm-up run, before any timing: the same set of windows, and per "
      "window equal lines, items, orders, revenue in cents, top-10 list (ids, revenue, items, in order) and "
      "category list (in order). Distinct customers: peers count exactly; orderpulse is exact below 256 and "
      "uses a HyperLogLog (2^14 registers, standard error 0.81%) above, so there the two may differ by up to "
      "3 x 0.81% = 2.43% of the exact count. A peer that fails the check is listed as wrong and not timed.\n")
    w("Raw figures: `figures.json` (all runs), `runs.jsonl`, `serve.json`.")
    with open(os.path.join(a.dir, "report.md"), "w") as f:
        f.write("\n".join(L) + "\n")

    # The short table.
    print(f"\nThe job on {records:,} records, median of {meta['runs']} run(s), {m['cores']} cores "
          f"({a.wall_seconds} s in all)")
    print(f"{'':34} {'records/s':>10} {'CPU s':>7} {'RSS MiB':>8} {'op x':>6}  answer")
    rows = [(k, main_job[k]) for k in LABELS if k in main_job] + ([("serve", tp)] if tp else [])
    for k, r in rows:
        rr = ratio_main.get(k, {}).get("records_per_second", "")
        if "seconds" in r:
            ok = "-" if not r.get("check") else "ok" if r["check"].get("ok") else "WRONG"
            print(f"{LABELS[k]:34} {human(r['records_per_second']):>10} {r['cpu_seconds']:7.2f} "
                  f"{r['peak_rss_mib']:8.0f} {rr:>6}  {ok}")
        else:
            print(f"{LABELS[k]:34} {'':>10} {'':>7} {'':>8} {'':>6}  WRONG or failed: not timed")
    for l in lat:
        print(f"serve latency at {human(l['rate'])}/s (achieved {human(l.get('achieved_rate') or 0)}/s): "
              f"p50 {l.get('p50_ms')} ms, p99 {l.get('p99_ms')} ms, max {l.get('max_ms')} ms")
    for s in scale:
        print(f"scaling {human(s['records']):>7} records: {human(s['records_per_second'])} records/s, "
              f"peak RSS {s['peak_rss_mib']:.0f} MiB")
    for t in figures["targets"]:
        val = "not measured" if t["reached"] is None else f"{t['reached']} {t['unit']}"
        print(f"target: {t['target']}: {val} -> {'met' if t['met'] else 'not met'}")
    print(f"report: {os.path.join(a.dir, 'report.md')}")


if __name__ == "__main__":
    main()
