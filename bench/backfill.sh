#!/usr/bin/env bash
# Backfill benchmark: filling a new column on an existing 2M-row table, the way
# a user runs it, in one run:
#
#   idle database, two table shapes (`t`, bigint primary key only; and `t` with
#   an index on email too), three methods each, every one timed as the whole
#   command on a fresh copy of the same table (CHECKPOINT before each):
#     update      psql: ALTER TABLE ADD COLUMN; UPDATE t SET col = <expr> (one
#                 statement: the physical ceiling on one core)
#     update-trigger  the same, with a row trigger like colshift's dual-write
#                 trigger installed first and passed by its WHEN condition: the
#                 ceiling for any online method that keeps one (a BEFORE ROW
#                 UPDATE trigger locks every row it could fire for, WHEN or not)
#     colshift-1  colshift start --workers 1 (its other settings default)
#     colshift-N  colshift start --workers N
#   with rows/s, WAL bytes per row (pg_current_wal_lsn() before and after) and
#   colshift's peak RSS (/usr/bin/time -v);
#
#   under the demo's application workload (scripts/workload: reads by id and by
#   email, email changes, sign-ups; pgbench at a fixed rate, latency counted
#   from the scheduled start so queueing counts) on the demo's users table:
#   no migration (baseline), the single UPDATE, and colshift start with its
#   default settings; app p50/p99/max and failed transactions.
#
#   ./run bench backfill [--rows N] [--workers N] [--rate TPS] [--clients N]
#                        [--baseline-seconds S] [--rounds N] [--out DIR]
#                        [--only idle|load] [--load-args "ARGS"]
#
# --only idle runs the idle half; --only load the baseline and colshift under
# the workload (no single UPDATE); both print the raw CSV instead of writing
# the report. --load-args adds colshift start options to the run under the
# workload (e.g. "--workers 1"), to compare settings there.
#
# With --rounds R every idle method runs R times, interleaved, and the table
# shows the median. Writes DIR/backfill.md, DIR/backfill.csv and
# DIR/backfill-latency.svg (DIR defaults to bench/results). Needs COLSHIFT
# (./run sets it), pgbench, psql, python3 and /usr/bin/time.
set -euo pipefail

ROOT=${ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
COLSHIFT=${COLSHIFT:-$ROOT/build/colshift}
HERE=$ROOT/bench/backfill
WL=$ROOT/scripts/workload
ROWS=2000000
WORKERS=2
RATE=300
CLIENTS=4
BASELINE_S=20
ROUNDS=1
OUTDIR=$ROOT/bench/results
ONLY=""
LOAD_ARGS=""
while (($#)); do
  case $1 in
    --rows) ROWS=$2; shift 2 ;;
    --workers) WORKERS=$2; shift 2 ;;
    --rate) RATE=$2; shift 2 ;;
    --clients) CLIENTS=$2; shift 2 ;;
    --baseline-seconds) BASELINE_S=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --out) OUTDIR=$2; shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    --load-args) LOAD_ARGS=$2; shift 2 ;;
    -h|--help) sed -n '2,31p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "backfill bench: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ $ROWS =~ ^[0-9]+$ && $ROWS -ge 1000 ]] || { echo "--rows must be a number >= 1000" >&2; exit 2; }
[[ $WORKERS =~ ^[0-9]+$ && $WORKERS -ge 2 ]] || { echo "--workers must be 2 or more" >&2; exit 2; }
[[ $ROUNDS =~ ^[0-9]+$ && $ROUNDS -ge 1 ]] || { echo "--rounds must be 1 or more" >&2; exit 2; }
[[ -z $ONLY || $ONLY == idle || $ONLY == load ]] || { echo "--only is idle or load" >&2; exit 2; }
[[ -x $COLSHIFT ]] || { echo "no colshift binary at $COLSHIFT (use ./run bench backfill)" >&2; exit 2; }
if [[ ! -x /usr/bin/time ]]; then
  sudo=""; [[ $(id -u) -eq 0 ]] || sudo=sudo
  $sudo apt-get install -y -qq time >/dev/null
