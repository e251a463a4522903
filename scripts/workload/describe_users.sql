-- users' shape, one line per column, index, constraint and trigger, sorted:
-- the demo diffs it before, during and after a migration.
SELECT line FROM (
  SELECT 'column ' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
         || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END
         || coalesce(' DEFAULT ' || pg_get_expr(d.adbin, d.adrelid), '') AS line
  FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
  WHERE a.attrelid = 'users'::regclass AND a.attnum > 0 AND NOT a.attisdropped
  UNION ALL
  SELECT 'index ' || pg_get_indexdef(i.indexrelid) || CASE WHEN i.indisvalid THEN '' ELSE ' (INVALID)' END
  FROM pg_index i WHERE i.indrelid = 'users'::regclass
  UNION ALL
  SELECT 'constraint ' || c.conname || ' ' || pg_get_constraintdef(c.oid)
         || CASE WHEN c.convalidated THEN '' ELSE ' (not validated)' END
  FROM pg_constraint c WHERE c.conrelid = 'users'::regclass
  UNION ALL
  SELECT 'trigger ' || pg_get_triggerdef(t.oid) FROM pg_trigger t
  WHERE t.tgrelid = 'users'::regclass AND NOT t.tgisinternal
) s ORDER BY line;
