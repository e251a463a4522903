// libpq implementation of Connection.
//
// A PgConnection owns one PGconn (move-only, closed in the destructor). It is
// not thread-safe, except cancel(), which may be called from any thread.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "dialect/connection.h"

struct pg_conn;
struct pg_cancel;

namespace colshift::pg {

struct ConnectOptions {
  std::string conninfo;  // URL or keyword string; empty -> libpq's PG* variables
  std::string application_name = "colshift";
  int connect_timeout_s = 10;
};

// Validates a URL or keyword string without connecting (conninfo.cc). Throws
// Error(kBadInput) naming the problem (the password is never echoed).
void check_conninfo(const std::string& conninfo);

// When on, every statement any PgConnection runs is written to stderr first
// ("sql: ..."); --verbose turns it on. Thread-safe.
void set_statement_log(bool on);

// Returns conninfo with any password replaced by "****", for messages: in a
// keyword string (any case, spaces around '=', quoted or escaped values) and
// in a URL (user:password@, also percent-encoded or with an unencoded '@' or
// '/', and ?password= with the key percent-encoded or not). When libpq would
// still read a password from the result, a placeholder instead.
std::string redact_conninfo(const std::string& conninfo);

// Returns `message` (libpq's, or ours) with every quoted token that is part of
// conninfo's password, or holds a piece of it, replaced by "****": libpq's
// parse errors quote the text they stumbled on, and a misread password can
// turn up as a host name or port.
std::string redact_message(const std::string& message, const std::string& conninfo);

class PgConnection final : public Connection {
 public:
  // Connects or throws: Error(kBadInput) for a malformed URL, DbError
  // (kConnectionLost) when the server cannot be reached or refuses us.
  static std::unique_ptr<PgConnection> connect(const ConnectOptions& options);

  ~PgConnection() override;
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  QueryResult exec(std::string_view sql, const Params& params = {}) override;
  void exec_script(std::string_view sql) override;
  int server_version() const override;
  int backend_pid() const override;
  std::string describe() const override;
  bool alive() const override;
  void cancel() override;
  void sever() override;
  std::vector<std::string> wait_notifications(std::chrono::milliseconds timeout) override;

 private:
  explicit PgConnection(pg_conn* conn);
  [[noreturn]] void throw_error(const void* result, std::string_view sql, bool committing);

  pg_conn* conn_;
  std::mutex cancel_mu_;  // guards cancel_
  pg_cancel* cancel_ = nullptr;
};

}  // namespace colshift::pg
