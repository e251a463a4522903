-- One benchmark table: :rows rows, identical content every time (generate_series,
-- no randomness), then VACUUM ANALYZE; with -v index=true also an index on
-- email (every backfilled row then updates it too). Loaded once per shape into
-- a template database; every method runs on a fresh copy.
\set ON_ERROR_STOP on
SET synchronous_commit = off;
SET maintenance_work_mem = '256MB';
CREATE TABLE t (
  id bigint PRIMARY KEY,
  email text NOT NULL,
  name text NOT NULL,
  plan text NOT NULL DEFAULT 'free',
  created_at timestamptz NOT NULL,
  last_seen_at timestamptz
);
INSERT INTO t
SELECT g,
       'user' || g || '@' || (ARRAY['Example.com', 'gmail.com', 'Yahoo.com', 'proton.me',
                                   'corp.example.org', 'outlook.com', 'fastmail.fm', 'ACME.io'])[1 + g % 8],
       'User ' || g,
       CASE WHEN g % 10 = 0 THEN 'pro' ELSE 'free' END,
       timestamptz '2024-01-01' - g * interval '17 seconds',
       CASE WHEN g % 3 = 0 THEN NULL ELSE timestamptz '2024-06-01' - g * interval '3 seconds' END
FROM generate_series(1, :rows) AS g;
\if :index
CREATE INDEX t_email_idx ON t (email);
\endif
VACUUM ANALYZE t;

