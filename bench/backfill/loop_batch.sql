-- One batch of the hand-written keyset loop: the next 1,000 ids after :last,
-- updated in one autocommit transaction; sets :last and :done for the next one.
-- bench/backfill.sh repeats this (with "\if :done \q \endif") as many times as needed.
WITH u AS (
  UPDATE t SET email_domain = lower(split_part(email, '@', 2))
  WHERE id IN (SELECT id FROM t WHERE id > :last ORDER BY id LIMIT 1000)
  RETURNING id
)
SELECT coalesce(max(id), :last) AS last, count(*) = 0 AS done FROM u \gset
\if :done
\q
\endif
