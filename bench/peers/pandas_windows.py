#!/usr/bin/python3
"""The pandas peer: the benchmark job as a data engineer would write it with pandas.

orderpulse's default windows (1m tumbling, 10m sliding by 1m) over one CSV file whose records are
all accepted by orderpulse (bench/run.sh generates it so). Per-minute panes first, then each
window sums the panes it covers. Writes one JSON object per window in the peer format that
bench/check_windows.py reads.
    /usr/bin/python3 pandas_windows.py --csv FILE --out FILE
"""
import argparse, json

import numpy as np
import pandas as pd

SPECS = [("1m/1m", 1), ("10m/1m", 10)]  # name, size in one-minute panes (both slide by 1 minute)
TOP_N = 10
MINUTE_NS = 60 * 1_000_000_000


def load(path):
    # Ids and categories as pandas categoricals (the usual way to keep 10M repeated strings small);
    # only an empty category cell means "none" (-> unknown), every other cell is taken as written.
    df = pd.read_csv(path, usecols=["line", "customer_id", "product_id", "category", "quantity", "unit_price",
                                    "event_time"],
                     dtype={"customer_id": "category", "product_id": "category", "category": str},
                     keep_default_na=False, na_values={"category": [""], "line": [""], "quantity": [""]})
    df["category"] = df["category"].fillna("unknown").astype("category")
    df["line"] = df["line"].fillna(1).astype("int64")
    df["quantity"] = df["quantity"].fillna(1).astype("int64")
    df["pane"] = pd.to_datetime(df["event_time"], utc=True).values.astype("int64") // MINUTE_NS
    df["cents"] = (df["unit_price"] * 100).round().astype("int64") * df["quantity"]  # 2-decimal prices: exact
    df["is_order"] = (df["line"] == 1).astype("int64")
    return df.drop(columns=["event_time", "unit_price"])


def spread(panes, size):
    """Copies each pane row to the `size` windows holding it: start = pane - k for k < size."""
    parts = [panes.assign(start=panes["pane"] - k) for k in range(size)]
    return pd.concat(parts, ignore_index=True).drop(columns="pane")


def windows(df, pairs, size):
    tot = df.groupby("pane").agg(lines=("line", "size"), items=("quantity", "sum"), orders=("is_order", "sum"),
                                 revenue=("cents", "sum"))
    tot = spread(tot.reset_index(), size).groupby("start").sum()

    # Distinct customers do not add up over panes: count the distinct customer codes of each
    # window's panes (pairs: the distinct (pane, customer code) rows, sorted by pane).
    panes, codes = pairs["pane"].to_numpy(), pairs["code"].to_numpy()
    lo = np.searchsorted(panes, tot.index.to_numpy())
    hi = np.searchsorted(panes, tot.index.to_numpy() + size)
    tot["customers"] = [len(np.unique(codes[a:b])) for a, b in zip(lo, hi)]

    prod = df.groupby(["pane", "product_id"], as_index=False, observed=True).agg(revenue=("cents", "sum"),
                                                                                items=("quantity", "sum"))
    prod = spread(prod, size).groupby(["start", "product_id"], as_index=False, observed=True).sum()
    prod["product_id"] = prod["product_id"].astype(str)  # rank ties by the id's text, not category order
    prod = prod.sort_values(["start", "revenue", "product_id"], ascending=[True, False, True])
    top = prod.groupby("start").head(TOP_N)

    cat = df.groupby(["pane", "category"], as_index=False, observed=True)["cents"].sum()
    cat = spread(cat, size).groupby(["start", "category"], as_index=False, observed=True).sum()
    cat["category"] = cat["category"].astype(str)
    cat = cat.sort_values(["start", "cents", "category"], ascending=[True, False, True])
    return tot, top, cat


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--csv", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    df = load(a.csv)
    pairs = pd.DataFrame({"pane": df["pane"], "code": df["customer_id"].cat.codes}).drop_duplicates()
    pairs = pairs.sort_values("pane", kind="stable")
    rows = []
    for order, (name, size) in enumerate(SPECS):
        tot, top, cat = windows(df, pairs, size)
        tops = {s: list(zip(g["product_id"], g["revenue"], g["items"])) for s, g in top.groupby("start")}
        cats = {s: list(zip(g["category"], g["cents"])) for s, g in cat.groupby("start")}
        for start, w in tot.iterrows():
            rows.append((start + size, order, start, {
                "window": name, "start_ms": int(start) * 60_000, "lines": int(w["lines"]), "items": int(w["items"]),
                "orders": int(w["orders"]), "revenue_cents": int(w["revenue"]), "customers": int(w["customers"]),
                "top_products": [{"product_id": p, "revenue_cents": int(r), "items": int(i)} for p, r, i in tops[start]],
                "categories": [{"category": c, "revenue_cents": int(r)} for c, r in cats[start]]}))
    rows.sort(key=lambda r: r[:3])  # orderpulse's order: by end, then config order, then start
    with open(a.out, "w") as f:
        for *_, w in rows:
            f.write(json.dumps(w) + "\n")


if __name__ == "__main__":
    main()
