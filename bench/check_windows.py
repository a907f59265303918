#!/usr/bin/python3
"""Checks a peer's windows against orderpulse's windows.jsonl: a fast wrong answer does not count.

Peer format, one JSON object per window (any order):
  {"window": "10m/1m", "start_ms": 1704067200000, "lines": 1, "items": 2, "orders": 1,
   "revenue_cents": 1998, "customers": 1,
   "top_products": [{"product_id": "p1", "revenue_cents": 1998, "items": 2}],
   "categories": [{"category": "toys", "revenue_cents": 1998}]}
Peers count distinct customers exactly; orderpulse is exact below 256 and above that uses a
HyperLogLog with 2^14 registers (standard error 0.81%), so there the two may differ by up to
3 x 0.81% of the exact count. Everything else must be equal, lists in the same order.
Prints one JSON line; exit status 0 when the peer agrees, 1 when not.
"""
import argparse, datetime, decimal, json, os, sys

HLL_EXACT_BELOW = 256
HLL_TOLERANCE = 3 * 0.0081


def cents(text_number):
    return int(decimal.Decimal(text_number) * 100)


def epoch_ms(iso):
    t = datetime.datetime.strptime(iso, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    return int(t.timestamp()) * 1000


def load_orderpulse(path):
    """windows.jsonl -> {(window, start_ms): record in the peer format}; revenue read as decimals."""
    out = {}
    with open(path) as f:
        for line in f:
            w = json.loads(line, parse_float=decimal.Decimal)
            out[(w["window"], epoch_ms(w["start"]))] = {
                "lines": w["lines"], "items": w["items"], "orders": w["orders"], "revenue_cents": cents(w["revenue"]),
                "customers": w["active_customers"],
                "top_products": [(p["product_id"], cents(p["revenue"]), p["items"]) for p in w["top_products"]],
                "categories": [(c["category"], cents(c["revenue"])) for c in w["categories"]]}
    return out


def load_peer(path):
    out = {}
    with open(path) as f:
        for line in f:
            w = json.loads(line)
            key = (w["window"], int(w["start_ms"]))
            if key in out:
                raise ValueError(f"window {key} written twice")
            out[key] = {
                "lines": w["lines"], "items": w["items"], "orders": w["orders"], "revenue_cents": w["revenue_cents"],
                "customers": w["customers"],
                "top_products": [(p["product_id"], p["revenue_cents"], p["items"]) for p in w["top_products"]],
                "categories": [(c["category"], c["revenue_cents"]) for c in w["categories"]]}
    return out


def compare(expected, got):
    """-> (problems: list of text, worst relative customer difference above the exact range)"""
    problems, worst = [], 0.0
    for key in sorted(expected.keys() - got.keys())[:3]:
        problems.append(f"window {key} missing")
    for key in sorted(got.keys() - expected.keys())[:3]:
        problems.append(f"window {key} not emitted by orderpulse")
    for key in sorted(expected.keys() & got.keys()):
        e, g = expected[key], got[key]
        for field in ("lines", "items", "orders", "revenue_cents", "top_products", "categories"):
            if e[field] != g[field]:
                problems.append(f"window {key} {field}: orderpulse {e[field]!r:.200}, peer {g[field]!r:.200}")
        exact, estimate = g["customers"], e["customers"]
        if exact < HLL_EXACT_BELOW:
            if exact != estimate:
                problems.append(f"window {key} customers: orderpulse {estimate}, peer {exact} (must be exact)")
        else:
            rel = abs(estimate - exact) / exact
            worst = max(worst, rel)
            if rel > HLL_TOLERANCE:
                problems.append(f"window {key} customers: orderpulse {estimate}, peer {exact}, "
                                f"{rel:.2%} apart (bound {HLL_TOLERANCE:.2%})")
    return problems, worst


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--orderpulse", required=True, help="orderpulse's windows.jsonl")
    ap.add_argument("--peer", required=True, help="the peer's windows, in the format above")
    ap.add_argument("--label", help="name in the output line (default: the peer file's name)")
    a = ap.parse_args()
    expected = load_orderpulse(a.orderpulse)
    try:
        got = load_peer(a.peer)
    except (OSError, ValueError, KeyError, TypeError) as e:
        got, problems, worst = {}, [f"unreadable output: {e}"], 0.0
    else:
        problems, worst = compare(expected, got)
    print(json.dumps({"label": a.label or os.path.basename(a.peer), "ok": not problems and bool(expected), "windows": len(expected),
                      "problems": len(problems), "first_problems": problems[:5],
                      "worst_customer_difference": round(worst, 5)}))
    return 0 if not problems and expected else 1


if __name__ == "__main__":
    sys.exit(main())
