#!/usr/bin/env bash
# colshift's live demo: a NOT NULL column on a 1M-row table under constant
# application traffic, then a second change started, aborted mid-backfill
# (SIGINT, as an operator's Ctrl-C) and rolled back, then a third whose new
# code path makes the app fail, rolled back by a guard on the app's errors.
#
# Called by `./run demo` with COLSHIFT=<binary> and PGPORT=<private server>, and
# the PostgreSQL bin dir on PATH. Settings (environment):
#   DEMO_ROWS=1000000   DEMO_CLIENTS=4   DEMO_RATE=300 (app transactions/s)
#   DEMO_QUIET_PERIOD=2s   DEMO_KEEP=1 (keep the logs directory)
#
# The application is pgbench with the scripts in scripts/workload/: reads by id
# and by email, email changes and sign-ups. Every transaction first reads
# app.deploy.version: 1 = the old app (knows nothing of email_domain), 2 = the new
# app (writes email_domain itself), 0 = stop (each client then ends on a marked
# error, which is told apart from any real failure). A second psql session
# samples pg_locks every 50 ms for application sessions waiting on a lock.
#
# Exits non-zero if any step fails or any application transaction failed.
set -euo pipefail

: "${COLSHIFT:?COLSHIFT must point at the colshift binary (use ./run demo)}"
: "${PGPORT:?PGPORT must be the port of the private server (use ./run demo)}"
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WL=$ROOT/scripts/workload
MIG=$ROOT/examples/migrations
ROWS=${DEMO_ROWS:-1000000}
CLIENTS=${DEMO_CLIENTS:-4}
RATE=${DEMO_RATE:-300}
QUIET=${DEMO_QUIET_PERIOD:-2s}
ADMIN_URL="postgresql://postgres@127.0.0.1:$PGPORT/postgres"
DB_URL="postgresql://postgres@127.0.0.1:$PGPORT/demo"
export DATABASE_URL=$DB_URL
OUT=$(mktemp -d /tmp/colshift-demo.XXXXXX)
SCRIPTS=(read_by_id read_by_email update_email signup)
WEIGHTS=(60 20 10 10)

if [[ -t 1 && -z ${NO_COLOR:-} ]]; then
  B=$'\033[1m' G=$'\033[32m' R=$'\033[31m' D=$'\033[2m' N=$'\033[0m'
else
  B="" G="" R="" D="" N=""
fi

DEMO_START=$EPOCHREALTIME
STEP="setup"
PGBENCH_PID="" SAMPLER_PID="" START2_PID="" HOOK_PID=""

