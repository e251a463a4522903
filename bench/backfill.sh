#!/usr/bin/env bash
# Backfill benchmark: filling a new column on an existing table, three ways, on
# identical tables (a fresh database per run), alone and under a fixed-rate
# application workload:
#   colshift  `colshift start` (adaptive batches, unthrottled); the backfill phase
#             is timed from colshift's own checkpoint table (colshift.backfill)
#   update    one `UPDATE t SET email_domain = <expr>` (the physical ceiling)
#   loop      a hand-written psql loop of 1,000-row keyset UPDATEs, one
#             transaction each, no pauses
# plus a baseline run of the workload alone, and colshift's peak RSS at a
# second table size.
#
#   ./run bench backfill [--rows N] [--rss-rows N] [--rate TPS] [--clients N]
#                        [--baseline-seconds S] [--out DIR]
#
# Writes DIR/backfill.md, DIR/backfill.csv and DIR/backfill-latency.svg
# (DIR defaults to bench/results). Needs COLSHIFT (./run sets it) and pgbench,
# psql, python3 and /usr/bin/time.
set -euo pipefail

ROOT=${ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
COLSHIFT=${COLSHIFT:-$ROOT/build/colshift}
HERE=$ROOT/bench/backfill
ROWS=2000000
RSS_ROWS=""
RATE=200
CLIENTS=4
BASELINE_S=20
OUTDIR=$ROOT/bench/results
while (($#)); do
  case $1 in
    --rows) ROWS=$2; shift 2 ;;
    --rss-rows) RSS_ROWS=$2; shift 2 ;;
    --rate) RATE=$2; shift 2 ;;
    --clients) CLIENTS=$2; shift 2 ;;
    --baseline-seconds) BASELINE_S=$2; shift 2 ;;
    --out) OUTDIR=$2; shift 2 ;;
    -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "backfill bench: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ $ROWS =~ ^[0-9]+$ && $ROWS -ge 1000 ]] || { echo "--rows must be a number >= 1000" >&2; exit 2; }
[[ -z $RSS_ROWS ]] && RSS_ROWS=$((ROWS / 4 > 100000 ? ROWS / 4 : 100000))
[[ -x $COLSHIFT ]] || { echo "no colshift binary at $COLSHIFT (use ./run bench backfill)" >&2; exit 2; }
if [[ ! -x /usr/bin/time ]]; then
  sudo=""; [[ $(id -u) -eq 0 ]] || sudo=sudo
  $sudo apt-get install -y -qq time >/dev/null
fi

# "Unthrottled": switch off every throttle signal this colshift build has.
UNTHROTTLED=()
start_help=$("$COLSHIFT" start --help 2>&1 || true)
[[ $start_help == *--max-replica-lag* ]] && UNTHROTTLED+=(--max-replica-lag 0)
[[ $start_help == *--max-lock-waiters* ]] && UNTHROTTLED+=(--max-lock-waiters -1)

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

CSV=$WORK/results.csv
echo "method,load,rows,seconds,rows_per_s,ratio_to_update,app_tx,app_failed,app_p50_ms,app_p99_ms,app_max_ms,peak_rss_kb,colshift_start_s" >"$CSV"
SERIES=()

# fresh_db NAME ROWS: a new database with the table loaded, vacuumed, checkpointed.
fresh_db() {
  local db=$1 rows=$2
  local old
  for old in $(psql -X -At "$ADMIN" -c "SELECT datname FROM pg_database WHERE datname LIKE 'b\_%'"); do
    psql -X -q "$ADMIN" -c "DROP DATABASE $old"  # the previous run's: free the disk
  done
  psql -X -q "$ADMIN" -c "CREATE DATABASE $db"
  PGOPTIONS="-c client_min_messages=warning" psql -X -q -v ON_ERROR_STOP=1 -v rows="$rows" \
    "postgresql://postgres@127.0.0.1:$PORT/$db" -f "$HERE/load.sql" >/dev/null
  psql -X -q "$ADMIN" -c "CHECKPOINT"
}

# The workload: pgbench at a fixed rate until stop_workload.
start_workload() {  # start_workload DB TAG
  local url="postgresql://postgres@127.0.0.1:$PORT/$1"
  pgbench -n -M prepared -c "$CLIENTS" -j 2 -T 3600 -R "$RATE" -D rows="$ROWS" \
    --log --log-prefix="$WORK/app-$2" -f "$HERE/app.sql" "$url" >"$WORK/pgbench-$2.out" 2>"$WORK/pgbench-$2.err" &
  PGBENCH_PID=$!
  sleep 3  # warm up: connections made, statements prepared
}
stop_workload() {  # stop_workload DB
  psql -X -q "postgresql://postgres@127.0.0.1:$PORT/$1" -c "UPDATE app.deploy SET version = 0"
  wait "$PGBENCH_PID" || true  # exits 2: its clients end on the stop marker; counted below
  PGBENCH_PID=""
}
app_stats() {  # app_stats TAG FROM TO -> JSON
  python3 "$ROOT/scripts/workload/pgbench_stats.py" window --logs "$WORK/app-$1" \
    --out "$WORK/pgbench-$1.out" --err "$WORK/pgbench-$1.err" --from "$2" --to "$3"
}
jget() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }

