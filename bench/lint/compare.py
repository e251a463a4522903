#!/usr/bin/env python3
"""Turns colshift's and squawk's JSON output on the benchmark corpus into
bench/results/lint.md: speed, and per squawk rule which findings colshift
also reports on the same statement (same file and line)."""
import argparse
import collections
import json
import os
import re

# squawk rule -> the colshift rules that report the same danger on the same
# statement. Keys are the rule names squawk prints (squawk 2.66.0).
MAPPING = {
    "adding-field-with-default": ["add-column-volatile-default", "add-column-default-before-11", "add-column-default-unproven", "add-column-serial"],
    "adding-foreign-key-constraint": ["foreign-key-missing-not-valid"],
    "adding-not-nullable-field": ["set-not-null", "add-column-not-null-without-default"],
    "adding-required-field": ["add-column-not-null-without-default"],
    # squawk reports ALTER TABLE ... ADD PRIMARY KEY (without USING INDEX) under
    # this name (its adding_primary_key_constraint check; there is no rule called
    # adding-primary-key-constraint in 2.66). It does not flag ADD COLUMN ... serial.
    "adding-serial-primary-key-field": ["primary-key-without-index"],
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
    "prefer-timestamp-tz": ["prefer-timestamptz"],  # the name squawk prints
    "prefer-timestamptz": ["prefer-timestamptz"],  # accepted by squawk as an alias
    "renaming-column": ["rename-column"],
    "renaming-table": ["rename-table"],
    "require-concurrent-index-creation": ["create-index-non-concurrently"],
    "require-concurrent-index-deletion": ["drop-index-non-concurrently"],
    "transaction-nesting": ["transaction-nesting"],
    "require-timeout-settings": ["missing-lock-timeout", "missing-statement-timeout"],
    "require-lock-timeout": ["missing-lock-timeout"],
    "require-statement-timeout": ["missing-statement-timeout"],
}


# Why colshift does not report a squawk finding on the same statement. Each
# missed finding is classified on its own, from the statement colshift parsed
# at that line (its SQL and facts) and colshift's other findings in the file.
# A category is (kind, text): "difference" is a deliberate, documented
# difference; "gap" and "bug" are colshift misses still to fix. A miss no
# classifier explains is printed as unexplained.

class FileInfo:
    def __init__(self, statements, by_stmt, findings):
        self.statements = statements  # colshift's statements, in order
        self.by_stmt = by_stmt  # statement index -> set of colshift rules
        self.findings = findings
        self.in_tx = {}  # statement index -> inside BEGIN ... COMMIT
        open_tx = False
        for st in statements:
            if st["kind"] == "TransactionStmt":
                word = st["sql"].split()[0].upper() if st["sql"].split() else ""
                if word in ("BEGIN", "START"):
                    open_tx = True
                elif word in ("COMMIT", "END", "ROLLBACK", "ABORT"):
                    open_tx = False
            self.in_tx[st["index"]] = open_tx

    def lines(self, rule):
        return sorted(f["line"] for f in self.findings if f["rule"] == rule)


def facts(st):
    return st.get("facts") or {"blocks": {}, "relations": [], "lock": ""}


def blocks_rw(st):
    b = facts(st)["blocks"]
    return bool(b.get("reads") or b.get("writes"))


def scans_live(st):
    return any(not r["created_here"] and (r["scan"] or r["rewrite"]) for r in facts(st)["relations"])


def only_created_here(st):
    rels = facts(st)["relations"]
    return bool(rels) and all(r["created_here"] for r in rels)


def sql_upper(st):
    return " ".join(st["sql"].split()).upper()


def where_instead(st, fi, rule, unset):
    """Where colshift reports `rule` instead, for a file-level finding squawk
    puts on `st`: "later" (further down the file) or "none" (no statement of
    the file needs it: `unset(statement)` is false for all). None otherwise."""
    lines = fi.lines(rule)
    if any(l > st["line"] for l in lines):
        return "later"
    if not lines and not any(unset(s) for s in fi.statements):
        return "none"
    return None


def why_lock_timeout(st, fi):
    if blocks_rw(st):
        return None
    where = where_instead(st, fi, "missing-lock-timeout",
                          lambda s: blocks_rw(s) and facts(s).get("lock_timeout") is None)
    if where is None:
        return None
    lock = facts(st)["lock"]
    if not lock:
        text = "takes no table lock (e.g. CREATE DOMAIN)"
    else:
        label = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", lock[:-len("Lock")]).upper()
        text = f"takes only {label}, which blocks no reads or writes"
        if lock == "ShareUpdateExclusiveLock":
            text += " (e.g. CREATE/DROP INDEX CONCURRENTLY, VALIDATE CONSTRAINT, COMMENT ON)"
    return ("difference", text, where)


