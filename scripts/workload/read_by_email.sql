-- The app: login, read by email (users_email_idx).
SELECT version AS v FROM app.deploy \gset
\if :v = 0
DO $$BEGIN RAISE EXCEPTION 'workload stop requested by the demo'; END$$;
\endif
\set id random(1, :rows)
SELECT u.id, u.name, u.plan FROM users u WHERE u.email = (SELECT email FROM users WHERE id = :id);
