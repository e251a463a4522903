#!/usr/bin/env python3
"""SVG chart of application latency over time, one line per backfill method.

  chart.py --out FILE.svg --title TEXT SERIES...
  SERIES = label=LOG_PREFIX@T0@T1   (pgbench --log-prefix; the method ran from
                                     epoch T0 to T1; x is seconds since T0)

Each line is the worst latency per 0.5 s bucket (log scale); a dot marks each
method's end. Standard library only.
"""
import argparse
import html
import math
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts", "workload"))
from pgbench_stats import read_logs  # noqa: E402

COLORS = ["#d62728", "#1f77b4", "#2ca02c", "#7f7f7f", "#9467bd"]
BUCKET = 0.5


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--title", default="Application latency during the backfill")
    ap.add_argument("series", nargs="+")
    a = ap.parse_args()

    series = []
    for spec in a.series:
        label, rest = spec.split("=", 1)
        prefix, t0, t1 = rest.rsplit("@", 2)
        t0, t1 = float(t0), float(t1)
        buckets = {}
        for tx in read_logs(prefix):
            if tx.failed:
                continue
            x = tx.start - t0
            if x < -2 or x > (t1 - t0) + 2:
                continue
            b = math.floor(x / BUCKET)
            buckets[b] = max(buckets.get(b, 0.0), tx.latency_ms)
        pts = sorted((b * BUCKET, v) for b, v in buckets.items())
        series.append((label, pts, t1 - t0))

    xmax = max([s[2] + 2 for s in series] + [p[0] for s in series for p in s[1]] + [1])
    ymax = max([p[1] for s in series for p in s[1]] + [10])
    ymin = 0.1
    ytop = 10 ** math.ceil(math.log10(ymax))
    W, H, L, R, T, B = 900, 460, 70, 200, 40, 50
    pw, ph = W - L - R, H - T - B

    def sx(x):
        return L + (x + 2) / (xmax + 2) * pw

    def sy(y):
        y = max(y, ymin)
        return T + ph - (math.log10(y) - math.log10(ymin)) / (math.log10(ytop) - math.log10(ymin)) * ph

    o = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
         f'<rect width="{W}" height="{H}" fill="white"/>',
         f'<text x="{L}" y="22" font-size="15" font-weight="bold">{html.escape(a.title)}</text>']
    # grid: decades on y, every 5 or 10 s on x
    d = ymin
    while d <= ytop * 1.0001:
        y = sy(d)
        o.append(f'<line x1="{L}" y1="{y:.1f}" x2="{L + pw}" y2="{y:.1f}" stroke="#ddd"/>')
        lab = f"{d:g} ms"
        o.append(f'<text x="{L - 6}" y="{y + 4:.1f}" text-anchor="end">{lab}</text>')
        d *= 10
    step = 5 if xmax <= 60 else 10 if xmax <= 150 else 30
    x = 0
    while x <= xmax:
        px = sx(x)
        o.append(f'<line x1="{px:.1f}" y1="{T}" x2="{px:.1f}" y2="{T + ph}" stroke="#eee"/>')
        o.append(f'<text x="{px:.1f}" y="{T + ph + 16}" text-anchor="middle">{x}</text>')
        x += step
    o.append(f'<text x="{L + pw / 2}" y="{H - 10}" text-anchor="middle">seconds since the backfill started '
             f'(worst latency per {BUCKET:g} s)</text>')
    o.append(f'<rect x="{L}" y="{T}" width="{pw}" height="{ph}" fill="none" stroke="#888"/>')
    for i, (label, pts, dur) in enumerate(series):
        c = COLORS[i % len(COLORS)]
        if pts:
            path = " ".join(f"{'M' if j == 0 else 'L'}{sx(px):.1f},{sy(py):.1f}" for j, (px, py) in enumerate(pts))
            o.append(f'<path d="{path}" fill="none" stroke="{c}" stroke-width="1.5"/>')
        if dur > 0:
            o.append(f'<line x1="{sx(dur):.1f}" y1="{T}" x2="{sx(dur):.1f}" y2="{T + ph}" stroke="{c}" '
                     f'stroke-dasharray="4,3"/>')
        ly = T + 20 + i * 20
        o.append(f'<line x1="{L + pw + 12}" y1="{ly - 4}" x2="{L + pw + 32}" y2="{ly - 4}" stroke="{c}" stroke-width="2"/>')
        o.append(f'<text x="{L + pw + 38}" y="{ly}">{html.escape(label)}</text>')
    o.append(f'<text x="{L + pw + 12}" y="{T + 30 + len(series) * 20}" fill="#555">dashed: method done</text>')
    o.append("</svg>")
    with open(a.out, "w") as f:
        f.write("\n".join(o) + "\n")


if __name__ == "__main__":
    main()