def why_statement_timeout(st, fi):
    if blocks_rw(st) and scans_live(st):
        return None
    sets = [s["line"] for s in fi.statements
            if s["kind"] == "VariableSetStmt" and "STATEMENT_TIMEOUT" in sql_upper(s)]
    where = where_instead(st, fi, "missing-statement-timeout",
                          lambda s: blocks_rw(s) and scans_live(s) and not any(l < s["line"] for l in sets))
    if where is None:
        return None
    if blocks_rw(st):
        text = ("blocks reads or writes for a catalog change only, with no scan or rewrite of a live table "
                "(e.g. ADD COLUMN without a volatile default, DROP COLUMN, RENAME, TRUNCATE, DROP, NOT VALID constraints)")
    elif scans_live(st):
        text = ("scans under SHARE UPDATE EXCLUSIVE, which blocks no reads or writes "
                "(e.g. VALIDATE CONSTRAINT, CREATE INDEX CONCURRENTLY)")
    else:
        text = "neither scans a live table nor blocks reads or writes (e.g. COMMENT ON, CREATE DOMAIN, DROP INDEX CONCURRENTLY)"
    return ("difference", text, where)


def once_per_file(what, setting):
    def preamble(where):
        return (f"squawk reports this once per file, on the first statement it thinks needs it; colshift also once "
                f"per file (once per explicit transaction), on the first statement that {what}: further down the "
                f"same file ({where['later']}), or nowhere when no such statement runs before the file's SET "
                f"{setting} ({where['none']}). Here squawk's statement: ")
    return preamble


def why_drop_index(st, fi):
    rels = facts(st)["relations"]
    if rels and all(r["created_here"] for r in rels) and len(rels) == 1:
        return ("bug", "colshift bug: DROP INDEX of an index created earlier in the same file is taken as not live; "
                       "FileState::table_of_index only knows catalog indexes, so the ACCESS EXCLUSIVE lock on the "
                       "index's live table is missed")
    return None


def why_not_valid(st, fi, rules):
    sql = sql_upper(st)
    if only_created_here(st):
        return ("difference", "the table was created earlier in the same file (not live)")
    if " PRIMARY KEY" in sql and "primary-key-without-index" in rules:
        return ("difference", "ADD PRIMARY KEY cannot be NOT VALID (PostgreSQL allows it only on CHECK and FOREIGN KEY); "
                              "colshift reports the index build under ACCESS EXCLUSIVE as primary-key-without-index "
                              "(counted under adding-serial-primary-key-field)")
    if " UNIQUE" in sql and "unique-constraint-without-index" in rules:
        return ("difference", "ADD UNIQUE cannot be NOT VALID (PostgreSQL allows it only on CHECK and FOREIGN KEY); "
                              "colshift reports the index build under ACCESS EXCLUSIVE as unique-constraint-without-index "
                              "(counted under disallowed-unique-constraint)")
    return None


IDEMPOTENT_ALTER = (r"ALTER COLUMN \S+ (SET|DROP) NOT NULL", r"ALTER COLUMN \S+ (SET|DROP) DEFAULT",
                    r"ALTER COLUMN \S+ (SET DATA )?TYPE ", r"SET (UN)?LOGGED", r"VALIDATE CONSTRAINT ")


def split_commands(body):
    """The comma-separated subcommands of ALTER TABLE (commas inside parentheses
    or quotes do not split)."""
    cmds, depth, quote, cur = [], 0, False, ""
    for ch in body:
        quote = not quote if ch == "'" else quote
        depth += 0 if quote else (ch == "(") - (ch == ")")
        if ch == "," and depth == 0 and not quote:
            cmds.append(cur.strip())
            cur = ""
        else:
            cur += ch
    return cmds + [cur.strip()]


