#!/usr/bin/env python3
"""A precision check you can rerun: a fixed-seed sample of colshift lint's
findings on a corpus, at most PER_RULE per rule, joined with verdicts judged
by hand and kept in the repository.

    precision.py COLSHIFT_JSON CORPUS_DIR VERDICTS_TSV [--per-rule 5] [--seed 11]

VERDICTS_TSV has one line per judged finding: KEY <tab> TRUE|DEBATABLE|NOISE
<tab> why. KEY is rule@relative/path:line. Findings in the sample without a
verdict are listed as UNJUDGED (append them to the file after judging), and
verdicts no longer in the sample are ignored. Prints markdown: the counts,
then every sampled finding with its statement, message and verdict."""
import argparse
import collections
import json
import os
import random


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("colshift")
    ap.add_argument("corpus")
    ap.add_argument("verdicts")
    ap.add_argument("--per-rule", type=int, default=5)
    ap.add_argument("--seed", type=int, default=11)
    a = ap.parse_args()
    data = json.load(open(a.colshift))
    by_rule = collections.defaultdict(list)
    for f in data["files"]:
        # colshift reports paths as given; lint.sh lints from inside the corpus.
        rel = (os.path.relpath(f["path"], a.corpus) if os.path.isabs(f["path"])
               else os.path.normpath(f["path"]))
        sts = {s["index"]: s for s in f.get("statements", [])}
        for x in f["findings"]:
            st = sts.get(x.get("statement"))
            sql = " ".join(st["sql"].split()) if st else ""
            key = f"{x['rule']}@{rel}:{x['line']}"
            by_rule[x["rule"]].append((key, x, sql))
    rng = random.Random(a.seed)
    sample = []
    for rule in sorted(by_rule):
        items = sorted(by_rule[rule], key=lambda t: t[0])
        sample += rng.sample(items, min(a.per_rule, len(items)))
    verdicts = {}
    if os.path.exists(a.verdicts):
        for line in open(a.verdicts):
            if not line.strip() or line.startswith("#"):
                continue
            parts = line.rstrip("\n").split("\t")
            verdicts[parts[0]] = (parts[1], parts[2] if len(parts) > 2 else "")
    counts = collections.Counter(verdicts.get(k, ("UNJUDGED", ""))[0] for k, _, _ in sample)
    total = len(sample)
    print(f"Sample: {total} findings of {sum(len(v) for v in by_rule.values())}, "
          f"at most {a.per_rule} per rule, seed {a.seed}, {len(by_rule)} rules.\n")
    print("| verdict | findings | share |\n| --- | --- | --- |")
    for v in ("TRUE", "DEBATABLE", "NOISE", "UNJUDGED"):
        if counts[v] or v != "UNJUDGED":
            print(f"| {v} | {counts[v]} | {100 * counts[v] / max(total, 1):.0f}% |")
    print("\n| finding | severity | statement | message | verdict | why |")
    print("| --- | --- | --- | --- | --- | --- |")
    for key, x, sql in sample:
        v, why = verdicts.get(key, ("UNJUDGED", ""))
        cell = lambda s: s.replace("|", "\\|").replace("\n", " ")
        print(f"| `{key}` | {x['severity']} | `{cell(sql[:110])}` | {cell(x['message'])} | "
              f"{v} | {cell(why)} |")


main()
