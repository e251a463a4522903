-- The app: profile page, read by primary key. Explicit column list (a prepared
-- SELECT * fails with "cached plan must not change result type" after any ADD COLUMN).
SELECT version AS v FROM app.deploy \gset
\if :v = 0
DO $$BEGIN RAISE EXCEPTION 'workload stop requested by the demo'; END$$;
\endif
\set id random(1, :rows)
SELECT id, email, name, plan, created_at FROM users WHERE id = :id;
