#include "support/private_server.h"

#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <thread>

namespace colshift::testing {
namespace {

std::string pg_script() {
  // Appended, not operator+: GCC 12 warns (-Warray-bounds) falsely on the temporary.
  std::string path = COLSHIFT_SOURCE_DIR;
  path.append("/scripts/pg-private.sh");
  return path;
}

std::string as_postgres(const std::string& cmd) {
  return getuid() == 0 ? "runuser -u postgres -- " + cmd : cmd;
}

std::string make_dir() {
  char tmpl[] = "/tmp/colshift-test-pg.XXXXXX";
  char* d = mkdtemp(tmpl);
  if (!d) throw std::runtime_error("mkdtemp failed");
  return d;
}

}  // namespace

int shell(const std::string& command, std::string* out) {
  std::string full = command + " 2>&1";
  FILE* p = popen(full.c_str(), "r");
  if (!p) return -1;
  std::array<char, 4096> buf{};
  std::string text;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) text.append(buf.data(), n);
  int status = pclose(p);
  if (out) *out = text;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

PrivateServer::PrivateServer(const std::vector<std::string>& conf) : dir_(make_dir()) {
  std::string out;
  std::string extra;
  for (const auto& line : conf) extra += " '" + line + "'";
  if (shell(pg_script() + " start " + dir_ + " 'fsync = off' 'wal_receiver_status_interval = 1s'" +
                extra,
            &out) != 0) {
    throw std::runtime_error("could not start a private PostgreSQL: " + out);
  }
  port_ = std::stoi(out);
}

PrivateServer::PrivateServer(PrivateServer&& other) noexcept
    : dir_(std::move(other.dir_)), port_(other.port_) {
  other.dir_.clear();
}

PrivateServer PrivateServer::standby_of(const PrivateServer& primary) {
  PrivateServer s{Empty{}};
  s.dir_ = make_dir();
  std::string out;
  if (getuid() == 0) shell("chown postgres: " + s.dir_ + " && chmod 700 " + s.dir_);
  std::string backup =
      as_postgres("pg_basebackup -h 127.0.0.1 -p " + std::to_string(primary.port()) +
                  " -U postgres -D " + s.dir_ + "/data -R -X stream -c fast");
  if (shell(backup, &out) != 0) throw std::runtime_error("pg_basebackup failed: " + out);
  // The copied config names the primary's socket directory; give the standby its own.
  shell("sed -i \"s|^unix_socket_directories = .*|unix_socket_directories = '" + s.dir_ + "'|\" " +
        s.dir_ + "/data/postgresql.conf && rm -f " + s.dir_ + "/data/postmaster.pid " + s.dir_ +
        "/data/port");
  if (shell(pg_script() + " start " + s.dir_, &out) != 0) {
    throw std::runtime_error("could not start the standby: " + out);
  }
  s.port_ = std::stoi(out);
  return s;
}

PrivateServer::~PrivateServer() {
  if (dir_.empty()) return;
  stop();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string PrivateServer::url(const std::string& dbname) const {
  return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" + dbname;
}

void PrivateServer::stop() { shell(pg_script() + " stop " + dir_); }

void PrivateServer::start() {
  shell(as_postgres("pg_ctl -D " + dir_ + "/data -l " + dir_ + "/server.log -o '-p " +
                    std::to_string(port_) + "' -w -t 60 start"));
}

void PrivateServer::restart() {
  shell(as_postgres("pg_ctl -D " + dir_ + "/data -m fast -w -t 60 stop"));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  start();
}

}  // namespace colshift::testing
