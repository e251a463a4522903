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

# best_time CMD...: best wall time in seconds of 7 runs (exit codes ignored).
best_time() {
  local best=""
  for _ in 1 2 3 4 5 6 7; do
    local t0 t1
    t0=$(date +%s.%N)
    "$@" >/dev/null 2>&1 || true
    t1=$(date +%s.%N)
    best=$(python3 -c "a='$best'; d=$t1-$t0; print(d if not a else min(float(a), d))")
  done
  echo "$best"
}

files=("$corpus"/*.sql)
# Same settings for both: PostgreSQL 15, no assumed timeouts.
printf 'lint:\n  pg_version: 15\n' >"$corpus/.colshift.yaml"
cs_time=$(cd "$corpus" && best_time "$COLSHIFT" lint --format json "${files[@]}")
cs_time_1=$(cd "$corpus" && best_time "$COLSHIFT" lint --jobs 1 --format json "${files[@]}")
(cd "$corpus" && "$COLSHIFT" lint --format json "${files[@]}" >"$work/colshift.json" || true)
sq_time=""
if [[ -n $squawk ]]; then
  sq_version=$("$squawk" --version 2>/dev/null | head -1 || echo "squawk")
  sq_time=$(best_time "$squawk" --pg-version 15 --reporter json "${files[@]}")
  "$squawk" --pg-version 15 --reporter json "${files[@]}" >"$work/squawk.json" 2>/dev/null || true
fi

python3 "$here/compare.py" "$work/colshift.json" "${squawk:+$work/squawk.json}" \
  --files "${#files[@]}" --summary "$summary" --colshift-time "$cs_time" \
  --colshift-time-1 "$cs_time_1" --cores "$(nproc)" \
  --squawk-time "${sq_time:-}" --squawk-version "${sq_version:-}" >"$results"

# peak_rss CMD...: peak resident set size in MB of one run.
peak_rss() {
  /usr/bin/time -f '%M' -o "$work/rss" "$@" >/dev/null 2>&1 || true
  python3 -c "print(round(int(open('$work/rss').read().split()[-1]) / 1024, 1))"
}

rm -rf "$real"
real_summary=$(python3 "$here/real_corpus.py" "$real" "${REAL_MIGRATIONS:-600}")
echo "real-shaped corpus: $real_summary" >&2
mapfile -t real_files < <(cd "$real" && find . -name '*.sql' | sort)
n_real=${#real_files[@]}
rt=$(cd "$real" && best_time "$COLSHIFT" lint --format json "${real_files[@]}")
rt1=$(cd "$real" && best_time "$COLSHIFT" lint --jobs 1 --format json "${real_files[@]}")
rm=$(cd "$real" && peak_rss "$COLSHIFT" lint --format json "${real_files[@]}")
{
  echo
  echo "## Real-world-shaped corpus"
  echo
  echo "Corpus: $real_summary. Default settings for both tools (colshift: target"
  echo "PostgreSQL 15, transactions detected from the layout); best wall time of 7 runs; peak"
  echo "RSS of one run (/usr/bin/time). squawk is its native binary, called directly."
  echo
  echo "| tool | time (s) | files/s | peak RSS (MB) |"
  echo "| --- | --- | --- | --- |"
  python3 -c "print(f'| colshift | {$rt:.3f} | {$n_real / $rt:.0f} | $rm |')"
  python3 -c "print(f'| colshift --jobs 1 | {$rt1:.3f} | {$n_real / $rt1:.0f} | - |')"
  if [[ -n $squawk ]]; then
    st=$(cd "$real" && best_time "$squawk" --reporter json "${real_files[@]}")
    sm=$(cd "$real" && peak_rss "$squawk" --reporter json "${real_files[@]}")
    python3 -c "print(f'| squawk ({\"$sq_version\"}) | {$st:.3f} | {$n_real / $st:.0f} | $sm |')"
    echo
    python3 -c "print(f'colshift / squawk: **{$st / $rt:.2f}x** with default settings, **{$st / $rt1:.2f}x** on one thread.')"
  fi
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
