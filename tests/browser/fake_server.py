#!/usr/bin/python3
"""Fake `orderpulse serve` HTTP side, for developing and testing web/dashboard.html.

Serves, on one port (127.0.0.1):
  /               web/dashboard.html (read from disk on every request)
  /ws             WebSocket feed: a `snapshot` on connect, then `window`, `metrics` (coalesced per
                  client) and `alert` messages as described in docs/server.md;
                  /ws?channels=metrics,window,alert picks channels (snapshot is always sent)
  /api/snapshot   the current `snapshot` message
  /healthz, /readyz, /metrics (a few Prometheus lines)
Development controls (not part of the real server):
  /_fake/drop?seconds=N   close every WebSocket and refuse /ws for N seconds (default 5)
  /_fake/alert            emit a random alert now
  /_fake/pause?seconds=N  stop generating records for N seconds (0 = resume)

The data is synthetic: order lines near wall-clock time (or --event-offset seconds in the past),
1m/1m and 10m/1m windows, a 30 s watermark delay, and a few dropped records of every kind.
Only the Python standard library and Debian's python3-websockets (10.x) are used.

  /usr/bin/python3 fake_server.py --port 0                  # busy: 45 min of history, live data
  /usr/bin/python3 fake_server.py --port 0 --empty          # fresh server, no records at all
"""

import argparse
import asyncio
import bisect
import json
import logging
import math
import os
import random
import re
import signal
import sys
import time
import urllib.parse
from collections import deque
from http import HTTPStatus

import websockets
import websockets.legacy.server
from websockets.datastructures import Headers

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_PAGE = os.path.normpath(os.path.join(HERE, "..", "..", "web", "dashboard.html"))

SPECS = [("1m/1m", 60_000, 60_000), ("10m/1m", 600_000, 60_000)]
WATERMARK_DELAY_MS = 30_000
TOP_N = 10
RECENT_MAX = 120
WINDOW_QUEUE_LIMIT = 2000

CATEGORIES = [
    "bed_bath_table", "health_beauty", "sports_leisure", "furniture_decor", "computers_accessories",
    "housewares", "watches_gifts", "telephony", "garden_tools", "auto", "toys", "cool_stuff",
    "perfumery", "baby", "electronics", "stationery", "fashion_bags_accessories", "pet_shop",
    "office_furniture", "consoles_games", "luggage_accessories", "construction_tools_construction",
    "unknown",
]
REJECT_REASONS = [  # (reason, probability per record)
    ("malformed_json", 0.004), ("missing_field:customer_id", 0.0012), ("bad_value:unit_price", 0.0015),
    ("bad_value:quantity", 0.0008), ("bad_timestamp", 0.001), ("line_too_long", 0.0002),
]
LATE_P, DUP_P = 0.005, 0.004

ALERT_RULES = [
    ("revenue_drop", "warning", "window:1m/1m", "revenue per minute fell 42% below the 10-minute average"),
    ("late_ratio_high", "warning", "source:socket", "late records above 2% of read over the last minute"),
    ("stock_below_reorder", "critical", "product:{pid}", "stock 3 is below reorder level 12"),
    ("watermark_stalled", "critical", "pipeline", "watermark has not advanced for 60 s"),
    ("new_top_product", "info", "product:{pid}", "entered the top 10 of 10m/1m"),
]


def iso(ms, frac=True):
    """Epoch ms -> 2024-01-01T00:00:01Z (with .mmm when not a whole second and frac)."""
    sec, milli = divmod(int(ms), 1000)
    base = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec))
    return f"{base}.{milli:03d}Z" if (frac and milli) else base + "Z"


class Cents(int):
    """Money in integer cents; dumps() writes it as a JSON number with exactly two decimals."""


def _money_text(c):
    c = int(c)
    sign = "-" if c < 0 else ""
    c = abs(c)
    return f"{sign}{c // 100}.{c % 100:02d}"


_MONEY_RE = re.compile(r'"\\u0000M(-?\d+)\\u0000"')


