// Shared scaffolding for the Core* integration tests (issue 2: add a column to
// a live PostgreSQL table with zero downtime). Everything runs the real
// colshift binary against the private PostgreSQL of ./run test.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/pg_fixture.h"

namespace colshift::testing {

inline std::string describe(const RunResult& r) {
  return "exit " + std::to_string(r.exit_code) + "\n--- stdout\n" + r.out + "\n--- stderr\n" +
         r.err;
}

inline std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A colshift process started in the background; killed (SIGKILL) and reaped
// on destruction if still running, so no test leaves one behind.
class Spawned {
 public:
  Spawned(const std::vector<std::string>& args, const std::string& url, const std::string& log)
      : log_(log), pid_(spawn_colshift(args, url, log)) {}
  ~Spawned() { kill9(); }
  Spawned(const Spawned&) = delete;
  Spawned& operator=(const Spawned&) = delete;

  int pid() const { return pid_; }
  bool running() {
    if (reaped_) return false;
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      reaped_ = true;
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return false;
    }
    return true;
  }
  void kill9() {
    if (reaped_) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    reaped_ = true;
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  // Waits for the process to exit (at most `limit`); returns its exit code.
  int wait(std::chrono::seconds limit = std::chrono::seconds(60)) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (running() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (!reaped_) kill9();
    return exit_code_;
  }
  std::string output() const { return read_text(log_) + read_text(log_ + ".err"); }

 private:
  std::string log_;
  int pid_;
  bool reaped_ = false;
  int exit_code_ = -1;
};

// A database of its own for one case of a test that needs many, dropped
// afterwards.
class CaseDb {
 public:
  explicit CaseDb(const std::string& name) : name_(name) {
    auto admin = pg::PgConnection::connect({test_url("postgres")});
    admin->exec("CREATE DATABASE " + name_);
    url_ = test_url(name_);
    conn_ = pg::PgConnection::connect({url_});
  }
  ~CaseDb() {
    conn_.reset();
    try {
      auto admin = pg::PgConnection::connect({test_url("postgres")});
      admin->exec("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
    } catch (...) {
    }
  }
  const std::string& url() const { return url_; }
  Connection& sql() { return *conn_; }
  long long count(const std::string& query) { return conn_->exec(query).integer(0, 0); }

 private:
  std::string name_, url_;
  std::unique_ptr<pg::PgConnection> conn_;
};

class CoreTest : public PgTest {
 protected:
  // Writes migration `name`.yaml into the test directory; returns its path.
  std::string migration(const std::string& name, const std::string& yaml) {
    return write_file(name + ".yaml", yaml);
  }

  // A migration `name` with one add_column: `column` is the YAML flow mapping
  // of the column ("{ name: x, type: int }"), `up` the expression or empty.
  std::string add_column_file(const std::string& name, const std::string& table,
                              const std::string& column, const std::string& up = "") {
    std::string yaml = "purpose: " + name +
                       "\noperations:\n  - add_column:\n      table: " + table +
                       "\n      column: " + column + "\n";
    if (!up.empty()) yaml += "      up: \"" + up + "\"\n";
    return migration(name, yaml);
  }

  // Runs colshift and expects exit 0; returns the result.
  RunResult ok(const std::vector<std::string>& args) {
    auto r = colshift(args);
    EXPECT_EQ(r.exit_code, 0) << "colshift";
    if (r.exit_code != 0) {
      std::string cmd;
      for (const auto& a : args) cmd += " " + a;
      ADD_FAILURE() << "colshift" << cmd << " failed: " << describe(r);
    }
    return r;
  }

  // Rows of colshift.migrations (0 when colshift's schema does not exist).
  long long migration_rows() {
    if (!sql("SELECT to_regclass('colshift.migrations') IS NOT NULL").boolean(0, 0)) return 0;
    return scalar_int("SELECT count(*) FROM colshift.migrations");
  }

  std::string phase_of(const std::string& name) {
    auto r = sql("SELECT phase FROM colshift.migrations WHERE name = $1 ORDER BY id DESC LIMIT 1",
                 {name});
    return r.empty() ? "" : r.text(0, 0);
  }

  // Rows of `table` whose `column` differs from `expr` over the row.
  long long mismatches(const std::string& table, const std::string& column, const std::string& expr,
                       const std::string& extra_where = "true") {
    return scalar_int("SELECT count(*) FROM " + table + " WHERE (" + column +
                      ") IS DISTINCT FROM (" + expr + ") AND (" + extra_where + ")");
  }

