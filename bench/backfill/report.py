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


def main():
    ap = argparse.ArgumentParser()
    for a in ("--csv", "--out-dir", "--rows", "--rate", "--clients", "--pg", "--colshift", "--load-avg",
              "--total-seconds"):
        ap.add_argument(a, required=True)
    a = ap.parse_args()
    rows = list(csv.DictReader(open(a.csv)))
    n = int(a.rows)
    upd = {r["load"]: float(r["rows_per_s"]) for r in rows if r["method"] == "update" and int(r["rows"]) == n}
    for r in rows:
        if r["method"] not in ("baseline",) and r["rows_per_s"] and r["load"] in upd:
            r["ratio_to_update"] = f"{float(r['rows_per_s']) / upd[r['load']]:.2f}"
    with open(os.path.join(a.out_dir, "backfill.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        w.writeheader()
        w.writerows(rows)

    base = next((r for r in rows if r["method"] == "baseline"), None)
    main_rows = [r for r in rows if r["method"] != "baseline" and int(r["rows"]) == n]
    label = {"colshift": "colshift (adaptive, unthrottled)", "update": "single UPDATE",
             "loop": "psql loop, 1,000-row keyset batches"}
    out = []
    out.append("# Backfill benchmark")
    out.append("")
    out.append("Filling a new column `email_domain = lower(split_part(email, '@', 2))` on a table of "
               f"**{n:,} rows** (`t`: bigint primary key, an index on `email`, six columns), three ways, "
               "each on a freshly loaded identical table in its own database, CHECKPOINT before each.")
    out.append("")
    out.append(f"- date: {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}")
    out.append(f"- machine: {machine()}; load average at start {a.load_avg} (shared with other builds and tests)")
    out.append(f"- PostgreSQL {a.pg} (private server, scripts/pg-private.sh settings: shared_buffers 256MB, "
               "max_wal_size 4GB, fsync on)")
    out.append(f"- colshift: {a.colshift}")
    out.append(f"- application workload: pgbench, {a.clients} clients at a fixed {a.rate} tx/s "
               "(80% reads by id, 20% single-row updates of the same table; bench/backfill/app.sql); "
               "latency is from the scheduled start, so queueing counts")
    out.append(f"- benchmark wall time: {float(a.total_seconds):.0f} s")
    out.append("")
    out.append("| method | app load | rows/s | × single UPDATE | time (s) | app tx | app failed | app p50 (ms) "
               "| app p99 (ms) | app max (ms) | colshift peak RSS |")
    out.append("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    if base:
        out.append(f"| no migration (baseline) | yes | – | – | {fnum(base['seconds'], '{:.1f}')} | {base['app_tx']} | "
                   f"{base['app_failed']} | {fnum(base['app_p50_ms'], '{:.2f}')} | {fnum(base['app_p99_ms'], '{:.2f}')} "
                   f"| {fnum(base['app_max_ms'], '{:.1f}')} | – |")
    for load in ("0", "1"):
        for m in ("update", "colshift", "loop"):
            for r in main_rows:
                if r["method"] != m or r["load"] != load:
                    continue
                rss = f"{int(r['peak_rss_kb']) / 1024:.1f} MB" if r["peak_rss_kb"] else "–"
                loaded = load == "1"
                out.append(
                    f"| {label[m]} | {'yes' if loaded else 'no'} | {fnum(r['rows_per_s'])} | "
                    f"{r['ratio_to_update'] or '–'} | {fnum(r['seconds'], '{:.1f}')} | "
                    f"{r['app_tx'] or '–'} | {r['app_failed'] or '–'} | "
                    f"{fnum(r['app_p50_ms'], '{:.2f}') if loaded else '–'} | "
                    f"{fnum(r['app_p99_ms'], '{:.2f}') if loaded else '–'} | "
                    f"{fnum(r['app_max_ms'], '{:.1f}') if loaded else '–'} | {rss} |")
    out.append("")
    out.append("colshift's time is its backfill phase alone (first to last checkpoint in `colshift.backfill`); "
               "its whole `start` (expand DDL + backfill) took "
               + ", ".join(f"{float(r['colshift_start_s']):.1f} s ({'under load' if r['load'] == '1' else 'alone'})"
                           for r in main_rows if r["method"] == "colshift" and r["colshift_start_s"]) + ". "
               "App figures cover the transactions that started while the method ran.")
    out.append("")
    rss_rows = [r for r in rows if r["method"] == "colshift" and r["peak_rss_kb"]]
    out.append("**colshift peak RSS by table size** (`/usr/bin/time -v`, whole `colshift start`):")
    out.append("")
    out.append("| rows | app load | peak RSS | rows/s |")
    out.append("| ---: | --- | ---: | ---: |")
    for r in sorted(rss_rows, key=lambda r: (int(r["rows"]), r["load"])):
        out.append(f"| {int(r['rows']):,} | {'yes' if r['load'] == '1' else 'no'} | "
                   f"{int(r['peak_rss_kb']) / 1024:.1f} MB | {fnum(r['rows_per_s'])} |")
    out.append("")

    # Targets.
    def get(m, load):
        return next((r for r in main_rows if r["method"] == m and r["load"] == load), None)
    out.append("**Targets**")
    out.append("")
    c0, c1 = get("colshift", "0"), get("colshift", "1")
    if c0 and c0["ratio_to_update"]:
        v = float(c0["ratio_to_update"])
        out.append(f"- colshift unthrottled ≥ 0.85× the single UPDATE's rows/s: **{v:.2f}×** alone"
                   + (f", {float(c1['ratio_to_update']):.2f}× under load" if c1 and c1["ratio_to_update"] else "")
                   + f" — {'met' if v >= 0.85 else 'NOT met'}")
    if c1 and base and base["app_p99_ms"]:
        v = float(c1["app_p99_ms"]) / float(base["app_p99_ms"])
        out.append(f"- app p99 under colshift ≤ 2× baseline p99: {float(c1['app_p99_ms']):.2f} ms vs "
                   f"{float(base['app_p99_ms']):.2f} ms = **{v:.1f}×** — {'met' if v <= 2 else 'NOT met'}")
    fails = sum(int(r["app_failed"] or 0) for r in rows)
    out.append(f"- zero failed app transactions: **{fails}** failed in all runs — {'met' if fails == 0 else 'NOT met'}")
    if rss_rows:
        mx = max(int(r["peak_rss_kb"]) for r in rss_rows) / 1024
        out.append(f"- colshift RSS < 32 MB: max **{mx:.1f} MB** — {'met' if mx < 32 else 'NOT met'}")
    out.append("")
    out.append("![application latency over time](backfill-latency.svg)")
    out.append("")
    out.append("Reproduce: `./run bench backfill --rows N` (bench/backfill.sh; raw logs kept with BENCH_KEEP=1).")
    with open(os.path.join(a.out_dir, "backfill.md"), "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