fi

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }'; }

PGBENCH_PID=""
bench_before_stop() {
  [[ -n $PGBENCH_PID ]] && kill "$PGBENCH_PID" 2>/dev/null || true
  wait 2>/dev/null || true
}
# shellcheck source=lib.sh
source "$ROOT/bench/lib.sh"
bench_start backfill
ADMIN="postgresql://postgres@127.0.0.1:$PORT/postgres"
log "private PostgreSQL on 127.0.0.1:$PORT; $ROWS rows per table; workload $CLIENTS clients at $RATE tx/s"
adm() { psql -X -q -v ON_ERROR_STOP=1 "$ADMIN" "$@"; }

CSV=$WORK/results.csv
echo "shape,method,load,round,rows,seconds,rows_per_s,wal_bytes,app_tx,app_failed,app_p50_ms,app_p99_ms,app_max_ms,peak_rss_kb" >"$CSV"
SERIES=()

# Templates: each shape loaded once; every run gets a fresh copy.
log "loading the template tables"
shapes=(pk idx)
[[ $ONLY == load ]] && shapes=()
for shape in "${shapes[@]}"; do
  adm -c "CREATE DATABASE tpl_$shape"
  PGOPTIONS="-c client_min_messages=warning" psql -X -q -v ON_ERROR_STOP=1 -v rows="$ROWS" \
    -v index="$([[ $shape == idx ]] && echo true || echo false)" \
    "postgresql://postgres@127.0.0.1:$PORT/tpl_$shape" -f "$HERE/load.sql" >/dev/null
done
adm -c "CREATE DATABASE tpl_users"
PGOPTIONS="-c client_min_messages=warning" psql -X -q -v ON_ERROR_STOP=1 -v rows="$ROWS" \
  "postgresql://postgres@127.0.0.1:$PORT/tpl_users" -f "$WL/load_users.sql" >/dev/null

fresh_db() {  # fresh_db NAME TEMPLATE: a copy of the template, then CHECKPOINT
  adm -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1 TEMPLATE $2" -c "CHECKPOINT"
}
wal_lsn() { psql -X -At "$ADMIN" -c "SELECT pg_current_wal_lsn()"; }
wal_diff() { psql -X -At "$ADMIN" -c "SELECT pg_wal_lsn_diff('$2', '$1')::bigint"; }

# The demo's application at a fixed rate until stop_workload.
start_workload() {  # start_workload DB TAG
  local url="postgresql://postgres@127.0.0.1:$PORT/$1" args=() scripts=(read_by_id read_by_email update_email signup) weights=(60 20 10 10) i
  for i in "${!scripts[@]}"; do args+=(-f "$WL/${scripts[$i]}.sql@${weights[$i]}"); done
  pgbench -n -M prepared -c "$CLIENTS" -j 2 -T 3600 -R "$RATE" -D rows="$ROWS" \
    --log --log-prefix="$WORK/app-$2" "${args[@]}" "$url" >"$WORK/pgbench-$2.out" 2>"$WORK/pgbench-$2.err" &
  PGBENCH_PID=$!
  sleep 3  # warm up: connections made, statements prepared
}
stop_workload() {  # stop_workload DB
  psql -X -q "postgresql://postgres@127.0.0.1:$PORT/$1" -c "UPDATE app.deploy SET version = 0"
  wait "$PGBENCH_PID" || true  # exits 2: its clients end on the stop marker; counted below
  PGBENCH_PID=""
}
app_stats() {  # app_stats TAG FROM TO -> JSON
  python3 "$WL/pgbench_stats.py" window --logs "$WORK/app-$1" \
    --out "$WORK/pgbench-$1.out" --err "$WORK/pgbench-$1.err" --from "$2" --to "$3"
}
jget() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }

