-- The benchmark's application: 80% reads by primary key, 20% single-row updates
-- (last_seen_at, an unindexed column), at a fixed rate set by pgbench -R. The
-- bench stops the run by setting app.deploy.version = 0: each client then ends
-- on a marked error, told apart from real failures by scripts/workload/pgbench_stats.py.
SELECT version AS v FROM app.deploy \gset
\if :v = 0
DO $$BEGIN RAISE EXCEPTION 'workload stop requested by the benchmark'; END$$;
\endif
\set id random(1, :rows)
\set r random(1, 100)
\if :r <= 80
SELECT id, email, name, plan FROM t WHERE id = :id;
\else
UPDATE t SET last_seen_at = now() WHERE id = :id;
\endif