  bool column_not_null(const std::string& table, const std::string& column) {
    return sql("SELECT attnotnull FROM pg_attribute WHERE attrelid = $1::regclass AND attname = $2",
               {table, column})
        .boolean(0, 0);
  }
  std::string column_default(const std::string& table, const std::string& column) {
    auto r =
        sql("SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attribute a JOIN pg_attrdef d "
            "ON d.adrelid = a.attrelid AND d.adnum = a.attnum WHERE a.attrelid = $1::regclass AND "
            "a.attname = $2",
            {table, column});
    return r.empty() ? "" : r.text(0, 0);
  }
  bool has_column(const std::string& table, const std::string& column) {
    return sql("SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = $1::regclass AND "
               "attname = $2 "
               "AND NOT attisdropped)",
               {table, column})
        .boolean(0, 0);
  }

  // Backfill progress of the newest migration: rows_done, or -1 when none yet.
  long long rows_done() {
    try {
      auto r =
          sql("SELECT rows_done FROM colshift.backfill ORDER BY migration_id DESC, step LIMIT 1");
      return r.empty() ? -1 : r.integer(0, 0);
    } catch (const DbError&) {
      return -1;  // colshift's schema not created yet
    }
  }

  // Waits until no colshift session but the test's own is connected to this
  // database (after a kill -9 the server notices the dead client within moments).
  void wait_for_no_colshift_sessions() {
    for (int i = 0; i < 500; ++i) {
      if (scalar_int("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                     "AND application_name LIKE 'colshift%' AND pid <> pg_backend_pid()") == 0) {
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ADD_FAILURE() << "colshift sessions still connected after 10 s";
  }

  // Polls `pred` every 10 ms for at most `limit`; returns whether it held.
  template <typename Pred>
  static bool eventually(Pred pred, std::chrono::milliseconds limit = std::chrono::seconds(20)) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (pred()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return pred();
  }

  // A users-like table: id bigint primary key, email text, n int; `rows`
  // rows with emails user<i>@d<i % 17>.example.
  void make_users(const std::string& table, long long rows) {
    sql("CREATE TABLE " + table +
        " (id bigint PRIMARY KEY, email text NOT NULL, n int NOT NULL DEFAULT 0)");
    sql("INSERT INTO " + table +
        " (id, email, n) SELECT i, 'user' || i || '@d' || (i % 17) || '.example', i % 5 "
        "FROM generate_series(1, " +
        std::to_string(rows) + ") i");
    sql("ANALYZE " + table);
  }

  // The migration adding `column` = split_part(email, '@', 2) to `table`.
  std::string domain_migration(const std::string& name, const std::string& table,
                               const std::string& column, bool nullable = false) {
    return migration(name, "purpose: per-domain analytics for " + table +
                               "\noperations:\n"
                               "  - add_column:\n"
                               "      table: " +
                               table +
                               "\n"
                               "      column: { name: " +
                               column + ", type: text, nullable: " + (nullable ? "true" : "false") +
                               " }\n"
                               "      up: split_part(email, '@', 2)\n");
  }

  // Runs SQL in a loop on its own connection, recording the slowest call.
  class LatencyProbe {
   public:
    LatencyProbe(std::unique_ptr<pg::PgConnection> conn, std::string query)
        : conn_(std::move(conn)), query_(std::move(query)) {
      thread_ = std::thread([this] {
        while (!stop_) {
          auto t0 = std::chrono::steady_clock::now();
          try {
            conn_->exec(query_);
          } catch (const std::exception&) {
            ++errors_;
          }
          auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                        std::chrono::steady_clock::now() - t0)
                        .count();
          if (us > max_us_) max_us_ = us;
          ++calls_;
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
      });
    }
    ~LatencyProbe() { stop(); }
    void stop() {
      stop_ = true;
      if (thread_.joinable()) thread_.join();
    }
    long long max_ms() const { return max_us_ / 1000; }
    long long calls() const { return calls_; }
    long long errors() const { return errors_; }

   private:
    std::unique_ptr<pg::PgConnection> conn_;
    std::string query_;
    std::atomic<bool> stop_{false};
    std::atomic<long long> max_us_{0};
    std::atomic<long long> calls_{0};
    std::atomic<long long> errors_{0};
    std::thread thread_;
  };
};

}  // namespace colshift::testing
