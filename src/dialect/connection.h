// The narrow interface through which colshift reaches a database.
//
// Everything above this layer (state, runner, backfill) talks to a Connection;
// pg/ implements it with libpq, and an SQLite or MySQL connection can follow.
// SQL text passed here is the dialect's own; Dialect (dialect.h) builds it.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.h"

namespace colshift {

using Param = std::optional<std::string>;  // nullopt binds SQL NULL
using Params = std::vector<Param>;

// A fully materialised result: small, copyable, independent of the driver.
class QueryResult {
 public:
  QueryResult() = default;
  QueryResult(std::vector<std::string> columns, std::vector<std::vector<Param>> rows,
              long long affected)
      : columns_(std::move(columns)), rows_(std::move(rows)), affected_(affected) {}

  size_t size() const { return rows_.size(); }
  bool empty() const { return rows_.empty(); }
  const std::vector<std::string>& columns() const { return columns_; }
  const std::vector<Param>& row(size_t r) const { return rows_.at(r); }
  // The value at (row, column); nullopt for SQL NULL.
  const Param& at(size_t r, size_t c) const { return rows_.at(r).at(c); }
  // The value at (row, named column). REQUIRES: the column exists.
  const Param& at(size_t r, std::string_view column) const;
  // The non-null text at (r, c), or `fallback` when NULL.
  std::string text(size_t r, size_t c, std::string fallback = {}) const;
  long long integer(size_t r, size_t c, long long fallback = 0) const;
  bool boolean(size_t r, size_t c) const;  // 't'/'true'/'1' -> true
  // Rows affected by an INSERT/UPDATE/DELETE; -1 when not applicable.
  long long affected() const { return affected_; }

 private:
  std::vector<std::string> columns_;
  std::vector<std::vector<Param>> rows_;
  long long affected_ = -1;
};

// How a database error should be handled. The one place that maps driver
// error codes to this is the dialect's classify function (pg/sqlstate.h).
enum class DbErrorClass {
  kRetryable,       // lock_not_available, deadlock_detected, serialization_failure
  kConnectionLost,  // the session is gone; reconnect before anything else
  kCanceled,        // statement_timeout or a cancel request
  kUserError,       // the SQL or the schema is wrong (undefined table/column, syntax, ...)
  kConstraint,      // a check/not-null/unique/foreign-key violation
  kOther,
};

class DbError : public Error {
 public:
  DbError(std::string message, std::string code, DbErrorClass cls, std::string statement,
          std::string hint = {}, bool in_doubt = false, int position = 0)
      : Error(cls == DbErrorClass::kConnectionLost ? ErrorKind::kConnection
              : cls == DbErrorClass::kRetryable    ? ErrorKind::kLockTimeout
                                                   : ErrorKind::kChangeFailed,
              std::move(message), std::move(statement), std::move(hint)),
        code_(std::move(code)),
        cls_(cls),
        in_doubt_(in_doubt),
        position_(position) {}

  const std::string& code() const { return code_; }  // SQLSTATE or driver code
  DbErrorClass error_class() const { return cls_; }
  bool retryable() const { return cls_ == DbErrorClass::kRetryable; }
  bool connection_lost() const { return cls_ == DbErrorClass::kConnectionLost; }
  // True when the connection was lost while COMMIT was in flight: the
  // transaction may or may not have committed. Settle by reading state, never
  // by blind retry.
  bool in_doubt() const { return in_doubt_; }
  // Where in the statement the server found the error: a 1-based character
  // (not byte) index into the SQL text as sent, 0 when it named none
  // (PostgreSQL: PG_DIAG_STATEMENT_POSITION). where() holds only the
  // statement's first line; the caller knows the whole text it sent.
  int position() const { return position_; }

 private:
  std::string code_;
  DbErrorClass cls_;
  bool in_doubt_;
  int position_;
};

class Connection {
 public:
  virtual ~Connection() = default;

  // Runs one statement with bound parameters ($1, $2, ... in PostgreSQL).
  // Throws DbError on failure (the transaction, if any, is then aborted).
  virtual QueryResult exec(std::string_view sql, const Params& params = {}) = 0;

  // Runs one or more statements without parameters (simple protocol).
  virtual void exec_script(std::string_view sql) = 0;

  // The server's version as an integer, e.g. 150004 for 15.4.
  virtual int server_version() const = 0;
  // The server's process id for this session.
  virtual int backend_pid() const = 0;
  // "user@host:port/dbname", never with a password: safe for messages.
  virtual std::string describe() const = 0;
  // True while the session is usable.
  virtual bool alive() const = 0;
  // Ask the server to cancel what this connection is running (thread-safe).
  virtual void cancel() = 0;
  // Fault injection (util/fault.h): cut the link to the server as a network
  // failure would; the next statement fails with a lost connection.
  virtual void sever() {}
  // Waits up to `timeout` for notifications on the channels this session
  // LISTENs to; returns their payloads, oldest first (empty on timeout).
  // Throws DbError (kConnectionLost) when the session is gone.
  virtual std::vector<std::string> wait_notifications(std::chrono::milliseconds timeout) = 0;
};

}  // namespace colshift