cleanup() {
  local rc=$?
  trap - EXIT
  [[ -n $PGBENCH_PID ]] && kill "$PGBENCH_PID" 2>/dev/null || true
  [[ -n $SAMPLER_PID ]] && kill "$SAMPLER_PID" 2>/dev/null || true
  [[ -n $START2_PID ]] && kill -INT "$START2_PID" 2>/dev/null || true
  [[ -n $HOOK_PID ]] && kill "$HOOK_PID" 2>/dev/null || true
  wait 2>/dev/null || true
  if ((rc != 0)); then
    echo "${R}${B}demo FAILED${N} during: $STEP (exit $rc); logs kept in $OUT" >&2
  elif [[ -n ${DEMO_KEEP:-} ]]; then
    echo "logs kept in $OUT"
  else
    rm -rf "$OUT"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

section() { STEP=$1; printf '\n%s== %s ==%s\n' "$B" "$1" "$N"; }
say() { printf '%s\n' "$*"; }
note() { printf '%s%s%s\n' "$D" "$*" "$N"; }
mark() { echo "$EPOCHREALTIME $1" >>"$OUT/phases"; }  # phase boundaries, for the report
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }'; }
q() { psql -X -q -v ON_ERROR_STOP=1 -At "$DB_URL" -c "$1"; }
num() {  # 1234567 -> 1,234,567
  local n=$1 s=""
  while ((${#n} > 3)); do s=",${n: -3}$s"; n=${n:0:${#n}-3}; done
  printf '%s%s' "$n" "$s"
}

# The application's health so far, from pgbench's progress lines.
app_line() {
  local last
  last=$(grep -a '^progress:' "$OUT/pgbench.err" 2>/dev/null | tail -1 || true)
  local aborted
  aborted=$(grep -ac 'aborted in command' "$OUT/pgbench.err" 2>/dev/null || true)
  note "   app: ${last:-starting} | aborted clients: ${aborted:-0}"
  kill -0 "$PGBENCH_PID" 2>/dev/null || { echo "${R}the application workload is no longer running${N}" >&2; return 1; }
}

# colshift's progress on stderr: a live line on a terminal; otherwise JSON
# records, shown here as one readable line each.
run_colshift() {  # run_colshift ARGS...: colshift's output in order; keeps its exit code
  if [[ -t 2 ]]; then
    "$COLSHIFT" "$@"
  else
    set +e
    "$COLSHIFT" "$@" 2>&1 | python3 -u "$WL/progress.py" --clock
    local rc=${PIPESTATUS[0]}
    set -e
    return "$rc"
  fi
}

describe_users() { psql -X -At -v ON_ERROR_STOP=1 "$DB_URL" -f "$WL/describe_users.sql"; }

printf '%scolshift demo%s: add users.email_domain (NOT NULL, indexed) to %s live rows, then roll a second change back, and let a guard roll a bad third one back\n' \
  "$B" "$N" "$(num "$ROWS")"
note "   $(psql -X -At "$ADMIN_URL" -c 'SHOW server_version') on 127.0.0.1:$PGPORT, $(nproc) cores; logs in $OUT"

# ---------------------------------------------------------------------------
section "1. load $(num "$ROWS") users"
t=$EPOCHREALTIME
psql -X -q "$ADMIN_URL" -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS demo" -c "CREATE DATABASE demo"
PGOPTIONS="-c client_min_messages=warning" psql -X -q -v ON_ERROR_STOP=1 -v rows="$ROWS" "$DB_URL" -f "$WL/load_users.sql" >/dev/null
LOAD_S=$(since "$t")
say "   loaded $(num "$(q 'SELECT count(*) FROM users')") rows ($(q "SELECT pg_size_pretty(pg_total_relation_size('users'))")) in ${LOAD_S} s"
psql -X "$DB_URL" -c '\d users' | sed 's/^/   /'
cp /dev/null "$OUT/phases"

# ---------------------------------------------------------------------------
section "2. start the old application ($CLIENTS connections, $RATE tx/s) and the lock sampler"
psql -X -At -F $'\t' "$DB_URL" -f "$WL/lockwatch.sql" >"$OUT/lockwaits.tsv" 2>"$OUT/lockwatch.err" &
SAMPLER_PID=$!
pgbench_args=(-n -M prepared -c "$CLIENTS" -j 2 -T 3600 -R "$RATE" -P 2 -D rows="$ROWS"
  --log --log-prefix="$OUT/app")
for i in "${!SCRIPTS[@]}"; do pgbench_args+=(-f "$WL/${SCRIPTS[$i]}.sql@${WEIGHTS[$i]}"); done
mark "old app, no migration"
pgbench "${pgbench_args[@]}" "$DB_URL" >"$OUT/pgbench.out" 2>"$OUT/pgbench.err" &
PGBENCH_PID=$!
note "   pgbench ${pgbench_args[*]}"
say "   mix: 60% read by id, 20% read by email, 10% email changes, 10% sign-ups"
sleep 3
app_line

# ---------------------------------------------------------------------------
section "3. colshift plan 0001_users_email_domain"
"$COLSHIFT" plan "$MIG/0001_users_email_domain.yaml" | sed 's/^/   /'

section "4. colshift start 0001_users_email_domain (expand, backfill, finish) under traffic"
mark "colshift start 0001"
note "   start serves the live status page while it runs (--serve 0: a free loopback port; its URL is the next line)"
t=$EPOCHREALTIME
run_colshift start --serve 0 "$MIG/0001_users_email_domain.yaml"
START1_S=$(since "$t")
mark "0001 active, old app"
read -r BF_ROWS BF_S < <(q "SELECT b.rows_done, round(extract(epoch FROM b.updated_at - b.started_at)::numeric, 2)
  FROM colshift.backfill b JOIN colshift.migrations m ON m.id = b.migration_id
  WHERE m.name = '0001_users_email_domain' ORDER BY m.id DESC LIMIT 1" | tr '|' ' ')
BF_RATE=$(awk -v r="$BF_ROWS" -v s="$BF_S" 'BEGIN { printf "%d", (s > 0 ? r / s : 0) }')
say "   start took ${START1_S} s; backfill: $(num "$BF_ROWS") rows in ${BF_S} s = $(num "$BF_RATE") rows/s"
app_line
OLD_WRITES=$(q "SELECT count(*) FROM users WHERE id > $ROWS")
note "   sign-ups so far by the old app (email_domain filled by the trigger): $OLD_WRITES"

# ---------------------------------------------------------------------------
section "5. colshift complete while the old app still writes (must refuse)"
mark "complete refused (old app)"
rc=0
"$COLSHIFT" complete --quiet-period "$QUIET" 2>"$OUT/refusal.txt" || rc=$?
sed 's/^/   /' "$OUT/refusal.txt"
if ((rc == 0)); then
  echo "${R}colshift complete did not refuse although the old app still writes${N}" >&2
  exit 1
fi
say "   ${G}refused (exit $rc), as it should: the old app still leaves email_domain to the trigger${N}"

section "6. deploy the new app (writes email_domain itself), wait out the quiet period, complete"
STEP="deploy new app"
q "UPDATE app.deploy SET version = 2"
mark "new app deployed"
# colshift compares whole seconds: wait the quiet period plus 1.5 s.
sleep "$(awk -v d="$QUIET" 'BEGIN { v = d + 0; if (d ~ /ms$/) v /= 1000; else if (d ~ /m$/) v *= 60; print v + 1.5 }')"
app_line
STEP="colshift complete"
mark "colshift complete 0001"
t=$EPOCHREALTIME
run_colshift complete --quiet-period "$QUIET"
COMPLETE_S=$(since "$t")
mark "0001 completed, new app"
say "   complete took ${COMPLETE_S} s"
read -r NULLS WRONG < <(q "SELECT count(*) FILTER (WHERE email_domain IS NULL),
  count(*) FILTER (WHERE email_domain IS DISTINCT FROM lower(split_part(email, '@', 2))) FROM users" | tr '|' ' ')
say "   check: $(num "$(q 'SELECT count(*) FROM users')") rows, $NULLS with email_domain NULL, $WRONG with a wrong email_domain"
((NULLS == 0 && WRONG == 0)) || { echo "${R}email_domain is wrong on some rows${N}" >&2; exit 1; }
psql -X "$DB_URL" -c '\d users' | sed 's/^/   /'
q "SELECT email_domain, count(*) FROM users GROUP BY 1 ORDER BY 2 DESC LIMIT 3" | sed 's/^/   top domains: /'
app_line

# ---------------------------------------------------------------------------
section "7. start 0002_users_signup_source, abort it mid-backfill (Ctrl-C), roll it back"
describe_users >"$OUT/schema-before.txt"
mark "colshift start 0002"
t=$EPOCHREALTIME
# A background job of a non-interactive shell starts with SIGINT ignored; give
# colshift the default disposition back, as a terminal's Ctrl-C would find it.
python3 -c 'import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execv(sys.argv[1], sys.argv[1:])' \
  "$COLSHIFT" start "$MIG/0002_users_signup_source.yaml" >"$OUT/start2.log" 2>&1 &
START2_PID=$!
# The operator changes their mind once a tenth of the rows are filled.
while kill -0 "$START2_PID" 2>/dev/null; do
  filled=$(q "SELECT coalesce(max(b.rows_done), 0) FROM colshift.backfill b
    JOIN colshift.migrations m ON m.id = b.migration_id WHERE m.name = '0002_users_signup_source'" 2>/dev/null || echo 0)
  ((filled >= ROWS / 10)) && break
  sleep 0.2
done
kill -INT "$START2_PID" 2>/dev/null || true
for _ in $(seq 1 100); do kill -0 "$START2_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$START2_PID" 2>/dev/null && { echo "${R}colshift start ignored SIGINT for 10 s${N}" >&2; exit 1; }
rc=0
wait "$START2_PID" || rc=$?
START2_PID=""
START2_S=$(since "$t")
python3 -u "$WL/progress.py" <"$OUT/start2.log" 2>&1
say "   colshift start interrupted with SIGINT after ${START2_S} s (exit $rc)"
mark "0002 interrupted"
"$COLSHIFT" status | sed 's/^/   /' || true  # (its exit code says "a migration is in progress")
describe_users >"$OUT/schema-during.txt"
say "   what the interrupted 0002 left on users:"
diff "$OUT/schema-before.txt" "$OUT/schema-during.txt" | sed -n 's/^> /   + /p; s/^< /   - /p' || true
app_line
STEP="colshift rollback"
mark "colshift rollback 0002"
t=$EPOCHREALTIME
run_colshift rollback
ROLLBACK_S=$(since "$t")
mark "after rollback"
describe_users >"$OUT/schema-after.txt"
if diff -u "$OUT/schema-before.txt" "$OUT/schema-after.txt" >"$OUT/schema-diff.txt"; then
  say "   ${G}rollback took ${ROLLBACK_S} s; users' columns, indexes, constraints and triggers are exactly as before 0002:${N}"
  sed 's/^/     /' "$OUT/schema-after.txt"
else
  sed 's/^/   /' "$OUT/schema-diff.txt"
  echo "${R}the schema after rollback differs from before 0002${N}" >&2
  exit 1
fi
sleep 2
app_line

# ---------------------------------------------------------------------------
section "8. a bad change: the app fails once 0003's column exists; a guard rolls it back"
q "CREATE TABLE IF NOT EXISTS app.errors (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp())"
cat >"$OUT/0003_users_referral_code.yaml" <<'YAML'
purpose: Referral codes for the sign-up flow (the demo's bad change).
guards:
  - name: app_errors
    sql: SELECT count(*) FROM app.errors WHERE at > clock_timestamp() - interval '2 seconds'
    max: 5
    breach_after: 2
    interval: 250ms
    policy: rollback
operations:
  - add_column:
      table: users
      column: { name: referral_code, type: text }
      up: upper(substr(md5(email), 1, 8))
YAML
sed 's/^/   /' "$OUT/0003_users_referral_code.yaml"
# The new app version's code path: each request fails (and is logged in
# app.errors) while referral_code exists; it stops once the column is gone.
psql -X -q -v ON_ERROR_STOP=1 "$DB_URL" -c "DO \$\$
DECLARE seen boolean := false; t0 timestamptz := clock_timestamp();
BEGIN
  LOOP
    IF EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'users'::regclass
               AND attname = 'referral_code' AND NOT attisdropped) THEN
      seen := true;
      INSERT INTO app.errors DEFAULT VALUES;
    ELSIF seen OR clock_timestamp() - t0 > interval '300 s' THEN
      EXIT;
    END IF;
    COMMIT;
    PERFORM pg_sleep(0.02);
  END LOOP;
END \$\$" &
ERRORS_PID=$!
STEP="colshift start 0003 (a guard must roll it back)"
mark "colshift start 0003"
t=$EPOCHREALTIME
rc=0
run_colshift start "$OUT/0003_users_referral_code.yaml" || rc=$?
GUARD_RUN_S=$(since "$t")
mark "after guard rollback"
wait "$ERRORS_PID" || true
PHASE3=$(q "SELECT phase FROM colshift.migrations WHERE name = '0003_users_referral_code' ORDER BY id DESC LIMIT 1")
if ((rc != 1)) || [[ $PHASE3 != rolled_back ]]; then
  echo "${R}the guard did not roll 0003 back (start exit $rc, phase $PHASE3)${N}" >&2
  exit 1
fi
GUARD_S=$(q "SELECT round(extract(epoch FROM (SELECT max(at) FROM colshift.events WHERE kind = 'phase'
  AND detail->>'phase' = 'rolled_back' AND migration = '0003_users_referral_code')
  - (SELECT min(at) FROM app.errors))::numeric, 2)")
say "   ${G}start exited $rc after ${GUARD_RUN_S} s: rolled back ${GUARD_S} s after the app's first error${N}"
"$COLSHIFT" status | sed 's/^/   /'
describe_users >"$OUT/schema-after3.txt"
if ! diff -u "$OUT/schema-before.txt" "$OUT/schema-after3.txt" | sed 's/^/   /'; then
  echo "${R}the schema after the guard's rollback differs from before 0003${N}" >&2
  exit 1
fi
say "   users is exactly as before 0003"
app_line

# ---------------------------------------------------------------------------
section "9. stop the application and the sampler"
q "UPDATE app.deploy SET version = 0"
mark "stopping"
pgbench_rc=0
wait "$PGBENCH_PID" || pgbench_rc=$?
PGBENCH_PID=""
kill "$SAMPLER_PID" 2>/dev/null || true
wait "$SAMPLER_PID" 2>/dev/null || true
SAMPLER_PID=""
say "   pgbench exited ($pgbench_rc: its clients were stopped through app.deploy; any other error is counted below)"
"$COLSHIFT" history | sed 's/^/   /'

section "10. every event of the run to a webhook (CloudEvents, signed per Standard Webhooks)"
# A receiver on a free loopback port that keeps each POST (headers that matter, body).
HOOK_LOG="$OUT/webhook.jsonl"
python3 -u - "$HOOK_LOG" "$OUT/webhook.port" <<'PY' &
import http.server, json, sys
log, portfile = sys.argv[1], sys.argv[2]
class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        rec = {"id": self.headers.get("webhook-id", ""),
               "signature": self.headers.get("webhook-signature", ""), "event": json.loads(body)}
        with open(log, "a") as f:
            f.write(json.dumps(rec) + "\n")
        self.send_response(204)
        self.end_headers()
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", 0), Hook)
with open(portfile, "w") as f:
    f.write(str(server.server_address[1]))
server.serve_forever()
PY
HOOK_PID=$!
for _ in $(seq 1 50); do [[ -s $OUT/webhook.port ]] && break; sleep 0.1; done
HOOK_URL="http://127.0.0.1:$(cat "$OUT/webhook.port")/colshift"
t=$EPOCHREALTIME
COLSHIFT_WEBHOOK_SECRET="whsec_$(printf 'colshift demo signing secret' | base64)" \
  "$COLSHIFT" deliver --webhook "$HOOK_URL" --until-idle 2>&1 | sed 's/^/   /'
DELIVER_S=$(since "$t")
kill "$HOOK_PID" 2>/dev/null || true
wait "$HOOK_PID" 2>/dev/null || true
HOOK_PID=""
EVENTS=$(q "SELECT count(*) FROM colshift.events")
HOOKED=$(wc -l <"$HOOK_LOG")
say "   $HOOKED of $EVENTS events reached $HOOK_URL in ${DELIVER_S} s; the first and the last:"
python3 - "$HOOK_LOG" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
for rec in (lines[0], lines[-1]):
    e = rec["event"]
    print(f"   {e.get('type')}  subject={e.get('subject')}  time={e.get('time')}  "
          f"signature={rec['signature'][:12]}...")
PY
if ((HOOKED < EVENTS)); then
  echo "${R}only $HOOKED of $EVENTS events reached the webhook${N}" >&2
  exit 1
fi

section "11. the schema repository's record (colshift docs)"
"$COLSHIFT" docs --out "$OUT/docs" "$MIG" 2>&1 | sed 's/^/   /'
say "   $(find "$OUT/docs" -type f | wc -l) files in $OUT/docs; the first page's head:"
FIRST_PAGE=$(find "$OUT/docs" -maxdepth 1 -name '0*.md' | sort | head -1)
sed -n 1,12p "$FIRST_PAGE" | sed 's/^/   /'
say "   ... its tables, before and after, as a diff:"
awk '/^## Tables/{on=1} /^<details>/{if(on)exit} on' "$FIRST_PAGE" | sed 's/^/   /'
say "   table pages: $(cd "$OUT/docs" && find tables -name '*.md' | sort | tr '\n' ' ')"
say "   colshift docs --check (what CI runs: exit 1 when the committed record is out of date):"
"$COLSHIFT" docs --out "$OUT/docs" "$MIG" --check 2>&1 | sed 's/^/   /'

section "12. report"
python3 "$WL/pgbench_stats.py" demo --logs "$OUT/app" --out "$OUT/pgbench.out" --err "$OUT/pgbench.err" \
  --phases "$OUT/phases" --locks "$OUT/lockwaits.tsv" --scripts "$(IFS=,; echo "${SCRIPTS[*]}")" \
  --env "$OUT/summary.env"
# shellcheck disable=SC1091
source "$OUT/summary.env"
FAILED=$((APP_FAILED < 0 ? 1 : APP_FAILED))
FAILED=$((FAILED + APP_ABORTED_CLIENTS + APP_OTHER_ERRORS))
STOPPED_OK=$((APP_STOPPED_CLIENTS == CLIENTS))
TOTAL_S=$(since "$DEMO_START")

printf '%s== summary ==%s\n' "$B" "$N"
printf '   %-44s %s\n' \
  "rows backfilled (0001)" "$(num "$BF_ROWS")" \
  "backfill elapsed / rate" "${BF_S} s, $(num "$BF_RATE") rows/s (under traffic)" \
  "colshift start 0001 (expand+backfill+finish)" "${START1_S} s" \
  "colshift complete" "${COMPLETE_S} s" \
  "application transactions" "$(num "$APP_TX") ($CLIENTS connections, ${RATE} tx/s scheduled)" \
  "failed application transactions" "$APP_FAILED failed, $APP_ABORTED_CLIENTS clients aborted on an error, $APP_OTHER_ERRORS other errors" \
  "app latency p50 / p99 / max" "$APP_P50_MS / $APP_P99_MS / $APP_MAX_MS ms" \
  "longest lock wait of an app query (sampled)" "$LOCK_WAIT_MAX_MS ms ($LOCK_WAIT_MAX_KIND); table locks: $LOCK_WAIT_TABLE_MAX_MS ms, row locks: $LOCK_WAIT_ROW_MAX_MS ms" \
  "rollback of 0002" "${ROLLBACK_S} s (after its start was interrupted at ${START2_S} s, mid-backfill)" \
  "0003 rolled back by its app_errors guard" "${GUARD_S} s after the app's first error" \
  "demo total (after the build)" "${TOTAL_S} s"
STEP="verdict"
if ((FAILED > 0)); then
  echo "${R}${B}FAIL${N}: $FAILED application failure(s)" >&2
  exit 1
fi
if ((!STOPPED_OK)); then
  echo "${R}${B}FAIL${N}: expected $CLIENTS clients to stop on request, saw $APP_STOPPED_CLIENTS" >&2
  exit 1
fi
if ((APP_TX <= 0)); then
  echo "${R}${B}FAIL${N}: the application ran no transactions" >&2
  exit 1
fi
say "${G}${B}OK${N}: 0 failed application transactions"
