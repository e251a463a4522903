#!/usr/bin/env python3
"""bench/backfill.sh's raw CSV -> backfill.csv (with ratios) and backfill.md."""
import argparse
import csv
import datetime
import os
import platform


def fnum(v, fmt="{:,.0f}"):
    try:
        return fmt.format(float(v))
    except (TypeError, ValueError):
        return "–"


def machine():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = "?"
    try:
        with open("/proc/meminfo") as f:
            kb = int(f.readline().split()[1])
            mem = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return f"{platform.machine()}, {os.cpu_count()} cores ({cpu}), {mem} RAM, Linux {platform.release()}"


def median_run(runs):
    """The run with the median rows/s (the lower middle one for an even count)."""
    runs = sorted(runs, key=lambda r: float(r["rows_per_s"]))
    return runs[(len(runs) - 1) // 2]


def main():
    ap = argparse.ArgumentParser()
    for a in ("--csv", "--out-dir", "--rows", "--rate", "--clients", "--workers", "--rounds", "--pg",
              "--colshift", "--load-avg", "--total-seconds"):
        ap.add_argument(a, required=True)
    a = ap.parse_args()
    rows = list(csv.DictReader(open(a.csv)))
    n = int(a.rows)
    workers = int(a.workers)

    # Per shape and load: the single UPDATE's median run is the unit.
    def runs(shape, method, load):
        return [r for r in rows if r["shape"] == shape and r["method"] == method and r["load"] == load]

    picked = {}
    for r in rows:
        key = (r["shape"], r["method"], r["load"])
        if key not in picked and r["method"] != "baseline":
            picked[key] = median_run(runs(*key))
    for r in rows:
        r["ratio_to_update"] = ""
        r["wal_ratio_to_update"] = ""
        r["wal_per_row"] = ""
        upd = picked.get((r["shape"], "update", r["load"]))
        if r["method"] == "baseline" or not r["rows_per_s"]:
            continue
        r["wal_per_row"] = f"{int(r['wal_bytes']) / int(r['rows']):.0f}"
        if upd:
            r["ratio_to_update"] = f"{float(r['rows_per_s']) / float(upd['rows_per_s']):.2f}"
            r["wal_ratio_to_update"] = f"{int(r['wal_bytes']) / int(upd['wal_bytes']):.2f}"
    with open(os.path.join(a.out_dir, "backfill.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        w.writeheader()
        w.writerows(rows)

    label = {"update": "single UPDATE (ALTER TABLE ADD COLUMN; UPDATE)",
             "update-trigger": "single UPDATE past a row trigger (the ceiling with a dual-write trigger)",
             "colshift-1": "colshift start --workers 1",
             "colshift-n": f"colshift start --workers {workers}",
             "colshift": "colshift start (defaults)"}
    shape_name = {"pk": "primary key only", "idx": "primary key + index on email"}
    out = []
    out.append("# Backfill benchmark")
    out.append("")
    out.append("Filling a new column `email_domain = lower(split_part(email, '@', 2))` on a table of "
               f"**{n:,} rows**, each method on a fresh copy of the same table (CHECKPOINT before each), "
               "timed as the whole command a user runs.")
    out.append("")
    out.append(f"- date: {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}")
    out.append(f"- machine: {machine()}; load average at start {a.load_avg}")
    out.append(f"- PostgreSQL {a.pg} (private server, scripts/pg-private.sh settings: shared_buffers 256MB, "
               "max_wal_size 4GB, fsync on, synchronous_commit on)")
    out.append(f"- colshift: {a.colshift}")
    out.append(f"- idle runs: {a.rounds} round(s), interleaved; the table shows the median run by rows/s")
    out.append(f"- benchmark wall time: {float(a.total_seconds):.0f} s")
    out.append("")
    out.append("## Idle database")
    out.append("")
    out.append("| table | method | rows/s | × single UPDATE | time (s) | WAL bytes/row | WAL × single UPDATE "
               "| colshift peak RSS |")
    out.append("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for shape in ("pk", "idx"):
        for m in ("update", "update-trigger", "colshift-1", "colshift-n"):
            r = picked.get((shape, m, "0"))
            if not r:
                continue
            rss = f"{int(r['peak_rss_kb']) / 1024:.1f} MB" if r["peak_rss_kb"] else "–"
            out.append(f"| {shape_name[shape]} | {label[m]} | {fnum(r['rows_per_s'])} | {r['ratio_to_update']}× | "
                       f"{fnum(r['seconds'], '{:.1f}')} | {r['wal_per_row']} | {r['wal_ratio_to_update']}× | {rss} |")
    if int(a.rounds) > 1:
        out.append("")
        out.append("All idle runs (rows/s): " + "; ".join(
            f"{shape} {m}: " + ", ".join(fnum(r["rows_per_s"]) for r in runs(shape, m, "0"))
            for shape in ("pk", "idx") for m in ("update", "update-trigger", "colshift-1", "colshift-n")))
    out.append("")
    out.append("## Under the demo's application workload")
    out.append("")
    out.append(f"pgbench, {a.clients} clients at a fixed {a.rate} tx/s, the demo's mix (scripts/workload: 60% reads "
               "by id, 20% reads by email, 10% email changes, 10% sign-ups) on the demo's `users` table (primary "
               "key + index on email); latency is counted from each transaction's scheduled start, so time spent "
               "queued behind a slow server counts. App figures cover the transactions that started while the "
               "method ran.")
    out.append("")
    out.append("| method | rows/s | time (s) | app tx | app failed | app p50 (ms) | app p99 (ms) | app max (ms) "
               "| colshift peak RSS |")
    out.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    base = next((r for r in rows if r["method"] == "baseline"), None)
    if base:
        out.append(f"| no migration (baseline) | – | {fnum(base['seconds'], '{:.1f}')} | {base['app_tx']} | "
                   f"{base['app_failed']} | {fnum(base['app_p50_ms'], '{:.2f}')} | {fnum(base['app_p99_ms'], '{:.2f}')} "
                   f"| {fnum(base['app_max_ms'], '{:.1f}')} | – |")
    for m in ("update", "colshift"):
        r = picked.get(("users", m, "1"))
        if not r:
            continue
        rss = f"{int(r['peak_rss_kb']) / 1024:.1f} MB" if r["peak_rss_kb"] else "–"
        out.append(f"| {label[m]} | {fnum(r['rows_per_s'])} | {fnum(r['seconds'], '{:.1f}')} | {r['app_tx']} | "
                   f"{r['app_failed']} | {fnum(r['app_p50_ms'], '{:.2f}')} | {fnum(r['app_p99_ms'], '{:.2f}')} | "
                   f"{fnum(r['app_max_ms'], '{:.1f}')} | {rss} |")
    out.append("")

    out.append("## Targets")
    out.append("")

    def ratio(shape, m):
        r = picked.get((shape, m, "0"))
        return float(r["ratio_to_update"]) if r and r["ratio_to_update"] else None

    def target(text, v, goal, higher=True):
        if v is None:
            return
        ok = v >= goal if higher else v <= goal
        out.append(f"- {text}: **{v:.2f}×** — {'met' if ok else 'NOT met'}")

    target("one worker, primary key only ≥ 0.95× the single UPDATE", ratio("pk", "colshift-1"), 0.95)
    target("one worker, with a secondary index ≥ 1.0× the single UPDATE", ratio("idx", "colshift-1"), 1.0)
    target(f"{workers} workers, primary key only ≥ 1.3× the single UPDATE", ratio("pk", "colshift-n"), 1.3)
    target(f"{workers} workers, with a secondary index ≥ 1.3× the single UPDATE", ratio("idx", "colshift-n"), 1.3)
    for shape in ("pk", "idx"):
        t, c1 = ratio(shape, "update-trigger"), ratio(shape, "colshift-1")
        if t and c1:
            out.append(f"- for reference, {shape_name[shape]}: the single UPDATE past a row trigger runs at "
                       f"{t:.2f}× the plain one; one colshift worker is at {c1 / t:.2f}× of that ceiling")
    c = picked.get(("users", "colshift", "1"))
    if c and base and base["app_p99_ms"]:
        v = float(c["app_p99_ms"]) / float(base["app_p99_ms"])
        out.append(f"- app p99 under colshift's defaults ≤ 2× baseline p99: {float(c['app_p99_ms']):.2f} ms vs "
                   f"{float(base['app_p99_ms']):.2f} ms = **{v:.2f}×** — {'met' if v <= 2 else 'NOT met'}")
    fails = sum(int(r["app_failed"] or 0) for r in rows)
    out.append(f"- zero failed app transactions: **{fails}** failed in all runs — {'met' if fails == 0 else 'NOT met'}")
    rss = [int(r["peak_rss_kb"]) for r in rows if r["peak_rss_kb"]]
    if rss:
        mx = max(rss) / 1024
        out.append(f"- colshift RSS < 32 MB: max **{mx:.1f} MB** — {'met' if mx < 32 else 'NOT met'}")
    out.append("")
    out.append("![application latency over time](backfill-latency.svg)")
    out.append("")
    out.append("Reproduce: `./run bench backfill [--rows N] [--workers N] [--rounds N]` (bench/backfill.sh; raw logs "
               "kept with BENCH_KEEP=1).")
    with open(os.path.join(a.out_dir, "backfill.md"), "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
