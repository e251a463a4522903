#!/usr/bin/env python3
"""Writes a corpus shaped like real projects' migration histories: whole
migrations as teams write them (a table with its keys and indexes, a column
added and backfilled, a key widened, a rename in steps, down files that undo
the up), in the layouts of the common runners (diesel folders, golang-migrate
and sqlx N_name.up.sql/.down.sql, Flyway V<n>__name.sql, Prisma
migrations/<name>/migration.sql, plain numbered psql files).

    real_corpus.py OUT_DIR [MIGRATIONS]

The patterns are those of public migration files (GitLab, Mastodon, Discourse,
Lemmy, Zulip, Sentry style schemas); the names and order are drawn with a fixed
seed, so every run writes the same files."""
import os
import random
import sys

out = sys.argv[1]
count = int(sys.argv[2]) if len(sys.argv) > 2 else 200
rng = random.Random(11)

TABLES = ["users", "accounts", "posts", "comments", "orders", "order_items", "projects",
          "issues", "events", "notifications", "memberships", "invoices", "sessions",
          "api_tokens", "audit_logs", "tags", "taggings", "uploads", "webhooks", "messages"]
COLS = ["status", "kind", "title", "body", "email", "score", "priority", "external_id",
        "archived_at", "last_seen_at", "settings", "locale", "position", "visibility"]

