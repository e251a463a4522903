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

// Validates a URL or keyword string without connecting. Throws
// Error(kBadInput) naming the problem (the password is never echoed).
void check_conninfo(const std::string& conninfo);

// When on, every statement any PgConnection runs is written to stderr first
// ("sql: ..."); --verbose turns it on. Thread-safe.
void set_statement_log(bool on);

// Returns conninfo with any password replaced by "****", for messages.
std::string redact_conninfo(const std::string& conninfo);

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

 private:
  explicit PgConnection(pg_conn* conn);
  [[noreturn]] void throw_error(const void* result, std::string_view sql, bool committing);

  pg_conn* conn_;
  std::mutex cancel_mu_;  // guards cancel_
  pg_cancel* cancel_ = nullptr;
};

}  // namespace colshift::pg
