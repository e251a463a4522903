#include "pg/pg_connection.h"

#include <fmt/format.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdlib>
#include <iostream>

#include "pg/libpq.h"
#include "pg/sqlstate.h"

namespace colshift::pg {
namespace {

// Owner of a PGresult.
struct ResultDeleter {
  void operator()(PGresult* r) const { libpq().PQclear(r); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

bool is_commit(std::string_view sql) {
  std::string s(sql.substr(0, 16));
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::toupper(c); });
  return s.rfind("COMMIT", 0) == 0 || s.rfind("END", 0) == 0;
}

std::string first_line(std::string_view sql) {
  std::string s(sql);
  auto nl = s.find('\n');
  if (nl != std::string::npos) s = s.substr(0, nl) + " ...";
  if (s.size() > 200) s = s.substr(0, 200) + " ...";
  return s;
}

std::atomic<bool> g_statement_log{false};

void log_statement(std::string_view sql) {
  if (!g_statement_log.load(std::memory_order_relaxed)) return;
  std::string line = "sql: " + std::string(sql) + "\n";
  std::cerr << line << std::flush;
}

}  // namespace

void set_statement_log(bool on) { g_statement_log = on; }

std::unique_ptr<PgConnection> PgConnection::connect(const ConnectOptions& options) {
  check_conninfo(options.conninfo);
  std::string timeout = std::to_string(options.connect_timeout_s);
  // expand_dbname=1 lets "dbname" carry a full URL or keyword string; the
  // later keywords only fill what it leaves unset.
  const char* keys[] = {"dbname", "fallback_application_name", "connect_timeout", nullptr};
  const char* vals[] = {options.conninfo.empty() ? nullptr : options.conninfo.c_str(),
                        options.application_name.c_str(), timeout.c_str(), nullptr};
  PGconn* conn = libpq().PQconnectdbParams(keys, vals, 1);
  if (conn == nullptr) throw Error(ErrorKind::kConnection, "out of memory connecting to database");
  if (libpq().PQstatus(conn) != CONNECTION_OK) {
    std::string msg = redact_message(trim(libpq().PQerrorMessage(conn)), options.conninfo);
    libpq().PQfinish(conn);
    std::string target = options.conninfo.empty() ? "(from PG* environment variables)"
                                                  : redact_conninfo(options.conninfo);
    throw DbError("cannot connect to the database: " + msg, "08001", DbErrorClass::kConnectionLost,
                  target,
                  "check --db / DATABASE_URL, that the server is running, and that it accepts "
                  "connections from this host");
  }
  libpq().PQsetNoticeProcessor(
      conn, [](void*, const char*) {}, nullptr);
  return std::unique_ptr<PgConnection>(new PgConnection(conn));
}

PgConnection::PgConnection(pg_conn* conn) : conn_(conn) { cancel_ = libpq().PQgetCancel(conn_); }

PgConnection::~PgConnection() {
  {
    std::lock_guard<std::mutex> lock(cancel_mu_);
    if (cancel_) libpq().PQfreeCancel(cancel_);
    cancel_ = nullptr;
  }
  if (conn_) libpq().PQfinish(conn_);
}

void PgConnection::throw_error(const void* result_ptr, std::string_view sql, bool committing) {
  auto* result = static_cast<const PGresult*>(result_ptr);
  std::string code;
  std::string msg;
  std::string detail;
  std::string hint;
  int position = 0;
  if (result) {
    const char* c = libpq().PQresultErrorField(result, PG_DIAG_SQLSTATE);
    if (c) code = c;
    const char* m = libpq().PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
    msg = m ? m : trim(libpq().PQresultErrorMessage(result));
    const char* d = libpq().PQresultErrorField(result, PG_DIAG_MESSAGE_DETAIL);
    if (d) detail = d;
    const char* h = libpq().PQresultErrorField(result, PG_DIAG_MESSAGE_HINT);
    if (h) hint = h;
    const char* p = libpq().PQresultErrorField(result, PG_DIAG_STATEMENT_POSITION);
    if (p) position = std::atoi(p);
  }
  if (msg.empty()) msg = trim(libpq().PQerrorMessage(conn_));
  bool lost = libpq().PQstatus(conn_) == CONNECTION_BAD;
  if (code.empty() && lost) code = "08006";
  DbErrorClass cls = lost ? DbErrorClass::kConnectionLost : classify_sqlstate(code);
  if (!detail.empty()) msg += " (" + detail + ")";
  bool in_doubt = committing && cls == DbErrorClass::kConnectionLost;
  throw DbError(msg, code, cls, first_line(sql), hint, in_doubt, position);
}

QueryResult PgConnection::exec(std::string_view sql, const Params& params) {
  log_statement(sql);
  std::string text(sql);
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  ResultPtr res(libpq().PQexecParams(conn_, text.c_str(), static_cast<int>(params.size()), nullptr,
                                     values.data(), nullptr, nullptr, 0));
  auto status = res ? libpq().PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    throw_error(res.get(), sql, is_commit(sql));
  }
  int nrows = libpq().PQntuples(res.get());
  int ncols = libpq().PQnfields(res.get());
  std::vector<std::string> columns;
  columns.reserve(ncols);
  for (int c = 0; c < ncols; ++c) columns.emplace_back(libpq().PQfname(res.get(), c));
  std::vector<std::vector<Param>> rows(nrows);
  for (int r = 0; r < nrows; ++r) {
    rows[r].reserve(ncols);
    for (int c = 0; c < ncols; ++c) {
      if (libpq().PQgetisnull(res.get(), r, c)) {
        rows[r].emplace_back(std::nullopt);
      } else {
        rows[r].emplace_back(
            std::string(libpq().PQgetvalue(res.get(), r, c),
                        static_cast<size_t>(libpq().PQgetlength(res.get(), r, c))));
      }
    }
  }
  long long affected = -1;
  const char* tuples = libpq().PQcmdTuples(res.get());
  if (tuples && *tuples) affected = std::stoll(tuples);
  return QueryResult(std::move(columns), std::move(rows), affected);
}

