-- The app: a new user signs up. Old app (v1): no email_domain; new app (v2): sets it.
SELECT version AS v FROM app.deploy \gset
\if :v = 0
DO $$BEGIN RAISE EXCEPTION 'workload stop requested by the demo'; END$$;
\endif
\set d random(1, 8)
\set n random(1, 1000000000)
\if :v = 1
INSERT INTO users (email, name) VALUES ('signup' || :n || '@' || (ARRAY['Example.com', 'gmail.com', 'Yahoo.com', 'proton.me', 'corp.example.org', 'outlook.com', 'fastmail.fm', 'ACME.io'])[:d], 'New user ' || :n);
\else
INSERT INTO users (email, name, email_domain) SELECT n.e, 'New user ' || :n, lower(split_part(n.e, '@', 2)) FROM (SELECT 'signup' || :n || '@' || (ARRAY['Example.com', 'gmail.com', 'Yahoo.com', 'proton.me', 'corp.example.org', 'outlook.com', 'fastmail.fm', 'ACME.io'])[:d]) AS n(e);
\endif
