#!/usr/bin/python3
"""End-to-end: orderpulse batch output depends only on the records, not on how they arrive.

  * --batch-size 1, 7, 1000, 65536 give byte-identical windows.jsonl and dropped.jsonl;
  * so do --threads 1 and 2 (one thread: reading, parsing and operators inline), and a process
    pinned to one CPU, which picks the one-thread path itself;
  * two runs give identical outputs (summary equal apart from its timing fields);
  * the NDJSON and CSV forms of one generated stream give identical windows.jsonl;
  * several --input files (also NDJSON then CSV) give the same windows as their concatenation,
    with drops located in the right file at the right line;
  * categories taken from --catalog equal categories carried by the records;
  * stdin (`--input -`) and CRLF line ends change nothing.
"""

import json
import shutil

import oplib
from oplib import Check

START = "2017-10-02T10:00:00Z"
COUNT = 20_000
GEN = dict(start_time=START, rate=5, disorder="20s", customers=3_000, products=400)
# The summary fields the spec defines, less the timing ones.
SUMMARY_FIELDS = [k for k in oplib.SUMMARY_KEYS if k not in ("wall_time_seconds", "records_per_second")]


def generate(ctx, name, fmt="ndjson", seed=21, **faults):
    return oplib.generate(ctx, name, COUNT, seed, fmt, **GEN, **faults)


def summary_sans_timing(result):
    s = result.summary()
    out = {k: s[k] for k in SUMMARY_FIELDS}
    out["totals"] = {k: s["totals"][k] for k in oplib.TOTALS_KEYS}
    return out


def test_batch_size_invariance(ctx):
    path = generate(ctx, "bs", late=0.01, duplicates=0.02, malformed=0.01)
    chk = Check()
    runs = {bs: oplib.run_batch(ctx, [path], batch_size=bs) for bs in (65536, 1000, 7, 1)}
    ref = runs[65536]
    ref_windows = ref.windows()  # also validates the form
    chk.expect(len(ref_windows) > 100, f"too few windows to be meaningful: {len(ref_windows)}")
    chk.expect(len(ref.dropped()) > 100, f"too few drops to be meaningful: {len(ref.dropped())}")
    for bs, r in runs.items():
        if bs == 65536:
            continue
        chk.expect(r.windows_bytes() == ref.windows_bytes(),
                   f"--batch-size {bs}: windows.jsonl differs from --batch-size 65536 "
                   f"({oplib.first_diff(r.windows_bytes(), ref.windows_bytes())})")
        chk.expect(r.dropped_bytes() == ref.dropped_bytes(),
                   f"--batch-size {bs}: dropped.jsonl differs from --batch-size 65536 "
                   f"({oplib.first_diff(r.dropped_bytes(), ref.dropped_bytes())})")
        chk.eq(summary_sans_timing(r), summary_sans_timing(ref), f"--batch-size {bs}: summary (sans timing)")
    chk.done()


def test_thread_modes_identical(ctx):
    path = generate(ctx, "threads", late=0.01, duplicates=0.02, malformed=0.01)
    chk = Check()
    ref = oplib.run_batch(ctx, [path], extra=["--threads", "2"])
    runs = {
        "--threads 1": oplib.run_batch(ctx, [path], extra=["--threads", "1"]),
        "--threads 1 --batch-size 3": oplib.run_batch(ctx, [path], batch_size=3, extra=["--threads", "1"]),
    }
    if shutil.which("taskset"):
        # The default picks one thread when the process may use one CPU only.
        out_dir = ctx.dir("pinned")
        proc = oplib.run(["taskset", "-c", "0"] + oplib.batch_cmd(ctx, [path], out_dir))
        oplib.require_ok(proc)
        runs["taskset -c 0"] = oplib.BatchResult(proc, out_dir)
        chk.expect(b"1 thread" in proc.stderr, f"taskset -c 0: the closing line does not say 1 thread: {proc.stderr[-300:]!r}")
    chk.expect(len(ref.windows()) > 100, f"too few windows to be meaningful: {len(ref.windows())}")
    for name, r in runs.items():
        chk.expect(r.windows_bytes() == ref.windows_bytes(),
                   f"{name}: windows.jsonl differs from --threads 2 ({oplib.first_diff(r.windows_bytes(), ref.windows_bytes())})")
        chk.expect(r.dropped_bytes() == ref.dropped_bytes(),
                   f"{name}: dropped.jsonl differs from --threads 2 ({oplib.first_diff(r.dropped_bytes(), ref.dropped_bytes())})")
        chk.eq(summary_sans_timing(r), summary_sans_timing(ref), f"{name}: summary (sans timing)")
    chk.done()


