-- The app: a user changes their email. The old app (v1) does not know
-- email_domain: the dual-write trigger fills it. The new app (v2) sets it.
SELECT version AS v FROM app.deploy \gset
\if :v = 0
DO $$BEGIN RAISE EXCEPTION 'workload stop requested by the demo'; END$$;
\endif
\set id random(1, :rows)
\set d random(1, 8)
\set n random(1, 1000000)
\if :v = 1
UPDATE users SET email = 'user' || :id || '.' || :n || '@' || (ARRAY['Example.com', 'gmail.com', 'Yahoo.com', 'proton.me', 'corp.example.org', 'outlook.com', 'fastmail.fm', 'ACME.io'])[:d] WHERE id = :id;
\else
UPDATE users SET email = n.e, email_domain = lower(split_part(n.e, '@', 2)) FROM (SELECT 'user' || :id || '.' || :n || '@' || (ARRAY['Example.com', 'gmail.com', 'Yahoo.com', 'proton.me', 'corp.example.org', 'outlook.com', 'fastmail.fm', 'ACME.io'])[:d]) AS n(e) WHERE users.id = :id;
\endif
