#!/usr/bin/env python3
"""Read pgbench runs: per-transaction logs, the summary, aborted clients, lock-wait samples.

Used by scripts/demo.sh and bench/backfill.sh. Standard library only.

  pgbench_stats.py demo --logs PREFIX --out PGBENCH_STDOUT --err PGBENCH_STDERR
                        --phases FILE --locks FILE --scripts a,b,c --env FILE
      prints the demo's application report (per phase, per script, lock waits)
      and writes shell assignments (APP_TX=..., APP_FAILED=...) to --env.
  pgbench_stats.py window --logs PREFIX --out PGBENCH_STDOUT --err PGBENCH_STDERR
                          [--from EPOCH] [--to EPOCH]
      one JSON object: latency of the transactions that started in the window,
      and the whole run's failures (failed transactions, clients aborted on an
      error other than the stop marker, other errors).

Per-transaction log lines (pgbench 15, --log, with --rate):
  client_id transaction_no time script_no time_epoch time_us [schedule_lag]
where time is the latency in microseconds from the scheduled start (or "failed" /
"skipped"), and time_epoch.time_us is when the transaction ended.
"""
import argparse
import glob
import math
import re
import sys
from dataclasses import dataclass

STOP_MARKER = "workload stop requested"


@dataclass
class Tx:
    start: float  # epoch seconds (scheduled start)
    end: float
    latency_ms: float  # nan when failed
    script: int
    failed: bool


def read_logs(prefix):
    txs = []
    for path in sorted(glob.glob(glob.escape(prefix) + ".*")):
        with open(path) as f:
            for line in f:
                p = line.split()
                if len(p) < 6:
                    continue
                end = int(p[4]) + int(p[5]) / 1e6
                if p[2] in ("failed", "skipped"):
                    txs.append(Tx(end, end, math.nan, int(p[3]), True))
                    continue
                lat = int(p[2]) / 1000.0
                txs.append(Tx(end - lat / 1000.0, end, lat, int(p[3]), False))
    txs.sort(key=lambda t: t.start)
    return txs


def pct(sorted_vals, q):
    """Nearest-rank percentile of an ascending list."""
    if not sorted_vals:
        return math.nan
    k = max(0, min(len(sorted_vals) - 1, math.ceil(q / 100.0 * len(sorted_vals)) - 1))
    return sorted_vals[k]


def lat_stats(txs):
    ok = sorted(t.latency_ms for t in txs if not t.failed)
    return {
        "tx": len(txs),
        "failed": sum(1 for t in txs if t.failed),
        "p50": pct(ok, 50),
        "p99": pct(ok, 99),
        "max": ok[-1] if ok else math.nan,
    }


@dataclass
class Summary:
    processed: int = -1
    failed: int = -1
    aborted_stop: int = 0  # clients stopped on purpose (the stop marker)
    aborted_other: list = None  # any other abort: an application failure
    errors: list = None  # any other error line


def read_summary(out_path, err_path):
    s = Summary(aborted_other=[], errors=[])
    with open(out_path) as f:
        text = f.read()
    m = re.search(r"number of transactions actually processed: (\d+)", text)
    if m:
        s.processed = int(m.group(1))
    m = re.search(r"number of failed transactions: (\d+)", text)
    if m:
        s.failed = int(m.group(1))
    with open(err_path) as f:
        lines = f.read().splitlines()
    for i, line in enumerate(lines):
        if "aborted in command" in line:
            if STOP_MARKER in line:
                s.aborted_stop += 1
            else:
                s.aborted_other.append(line)
        elif line.startswith("pgbench: error:") and "Run was aborted" not in line:
            s.errors.append(line)
    return s


def read_locks(path):
    """Lock-wait samples -> one entry per wait (pid, wait start): longest observed."""
    waits = {}
    try:
        f = open(path)
    except FileNotFoundError:
        return []
    with f:
        for line in f:
            p = line.rstrip("\n").split("\t")
            if len(p) < 8:
                continue
            try:
                sample, pid, ws, ms = float(p[0]), p[1], p[2], float(p[3])
            except ValueError:
                continue
            key = (pid, ws)
            if key not in waits or ms > waits[key]["ms"]:
                waits[key] = {"at": sample, "pid": pid, "ms": ms, "locktype": p[4], "mode": p[5],
                              "relation": p[6], "blockers": p[7]}
    return sorted(waits.values(), key=lambda w: -w["ms"])


def read_phases(path):
    phases = []
    with open(path) as f:
        for line in f:
            t, name = line.rstrip("\n").split(" ", 1)
            phases.append((float(t), name))
    return phases


def phase_of(t, phases):
    name = phases[0][1] if phases else "?"
    for start, n in phases:
        if t >= start:
            name = n
        else:
            break
    return name


def fmt_ms(v):
    return "-" if math.isnan(v) else (f"{v:.1f}" if v < 100 else f"{v:.0f}")


