-- Sampled every 50 ms for the whole demo: every application (pgbench) session
-- waiting on a heavyweight lock, how long it has waited so far (pg_locks.waitstart,
-- PostgreSQL 14+), on what, and who holds it up. Columns (tab-separated): sample time,
-- pid, wait start, waited ms, locktype, mode, relation, blockers.
SELECT extract(epoch FROM clock_timestamp()),
       l.pid,
       extract(epoch FROM l.waitstart),
       round(extract(epoch FROM clock_timestamp() - l.waitstart) * 1000, 1),
       l.locktype,
       l.mode,
       coalesce(l.relation::regclass::text, ''),
       coalesce((SELECT string_agg(coalesce(nullif(b.application_name, ''), 'pid ' || b.pid) || ': ' || left(regexp_replace(b.query, '\s+', ' ', 'g'), 70), ' | ')
                 FROM pg_stat_activity b WHERE b.pid = ANY (pg_blocking_pids(l.pid))), '')
FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
WHERE NOT l.granted AND l.waitstart IS NOT NULL AND a.application_name = 'pgbench'
\watch 0.05
