#!/usr/bin/env python3
"""Times commands against each other on a shared, noisy machine.

    race.py RUNS DIR -- NAME CMD... -- NAME CMD... ...

Runs every command RUNS times in DIR, round-robin (one run of each, then the
next round), so load that comes and goes on the machine falls on all of them
alike; output and exit codes are ignored. Prints one JSON object: per name the
best wall time in seconds and the peak RSS in MB (the largest of its runs,
from wait4's rusage).
"""
import json
import os
import subprocess
import sys
import time


def run_once(cmd, cwd):
    with open(os.devnull, "wb") as null:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, cwd=cwd, stdout=null, stderr=null)
        _, _, usage = os.wait4(p.pid, 0)
        return time.perf_counter() - t0, usage.ru_maxrss / 1024


def main():
    runs, cwd = int(sys.argv[1]), sys.argv[2]
    rest = sys.argv[3:]
    commands = []
    while rest and rest[0] == "--":
        rest = rest[1:]
        end = rest.index("--") if "--" in rest else len(rest)
        commands.append((rest[0], rest[1:end]))
        rest = rest[end:]
    best = {name: [float("inf"), 0.0] for name, _ in commands}
    for _ in range(runs):
        for name, cmd in commands:
            t, rss = run_once(cmd, cwd)
            best[name][0] = min(best[name][0], t)
            best[name][1] = max(best[name][1], rss)
    print(json.dumps({n: {"time": t, "rss": round(r, 1)} for n, (t, r) in best.items()}))


if __name__ == "__main__":
    main()