void PgConnection::exec_script(std::string_view sql) {
  log_statement(sql);
  std::string text(sql);
  if (!libpq().PQsendQuery(conn_, text.c_str())) throw_error(nullptr, sql, false);
  // Drain every result; report the first error.
  ResultPtr first_error;
  while (PGresult* r = libpq().PQgetResult(conn_)) {
    ResultPtr res(r);
    auto status = libpq().PQresultStatus(r);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK && status != PGRES_EMPTY_QUERY &&
        !first_error) {
      first_error = std::move(res);
    }
  }
  if (first_error || libpq().PQstatus(conn_) == CONNECTION_BAD) {
    throw_error(first_error.get(), sql, is_commit(sql));
  }
}

int PgConnection::server_version() const { return libpq().PQserverVersion(conn_); }
int PgConnection::backend_pid() const { return libpq().PQbackendPID(conn_); }

std::string PgConnection::describe() const {
  const char* host = libpq().PQhost(conn_);
  std::string h = host ? host : "";
  if (!h.empty() && h[0] == '/') h = "[" + h + "]";
  return fmt::format("{}@{}:{}/{}", libpq().PQuser(conn_), h, libpq().PQport(conn_),
                     libpq().PQdb(conn_));
}

std::vector<std::string> PgConnection::wait_notifications(std::chrono::milliseconds timeout) {
  std::vector<std::string> out;
  auto lost = [&] {
    return DbError(libpq().PQerrorMessage(conn_), "08006", DbErrorClass::kConnectionLost,
                   "waiting for notifications");
  };
  auto drain = [&] {
    if (!libpq().PQconsumeInput(conn_)) throw lost();
    while (PGnotify* n = libpq().PQnotifies(conn_)) {
      out.emplace_back(n->extra ? n->extra : "");
      libpq().PQfreemem(n);
    }
  };
  drain();
  if (!out.empty()) return out;
  pollfd pfd{libpq().PQsocket(conn_), POLLIN, 0};
  if (pfd.fd < 0) throw lost();
  if (poll(&pfd, 1, static_cast<int>(timeout.count())) > 0) drain();
  return out;
}

bool PgConnection::alive() const { return libpq().PQstatus(conn_) == CONNECTION_OK; }

void PgConnection::cancel() {
  std::lock_guard<std::mutex> lock(cancel_mu_);
  if (!cancel_) return;
  char err[256];
  libpq().PQcancel(cancel_, err, sizeof err);
}

void PgConnection::sever() {
  int fd = libpq().PQsocket(conn_);
  if (fd >= 0) shutdown(fd, SHUT_RDWR);
}

}  // namespace colshift::pg
