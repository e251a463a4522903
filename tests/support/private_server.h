// A PostgreSQL server of a test's own (scripts/pg-private.sh), for tests that
// restart the server or need a streaming standby. Stopped and removed in the
// destructor.
#pragma once

#include <string>
#include <vector>

namespace colshift::testing {

class PrivateServer {
 public:
  PrivateServer() : PrivateServer(std::vector<std::string>{}) {}
  // With extra postgresql.conf lines (e.g. "wal_level = logical").
  explicit PrivateServer(const std::vector<std::string>& conf);
  ~PrivateServer();
  PrivateServer(const PrivateServer&) = delete;
  PrivateServer& operator=(const PrivateServer&) = delete;

  // A streaming standby of `primary` (pg_basebackup -R over loopback).
  static PrivateServer standby_of(const PrivateServer& primary);
  PrivateServer(PrivateServer&& other) noexcept;

  std::string url(const std::string& dbname = "postgres") const;
  int port() const { return port_; }
  const std::string& dir() const { return dir_; }
  // pg_ctl restart -m fast (on the same port).
  void restart();
  void stop();
  void start();

 private:
  struct Empty {};
  explicit PrivateServer(Empty) {}
  std::string dir_;
  int port_ = 0;
};

// Runs a shell command; returns its exit status (and output through `out`).
int shell(const std::string& command, std::string* out = nullptr);

}  // namespace colshift::testing