def why_robust(st, fi):
    sql = sql_upper(st)
    if fi.in_tx.get(st["index"]):
        return ("difference", "inside BEGIN ... COMMIT a failure rolls the whole file back, so a re-run is safe")
    if st["kind"] == "AlterTableStmt" and sql.startswith("ALTER TABLE"):
        body = re.sub(r"^ALTER TABLE (IF EXISTS )?(ONLY )?\S+ ", "", sql)
        cmds = split_commands(body)
        if all(any(re.match(p, c) for p in IDEMPOTENT_ALTER) for c in cmds):
            return ("difference", "re-running it succeeds: SET/DROP NOT NULL, SET DEFAULT, ALTER TYPE, SET LOGGED and "
                                  "VALIDATE CONSTRAINT are idempotent (squawk asks for a transaction anyway)")
        drops = [re.match(r"DROP (COLUMN )?(IF EXISTS )?(\S+)", c) for c in cmds]
        if all(m and not m.group(2) and (m.group(1) or m.group(3) != "CONSTRAINT") for m in drops):
            return ("gap", "colshift gap: DROP COLUMN without IF EXISTS fails on re-run (column does not exist); "
                           "check_robust only looks at ADD COLUMN")
        if all(c.startswith("ADD CONSTRAINT") or c.startswith("ADD PRIMARY KEY") or c.startswith("ADD UNIQUE")
               or c.startswith("ADD CHECK") or c.startswith("ADD FOREIGN KEY") for c in cmds):
            return ("gap", "colshift gap: ADD CONSTRAINT / ADD PRIMARY KEY fails on re-run (already exists / multiple "
                           "primary keys) and has no IF NOT EXISTS form: it needs a transaction or a guard")
    if st["kind"] == "RenameStmt":
        return ("gap", "colshift gap: RENAME fails on re-run (the old name no longer exists) and has no IF EXISTS "
                       "form for the old name: it needs a transaction or a guard")
    if st["kind"] == "IndexStmt" and "IF NOT EXISTS" not in sql:
        if " CONCURRENTLY " in sql:
            return ("difference", "CREATE INDEX CONCURRENTLY: colshift deliberately does not ask for IF NOT EXISTS, which "
                                  "keeps an INVALID leftover (concurrently-if-not-exists; docs/lint/README.md); "
                                  "the robust form is DROP INDEX CONCURRENTLY IF EXISTS, then the build")
        return ("gap", "colshift gap: CREATE INDEX without IF NOT EXISTS fails on re-run (relation already exists); "
                       "check_robust does not look at IndexStmt")
    return None


# squawk rule -> classifier(statement, file info, colshift rules on it) -> (kind, text) or None
CLASSIFIERS = {
    "require-lock-timeout": lambda st, fi, rules: why_lock_timeout(st, fi),
    "require-statement-timeout": lambda st, fi, rules: why_statement_timeout(st, fi),
    "require-concurrent-index-deletion": lambda st, fi, rules: why_drop_index(st, fi),
    "constraint-missing-not-valid": why_not_valid,
    "prefer-robust-stmts": lambda st, fi, rules: why_robust(st, fi),
}

# Said once before the categories of a rule: a string, or a function of the
# tally of the classifiers' third element.
PREAMBLE = {
    "require-lock-timeout": once_per_file("blocks reads or writes", "lock_timeout"),
    "require-statement-timeout": once_per_file(
        "scans or rewrites a live table under a lock blocking reads or writes", "statement_timeout"),
    "prefer-robust-stmts": "Outside a transaction both tools flag DDL that fails when re-run: CREATE TABLE/INDEX, "
                           "DROP, ADD/DROP COLUMN without IF [NOT] EXISTS, and ADD CONSTRAINT and RENAME (which have "
                           "no such clause). ",
}