def demo(args):
    txs = read_logs(args.logs)
    summ = read_summary(args.out, args.err)
    phases = read_phases(args.phases)
    scripts = args.scripts.split(",")
    locks = read_locks(args.locks)
    t0 = phases[0][0] if phases else (txs[0].start if txs else 0)

    print("  application latency by phase (ms, from the scheduled start; includes any queueing)")
    print(f"    {'phase':<34} {'from':>6} {'tx':>7} {'failed':>6} {'p50':>6} {'p99':>6} {'max':>6}")
    order = []
    for start, name in phases:
        if name not in order:
            order.append(name)
    first_start = {}
    for start, name in phases:
        first_start.setdefault(name, start)
    by_phase = {n: [] for n in order}
    for t in txs:
        by_phase.setdefault(phase_of(t.start, phases), []).append(t)
    for n in order:
        if not by_phase[n]:
            continue
        st = lat_stats(by_phase[n])
        print(f"    {n:<34} {first_start[n] - t0:>5.1f}s {st['tx']:>7} {st['failed']:>6} "
              f"{fmt_ms(st['p50']):>6} {fmt_ms(st['p99']):>6} {fmt_ms(st['max']):>6}")
    print()
    print("  application latency by transaction type (ms)")
    print(f"    {'script':<34} {'':>6} {'tx':>7} {'failed':>6} {'p50':>6} {'p99':>6} {'max':>6}")
    for i, name in enumerate(scripts):
        st = lat_stats([t for t in txs if t.script == i])
        print(f"    {name:<34} {'':>6} {st['tx']:>7} {st['failed']:>6} {fmt_ms(st['p50']):>6} "
              f"{fmt_ms(st['p99']):>6} {fmt_ms(st['max']):>6}")
    all_st = lat_stats(txs)
    print(f"    {'all':<34} {'':>6} {all_st['tx']:>7} {all_st['failed']:>6} {fmt_ms(all_st['p50']):>6} "
          f"{fmt_ms(all_st['p99']):>6} {fmt_ms(all_st['max']):>6}")
    worst = max((t for t in txs if not t.failed), key=lambda t: t.latency_ms, default=None)
    if worst:
        print(f"    slowest transaction: {fmt_ms(worst.latency_ms)} ms ({scripts[worst.script]}), "
              f"started at +{worst.start - t0:.2f}s during \"{phase_of(worst.start, phases)}\"")
    print()

    rel = [w for w in locks if w["locktype"] == "relation"]
    row = [w for w in locks if w["locktype"] != "relation"]
    print(f"  lock waits of application sessions (sampled every 50 ms): {len(locks)} waits seen, "
          f"{len(rel)} on a table lock, {len(row)} on row locks")
    for w in locks[:5]:
        print(f"    {w['ms']:>7.1f} ms  +{w['at'] - t0:6.2f}s  {w['locktype']:<13} {w['mode']:<20} "
              f"{w['relation'] or '-':<8} during \"{phase_of(w['at'], phases)}\"; waiting for: "
              f"{w['blockers'][:110] or '?'}")
    print()

    env = {
        "APP_TX": summ.processed,
        "APP_TX_LOGGED": all_st["tx"],
        "APP_FAILED": summ.failed,
        "APP_ABORTED_CLIENTS": len(summ.aborted_other),
        "APP_STOPPED_CLIENTS": summ.aborted_stop,
        "APP_OTHER_ERRORS": len(summ.errors),
        "APP_P50_MS": fmt_ms(all_st["p50"]),
        "APP_P99_MS": fmt_ms(all_st["p99"]),
        "APP_MAX_MS": fmt_ms(all_st["max"]),
        "LOCK_WAIT_MAX_MS": f"{locks[0]['ms']:.1f}" if locks else "0",
        "LOCK_WAIT_MAX_KIND": (f"{locks[0]['locktype']} {locks[0]['mode']}" if locks else "none seen"),
        "LOCK_WAIT_TABLE_MAX_MS": f"{rel[0]['ms']:.1f}" if rel else "0",
        "LOCK_WAIT_ROW_MAX_MS": f"{row[0]['ms']:.1f}" if row else "0",
    }
    with open(args.env, "w") as f:
        for k, v in env.items():
            f.write(f"{k}='{v}'\n")
    for line in summ.aborted_other + summ.errors:
        print("  APPLICATION ERROR: " + line)


def window(args):
    import json
    txs = read_logs(args.logs)
    summ = read_summary(args.out, args.err)
    lo = args.from_ if args.from_ is not None else -math.inf
    hi = args.to if args.to is not None else math.inf
    st = lat_stats([t for t in txs if lo <= t.start <= hi])
    out = {
        "tx": st["tx"],
        "tx_run": summ.processed,
        "failed": max(summ.failed, 0) + (1 if summ.failed < 0 else 0),
        "aborted": len(summ.aborted_other),
        "errors": len(summ.errors),
        "stopped_clients": summ.aborted_stop,
        "p50_ms": round(st["p50"], 2),
        "p99_ms": round(st["p99"], 2),
        "max_ms": round(st["max"], 2),
        "error_lines": (summ.aborted_other + summ.errors)[:5],
    }
    print(json.dumps(out))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("demo")
    for a in ("--logs", "--out", "--err", "--phases", "--locks", "--scripts", "--env"):
        d.add_argument(a, required=True)
    w = sub.add_parser("window")
    for a in ("--logs", "--out", "--err"):
        w.add_argument(a, required=True)
    w.add_argument("--from", dest="from_", type=float)
    w.add_argument("--to", type=float)
    args = ap.parse_args()
    if args.cmd == "demo":
        demo(args)
    elif args.cmd == "window":
        window(args)


if __name__ == "__main__":
    sys.exit(main())