def test_repeated_runs_identical(ctx):
    path = generate(ctx, "rep", late=0.01, duplicates=0.02, malformed=0.01)
    a = oplib.run_batch(ctx, [path])
    b = oplib.run_batch(ctx, [path])
    chk = Check()
    chk.expect(a.windows_bytes() == b.windows_bytes(),
               f"windows.jsonl differs between two runs ({oplib.first_diff(a.windows_bytes(), b.windows_bytes())})")
    chk.expect(a.dropped_bytes() == b.dropped_bytes(),
               f"dropped.jsonl differs between two runs ({oplib.first_diff(a.dropped_bytes(), b.dropped_bytes())})")
    chk.eq(summary_sans_timing(a), summary_sans_timing(b), "summary (sans timing) between two runs")
    # The generator is deterministic per seed as well.
    again = generate(ctx, "rep2", late=0.01, duplicates=0.02, malformed=0.01)
    chk.expect(again.read_bytes() == path.read_bytes(), "orderpulse-sim generate: same seed, different output")
    other = generate(ctx, "rep3", seed=22, late=0.01, duplicates=0.02, malformed=0.01)
    chk.expect(other.read_bytes() != path.read_bytes(), "orderpulse-sim generate: different seeds, same output")
    chk.done()


def test_ndjson_and_csv_forms_agree(ctx):
    faults = dict(late=0.01, duplicates=0.02)  # no malformed: those differ by format
    nd = generate(ctx, "form-nd", "ndjson", seed=23, **faults)
    cs = generate(ctx, "form-csv", "csv", seed=23, **faults)
    a = oplib.run_batch(ctx, [nd])
    b = oplib.run_batch(ctx, [cs])
    chk = Check()
    chk.expect(len(a.windows()) > 100, f"too few windows to be meaningful: {len(a.windows())}")
    chk.expect(a.windows_bytes() == b.windows_bytes(),
               f"windows.jsonl from NDJSON and CSV forms of seed 23 differ "
               f"({oplib.first_diff(a.windows_bytes(), b.windows_bytes())})")
    chk.eq([d["reason"] for d in b.dropped()], [d["reason"] for d in a.dropped()],
           "drop reasons (in order), CSV form vs NDJSON form")
    sa, sb = summary_sans_timing(a), summary_sans_timing(b)
    for k in ("read", "accepted", "rejected", "late", "duplicate", "windows_emitted", "totals",
              "first_event_time", "last_event_time"):
        chk.eq(sb[k], sa[k], f"summary.{k}, CSV form vs NDJSON form")
    chk.expect(sa["late"] > 0 and sa["duplicate"] > 0, f"stream has no late/duplicate records: {sa}")
    chk.done()


