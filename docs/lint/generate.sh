#!/usr/bin/env bash
# Regenerates docs/lint/RULE-ID.md from the rule catalogue (src/lint/rules_*.cc)
# and the rule table in docs/lint/README.md between its RULES markers.
#   docs/lint/generate.sh [path/to/colshift]
set -euo pipefail
cd "$(dirname "$0")"
bin=${1:-../../build/colshift}
for id in $("$bin" lint --explain all | awk '{print $1}'); do
  "$bin" lint --explain "$id" --format markdown >"$id.md"
done
table=$("$bin" lint --explain all --format markdown)
python3 - "$table" <<'PY'
import sys, re
p = "README.md"
s = open(p).read()
s = re.sub(r"(<!-- RULES -->\n).*?(<!-- /RULES -->)", lambda m: m.group(1) + sys.argv[1] + "\n" + m.group(2), s, flags=re.S)
open(p, "w").write(s)
PY