# Each story returns (up, down); {t} is a live table, {n} a new one, {u} a
# referenced live table, {c} a column.
STORIES = [
    # A new table with keys, FKs and indexes, as most projects create them.
    ("create_table",
     "CREATE TABLE {n} (\n  id bigserial PRIMARY KEY,\n  {u}_id bigint NOT NULL REFERENCES {u} (id) ON DELETE CASCADE,\n"
     "  {c} text NOT NULL DEFAULT '',\n  created_at timestamp NOT NULL DEFAULT now(),\n  updated_at timestamp NOT NULL DEFAULT now()\n);\n"
     "CREATE INDEX index_{n}_on_{u}_id ON {n} ({u}_id);\nCREATE UNIQUE INDEX index_{n}_on_{c} ON {n} ({c});\n",
     "DROP TABLE {n};\n"),
    ("create_table_int_fk",
     "CREATE TABLE {n} (\n  id serial PRIMARY KEY,\n  {u}_id integer REFERENCES {u} (id),\n  {c} varchar(255),\n  created_at timestamptz DEFAULT now()\n);\n",
     "DROP TABLE {n};\n"),
    ("create_join_table",
     "CREATE TABLE {n} (\n  {t}_id bigint NOT NULL REFERENCES {t},\n  {u}_id bigint NOT NULL REFERENCES {u},\n  PRIMARY KEY ({t}_id, {u}_id)\n);\n"
     "CREATE INDEX {n}_{u}_id_idx ON {n} ({u}_id);\n",
     "DROP TABLE {n};\n"),
    ("add_column",
     "ALTER TABLE {t} ADD COLUMN {c} text;\n", "ALTER TABLE {t} DROP COLUMN {c};\n"),
    ("add_column_default",
     "ALTER TABLE {t} ADD COLUMN {c} boolean NOT NULL DEFAULT false;\n",
     "ALTER TABLE {t} DROP COLUMN {c};\n"),
    ("add_reference",
     "ALTER TABLE {t} ADD COLUMN {u}_id bigint REFERENCES {u} (id);\n"
     "CREATE INDEX CONCURRENTLY index_{t}_on_{u}_id ON {t} ({u}_id);\n",
     "ALTER TABLE {t} DROP COLUMN {u}_id;\n"),
    ("add_reference_no_index",
     "ALTER TABLE {t} ADD COLUMN {u}_id integer REFERENCES {u};\n",
     "ALTER TABLE {t} DROP COLUMN {u}_id;\n"),
    ("add_fk_not_valid",
     "ALTER TABLE {t} ADD CONSTRAINT fk_{t}_{u} FOREIGN KEY ({u}_id) REFERENCES {u} (id) NOT VALID;\n",
     "ALTER TABLE {t} DROP CONSTRAINT fk_{t}_{u};\n"),
    ("validate_fk",
     "ALTER TABLE {t} VALIDATE CONSTRAINT fk_{t}_{u};\n", ""),
    ("backfill_update",
     "UPDATE {t} SET {c} = 'active' WHERE {c} IS NULL;\n", ""),
    ("backfill_from",
     "UPDATE {t} SET {c} = {u}.{c} FROM {u} WHERE {t}.{u}_id = {u}.id;\n", ""),
    ("set_not_null",
     "ALTER TABLE {t} ALTER COLUMN {c} SET NOT NULL;\n", "ALTER TABLE {t} ALTER COLUMN {c} DROP NOT NULL;\n"),
    ("not_null_via_check",
     "ALTER TABLE {t} ADD CONSTRAINT {t}_{c}_not_null CHECK ({c} IS NOT NULL) NOT VALID;\n"
     "ALTER TABLE {t} VALIDATE CONSTRAINT {t}_{c}_not_null;\n"
     "ALTER TABLE {t} ALTER COLUMN {c} SET NOT NULL;\n"
     "ALTER TABLE {t} DROP CONSTRAINT {t}_{c}_not_null;\n",
     "ALTER TABLE {t} ALTER COLUMN {c} DROP NOT NULL;\n"),
    ("index",
     "CREATE INDEX index_{t}_on_{c} ON {t} ({c});\n", "DROP INDEX index_{t}_on_{c};\n"),
    ("index_concurrently",
     "CREATE INDEX CONCURRENTLY IF NOT EXISTS index_{t}_on_{c} ON {t} USING btree ({c});\n",
     "DROP INDEX CONCURRENTLY IF EXISTS index_{t}_on_{c};\n"),
    ("pagination_index",
     "CREATE INDEX CONCURRENTLY index_{t}_on_{u}_id_and_{c}_and_created_at_and_id ON {t} ({u}_id, {c}, created_at DESC, id DESC);\n",
     "DROP INDEX CONCURRENTLY index_{t}_on_{u}_id_and_{c}_and_created_at_and_id;\n"),
    ("partial_index",
     "CREATE INDEX CONCURRENTLY index_{t}_on_{c}_active ON {t} ({c}) WHERE archived_at IS NULL;\n",
     "DROP INDEX CONCURRENTLY index_{t}_on_{c}_active;\n"),
    ("unique_constraint",
     "ALTER TABLE {t} ADD CONSTRAINT {t}_{c}_key UNIQUE ({c});\n",
     "ALTER TABLE {t} DROP CONSTRAINT {t}_{c}_key;\n"),
    ("check_constraint",
     "ALTER TABLE {t} ADD CONSTRAINT check_{c}_length CHECK (char_length({c}) <= 255);\n",
     "ALTER TABLE {t} DROP CONSTRAINT check_{c}_length;\n"),
    ("change_type",
     "ALTER TABLE {t} ALTER COLUMN {c} TYPE varchar(512);\n", "ALTER TABLE {t} ALTER COLUMN {c} TYPE varchar(255);\n"),
    ("widen_to_text",
     "ALTER TABLE {t} ALTER COLUMN {c} TYPE text;\n", ""),
    ("rename_column",
     "ALTER TABLE {t} RENAME COLUMN {c} TO {c}_legacy;\n", "ALTER TABLE {t} RENAME COLUMN {c}_legacy TO {c};\n"),
    ("drop_column",
     "ALTER TABLE {t} DROP COLUMN IF EXISTS {c};\n", "ALTER TABLE {t} ADD COLUMN {c} text;\n"),
    ("copy_table",
     "CREATE TABLE {n} AS SELECT * FROM {t} WHERE created_at > now() - interval '30 days';\n"
     "ALTER TABLE {n} ADD PRIMARY KEY (id);\nCREATE INDEX {n}_created_at_idx ON {n} (created_at);\n",
     "DROP TABLE {n};\n"),
    ("swap_table",
     "CREATE TABLE {n}_new (LIKE {t} INCLUDING ALL);\nALTER TABLE {n}_new RENAME TO {n};\n"
     "CREATE INDEX {n}_{c}_idx ON {n} ({c});\n", "DROP TABLE {n};\n"),
    ("enum",
     "CREATE TYPE {c}_kind AS ENUM ('a', 'b');\nALTER TABLE {t} ADD COLUMN {c}_kind {c}_kind;\n",
     "ALTER TABLE {t} DROP COLUMN {c}_kind;\nDROP TYPE {c}_kind;\n"),
    ("function_default",
     "CREATE OR REPLACE FUNCTION {n}_default() RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT 'none' $$;\n"
     "ALTER TABLE {t} ADD COLUMN {c}_code text DEFAULT {n}_default();\n",
     "ALTER TABLE {t} DROP COLUMN {c}_code;\n"),
    ("trigger",
     "CREATE OR REPLACE FUNCTION {t}_touch() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n  NEW.updated_at := now();\n  RETURN NEW;\nEND\n$$;\n"
     "CREATE TRIGGER {t}_touch BEFORE UPDATE ON {t} FOR EACH ROW EXECUTE FUNCTION {t}_touch();\n",
     "DROP TRIGGER {t}_touch ON {t};\n"),
    ("jsonb_column",
     "ALTER TABLE {t} ADD COLUMN {c}_data jsonb NOT NULL DEFAULT '{{}}'::jsonb;\n",
     "ALTER TABLE {t} DROP COLUMN {c}_data;\n"),
    ("uuid_default",
     "ALTER TABLE {t} ADD COLUMN public_id uuid DEFAULT gen_random_uuid();\n",
     "ALTER TABLE {t} DROP COLUMN public_id;\n"),
    ("comment",
     "COMMENT ON COLUMN {t}.{c} IS 'shown in the admin';\n", ""),
    ("drop_table",
     "DROP TABLE IF EXISTS {t}_archive;\n", ""),
    ("timeouts",
     "SET lock_timeout = '5s';\nSET statement_timeout = '60s';\nALTER TABLE {t} ADD COLUMN {c}_at timestamptz;\n",
     "ALTER TABLE {t} DROP COLUMN {c}_at;\n"),
    ("explicit_tx",
     "BEGIN;\nALTER TABLE {t} ADD COLUMN {c}_count integer NOT NULL DEFAULT 0;\nCREATE INDEX index_{t}_on_{c}_count ON {t} ({c}_count);\nCOMMIT;\n",
     "ALTER TABLE {t} DROP COLUMN {c}_count;\n"),
    ("psql_script",
     "\\set ON_ERROR_STOP on\nALTER TABLE {t} ADD COLUMN {c}_flag boolean;\n",
     "ALTER TABLE {t} DROP COLUMN {c}_flag;\n"),
    ("truncate",
     "TRUNCATE {t}_staging;\n", ""),
    ("reindex",
     "REINDEX INDEX CONCURRENTLY index_{t}_on_{c};\n", ""),
]

