#!/usr/bin/env python3
"""Writes the lint benchmark corpus: migration files mixing the dangerous forms
every linter should catch with their safe recipes, hygiene issues and plain DDL.

    gen_corpus.py OUT_DIR [FILES] [STATEMENTS_PER_FILE]

Deterministic (fixed seed), so runs compare the same input."""
import os
import random
import sys

out = sys.argv[1]
files = int(sys.argv[2]) if len(sys.argv) > 2 else 250
per_file = int(sys.argv[3]) if len(sys.argv) > 3 else 12
rng = random.Random(42)

TEMPLATES = [
    "ALTER TABLE {t} ADD COLUMN {c} integer;",
    "ALTER TABLE {t} ADD COLUMN {c} text DEFAULT 'x';",
    "ALTER TABLE {t} ADD COLUMN {c} uuid DEFAULT gen_random_uuid();",
    "ALTER TABLE {t} ADD COLUMN {c} text NOT NULL;",
    "ALTER TABLE {t} ADD COLUMN {c} bigserial;",
    "ALTER TABLE {t} ADD COLUMN {c} timestamp;",
    "ALTER TABLE {t} ADD COLUMN {c} json;",
    "ALTER TABLE {t} ADD COLUMN {c} varchar(64);",
    "ALTER TABLE {t} ADD COLUMN {c} char(8);",
    "ALTER TABLE {t} ALTER COLUMN {c} SET NOT NULL;",
    "ALTER TABLE {t} ALTER COLUMN {c} DROP NOT NULL;",
    "ALTER TABLE {t} ALTER COLUMN {c} TYPE bigint;",
    "ALTER TABLE {t} ALTER COLUMN {c} SET DEFAULT 0;",
    "ALTER TABLE {t} ADD CONSTRAINT {t}_{c}_check CHECK ({c} > 0);",
    "ALTER TABLE {t} ADD CONSTRAINT {t}_{c}_check CHECK ({c} > 0) NOT VALID;",
    "ALTER TABLE {t} VALIDATE CONSTRAINT {t}_{c}_check;",
    "ALTER TABLE {t} ADD CONSTRAINT {t}_{c}_fk FOREIGN KEY ({c}) REFERENCES {u} (id);",
    "ALTER TABLE {t} ADD CONSTRAINT {t}_{c}_fk FOREIGN KEY ({c}) REFERENCES {u} (id) NOT VALID;",
    "ALTER TABLE {t} ADD CONSTRAINT {t}_{c}_key UNIQUE ({c});",
    "ALTER TABLE {t} ADD PRIMARY KEY (id);",
    "ALTER TABLE {t} RENAME COLUMN {c} TO {c}_old;",
    "ALTER TABLE {t} RENAME TO {t}_old;",
    "ALTER TABLE {t} DROP COLUMN {c};",
    "ALTER TABLE {t} SET LOGGED;",
    "CREATE INDEX {t}_{c}_idx ON {t} ({c});",
    "CREATE INDEX CONCURRENTLY {t}_{c}_idx ON {t} ({c});",
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS {t}_{c}_idx ON {t} ({c});",
    "CREATE UNIQUE INDEX CONCURRENTLY {t}_{c}_key ON {t} ({c});",
    "DROP INDEX {t}_{c}_idx;",
    "DROP INDEX CONCURRENTLY IF EXISTS {t}_{c}_idx;",
    "DROP TABLE {t}_old;",
    "TRUNCATE {t} CASCADE;",
    "CREATE TABLE {t}_{c} (id serial PRIMARY KEY, {u}_id integer REFERENCES {u} (id), name varchar(100), created_at timestamp);",
    "CREATE TABLE IF NOT EXISTS {t}_{c} (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, body text, created_at timestamptz NOT NULL DEFAULT now());",
    "UPDATE {t} SET {c} = 0;",
    "UPDATE {t} SET {c} = 0 WHERE id BETWEEN 1 AND 1000;",
    "DELETE FROM {t} WHERE id < 100;",
    "SET lock_timeout = '1s';",
    "SET statement_timeout = '5s';",
    "CREATE DOMAIN {c}_positive AS integer CHECK (VALUE > 0);",
    "REFRESH MATERIALIZED VIEW {t}_summary;",
    "COMMENT ON TABLE {t} IS 'bench';",
]

TABLES = ["users", "orders", "accounts", "events", "invoices", "payments", "sessions", "products"]
COLUMNS = ["amount", "status", "region", "score", "owner_id", "email", "note", "total"]

os.makedirs(out, exist_ok=True)
statements = 0
for i in range(files):
    lines = []
    wrap = rng.random() < 0.3
    if wrap:
        lines.append("BEGIN;")
    for _ in range(per_file):
        tmpl = rng.choice(TEMPLATES)
        if wrap and "CONCURRENTLY" in tmpl:
            tmpl = tmpl.replace(" CONCURRENTLY", "")
        lines.append(tmpl.format(t=rng.choice(TABLES), u=rng.choice(TABLES), c=rng.choice(COLUMNS)))
        statements += 1
    if wrap:
        lines.append("COMMIT;")
        statements += 2
    with open(os.path.join(out, f"{i:04d}_migration.sql"), "w") as f:
        f.write("\n".join(lines) + "\n")
print(f"{files} files, {statements} statements")
