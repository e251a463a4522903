#include "pg/pg_connection.h"

#include <fmt/format.h>
#include <libpq-fe.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdlib>
#include <iostream>

#include "pg/sqlstate.h"

namespace colshift::pg {
namespace {

// Owner of a PGresult.
struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
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
  PGconn* conn = PQconnectdbParams(keys, vals, 1);
  if (conn == nullptr) throw Error(ErrorKind::kConnection, "out of memory connecting to database");
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string msg = redact_message(trim(PQerrorMessage(conn)), options.conninfo);
    PQfinish(conn);
    std::string target = options.conninfo.empty() ? "(from PG* environment variables)"
                                                  : redact_conninfo(options.conninfo);
    throw DbError("cannot connect to the database: " + msg, "08001", DbErrorClass::kConnectionLost,
                  target,
                  "check --db / DATABASE_URL, that the server is running, and that it accepts "
                  "connections from this host");
  }
  PQsetNoticeProcessor(
      conn, [](void*, const char*) {}, nullptr);
  return std::unique_ptr<PgConnection>(new PgConnection(conn));
}

PgConnection::PgConnection(pg_conn* conn) : conn_(conn) { cancel_ = PQgetCancel(conn_); }

PgConnection::~PgConnection() {
  {
    std::lock_guard<std::mutex> lock(cancel_mu_);
    if (cancel_) PQfreeCancel(cancel_);
    cancel_ = nullptr;
  }
  if (conn_) PQfinish(conn_);
}

void PgConnection::throw_error(const void* result_ptr, std::string_view sql, bool committing) {
  auto* result = static_cast<const PGresult*>(result_ptr);
  std::string code;
  std::string msg;
  std::string detail;
  std::string hint;
  int position = 0;
  if (result) {
    const char* c = PQresultErrorField(result, PG_DIAG_SQLSTATE);
    if (c) code = c;
    const char* m = PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
    msg = m ? m : trim(PQresultErrorMessage(result));
    const char* d = PQresultErrorField(result, PG_DIAG_MESSAGE_DETAIL);
    if (d) detail = d;
    const char* h = PQresultErrorField(result, PG_DIAG_MESSAGE_HINT);
    if (h) hint = h;
    const char* p = PQresultErrorField(result, PG_DIAG_STATEMENT_POSITION);
    if (p) position = std::atoi(p);
  }
  if (msg.empty()) msg = trim(PQerrorMessage(conn_));
  bool lost = PQstatus(conn_) == CONNECTION_BAD;
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
  ResultPtr res(PQexecParams(conn_, text.c_str(), static_cast<int>(params.size()), nullptr,
                             values.data(), nullptr, nullptr, 0));
  auto status = res ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    throw_error(res.get(), sql, is_commit(sql));
  }
  int nrows = PQntuples(res.get());
  int ncols = PQnfields(res.get());
  std::vector<std::string> columns;
  columns.reserve(ncols);
  for (int c = 0; c < ncols; ++c) columns.emplace_back(PQfname(res.get(), c));
  std::vector<std::vector<Param>> rows(nrows);
  for (int r = 0; r < nrows; ++r) {
    rows[r].reserve(ncols);
    for (int c = 0; c < ncols; ++c) {
      if (PQgetisnull(res.get(), r, c)) {
        rows[r].emplace_back(std::nullopt);
      } else {
        rows[r].emplace_back(std::string(PQgetvalue(res.get(), r, c),
                                         static_cast<size_t>(PQgetlength(res.get(), r, c))));
      }
    }
  }
  long long affected = -1;
  const char* tuples = PQcmdTuples(res.get());
  if (tuples && *tuples) affected = std::stoll(tuples);
  return QueryResult(std::move(columns), std::move(rows), affected);
}

void PgConnection::exec_script(std::string_view sql) {
  log_statement(sql);
  std::string text(sql);
  if (!PQsendQuery(conn_, text.c_str())) throw_error(nullptr, sql, false);
  // Drain every result; report the first error.
  ResultPtr first_error;
  while (PGresult* r = PQgetResult(conn_)) {
    ResultPtr res(r);
    auto status = PQresultStatus(r);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK && status != PGRES_EMPTY_QUERY &&
        !first_error) {
      first_error = std::move(res);
    }
  }
  if (first_error || PQstatus(conn_) == CONNECTION_BAD) {
    throw_error(first_error.get(), sql, is_commit(sql));
  }
}

int PgConnection::server_version() const { return PQserverVersion(conn_); }
int PgConnection::backend_pid() const { return PQbackendPID(conn_); }

std::string PgConnection::describe() const {
  const char* host = PQhost(conn_);
  std::string h = host ? host : "";
  if (!h.empty() && h[0] == '/') h = "[" + h + "]";
  return fmt::format("{}@{}:{}/{}", PQuser(conn_), h, PQport(conn_), PQdb(conn_));
}

std::vector<std::string> PgConnection::wait_notifications(std::chrono::milliseconds timeout) {
  std::vector<std::string> out;
  auto lost = [&] {
    return DbError(PQerrorMessage(conn_), "08006", DbErrorClass::kConnectionLost,
                   "waiting for notifications");
  };
  auto drain = [&] {
    if (!PQconsumeInput(conn_)) throw lost();
    while (PGnotify* n = PQnotifies(conn_)) {
      out.emplace_back(n->extra ? n->extra : "");
      PQfreemem(n);
    }
  };
  drain();
  if (!out.empty()) return out;
  pollfd pfd{PQsocket(conn_), POLLIN, 0};
  if (pfd.fd < 0) throw lost();
  if (poll(&pfd, 1, static_cast<int>(timeout.count())) > 0) drain();
  return out;
}

bool PgConnection::alive() const { return PQstatus(conn_) == CONNECTION_OK; }

void PgConnection::cancel() {
  std::lock_guard<std::mutex> lock(cancel_mu_);
  if (!cancel_) return;
  char err[256];
  PQcancel(cancel_, err, sizeof err);
}

void PgConnection::sever() {
  int fd = PQsocket(conn_);
  if (fd >= 0) shutdown(fd, SHUT_RDWR);
}

}  // namespace colshift::pg