EXPR="lower(split_part(email, '@', 2))"

# run_method SHAPE METHOD LOAD(0|1) ROUND: one timed fill on a fresh copy; appends a CSV line.
run_method() {
  local shape=$1 method=$2 load=$3 round=$4
  local tag="$shape-$method-$load-$round" db="b_${shape}_${method//-/_}" table=t yaml=$HERE/colshift.yaml tpl=tpl_$shape
  if [[ $shape == users ]]; then table=users yaml=$HERE/users.yaml tpl=tpl_users; fi
  local url="postgresql://postgres@127.0.0.1:$PORT/$db"
  fresh_db "$db" "$tpl"
  [[ $load == 1 ]] && start_workload "$db" "$tag"
  log "$tag: filling $table.email_domain"
  local rss="" t0 t1 lsn0 lsn1 cmd=()
  case $method in
    colshift-1) cmd=("$COLSHIFT" --db "$url" start --workers 1 "$yaml") ;;
    colshift-n) cmd=("$COLSHIFT" --db "$url" start --workers "$WORKERS" "$yaml") ;;
    # shellcheck disable=SC2206  # --load-args is split into words on purpose
    colshift) cmd=("$COLSHIFT" --db "$url" start $LOAD_ARGS "$yaml") ;;
  esac
  lsn0=$(wal_lsn)
  t0=$EPOCHREALTIME
  if [[ $method == update ]]; then
    psql -X -q -v ON_ERROR_STOP=1 "$url" -c "ALTER TABLE $table ADD COLUMN email_domain text" \
      -c "UPDATE $table SET email_domain = $EXPR"
  elif [[ $method == update-trigger ]]; then
    psql -X -q -v ON_ERROR_STOP=1 "$url" -c "ALTER TABLE $table ADD COLUMN email_domain text" \
      -c "CREATE FUNCTION bench_fill() RETURNS trigger LANGUAGE plpgsql AS \$\$ BEGIN
            NEW.email_domain := $EXPR; RETURN NEW; END \$\$" \
      -c "CREATE TRIGGER bench_fill BEFORE INSERT OR UPDATE ON $table FOR EACH ROW
            WHEN (current_setting('colshift.backfill', true) IS DISTINCT FROM 'on')
            EXECUTE FUNCTION bench_fill()" \
      -c "BEGIN" -c "SELECT set_config('colshift.backfill', 'on', true)" \
      -c "UPDATE $table SET email_domain = $EXPR" -c "COMMIT"
  else
    /usr/bin/time -v -o "$WORK/time-$tag.txt" "${cmd[@]}" >"$WORK/colshift-$tag.out" 2>"$WORK/colshift-$tag.err" \
      || { cat "$WORK/colshift-$tag.err" >&2; return 1; }
    rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$WORK/time-$tag.txt")
  fi
  local seconds
  seconds=$(since "$t0")
  t1=$EPOCHREALTIME
  lsn1=$(wal_lsn)
  local wal left rows
  wal=$(wal_diff "$lsn0" "$lsn1")
  rows=$(psql -X -At "$url" -c "SELECT count(*) FROM $table WHERE id <= $ROWS")
  # Every row must be right after colshift. After a single UPDATE under the
  # app's load, the old app's later sign-ups and email changes leave NULL or
  # stale values (one reason it is not an online migration): counted, not fatal.
  left=$(psql -X -At "$url" -c "SELECT count(*) FROM $table WHERE email_domain IS DISTINCT FROM $EXPR")
  if [[ $method == update && $load == 1 ]]; then
    log "$tag: $left rows wrong after it (written by the old app after the UPDATE)"
  else
    ((left == 0)) || { echo "$tag: $left rows not filled correctly" >&2; return 1; }
  fi
  local tx="" failed="" p50="" p99="" max=""
  if [[ $load == 1 ]]; then
    sleep 1
    stop_workload "$db"
    local js
    js=$(app_stats "$tag" "$t0" "$t1")
    tx=$(jget "$js" tx) p50=$(jget "$js" p50_ms) p99=$(jget "$js" p99_ms) max=$(jget "$js" max_ms)
    failed=$(($(jget "$js" failed) + $(jget "$js" aborted) + $(jget "$js" errors)))
    SERIES+=("$method=$WORK/app-$tag@$t0@$t1")
  fi
  local rate
  rate=$(awk -v r="$rows" -v s="$seconds" 'BEGIN { printf "%.0f", r / s }')
  log "$tag: $rows rows in ${seconds} s = $rate rows/s, WAL $((wal / rows)) B/row${rss:+, peak RSS ${rss} kB}${tx:+; app: $tx tx, $failed failed, p50 $p50 / p99 $p99 / max $max ms}"
  echo "$shape,$method,$load,$round,$rows,$seconds,$rate,$wal,$tx,$failed,$p50,$p99,$max,$rss" >>"$CSV"
  adm -c "DROP DATABASE $db"
}

