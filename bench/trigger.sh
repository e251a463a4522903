#!/usr/bin/env bash
# Trigger cost: what colshift's dual-write trigger costs an app's writes.
# pgbench's built-in TPC-B-like transactions (each updates pgbench_accounts,
# the table the migration changes) run for the same time on the same
# database, in one run:
#   baseline    no migration
#   undeclared  a migration active; the writers declare no version (the
#               default guess: an UPDATE of a row that has a value returns early)
#   old         the same with `undeclared_writers: old`: every UPDATE evaluates
#               `up` twice inside an exception block (the most expensive path)
#   new         writers declare the new version (application_name=colshift:V)
# Ratios are median TPS against the median baseline.
#
#   ./run bench trigger [--scale N] [--seconds S] [--clients N] [--rounds N] [--out DIR]
#
# The database runs with synchronous_commit = off, so each transaction's cost
# is CPU, not the disk's flush: the trigger's share is what shows.
#
# Writes DIR/trigger.md (DIR defaults to bench/results). Needs COLSHIFT (./run
# sets it), pgbench and psql.
set -euo pipefail

ROOT=${ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
COLSHIFT=${COLSHIFT:-$ROOT/build/colshift}
SCALE=5
SECONDS_EACH=10
CLIENTS=2
ROUNDS=3
OUTDIR=$ROOT/bench/results
while (($#)); do
  case $1 in
    --scale) SCALE=$2; shift 2 ;;
    --seconds) SECONDS_EACH=$2; shift 2 ;;
    --clients) CLIENTS=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --out) OUTDIR=$2; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "trigger bench: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ -x $COLSHIFT ]] || { echo "no colshift binary at $COLSHIFT (use ./run bench trigger)" >&2; exit 2; }

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# shellcheck source=lib.sh
source "$ROOT/bench/lib.sh"
bench_start trigger
URL="postgresql://postgres@127.0.0.1:$PORT/bench"
psql -q "postgresql://postgres@127.0.0.1:$PORT/postgres" -c "CREATE DATABASE bench"
log "private PostgreSQL on 127.0.0.1:$PORT; pgbench scale $SCALE, $CLIENTS clients, ${SECONDS_EACH}s per run"
psql -q "$URL" -c "ALTER DATABASE bench SET synchronous_commit = off"
pgbench -q -i -s "$SCALE" "$URL" >"$WORK/init.log" 2>&1

migration() {  # NAME UNDECLARED
  cat >"$WORK/$1.yaml" <<EOF
purpose: a derived balance column, to measure the dual-write trigger
undeclared_writers: $2
operations:
  - add_column:
      table: pgbench_accounts
      column: { name: balance2, type: bigint, nullable: false }
      up: abalance::bigint * 2 + aid
EOF
  echo "$WORK/$1.yaml"
}

RESULTS=()
run_pgbench() {  # LABEL [APPNAME]
  local label=$1 app=${2:-pgbench}
  psql -q "$URL" -c "CHECKPOINT" -c "VACUUM pgbench_accounts"
  local out
  out=$(PGAPPNAME=$app pgbench -n -c "$CLIENTS" -j "$CLIENTS" -T "$SECONDS_EACH" "$URL" 2>&1)
  local tps lat failed
  tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' <<<"$out" | tail -1)
  lat=$(sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' <<<"$out")
  failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' <<<"$out")
  log "$label: $tps tps, latency $lat ms, ${failed:-0} failed"
  RESULTS+=("$label|$tps|$lat|${failed:-0}")
}

# Rounds interleave every mode, so drift (autovacuum, page cache, a neighbour
# on the machine) reaches all of them alike; the table reports each mode's
# median round.
for ((round = 1; round <= ROUNDS; round++)); do
  log "round $round of $ROUNDS"
  run_pgbench baseline
  for mode in guess old; do
    f=$(migration "$(printf '%04d' $((round * 10 + ${#mode})))_trigger_$mode" "$mode")
    name=$(basename "$f" .yaml)
    "$COLSHIFT" --db "$URL" start "$f" --max-replica-lag 0 --max-lock-waiters -1 >/dev/null 2>"$WORK/start-$mode.log"
    if [[ $mode == guess ]]; then
      run_pgbench undeclared
      run_pgbench new "colshift:$name"
    else
      run_pgbench old
    fi
    "$COLSHIFT" --db "$URL" rollback >/dev/null 2>&1
  done
done

mkdir -p "$OUTDIR"
python3 - "$OUTDIR/trigger.md" "$SCALE" "$CLIENTS" "$SECONDS_EACH" "$ROUNDS" "${RESULTS[@]}" <<'EOF'
import sys
out, scale, clients, secs, rounds, *rows = sys.argv[1:]
rows = [r.split('|') for r in rows]
order = ['baseline', 'undeclared', 'new', 'old']
runs = {label: [r for r in rows if r[0] == label] for label in order}
def median_run(label):
    rs = sorted(runs[label], key=lambda r: float(r[1]))
    return rs[len(rs) // 2]
base = float(median_run('baseline')[1])
lines = [
    '# Dual-write trigger cost (`./run bench trigger`)',
    '',
    f'pgbench TPC-B-like (built-in), scale {scale}, {clients} clients, {secs} s per run, {rounds}',
    'rounds interleaving every mode, all on one private PostgreSQL (synchronous_commit = off, so',
    'the cost is CPU, not the disk flush) in one run. The migration adds',
    '`pgbench_accounts.balance2 bigint NOT NULL` with `up: abalance::bigint * 2 + aid`; every',
    'TPC-B transaction updates one account row, so every transaction fires the trigger. Each row',
    "is the mode's median round; ratio: its TPS over the median baseline's.",
    '',
    '| run | writers | tps (median) | all rounds | latency avg (ms) | failed tx | ratio |',
    '| --- | --- | ---: | --- | ---: | ---: | ---: |',
]
who = {'baseline': 'no migration', 'undeclared': 'declare no version (guess)',
       'old': 'declare no version, `undeclared_writers: old` (re-derive every update)',
       'new': 'declare the new version'}
for label in order:
    m = median_run(label)
    every = ', '.join(f'{float(r[1]):,.0f}' for r in runs[label])
    failed = sum(int(r[3]) for r in runs[label])
    lines.append(f'| {label} | {who[label]} | {float(m[1]):,.0f} | {every} | {m[2]} | {failed} | '
                 f'{float(m[1]) / base:.2f}x |')
open(out, 'w').write('\n'.join(lines) + '\n')
print('\n'.join(lines))
EOF
