// The migration lock: a session advisory lock on a connection of its own.
#include <fmt/format.h>

#include "run/runner.h"
#include "util/error.h"

namespace colshift::run {

MigrationLock::MigrationLock(std::unique_ptr<Connection> conn, const Dialect& dialect,
                             const std::string& schema)
    : dialect_(dialect), conn_(std::move(conn)), key_sql_(state::migration_lock_key(schema)) {
  acquire();
}

bool MigrationLock::held() {
  try {
    conn_->exec("SELECT 1");
    return true;
  } catch (const DbError& e) {
    if (!e.connection_lost()) throw;
    return false;
  }
}

void MigrationLock::retake(std::unique_ptr<Connection> conn) {
  cancel_.reset();
  conn_ = std::move(conn);
  acquire();
}

void MigrationLock::acquire() {
  cancel_ = std::make_unique<interrupt::CancelOnInterrupt>(*conn_);
  // (prepare_session refused a pooled connection before this.)
  if (conn_->exec("SELECT pg_try_advisory_lock(" + key_sql_ + ")").boolean(0, 0)) return;
  auto r = conn_->exec(
      "SELECT a.pid, coalesce(a.application_name, ''), coalesce(host(a.client_addr), 'local'), "
      "to_char(a.backend_start, 'YYYY-MM-DD HH24:MI:SS') FROM pg_locks l "
      "JOIN pg_stat_activity a ON a.pid = l.pid WHERE " +
      state::advisory_lock_match("l") +
      " AND l.granted AND ((l.classid::bigint << 32) | l.objid::bigint) = (" + key_sql_ +
      ") LIMIT 1");
  std::string who = r.empty() ? "another session"
                              : fmt::format("backend pid {} ({}, from {}, since {})", r.text(0, 0),
                                            r.text(0, 1), r.text(0, 2), r.text(0, 3));
  throw Error(ErrorKind::kConflict,
              fmt::format("another colshift is changing this database right now: {}", who), {},
              "wait for it to finish ('colshift status' shows what it does); only one migration "
              "command runs at a time");
}

MigrationLock::~MigrationLock() {
  cancel_.reset();
  try {
    if (conn_ && conn_->alive()) conn_->exec("SELECT pg_advisory_unlock(" + key_sql_ + ")");
  } catch (...) {
  }
}

}  // namespace colshift::run