def test_multiple_inputs_equal_concatenation(ctx):
    path = generate(ctx, "multi", late=0.01, duplicates=0.02, malformed=0.01)
    lines = path.read_bytes().split(b"\n")
    assert lines[-1] == b"", "generated file does not end with a newline"
    lines = lines[:-1]
    cuts = [0, len(lines) // 3, 2 * len(lines) // 3 + 5, len(lines)]
    d = ctx.dir("parts")
    parts = []
    for i in range(3):
        p = d / f"part{i}.ndjson"
        p.write_bytes(b"".join(l + b"\n" for l in lines[cuts[i]:cuts[i + 1]]))
        parts.append(p)
    whole = oplib.run_batch(ctx, [path])
    split = oplib.run_batch(ctx, parts)
    chk = Check()
    chk.expect(split.windows_bytes() == whole.windows_bytes(),
               f"windows.jsonl: 3 --input parts differ from their concatenation "
               f"({oplib.first_diff(split.windows_bytes(), whole.windows_bytes())})")
    wd, sd = whole.dropped(), split.dropped()
    chk.eq(len(sd), len(wd), "dropped.jsonl length, parts vs concatenation")
    for a, b in zip(wd, sd):
        part = next(i for i in range(3) if a["line"] <= cuts[i + 1])
        want = (a["reason"], str(parts[part]), a["line"] - cuts[part], a["raw"])
        got = (b["reason"], b["file"], b["line"], b["raw"])
        if got != want:
            chk.fail(f"dropped entry for concatenated line {a['line']}: expected (reason, file, line, raw) "
                     f"{want}, got {got}")
            break
    chk.eq(whole.summary()["read"], split.summary()["read"], "summary.read, parts vs concatenation")
    chk.done()


def test_mixed_formats_equal_single_format(ctx):
    """NDJSON file then CSV file (the two forms of one stream, cut at the same record) read as
    one source: same windows as the whole NDJSON file."""
    faults = dict(late=0.01, duplicates=0.02)
    nd = generate(ctx, "mix-nd", "ndjson", seed=24, **faults)
    cs = generate(ctx, "mix-csv", "csv", seed=24, **faults)
    nd_lines = nd.read_bytes().split(b"\n")[:-1]
    cs_lines = cs.read_bytes().split(b"\n")[:-1]
    assert len(cs_lines) == len(nd_lines) + 1, "CSV form should be the NDJSON form plus a header line"
    k = len(nd_lines) // 2
    d = ctx.dir("mix")
    first, second = d / "first.ndjson", d / "second.csv"
    first.write_bytes(b"".join(l + b"\n" for l in nd_lines[:k]))
    second.write_bytes(b"".join(l + b"\n" for l in [cs_lines[0]] + cs_lines[k + 1:]))
    whole = oplib.run_batch(ctx, [nd])
    mixed = oplib.run_batch(ctx, [first, second])
    chk = Check()
    chk.expect(mixed.windows_bytes() == whole.windows_bytes(),
               f"windows.jsonl: NDJSON half + CSV half differ from the whole NDJSON stream "
               f"({oplib.first_diff(mixed.windows_bytes(), whole.windows_bytes())})")

    def located(line):  # NDJSON line of the whole stream -> (file, line) in the mixed inputs
        return (str(first), line) if line <= k else (str(second), line - k + 1)  # +1: the CSV header

    chk.eq([(d["reason"], d["file"], d["line"]) for d in mixed.dropped()],
           [(d["reason"],) + located(d["line"]) for d in whole.dropped()],
           "dropped (reason, file, line): mixed inputs vs whole")
    chk.done()


def test_catalog_fills_missing_categories(ctx):
    """Removing every category from the events and passing the simulator's catalog instead gives
    the same windows."""
    d = ctx.dir("cat")
    path = d / "events.ndjson"
    catalog = d / "catalog.csv"
    oplib.sim_generate(ctx, path, COUNT, seed=25, catalog_out=catalog, late=0.01, duplicates=0.02, **GEN)
    stripped = d / "stripped.ndjson"
    lines = path.read_bytes().split(b"\n")[:-1]
    new_lines = [strip_category(l) for l in lines]
    n_cat = sum(a != b for a, b in zip(lines, new_lines))
    assert n_cat > COUNT // 2, f"only {n_cat} generated records carry a category"
    stripped.write_bytes(b"".join(l + b"\n" for l in new_lines))
    ref = oplib.run_batch(ctx, [path])
    via_catalog = oplib.run_batch(ctx, [stripped], catalog=catalog)
    without = oplib.run_batch(ctx, [stripped])
    chk = Check()
    cats = {c for w in ref.windows() for c, _ in w["categories"]}
    chk.expect(len(cats - {"unknown"}) >= 3, f"generated stream has too few categories: {cats}")
    chk.expect(via_catalog.windows_bytes() == ref.windows_bytes(),
               f"windows.jsonl: categories from --catalog differ from categories in the records "
               f"({oplib.first_diff(via_catalog.windows_bytes(), ref.windows_bytes())})")
    cats_without = {c for w in without.windows() for c, _ in w["categories"]}
    chk.eq(cats_without, {"unknown"}, "categories without records' categories and without a catalog")
    chk.done()


def strip_category(line):
    """Removes the "category" member from one compact NDJSON object line, keeping the rest of
    the text (numbers included) byte for byte."""
    try:
        obj = json.loads(line)
    except ValueError:
        return line  # a malformed record stays as it is
    if not isinstance(obj, dict) or "category" not in obj:
        return line
    member = b'"category":' + json.dumps(obj["category"]).encode()
    for variant in (b"," + member, member + b","):
        if variant in line:
            return line.replace(variant, b"", 1)
    raise AssertionError(f"cannot strip category from {line[:200]!r}")


def test_stdin_and_crlf(ctx):
    path = generate(ctx, "stdin", late=0.01, duplicates=0.02, malformed=0.01)
    ref = oplib.run_batch(ctx, [path])
    chk = Check()
    via_stdin = oplib.run_batch(ctx, ["-"], fmt="ndjson", stdin=path.read_bytes())
    chk.expect(via_stdin.windows_bytes() == ref.windows_bytes(),
               f"windows.jsonl: --input - (stdin) differs from the file input "
               f"({oplib.first_diff(via_stdin.windows_bytes(), ref.windows_bytes())})")
    chk.eq([(d["reason"], d["line"], d["raw"]) for d in via_stdin.dropped()],
           [(d["reason"], d["line"], d["raw"]) for d in ref.dropped()], "dropped (reason, line, raw): stdin vs file")
    crlf = ctx.dir("crlf") / "events.ndjson"
    crlf.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    via_crlf = oplib.run_batch(ctx, [crlf])
    chk.expect(via_crlf.windows_bytes() == ref.windows_bytes(),
               f"windows.jsonl: CRLF line ends change the result "
               f"({oplib.first_diff(via_crlf.windows_bytes(), ref.windows_bytes())})")
    chk.eq([(d["reason"], d["line"], d["raw"]) for d in via_crlf.dropped()],
           [(d["reason"], d["line"], d["raw"]) for d in ref.dropped()], "dropped (reason, line, raw): CRLF vs LF")
    chk.done()


if __name__ == "__main__":
    oplib.run_cases(__doc__, [test_batch_size_invariance, test_thread_modes_identical, test_repeated_runs_identical,
                              test_ndjson_and_csv_forms_agree, test_multiple_inputs_equal_concatenation,
                              test_mixed_formats_equal_single_format, test_catalog_fills_missing_categories,
                              test_stdin_and_crlf])