def _tag_money(o):
    if isinstance(o, Cents):
        return f"\u0000M{int(o)}\u0000"
    if isinstance(o, dict):
        return {k: _tag_money(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_tag_money(v) for v in o]
    return o


def dumps(obj):
    text = json.dumps(_tag_money(obj), separators=(",", ":"))
    return _MONEY_RE.sub(lambda m: _money_text(m.group(1)), text)


class Agg:
    __slots__ = ("lines", "items", "orders", "cents", "customers", "products", "categories")

    def __init__(self):
        self.lines = self.items = self.orders = self.cents = 0
        self.customers = set()
        self.products = {}    # pid -> [cents, items]
        self.categories = {}  # category -> cents

    def add(self, rec):
        _, line, cust, pid, cat, qty, cents = rec
        self.lines += 1
        self.items += qty
        if line == 1:
            self.orders += 1
        self.cents += cents
        self.customers.add(cust)
        p = self.products.get(pid)
        if p is None:
            self.products[pid] = [cents, qty]
        else:
            p[0] += cents
            p[1] += qty
        self.categories[cat] = self.categories.get(cat, 0) + cents

    def obj(self, spec, start, size, partial=False):
        top = sorted(self.products.items(), key=lambda kv: (-kv[1][0], kv[0]))[:TOP_N]
        cats = sorted(self.categories.items(), key=lambda kv: (-kv[1], kv[0]))
        o = {
            "window": spec, "start": iso(start), "end": iso(start + size),
            "lines": self.lines, "items": self.items, "orders": self.orders,
            "revenue": Cents(self.cents), "active_customers": len(self.customers),
            "top_products": [{"product_id": k, "revenue": Cents(v[0]), "items": v[1]} for k, v in top],
            "categories": [{"category": k, "revenue": Cents(v)} for k, v in cats],
        }
        if partial:
            o["partial"] = True
        return o


class Sim:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        rng = self.rng
        # products: Zipf popularity, lognormal prices, a category each
        self.n_products = 600
        if args.id_style == "olist":
            self.pids = ["%032x" % rng.getrandbits(128) for _ in range(self.n_products)]
        else:
            self.pids = ["p%06d" % (i + 1) for i in range(self.n_products)]
        ccdf = self._zipf_cdf(len(CATEGORIES) - 1, 0.7)
        self.pcat = [CATEGORIES[bisect.bisect_left(ccdf, rng.random())] if rng.random() > 0.03 else "unknown"
                     for _ in range(self.n_products)]
        self.pprice = [max(199, int(rng.lognormvariate(math.log(6000), 0.9) * args.price_scale))
                       for _ in range(self.n_products)]
        self.pcum = self._zipf_cdf(self.n_products, 1.05)
        self.n_customers = 30000
        self.ccum = self._zipf_cdf(self.n_customers, 0.6)
        self.order_seq = 0

        self.windows = {}          # (spec_index, start) -> Agg
        self.recent = deque(maxlen=RECENT_MAX)
        self.max_event = None
        self.watermark = None
        self.t_lines = self.t_items = self.t_orders = self.t_cents = 0
        self.t_customers = set()
        self.extra_customers = 0
        self.read = self.accepted = 0
        self.dropped = {}
        self.batches = 0
        self.rate_hist = deque()   # (wall_s, records)
        self.paused_until = 0.0

        self.wall0 = time.time()
        self.event0 = self.wall0 * 1000 - args.event_offset * 1000

    # ---- clocks
    def event_now(self, wall=None):
        wall = time.time() if wall is None else wall
        return self.event0 + (wall - self.wall0) * 1000 * self.args.speed

    def rate_at(self, event_ms):
        """Records per second at an event time: a smooth daily-ish wave plus wobble."""
        t = event_ms / 1000.0
        base = self.args.rate
        f = 1 + 0.35 * math.sin(2 * math.pi * t / 1800) + 0.18 * math.sin(2 * math.pi * t / 420 + 1.3)
        return max(0.0, base * f)

    @staticmethod
    def _zipf_cdf(n, s):
        w = [1.0 / (i + 1) ** s for i in range(n)]
        tot = sum(w)
        acc, out = 0.0, []
        for x in w:
            acc += x / tot
            out.append(acc)
        return out

    def _pick(self, cdf):
        i = bisect.bisect_left(cdf, self.rng.random())
        return min(i, len(cdf) - 1)

    # ---- generation
    def gen_records(self, n, t_hi, spread_ms):
        """About n records (whole orders) with event times in (t_hi - spread_ms, t_hi]."""
        rng = self.rng
        out = []
        while len(out) < n:
            self.order_seq += 1
            oid = "o%09d" % self.order_seq
            cust = "c%06d" % self._pick(self.ccum)
            t = int(t_hi - rng.random() * spread_ms)
            lines = 1 + (rng.random() < 0.25) + (rng.random() < 0.08)
            for line in range(1, lines + 1):
                pi = self._pick(self.pcum)
                qty = 1 if rng.random() < 0.8 else rng.randint(2, 4)
                out.append((t, line, cust, self.pids[pi], self.pcat[pi], qty, self.pprice[pi] * qty))
        return out

    def process(self, recs, wall):
        """One micro-batch. Returns the final windows emitted (in output order)."""
        rng = self.rng
        n_read = 0
        for rec in recs:
            # injected drops (the record itself is thrown away)
            r = rng.random()
            reason = None
            acc = 0.0
            for name, p in REJECT_REASONS:
                acc += p
                if r < acc:
                    reason = name
                    break
            if reason is None and self.watermark is not None:
                if r < acc + LATE_P:
                    reason = "late"
                elif r < acc + LATE_P + DUP_P:
                    reason = "duplicate"
            n_read += 1
            if reason:
                self.dropped[reason] = self.dropped.get(reason, 0) + 1
                continue
            self.accepted += 1
            t = rec[0]
            self.t_lines += 1
            self.t_items += rec[5]
            self.t_orders += rec[1] == 1
            self.t_cents += rec[6]
            self.t_customers.add(rec[2])
            for si, (_, size, slide) in enumerate(SPECS):
                first = (t // slide) * slide
                start = first
                while start > t - size:
                    agg = self.windows.get((si, start))
                    if agg is None:
                        agg = self.windows[(si, start)] = Agg()
                    agg.add(rec)
                    start -= slide
            if self.max_event is None or t > self.max_event:
                self.max_event = t
        self.read += n_read
        if self.max_event is not None:
            self.watermark = self.max_event - WATERMARK_DELAY_MS
        self.batches += 1
        self.rate_hist.append((wall, n_read))
        return self.finalize()

    def finalize(self):
        if self.watermark is None:
            return []
        done = []
        for (si, start), agg in self.windows.items():
            size = SPECS[si][1]
            if start + size <= self.watermark:
                done.append((start + size, si, start, agg))
        done.sort(key=lambda x: (x[0], x[1], x[2]))
        out = []
        for end, si, start, agg in done:
            del self.windows[(si, start)]
            w = agg.obj(SPECS[si][0], start, SPECS[si][1])
            self.recent.append(w)
            out.append(w)
        return out

    def preload(self, n):
        """Pretend the server already processed n records before the history (totals only)."""
        if n <= 0:
            return
        self.read += n
        drops = 0
        for name, p in REJECT_REASONS + [("late", LATE_P), ("duplicate", DUP_P)]:
            k = int(n * p)
            self.dropped[name] = self.dropped.get(name, 0) + k
            drops += k
        acc = n - drops
        self.accepted += acc
        self.t_lines += acc
        self.t_orders += int(acc * 0.75)
        self.t_items += int(acc * 1.3)
        self.t_cents += int(acc * 9137 * self.args.price_scale) + 17
        self.extra_customers += min(int(acc * 0.3), 5_000_000)

    def seed_history(self, minutes):
        if minutes <= 0:
            return
        t = self.event_now() - minutes * 60_000
        step = 1000
        while t < self.event_now():
            rate = self.rate_at(t)
            n = self._poisson(rate * step / 1000.0)
            if n:
                self.process(self.gen_records(n, t, step), time.time())
            t += step
        self.rate_hist.clear()
        self.batches = int(self.batches * 0.37) + 1200

    def _poisson(self, lam):
        if lam <= 0:
            return 0
        if lam > 30:
            return max(0, int(round(self.rng.gauss(lam, math.sqrt(lam)))))
        l, k, p = math.exp(-lam), 0, 1.0
        while True:
            p *= self.rng.random()
            if p <= l:
                return k
            k += 1

    def tick(self, dt):
        """Generate the records that arrived during the last dt seconds. None if nothing happened."""
        wall = time.time()
        if self.args.rate <= 0 or wall < self.paused_until:
            return None
        now = self.event_now(wall)
        n = self._poisson(self.rate_at(now) * dt * self.args.speed)
        if n == 0:
            return None
        recs = self.gen_records(n, now, min(3000, dt * 1000 * self.args.speed + 1500))
        return self.process(recs, wall)

    # ---- messages
    def records_per_second(self):
        now = time.time()
        while self.rate_hist and self.rate_hist[0][0] < now - 5:
            self.rate_hist.popleft()
        total = sum(n for _, n in self.rate_hist)
        return round(total / 5.0, 1)

    def open_windows(self):
        """Per spec, the oldest window that is still open and holds the newest event time (what
        the real server sends: for 1m/1m the newest minute, for 10m/1m the most complete one)."""
        out = []
        if self.max_event is None:
            return out
        for si, (spec, size, slide) in enumerate(SPECS):
            start = (self.max_event // slide) * slide + slide - size
            while self.watermark is not None and start + size <= self.watermark:
                start += slide
            agg = self.windows.get((si, start))
            if agg is not None:
                out.append(agg.obj(spec, start, size, partial=True))
        return out

    def metrics_data(self):
        wall_ms = time.time() * 1000
        rejected = sum(v for k, v in self.dropped.items() if k not in ("late", "duplicate"))
        return {
            "server_time": iso(wall_ms),
            "watermark": None if self.watermark is None else iso(self.watermark),
            "watermark_lag_seconds": None if self.watermark is None
            else round((wall_ms - self.watermark) / 1000.0, 3),
            "watermark_source": None if self.watermark is None else "socket",
            "windows": [s[0] for s in SPECS],
            "totals": {"lines": self.t_lines, "items": self.t_items, "orders": self.t_orders,
                       "revenue": Cents(self.t_cents),
                       "active_customers": len(self.t_customers) + self.extra_customers},
            "counters": {"read": self.read, "accepted": self.accepted, "rejected": rejected,
                         "late": self.dropped.get("late", 0), "duplicate": self.dropped.get("duplicate", 0),
                         "dropped_by_reason": {k: v for k, v in sorted(self.dropped.items()) if v}},
            "records_per_second": float(self.records_per_second()),
            "batches": self.batches,
            "open_windows": self.open_windows(),
        }

    def snapshot(self):
        d = self.metrics_data()
        d["recent_windows"] = list(self.recent)
        return {"type": "snapshot", "data": d}

    def random_alert(self, seq):
        rule, sev, subject, msg = self.rng.choice(ALERT_RULES)
        pid = self.pids[self._pick(self.pcum)]
        return {"id": "a%04d" % seq, "rule": rule, "severity": sev,
                "subject": subject.format(pid=pid), "state": "firing",
                "wall_time": iso(time.time() * 1000), "message": msg}


class Client:
    def __init__(self, ws, channels):
        self.ws = ws
        self.channels = channels
        self.queue = deque()       # ordered window/alert messages (text)
        self.metrics = None        # newest metrics message only (coalesced)
        self.event = asyncio.Event()
        self.dead = False

    def push(self, kind, text):
        if kind not in self.channels or self.dead:
            return
        if kind == "metrics":
            self.metrics = text
        else:
            self.queue.append(text)
            if len(self.queue) > WINDOW_QUEUE_LIMIT:
                self.dead = True
                asyncio.ensure_future(self.ws.close(1008, "too slow"))
        self.event.set()

    async def run(self):
        while not self.dead:
            await self.event.wait()
            self.event.clear()
            while self.queue:
                await self.ws.send(self.queue.popleft())
            if self.metrics is not None:
                m, self.metrics = self.metrics, None
                await self.ws.send(m)


class App:
    def __init__(self, args):
        self.args = args
        self.sim = Sim(args)
        self.clients = set()
        self.refuse_until = 0.0
        self.alert_seq = 0
        self.open_alerts = []
        self.sent = 0

    def broadcast(self, kind, obj):
        text = dumps(obj)
        for c in list(self.clients):
            c.push(kind, text)

    async def engine(self):
        dt = self.args.trigger
        next_alert = time.time() + 8
        while True:
            await asyncio.sleep(dt)
            out = self.sim.tick(dt)
            if out is not None:
                for w in out:
                    self.broadcast("window", {"type": "window", "data": w})
                self.broadcast("metrics", {"type": "metrics", "data": self.sim.metrics_data()})
            if self.args.alerts and time.time() >= next_alert:
                next_alert = time.time() + self.sim.rng.uniform(6, 20)
                self.emit_alert()

    def emit_alert(self):
        sim = self.sim
        if self.open_alerts and sim.rng.random() < 0.4:
            a = dict(self.open_alerts.pop(0))
            a["state"] = "resolved"
            a["wall_time"] = iso(time.time() * 1000)
        else:
            self.alert_seq += 1
            a = sim.random_alert(self.alert_seq)
            self.open_alerts.append(a)
        self.broadcast("alert", {"type": "alert", "data": a})

    # ---- HTTP
    async def process_request(self, path, headers):
        u = urllib.parse.urlsplit(path)
        route, query = u.path, urllib.parse.parse_qs(u.query)

        def resp(status, body, ctype="text/plain; charset=utf-8"):
            if isinstance(body, str):
                body = body.encode("utf-8")
            h = Headers()
            h["Content-Type"] = ctype
            h["Cache-Control"] = "no-store"
            return status, h, body

        if route == "/ws":
            if time.time() < self.refuse_until:
                return resp(HTTPStatus.SERVICE_UNAVAILABLE, "feed paused by /_fake/drop\n")
            return None  # WebSocket handshake (or 426 without an Upgrade header)
        if route in ("/", "/index.html", "/dashboard.html"):
            try:
                with open(self.args.page, "rb") as f:
                    return resp(HTTPStatus.OK, f.read(), "text/html; charset=utf-8")
            except OSError as e:
                return resp(HTTPStatus.INTERNAL_SERVER_ERROR, f"cannot read page: {e}\n")
        if route == "/api/snapshot":
            return resp(HTTPStatus.OK, dumps(self.sim.snapshot()), "application/json")
        if route == "/healthz":
            return resp(HTTPStatus.OK, "ok\n")
        if route == "/readyz":
            return resp(HTTPStatus.OK, "ready\n")
        if route == "/metrics":
            s = self.sim
            lines = [
                "# TYPE orderpulse_records_read_total counter", f"orderpulse_records_read_total {s.read}",
                "# TYPE orderpulse_records_accepted_total counter",
                f"orderpulse_records_accepted_total {s.accepted}",
                "# TYPE orderpulse_records_dropped_total counter",
            ] + [f'orderpulse_records_dropped_total{{reason="{k}"}} {v}' for k, v in sorted(s.dropped.items())] + [
                "# TYPE orderpulse_batches_total counter", f"orderpulse_batches_total {s.batches}",
                "# TYPE orderpulse_websocket_clients gauge", f"orderpulse_websocket_clients {len(self.clients)}",
            ]
            return resp(HTTPStatus.OK, "\n".join(lines) + "\n", "text/plain; version=0.0.4; charset=utf-8")
        if route == "/_fake/drop":
            secs = float(query.get("seconds", ["5"])[0])
            self.refuse_until = time.time() + secs
            for c in list(self.clients):
                asyncio.ensure_future(c.ws.close(1001, "dropped by /_fake/drop"))
            return resp(HTTPStatus.OK, f"dropped {len(self.clients)} client(s), refusing /ws for {secs} s\n")
        if route == "/_fake/alert":
            self.emit_alert()
            return resp(HTTPStatus.OK, "alert sent\n")
        if route == "/_fake/pause":
            secs = float(query.get("seconds", ["30"])[0])
            self.sim.paused_until = time.time() + secs if secs > 0 else 0
            return resp(HTTPStatus.OK, f"paused for {secs} s\n")
        return resp(HTTPStatus.NOT_FOUND, "not found\n")

    async def ws_handler(self, ws):
        u = urllib.parse.urlsplit(ws.path)
        q = urllib.parse.parse_qs(u.query)
        channels = {"metrics", "window", "alert"}
        if "channels" in q:
            channels = {c.strip() for c in ",".join(q["channels"]).split(",") if c.strip()}
        client = Client(ws, channels)
        # snapshot and registration happen with no await in between: no message is lost or doubled
        await_first = ws.send(dumps(self.sim.snapshot()))
        self.clients.add(client)
        try:
            await await_first
            sender = asyncio.ensure_future(client.run())
            reader = asyncio.ensure_future(self._drain(ws))
            await asyncio.wait({sender, reader}, return_when=asyncio.FIRST_COMPLETED)
            for t in (sender, reader):
                t.cancel()
        except websockets.ConnectionClosed:
            pass
        finally:
            self.clients.discard(client)

    @staticmethod
    async def _drain(ws):
        try:
            async for _ in ws:
                pass
        except websockets.ConnectionClosed:
            pass


async def main_async(args):
    app = App(args)
    app.sim.preload(args.preload_records)
    app.sim.seed_history(args.history_minutes)
    server = await websockets.serve(
        app.ws_handler, args.host, args.port,
        process_request=app.process_request,
        max_size=2 ** 20, ping_interval=20,
    )
    port = server.sockets[0].getsockname()[1]
    print(f"http listening on {args.host}:{port}", flush=True)
    print(f"dashboard: http://{args.host}:{port}/", flush=True)
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    engine = asyncio.ensure_future(app.engine())
    await stop
    engine.cancel()
    server.close()
    await server.wait_closed()


def main():
    ap = argparse.ArgumentParser(description="Fake orderpulse live server for the dashboard page.")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8080, help="0 picks a free port (printed on stdout)")
    ap.add_argument("--page", default=DEFAULT_PAGE, help="dashboard HTML file to serve at /")
    ap.add_argument("--rate", type=float, default=30.0, help="mean records/s of event time (0 = no records)")
    ap.add_argument("--history-minutes", type=float, default=45.0, help="event time already processed at start")
    ap.add_argument("--preload-records", type=int, default=0, help="extra records counted in totals only")
    ap.add_argument("--event-offset", type=float, default=0.0, help="event time runs this many seconds behind wall time")
    ap.add_argument("--speed", type=float, default=1.0, help="event-time seconds per wall second")
    ap.add_argument("--price-scale", type=float, default=1.0, help="multiply all prices")
    ap.add_argument("--id-style", choices=["short", "olist"], default="short", help="product id style")
    ap.add_argument("--trigger", type=float, default=0.25, help="micro-batch interval in seconds")
    ap.add_argument("--alerts", action="store_true", help="emit random alerts every few seconds")
    ap.add_argument("--empty", action="store_true", help="a fresh server: no history and no records")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    if args.empty:
        args.rate = 0.0
        args.history_minutes = 0.0
        args.preload_records = 0
    logging.getLogger("websockets").setLevel(logging.ERROR)
    try:
        asyncio.run(main_async(args))
    except OSError as e:
        print(f"fake_server: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
