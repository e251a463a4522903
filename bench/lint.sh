#!/usr/bin/env bash
# colshift lint vs squawk on the same generated corpus, in one run.
#
#   COLSHIFT=path/to/colshift ROOT=repo bench/lint.sh [FILES] [STATEMENTS_PER_FILE]
#
# Writes bench/results/lint.md: files/s of each tool (best of 7 runs over the
# whole corpus, one process each), the ratio, and per squawk rule how many of
# its findings colshift also reports on the same statement, with the reason
# for every one it does not. Then the same speed comparison, with peak RSS,
# on a corpus shaped like real projects' migration histories
# (bench/lint/real_corpus.py: diesel, golang-migrate, Flyway, Prisma and psql
# layouts), and the precision sample of colshift's findings there
# (bench/lint/precision.py, verdicts in bench/lint/precision-verdicts.tsv).
#
# squawk is the native binary that the npm package squawk-cli ships
# (@squawk-cli/<platform>/bin/squawk), called directly: the package's node
# wrapper would add node's start-up to every run. It is installed into
# .tmp/squawk when missing; without npm the comparison is skipped with a
# message and only colshift is measured.
set -euo pipefail
ROOT=${ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
COLSHIFT=$(realpath "${COLSHIFT:-$ROOT/build/colshift}")
FILES=${1:-250}
PER_FILE=${2:-12}
here=$ROOT/bench/lint
work=$ROOT/.tmp/bench-lint
corpus=$work/corpus
real=$work/real
results=$ROOT/bench/results/lint.md
mkdir -p "$ROOT/bench/results" "$work"

rm -rf "$corpus"
summary=$(python3 "$here/gen_corpus.py" "$corpus" "$FILES" "$PER_FILE")
echo "corpus: $summary" >&2

native_squawk() { compgen -G "$ROOT/.tmp/squawk/node_modules/@squawk-cli/*/bin/squawk" | head -1; }
squawk=$(native_squawk || true)
if [[ -z $squawk ]] && command -v npm >/dev/null 2>&1; then
  echo "installing squawk-cli into .tmp/squawk" >&2
  mkdir -p "$ROOT/.tmp/squawk"
  if (cd "$ROOT/.tmp/squawk" && npm install --silent --no-audit --no-fund squawk-cli >/dev/null 2>&1); then
    squawk=$(native_squawk || true)
  fi
  [[ -n $squawk ]] || echo "npm install squawk-cli failed: skipping the squawk comparison" >&2
elif [[ -z $squawk ]]; then
  echo "npm is not installed: skipping the squawk comparison (apt-get install npm)" >&2
fi

# race DIR NAME CMD... -- NAME CMD...: best wall time of RUNS runs of each
# command, round-robin so the machine's load falls on every tool alike, and
# peak RSS (bench/lint/race.py); a JSON object by name.
RUNS=${RUNS:-9}
race() { local dir=$1; shift; python3 "$here/race.py" "$RUNS" "$dir" -- "$@"; }
field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]][sys.argv[3]])" "$@"; }

files=("$corpus"/*.sql)
# Same settings for both: PostgreSQL 15, no assumed timeouts.
printf 'lint:\n  pg_version: 15\n' >"$corpus/.colshift.yaml"
(cd "$corpus" && "$COLSHIFT" lint --format json "${files[@]}" >"$work/colshift.json" || true)
sq_args=()
if [[ -n $squawk ]]; then
  sq_version=$("$squawk" --version 2>/dev/null | head -1 || echo "squawk")
  sq_args=(-- squawk "$squawk" --pg-version 15 --reporter json "${files[@]}")
  "$squawk" --pg-version 15 --reporter json "${files[@]}" >"$work/squawk.json" 2>/dev/null || true
fi
gen=$(race "$corpus" colshift "$COLSHIFT" lint --format json "${files[@]}" \
  -- colshift1 "$COLSHIFT" lint --jobs 1 --format json "${files[@]}" "${sq_args[@]}")
cs_time=$(field "$gen" colshift time)
cs_time_1=$(field "$gen" colshift1 time)
sq_time=""
[[ -n $squawk ]] && sq_time=$(field "$gen" squawk time)

python3 "$here/compare.py" "$work/colshift.json" "${squawk:+$work/squawk.json}" \
  --files "${#files[@]}" --summary "$summary" --colshift-time "$cs_time" \
  --colshift-time-1 "$cs_time_1" --cores "$(nproc)" --runs "$RUNS" \
  --colshift-rss "$(field "$gen" colshift rss)" --colshift-rss-1 "$(field "$gen" colshift1 rss)" \
  --squawk-time "${sq_time:-}" --squawk-version "${sq_version:-}" \
  --squawk-rss "$([[ -n $squawk ]] && field "$gen" squawk rss)" >"$results"

rm -rf "$real"
real_summary=$(python3 "$here/real_corpus.py" "$real" "${REAL_MIGRATIONS:-600}")
echo "real-shaped corpus: $real_summary" >&2
mapfile -t real_files < <(cd "$real" && find . -name '*.sql' | sort)
n_real=${#real_files[@]}
sq_real=()
[[ -n $squawk ]] && sq_real=(-- squawk "$squawk" --reporter json "${real_files[@]}")
realt=$(race "$real" colshift "$COLSHIFT" lint --format json "${real_files[@]}" \
  -- colshift1 "$COLSHIFT" lint --jobs 1 --format json "${real_files[@]}" "${sq_real[@]}")
{
  echo
  echo "## Real-world-shaped corpus"
  echo
  echo "Corpus: $real_summary. Default settings for both tools (colshift: target"
  echo "PostgreSQL 15, transactions detected from the layout); best wall time of $RUNS runs, the"
  echo "tools taking turns; peak RSS of the largest run. squawk is its native binary, called directly."
  echo
  echo "| tool | time (s) | files/s | peak RSS (MB) |"
  echo "| --- | --- | --- | --- |"
  python3 - "$realt" "$n_real" "${sq_version:-}" <<'PY'
import json, sys
r, n, version = json.loads(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
rows = [("colshift", "colshift"), ("colshift1", "colshift --jobs 1"), ("squawk", f"squawk ({version})")]
for key, label in rows:
    if key in r:
        print(f"| {label} | {r[key]['time']:.3f} | {n / r[key]['time']:.0f} | {r[key]['rss']} |")
if "squawk" in r:
    st = r["squawk"]["time"]
    print(f"\ncolshift / squawk: **{st / r['colshift']['time']:.2f}x** with default settings, "
          f"**{st / r['colshift1']['time']:.2f}x** on one thread.")
PY
  echo
  echo "## Precision sample"
  echo
  echo "colshift's findings on the real-world-shaped corpus, at most 5 per rule, fixed seed;"
  echo "each judged by hand (bench/lint/precision-verdicts.tsv): TRUE (a real hazard or"
  echo "failure for this statement as the runner runs it), DEBATABLE (true but the team may"
  echo "reasonably accept it), NOISE (wrong, or not worth saying)."
  echo
  (cd "$real" && "$COLSHIFT" lint --format json "${real_files[@]}" >"$work/real.json" || true)
  python3 "$here/precision.py" "$work/real.json" "$real" "$here/precision-verdicts.tsv"
} >>"$results"
cat "$results"