START=$EPOCHREALTIME
LOAD_AVG_START=$(cut -d' ' -f1-3 /proc/loadavg)

# Idle: every method on both shapes, interleaved per round.
for ((round = 1; round <= ROUNDS; round++)); do
  for shape in "${shapes[@]}"; do
    for method in update update-trigger colshift-1 colshift-n; do
      run_method "$shape" "$method" 0 "$round"
    done
  done
done

if [[ $ONLY == idle ]]; then
  cat "$CSV"
  exit 0
fi

# Under the demo's workload: baseline, single UPDATE, colshift defaults.
log "baseline: the demo's workload alone for ${BASELINE_S} s"
fresh_db b_baseline tpl_users
start_workload b_baseline baseline
b0=$EPOCHREALTIME
sleep "$BASELINE_S"
b1=$EPOCHREALTIME
stop_workload b_baseline
js=$(app_stats baseline "$b0" "$b1")
BASE_FAILED=$(($(jget "$js" failed) + $(jget "$js" aborted) + $(jget "$js" errors)))
echo "users,baseline,1,1,0,$(awk -v a="$b0" -v b="$b1" 'BEGIN { printf "%.3f", b - a }'),,,$(jget "$js" tx),$BASE_FAILED,$(jget "$js" p50_ms),$(jget "$js" p99_ms),$(jget "$js" max_ms)," >>"$CSV"
BASELINE_SERIES="no migration=$WORK/app-baseline@$b0@$b1"
log "baseline: $(jget "$js" tx) tx, p50 $(jget "$js" p50_ms) / p99 $(jget "$js" p99_ms) / max $(jget "$js" max_ms) ms"
adm -c "DROP DATABASE b_baseline"
[[ $ONLY == load ]] || run_method users update 1 1
run_method users colshift 1 1
if [[ $ONLY == load ]]; then
  cat "$CSV"
  exit 0
fi

TOTAL_S=$(since "$START")
PGVER=$(psql -X -At "$ADMIN" -c "SHOW server_version")
mkdir -p "$OUTDIR"
python3 "$HERE/report.py" --csv "$CSV" --out-dir "$OUTDIR" --rows "$ROWS" --rate "$RATE" --clients "$CLIENTS" \
  --workers "$WORKERS" --rounds "$ROUNDS" --pg "$PGVER" --colshift "$("$COLSHIFT" --version 2>/dev/null | head -1 || echo '?')" \
  --load-avg "$LOAD_AVG_START" --total-seconds "$TOTAL_S"
python3 "$HERE/chart.py" --out "$OUTDIR/backfill-latency.svg" \
  --title "App latency while filling a column on $ROWS rows ($CLIENTS clients, $RATE tx/s)" "${SERIES[@]}" "$BASELINE_SERIES"
log "wrote $OUTDIR/backfill.md, backfill.csv, backfill-latency.svg (${TOTAL_S} s)"
cat "$OUTDIR/backfill.md"
