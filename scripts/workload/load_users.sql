-- The demo's users table: :rows rows, loaded in one pass with generate_series.
-- Emails spread over eight domains, some in mixed case (email_domain is lower(...)).
\set ON_ERROR_STOP on
SET synchronous_commit = off;
SET maintenance_work_mem = '256MB';
DROP TABLE IF EXISTS users;
CREATE TABLE users (
  id bigserial PRIMARY KEY,
  email text NOT NULL,
  name text NOT NULL,
  plan text NOT NULL DEFAULT 'free',
  created_at timestamptz NOT NULL DEFAULT now(),
  last_seen_at timestamptz
);
INSERT INTO users (id, email, name, plan, created_at, last_seen_at)
SELECT g,
       'user' || g || '@' || (ARRAY['Example.com', 'gmail.com', 'Yahoo.com', 'proton.me',
                                   'corp.example.org', 'outlook.com', 'fastmail.fm', 'ACME.io'])[1 + g % 8],
       'User ' || g,
       CASE WHEN g % 10 = 0 THEN 'pro' ELSE 'free' END,
       now() - g * interval '17 seconds',
       CASE WHEN g % 3 = 0 THEN NULL ELSE now() - g * interval '3 seconds' END
FROM generate_series(1, :rows) AS g;
SELECT setval('users_id_seq', :rows);
CREATE INDEX users_email_idx ON users (email);
VACUUM ANALYZE users;

-- The app's deploy switch, read by every pgbench transaction:
-- 1 = old app (does not know users.email_domain), 2 = new app (writes it), 0 = stop.
DROP SCHEMA IF EXISTS app CASCADE;
CREATE SCHEMA app;
CREATE TABLE app.deploy (version int NOT NULL);
INSERT INTO app.deploy VALUES (1);
