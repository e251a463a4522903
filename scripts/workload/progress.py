#!/usr/bin/env python3
"""colshift's JSON progress records (stderr, not a terminal) -> one readable line each.

Other lines pass through unchanged. Prefixes each line with the seconds since this
filter started when given --clock.
"""
import json
import sys
import time

t0 = time.time()
clock = "--clock" in sys.argv[1:]
for line in sys.stdin:
    prefix = f"   [{time.time() - t0:6.1f}s] " if clock else "   "
    try:
        j = json.loads(line)
    except ValueError:
        sys.stderr.write(prefix + line)
        sys.stderr.flush()
        continue
    if not isinstance(j, dict) or j.get("progress") != "backfill":
        sys.stderr.write(prefix + line)
        sys.stderr.flush()
        continue
    tot, done = j.get("rows_total", -1), j.get("rows_done", 0)
    pct = f"{100.0 * min(1, done / tot):5.1f}%" if tot > 0 else "    ?%"
    extra = f" [throttled: {j['throttle']}]" if j.get("throttle") else ""
    fin = " (done)" if j.get("done") else ""
    sys.stderr.write(f"{prefix}backfill {pct} {done:,}/{max(tot, done):,} rows, "
                     f"{j.get('rows_per_second', 0):,} rows/s, batch {j.get('batch_size', 0):,}{extra}{fin}\n")
    sys.stderr.flush()
