#!/usr/bin/env python3
"""Turns colshift's and squawk's JSON output on the benchmark corpus into
bench/results/lint.md: speed, and per squawk rule which findings colshift
also reports on the same statement (same file and line)."""
import argparse
import collections
import json
import os

# squawk rule -> the colshift rules that report the same danger, and the
# documented reason when colshift deliberately does not report a finding.
MAPPING = {
    "adding-field-with-default": ["add-column-volatile-default", "add-column-default-before-11", "add-column-default-unproven", "add-column-serial"],
    "adding-foreign-key-constraint": ["foreign-key-missing-not-valid"],
    "adding-not-nullable-field": ["set-not-null", "add-column-not-null-without-default"],
    "adding-required-field": ["add-column-not-null-without-default"],
    "adding-primary-key-constraint": ["primary-key-without-index", "primary-key-using-index-scan"],
    "adding-serial-primary-key-field": ["add-column-serial"],
    "ban-char-field": ["ban-char"],
    "ban-concurrent-index-creation-in-transaction": ["concurrently-in-transaction"],
    "ban-create-domain-with-constraint": ["create-domain-with-constraint"],
    "ban-alter-domain-with-add-constraint": ["alter-domain-add-constraint"],
    "ban-drop-column": ["drop-column"],
    "ban-drop-database": ["drop-database"],
    "ban-drop-not-null": ["drop-not-null"],
    "ban-drop-table": ["drop-table"],
    "ban-truncate-cascade": ["truncate-cascade"],
    "ban-uncommitted-transaction": ["uncommitted-transaction"],
    "changing-column-type": ["column-type-rewrite", "column-type-change", "column-type-timezone-dependent"],
    "constraint-missing-not-valid": ["constraint-missing-not-valid", "foreign-key-missing-not-valid", "validate-in-same-transaction"],
    "disallowed-unique-constraint": ["unique-constraint-without-index"],
    "prefer-big-int": ["prefer-bigint-id", "prefer-bigint"],
    "prefer-bigint-over-int": ["prefer-bigint-id", "prefer-bigint"],
    "prefer-bigint-over-smallint": ["prefer-bigint-id", "prefer-bigint"],
    "prefer-identity": ["prefer-identity"],
    "prefer-robust-stmts": ["prefer-robust-stmts", "concurrently-if-not-exists"],
    "prefer-text-field": ["prefer-text"],
    "prefer-timestamptz": ["prefer-timestamptz"],
    "renaming-column": ["rename-column"],
    "renaming-table": ["rename-table"],
    "require-concurrent-index-creation": ["create-index-non-concurrently"],
    "require-concurrent-index-deletion": ["drop-index-non-concurrently"],
    "transaction-nesting": ["transaction-nesting"],
    "require-timeout-settings": ["missing-lock-timeout", "missing-statement-timeout"],
    "require-lock-timeout": ["missing-lock-timeout"],
    "require-statement-timeout": ["missing-statement-timeout"],
}

REASONS = {
    "require-timeout-settings": "colshift asks for lock_timeout only before a statement that blocks reads or writes on a live table, and for statement_timeout only where such a statement scans or rewrites; squawk asks once per file regardless",
    "require-statement-timeout": "statement_timeout is asked for only where a blocking statement scans or rewrites a table",
    "prefer-robust-stmts": "inside BEGIN/COMMIT or for tables created in the same file a re-run is already safe; CREATE INDEX CONCURRENTLY IF NOT EXISTS is reported as concurrently-if-not-exists instead (it keeps INVALID indexes)",
    "adding-field-with-default": "non-volatile defaults are catalog-only since PostgreSQL 11 (the corpus targets 15)",
    "changing-column-type": "binary-coercible changes (varchar to text, wider varchar) are not rewrites",
    "require-concurrent-index-creation": "tables created earlier in the same file are not live",
    "adding-not-nullable-field": "SET NOT NULL proven by a validated CHECK is free from PostgreSQL 12; tables created in the same file are not live",
    "constraint-missing-not-valid": "tables created earlier in the same file are not live",
    "prefer-bigint-over-int": "non-key integer columns are reported at info level as prefer-bigint; only counted when that rule fires",
    "ban-drop-table": "tables created earlier in the same file are not live",
}


