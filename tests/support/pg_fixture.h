// Integration-test support: every test gets its own database on the private
// PostgreSQL that ./run test started (COLSHIFT_TEST_PGHOST/PGPORT), so tests
// can run in parallel. Without those variables the tests are skipped with a
// message saying how to run them.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "dialect/connection.h"
#include "pg/pg_connection.h"

namespace colshift::testing {

// Connection URL for database `dbname` on the test server.
std::string test_url(const std::string& dbname);
bool test_server_available();

// Result of running the colshift binary.
struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs the built colshift binary with `args` (no shell), DATABASE_URL set to
// `url` unless empty; returns exit code, stdout and stderr.
RunResult run_colshift(const std::vector<std::string>& args, const std::string& url,
                       const std::string& cwd = {});

// Starts the colshift binary in the background; returns its pid. Output goes
// to `log_path`.
int spawn_colshift(const std::vector<std::string>& args, const std::string& url,
                   const std::string& log_path);

// Polls `pred` every 50 ms until it holds or `timeout` passes; returns it.
bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout);
// Waits for a spawned colshift; returns its exit code (128 when killed by a
// signal), or -1 on timeout (then kills it).
int wait_exit(int pid, std::chrono::seconds timeout);
// A file's whole content ("" when missing).
std::string slurp(const std::string& path);

// A fresh database per test, dropped afterwards.
class PgTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // A new connection to this test's database.
  std::unique_ptr<pg::PgConnection> connect() const;
  // Runs SQL on the shared test connection.
  QueryResult sql(const std::string& query, const Params& params = {});
  long long scalar_int(const std::string& query);
  std::string scalar_text(const std::string& query);
  // Writes `content` to a file in this test's temporary directory; returns its path.
  std::string write_file(const std::string& name, const std::string& content);
  // `pg_dump --schema-only` of this database, without the colshift schema.
  std::string schema_dump();
  RunResult colshift(const std::vector<std::string>& args) {
    return run_colshift(args, url_, dir_);
  }

  std::string dbname_;
  std::string url_;
  std::string dir_;  // temporary directory for files, removed afterwards
  std::unique_ptr<pg::PgConnection> conn_;
};

}  // namespace colshift::testing