LAYOUTS = ["diesel", "golang-migrate", "flyway", "prisma", "plain"]


def fill(text, names):
    return text.format(**names)


def main():
    os.makedirs(out, exist_ok=True)
    layout_of = {}
    for i in range(count):
        project = i % 5
        layout = LAYOUTS[project]
        stories = rng.sample(STORIES, rng.choice([1, 1, 2, 3]))
        t, u = rng.sample(TABLES, 2)
        names = {"t": t, "u": u, "c": rng.choice(COLS), "n": f"{rng.choice(TABLES)}_{i}"}
        up = "".join(fill(s[1], names) for s in stories)
        down = "".join(fill(s[2], names) for s in reversed(stories))
        name = "_".join(s[0] for s in stories)[:40]
        base = os.path.join(out, f"p{project}_{layout}")
        if layout == "diesel":
            d = os.path.join(base, f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}-{i:06d}_{name}")
            os.makedirs(d, exist_ok=True)
            files = {os.path.join(d, "up.sql"): up, os.path.join(d, "down.sql"): down}
        elif layout == "golang-migrate":
            os.makedirs(base, exist_ok=True)
            files = {os.path.join(base, f"{i:06d}_{name}.up.sql"): up,
                     os.path.join(base, f"{i:06d}_{name}.down.sql"): down}
        elif layout == "flyway":
            os.makedirs(base, exist_ok=True)
            files = {os.path.join(base, f"V{i}__{name}.sql"): up}
        elif layout == "prisma":
            d = os.path.join(base, "migrations", f"2024{i:08d}_{name}")
            os.makedirs(d, exist_ok=True)
            files = {os.path.join(d, "migration.sql"): up}
        else:
            os.makedirs(base, exist_ok=True)
            files = {os.path.join(base, f"{i:04d}_{name}.sql"): up}
        for path, text in files.items():
            if text:
                with open(path, "w") as f:
                    f.write(text)
                layout_of[path] = layout
    n = len(layout_of)
    stmts = sum(open(p).read().count(";") for p in layout_of)
    print(f"{n} files, about {stmts} statements, in the layouts of diesel, golang-migrate, "
          f"Flyway, Prisma and plain psql files (bench/lint/real_corpus.py, fixed seed)")


main()