# run_method METHOD LOAD(0|1) ROWS: one timed backfill; appends a CSV line.
run_method() {
  local method=$1 load=$2 rows=$3
  local tag="$method-$([[ $load == 1 ]] && echo load || echo alone)-$rows"
  local db="b_${method}_${load}"
  local url="postgresql://postgres@127.0.0.1:$PORT/$db"
  log "$tag: loading a fresh table"
  fresh_db "$db" "$rows"
  [[ $method == colshift ]] || psql -X -q "$url" -c "ALTER TABLE t ADD COLUMN email_domain text"
  [[ $load == 1 ]] && start_workload "$db" "$tag"
  log "$tag: backfilling"
  local t0=$EPOCHREALTIME seconds rss="" start_s="" done_rows
  case $method in
    colshift)
      /usr/bin/time -v -o "$WORK/time-$tag.txt" "$COLSHIFT" --db "$url" start "${UNTHROTTLED[@]}" "$HERE/colshift.yaml" \
        >"$WORK/colshift-$tag.out" 2>"$WORK/colshift-$tag.err" || { cat "$WORK/colshift-$tag.err" >&2; return 1; }
      start_s=$(since "$t0")
      rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$WORK/time-$tag.txt")
      # The backfill phase alone, from colshift's checkpoint table.
      read -r done_rows seconds < <(psql -X -At -F ' ' "$url" -c \
        "SELECT rows_done, extract(epoch FROM updated_at - started_at) FROM colshift.backfill")
      ;;
    update)
      psql -X -q -v ON_ERROR_STOP=1 "$url" -c "UPDATE t SET email_domain = lower(split_part(email, '@', 2))"
      seconds=$(since "$t0")
      ;;
    loop)
      local n=$((rows / 1000 + 2)) i
      for ((i = 0; i < n; i++)); do cat "$HERE/loop_batch.sql"; done >"$WORK/loop.sql"
      psql -X -q -v ON_ERROR_STOP=1 -v last=0 "$url" -f "$WORK/loop.sql" >/dev/null
      seconds=$(since "$t0")
      ;;
  esac
  local t1=$EPOCHREALTIME
  local left
  left=$(psql -X -At "$url" -c "SELECT count(*) FROM t WHERE email_domain IS DISTINCT FROM lower(split_part(email, '@', 2))")
  ((left == 0)) || { echo "$tag: $left rows not filled correctly" >&2; return 1; }
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
  log "$tag: $rows rows in ${seconds} s = $rate rows/s${rss:+, peak RSS ${rss} kB}${tx:+; app: $tx tx, $failed failed, p50 $p50 / p99 $p99 / max $max ms}"
  echo "$method,$load,$rows,$seconds,$rate,,$tx,$failed,$p50,$p99,$max,$rss,$start_s" >>"$CSV"
  psql -X -q "$ADMIN" -c "CHECKPOINT"
}

START=$EPOCHREALTIME
LOAD_AVG_START=$(cut -d' ' -f1-3 /proc/loadavg)

# Baseline: the workload with no migration.
log "baseline: the workload alone for ${BASELINE_S} s"
fresh_db b_baseline_1 "$ROWS"
start_workload b_baseline_1 baseline
b0=$EPOCHREALTIME
sleep "$BASELINE_S"
b1=$EPOCHREALTIME
stop_workload b_baseline_1
js=$(app_stats baseline "$b0" "$b1")
BASE_FAILED=$(($(jget "$js" failed) + $(jget "$js" aborted) + $(jget "$js" errors)))
echo "baseline,1,0,$(awk -v a="$b0" -v b="$b1" 'BEGIN { printf "%.3f", b - a }'),,,$(jget "$js" tx),$BASE_FAILED,$(jget "$js" p50_ms),$(jget "$js" p99_ms),$(jget "$js" max_ms),," >>"$CSV"
BASELINE_SERIES="no migration=$WORK/app-baseline@$b0@$b1"
log "baseline: $(jget "$js" tx) tx, p50 $(jget "$js" p50_ms) / p99 $(jget "$js" p99_ms) / max $(jget "$js" max_ms) ms"

for load in 0 1; do
  for method in update colshift loop; do
    run_method "$method" "$load" "$ROWS"
  done
done
# Peak RSS at a second size: colshift alone.
run_method colshift 0 "$RSS_ROWS"

TOTAL_S=$(since "$START")
PGVER=$(psql -X -At "$ADMIN" -c "SHOW server_version")
COLSHIFT_DESC="$("$COLSHIFT" --version 2>/dev/null || echo '?'); \`colshift start${UNTHROTTLED[*]:+ ${UNTHROTTLED[*]}}\` with default adaptive sizing (100 ms target)"
((${#UNTHROTTLED[@]})) || COLSHIFT_DESC+="; this build has no throttle flags"
mkdir -p "$OUTDIR"
python3 "$HERE/report.py" --csv "$CSV" --out-dir "$OUTDIR" --rows "$ROWS" --rate "$RATE" --clients "$CLIENTS" \
  --pg "$PGVER" --colshift "$COLSHIFT_DESC" --load-avg "$LOAD_AVG_START" \
  --total-seconds "$TOTAL_S"
python3 "$HERE/chart.py" --out "$OUTDIR/backfill-latency.svg" \
  --title "App latency while filling a column on $ROWS rows ($CLIENTS clients, $RATE tx/s)" "${SERIES[@]}" "$BASELINE_SERIES"
log "wrote $OUTDIR/backfill.md, backfill.csv, backfill-latency.svg (${TOTAL_S} s)"
cat "$OUTDIR/backfill.md"