def squawk_findings(path):
    """(file, line, rule) from squawk's JSON reporter, whatever its exact shape."""
    if not path or not os.path.exists(path):
        return None
    text = open(path).read().strip()
    if not text:
        return []
    data = json.loads(text)
    items = data if isinstance(data, list) else data.get("violations", data.get("files", []))
    out = []

    def walk(x):
        if isinstance(x, dict):
            rule = x.get("rule_name") or x.get("code") or x.get("rule")
            line = x.get("line")
            file = x.get("file") or x.get("path") or x.get("filename")
            if isinstance(rule, str) and line is not None and file:
                out.append((os.path.basename(file), int(line) + 1, rule))  # squawk lines are 0-based
                return
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)

    walk(items)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("colshift")
    ap.add_argument("squawk", nargs="?")
    ap.add_argument("--files", type=int)
    ap.add_argument("--summary")
    ap.add_argument("--colshift-time", type=float)
    ap.add_argument("--squawk-time", default="")
    ap.add_argument("--squawk-version", default="")
    a = ap.parse_args()

    cs = json.load(open(a.colshift))
    # colshift findings by (file, statement line range)
    spans = collections.defaultdict(list)  # file -> [(start_line, end_line, rules)]
    cs_counts = collections.Counter()
    for f in cs["files"]:
        name = os.path.basename(f["path"])
        by_stmt = collections.defaultdict(set)
        for fi in f["findings"]:
            cs_counts[fi["rule"]] += 1
            if fi["statement"] is not None:
                by_stmt[fi["statement"]].add(fi["rule"])
        for st in f["statements"]:
            end = st["line"] + st["sql"].count("\n")
            spans[name].append((st["line"], end, by_stmt.get(st["index"], set())))

    cs_rate = a.files / a.colshift_time
    print("# colshift lint benchmark\n")
    print(f"Corpus: {a.summary} (bench/lint/gen_corpus.py, fixed seed), PostgreSQL 15 for both tools.")
    print("Each tool lints the whole corpus in one process; best wall time of 3 runs.\n")
    print("| tool | time (s) | files/s |\n| --- | --- | --- |")
    print(f"| colshift | {a.colshift_time:.3f} | {cs_rate:.0f} |")
    sq = squawk_findings(a.squawk)
    if sq is None or not a.squawk_time:
        print("\nsquawk was not run (npm or the squawk-cli package unavailable): no comparison.")
        return
    sq_rate = a.files / float(a.squawk_time)
    print(f"| squawk ({a.squawk_version}) | {float(a.squawk_time):.3f} | {sq_rate:.0f} |")
    print(f"\ncolshift / squawk speed ratio: **{cs_rate / sq_rate:.2f}x** "
          f"({'faster' if cs_rate >= sq_rate else 'slower'}).\n")

    per_rule = collections.defaultdict(lambda: [0, 0])  # rule -> [matched, total]
    for file, line, rule in sq:
        rules = set()
        for s, e, r in spans.get(file, []):
            if s <= line <= e:
                rules |= r
        want = set(MAPPING.get(rule, []))
        per_rule[rule][1] += 1
        if rules & want:
            per_rule[rule][0] += 1
    print("## squawk findings also reported by colshift (same statement)\n")
    print("| squawk rule | squawk findings | colshift also reports | colshift rules | not reported because |")
    print("| --- | --- | --- | --- | --- |")
    total = matched = 0
    for rule in sorted(per_rule):
        m, t = per_rule[rule]
        total += t
        matched += m
        reason = "" if m == t else REASONS.get(rule, "unmapped: see MAPPING in bench/lint/compare.py")
        print(f"| {rule} | {t} | {m} | {', '.join(MAPPING.get(rule, [])) or '-'} | {reason} |")
    print(f"\n{matched} of {total} squawk findings are reported by colshift on the same statement.\n")
    print("## colshift findings by rule\n")
    print("| colshift rule | findings |\n| --- | --- |")
    for rule, n in cs_counts.most_common():
        print(f"| {rule} | {n} |")


main()