UNEXPLAINED = ("unexplained", "not explained by bench/lint/compare.py: check the statement")


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
    ap.add_argument("--colshift-time-1", type=float, help="colshift with --jobs 1")
    ap.add_argument("--cores", type=int, default=0)
    ap.add_argument("--squawk-time", default="")
    ap.add_argument("--squawk-version", default="")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--colshift-rss", default="-")
    ap.add_argument("--colshift-rss-1", default="-")
    ap.add_argument("--squawk-rss", default="-")
    a = ap.parse_args()

    cs = json.load(open(a.colshift))
    # colshift statements and findings by file
    info = {}  # file -> FileInfo
    cs_counts = collections.Counter()
    for f in cs["files"]:
        name = os.path.basename(f["path"])
        by_stmt = collections.defaultdict(set)
        for fi in f["findings"]:
            cs_counts[fi["rule"]] += 1
            if fi["statement"] is not None:
                by_stmt[fi["statement"]].add(fi["rule"])
        info[name] = FileInfo(f["statements"], by_stmt, f["findings"])

    cs_rate = a.files / a.colshift_time
    print("# colshift lint benchmark\n")
    print(f"Corpus: {a.summary} (bench/lint/gen_corpus.py, fixed seed), PostgreSQL 15 for both tools.")
    print(f"Each tool lints the whole corpus in one process; best wall time of {a.runs} runs, the tools taking turns "
          "(the machine is shared and noisy), and peak RSS of the largest run. "
          f"The machine has {a.cores} cores; colshift lints one file per core at a time "
          "by default (`--jobs`), squawk uses its own threads (it runs on about 1.3 cores here). "
          "The single-threaded colshift row is there for comparison.\n")
    print("| tool | time (s) | files/s | peak RSS (MB) |\n| --- | --- | --- | --- |")
    print(f"| colshift | {a.colshift_time:.3f} | {cs_rate:.0f} | {a.colshift_rss} |")
    if a.colshift_time_1:
        print(f"| colshift --jobs 1 | {a.colshift_time_1:.3f} | {a.files / a.colshift_time_1:.0f} | {a.colshift_rss_1} |")
    sq = squawk_findings(a.squawk)
    if sq is None or not a.squawk_time:
        print("\nsquawk was not run (npm or the squawk-cli package unavailable): no comparison.")
        return
    sq_rate = a.files / float(a.squawk_time)
    print(f"| squawk ({a.squawk_version}) | {float(a.squawk_time):.3f} | {sq_rate:.0f} | {a.squawk_rss} |")
    print(f"\ncolshift / squawk speed ratio: **{cs_rate / sq_rate:.2f}x** "
          f"({'faster' if cs_rate >= sq_rate else 'slower'})"
          + (f"; single-threaded {a.files / a.colshift_time_1 / sq_rate:.2f}x" if a.colshift_time_1 else "")
          + ".\n")

    per_rule = collections.defaultdict(lambda: [0, 0])  # rule -> [matched, total]
    misses = collections.defaultdict(collections.Counter)  # rule -> (kind, text) -> count
    tally = collections.defaultdict(collections.Counter)  # rule -> classifier's third element -> count
    for file, line, rule in sq:
        rules, stmt = set(), None
        fi = info.get(file)
        for st in fi.statements if fi else []:
            if st["line"] <= line <= st["line"] + st["sql"].count("\n"):
                rules |= fi.by_stmt.get(st["index"], set())
                stmt = stmt or st
        want = set(MAPPING.get(rule, []))
        per_rule[rule][1] += 1
        if rules & want:
            per_rule[rule][0] += 1
        elif rule not in MAPPING:
            misses[rule][("unmapped", "unmapped: see MAPPING in bench/lint/compare.py")] += 1
        else:
            why = CLASSIFIERS[rule](stmt, fi, rules) if stmt is not None and rule in CLASSIFIERS else None
            why = why or UNEXPLAINED
            misses[rule][why[:2]] += 1
            if len(why) > 2:
                tally[rule][why[2]] += 1
    print("## squawk findings also reported by colshift (same statement)\n")
    print("Every finding colshift does not report is classified on its own (bench/lint/compare.py); "
          "with several reasons the count of each is given.\n")
    print("| squawk rule | squawk findings | colshift also reports | colshift rules | not reported because |")
    print("| --- | --- | --- | --- | --- |")
    total = matched = 0
    kinds = collections.Counter()
    for rule in sorted(per_rule):
        m, t = per_rule[rule]
        total += t
        matched += m
        cats = misses[rule].most_common()
        for (kind, _), n in cats:
            kinds[kind] += n
        pre = PREAMBLE.get(rule, "")
        pre = pre(tally[rule]) if callable(pre) else pre
        if not cats:
            reason = ""
        elif len(cats) == 1:
            reason = pre + cats[0][0][1]
        else:
            reason = pre + "; ".join(f"{n}: {text}" for (_, text), n in cats)
        print(f"| {rule} | {t} | {m} | {', '.join(MAPPING.get(rule, [])) or '-'} | {reason} |")
    print(f"\n{matched} of {total} squawk findings are reported by colshift on the same statement.")
    if total > matched:
        labels = {"difference": "deliberate differences", "gap": "colshift gaps (checks it lacks)",
                  "bug": "colshift bugs", "unexplained": "unexplained", "unmapped": "unmapped squawk rules"}
        parts = [f"{n} {labels.get(k, k)}" for k, n in kinds.most_common()]
        print(f"Of the {total - matched} it does not report: {', '.join(parts)}.")
    print()
    print("## colshift findings by rule\n")
    print("| colshift rule | findings |\n| --- | --- |")
    for rule, n in cs_counts.most_common():
        print(f"| {rule} | {n} |")


main()
