# Sourced by the bench scripts: a work directory and a private PostgreSQL of
# the script's own, stopped on exit, failure or Ctrl-C; the directory is
# removed after a clean run (kept on failure, or always with BENCH_KEEP=1).
#
#   bench_start NAME      sets WORK and PORT
#   bench_before_stop()   if the script defines it, runs first on exit
#                         (stop a load generator, say)

bench_cleanup() {
  local rc=$?
  trap - EXIT
  if declare -F bench_before_stop >/dev/null; then bench_before_stop || true; fi
  "$ROOT/scripts/pg-private.sh" stop "$WORK/pg" || true
  if ((rc == 0)) && [[ -z ${BENCH_KEEP:-} ]]; then rm -rf "$WORK"; else echo "bench files kept in $WORK" >&2; fi
  exit "$rc"
}

bench_start() {
  WORK=$(mktemp -d "/tmp/colshift-bench-$1.XXXXXX")
  chmod 755 "$WORK"
  trap bench_cleanup EXIT
  trap 'exit 130' INT TERM
  # Autovacuum runs are logged (checkpoints are by default) so a stall in the
  # app's latency can be matched to what the server did then (BENCH_KEEP=1).
  PORT=$("$ROOT/scripts/pg-private.sh" start "$WORK/pg" "log_autovacuum_min_duration = 0")
}
