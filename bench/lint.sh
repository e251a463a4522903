#!/usr/bin/env bash
# colshift lint vs squawk on the same generated corpus, in one run.
#
#   COLSHIFT=path/to/colshift ROOT=repo bench/lint.sh [FILES] [STATEMENTS_PER_FILE]
#
# Writes bench/results/lint.md: files/s of each tool (best of 7 runs over the
# whole corpus, one process each), the ratio, and per squawk rule how many of
# its findings colshift also reports on the same statement, with the reason
# for every one it does not. squawk comes from the npm package squawk-cli,
# installed into bench/lint/node_modules when missing; without npm the
# comparison is skipped with a message and only colshift is measured.
set -euo pipefail
ROOT=${ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
COLSHIFT=$(realpath "${COLSHIFT:-$ROOT/build/colshift}")
FILES=${1:-250}
PER_FILE=${2:-12}
here=$ROOT/bench/lint
corpus=$here/corpus
results=$ROOT/bench/results/lint.md
mkdir -p "$ROOT/bench/results"

rm -rf "$corpus"
summary=$(python3 "$here/gen_corpus.py" "$corpus" "$FILES" "$PER_FILE")
echo "corpus: $summary" >&2

squawk=""
if [[ -x $here/node_modules/.bin/squawk ]]; then
  squawk=$here/node_modules/.bin/squawk
elif command -v npm >/dev/null 2>&1; then
  echo "installing squawk-cli into bench/lint/node_modules" >&2
  if (cd "$here" && npm install --silent --no-audit --no-fund squawk-cli >/dev/null 2>&1); then
    squawk=$here/node_modules/.bin/squawk
  else
    echo "npm install squawk-cli failed: skipping the squawk comparison" >&2
  fi
else
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
(cd "$corpus" && "$COLSHIFT" lint --format json "${files[@]}" >"$here/colshift.json" || true)
sq_time=""
if [[ -n $squawk ]]; then
  sq_version=$("$squawk" --version 2>/dev/null | head -1 || echo "squawk")
  sq_time=$(best_time "$squawk" --pg-version 15 --reporter json "${files[@]}")
  "$squawk" --pg-version 15 --reporter json "${files[@]}" >"$here/squawk.json" 2>/dev/null || true
fi

python3 "$here/compare.py" "$here/colshift.json" "${squawk:+$here/squawk.json}" \
  --files "${#files[@]}" --summary "$summary" --colshift-time "$cs_time" \
  --colshift-time-1 "$cs_time_1" --cores "$(nproc)" \
  --squawk-time "${sq_time:-}" --squawk-version "${sq_version:-}" >"$results"
cat "$results"
