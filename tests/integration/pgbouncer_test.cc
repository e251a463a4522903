// The writer identity through a real PgBouncer (Debian's 1.18), in session
// and transaction pool mode (issue 8 §1). PgBouncer replays each client's
// application_name onto the server connection it lends, so the new version's
// "colshift:<version>" marker reaches the trigger for exactly that client's
// statements, even when clients share one server connection; SET LOCAL
// colshift.version stays inside its transaction; the backfill's trigger-off
// setting is transaction-local and never reaches an app. colshift itself
// refuses to run through the pooler.
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core_helpers.h"

namespace colshift::testing {
namespace {

int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  int port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

std::string find_pgbouncer() {
  for (const char* p : {"/usr/sbin/pgbouncer", "/usr/bin/pgbouncer", "/usr/local/bin/pgbouncer"})
    if (access(p, X_OK) == 0) return p;
  return {};
}

// A private PgBouncer in front of the test server; stopped on destruction.
class Bouncer {
 public:
  Bouncer(const std::string& dir, const std::string& pool_mode) {
    const std::string bin = find_pgbouncer();
    if (bin.empty()) {
      ADD_FAILURE() << "pgbouncer is not installed (./run installs the Debian package)";
      return;
    }
    dir_ = dir + "/pgbouncer-" + pool_mode;
    std::filesystem::create_directories(dir_);
    port_ = free_port();
    const char* host = std::getenv("COLSHIFT_TEST_PGHOST");
    std::ofstream(dir_ + "/userlist.txt") << "\"postgres\" \"\"\n";
    std::ofstream(dir_ + "/pgbouncer.ini")
        << "[databases]\n* = host=" << (host ? host : "127.0.0.1")
        << " port=" << std::getenv("COLSHIFT_TEST_PGPORT") << "\n"
        << "[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = " << port_
        << "\nunix_socket_dir =\nauth_type = trust\nauth_file = " << dir_
        << "/userlist.txt\npool_mode = " << pool_mode
        << "\ndefault_pool_size = 1\nmax_client_conn = 50\nlogfile = " << dir_
        << "/pgbouncer.log\npidfile = " << dir_ << "/pgbouncer.pid\n";
    // PgBouncer refuses to run as root: as root, run it as postgres.
    std::filesystem::permissions(dir_, std::filesystem::perms::all);
    pid_ = fork();
    if (pid_ == 0) {
      std::string ini = dir_ + "/pgbouncer.ini";
      if (getuid() == 0) {
        execl("/usr/sbin/runuser", "runuser", "-u", "postgres", "--", bin.c_str(), ini.c_str(),
              static_cast<char*>(nullptr));
      } else {
        execl(bin.c_str(), bin.c_str(), ini.c_str(), static_cast<char*>(nullptr));
      }
      _exit(127);
    }
  }
  ~Bouncer() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
  }
  std::string url(const std::string& db, const std::string& app) const {
    return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" + db +
           "?application_name=" + app;
  }
  std::unique_ptr<pg::PgConnection> connect(const std::string& db, const std::string& app) {
    for (int i = 0;; ++i) {
      try {
        return pg::PgConnection::connect({url(db, app)});
      } catch (const DbError&) {
        if (i > 100) throw;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
  }
  std::string log() const { return read_text(dir_ + "/pgbouncer.log"); }

 private:
  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

class PgBouncerIdentity : public CoreTest {
 protected:
  const std::string version_ = "0001_users_domain";
  void start_migration() {
    make_users("users", 200);
    ok({"start", migration(version_,
                           "purpose: domains behind a pooler\noperations:\n"
                           "  - add_column:\n      table: users\n"
                           "      column: { name: domain, type: text, nullable: false, "
                           "default: \"'unknown'\" }\n"
                           "      up: split_part(email, '@', 2)\n")});
  }
  void insert(pg::PgConnection& c, int id) {
    c.exec("INSERT INTO users (id, email) VALUES ($1::bigint, 'u' || $1::text || '@old.example')",
           {std::to_string(id)});
  }
  std::string domain_of(int id) {
    return sql("SELECT domain FROM users WHERE id = $1", {std::to_string(id)}).text(0, 0);
  }
};

TEST_F(PgBouncerIdentity, TransactionModeSharedServerConnection) {
  start_migration();
  Bouncer b(dir_, "transaction");
  auto fresh = b.connect(dbname_, "billing%20colshift:" + version_);
  auto old = b.connect(dbname_, "billing");
  // One server connection for both clients: the marker must follow the client.
  EXPECT_EQ(fresh->exec("SELECT pg_backend_pid()").text(0, 0),
            old->exec("SELECT pg_backend_pid()").text(0, 0));
  insert(*fresh, 1001);
  insert(*old, 1002);
  insert(*fresh, 1003);
  insert(*old, 1004);
  EXPECT_EQ(domain_of(1001), "unknown") << "the new version gets the new shape's default";
  EXPECT_EQ(domain_of(1003), "unknown");
  EXPECT_EQ(domain_of(1002), "old.example") << "the old version gets 'up'";
  EXPECT_EQ(domain_of(1004), "old.example");

  // SET LOCAL stays in its transaction.
  auto local = b.connect(dbname_, "worker");
  local->exec("BEGIN");
  local->exec("SET LOCAL colshift.version = '" + version_ + "'");
  insert(*local, 1005);
  local->exec("COMMIT");
  insert(*old, 1006);
  EXPECT_EQ(domain_of(1005), "unknown");
  EXPECT_EQ(domain_of(1006), "old.example");

  // The backfill's trigger switch is transaction-local: an app's next
  // statement on the same server connection still meets the trigger.
  auto other = b.connect(dbname_, "colshift%20backfill");
  other->exec("SELECT set_config('colshift.backfill', 'on', true)");
  insert(*old, 1007);
  EXPECT_EQ(domain_of(1007), "old.example");

  // Why colshift says "SET LOCAL" and not SET: a session-level SET stays on
  // the server connection for the next client in transaction mode.
  auto leaky = b.connect(dbname_, "leaky");
  leaky->exec("SET colshift.version = '" + version_ + "'");
  insert(*old, 1008);
  EXPECT_EQ(domain_of(1008), "unknown") << "PgBouncer no longer leaks session SETs?";
  leaky->exec("RESET colshift.version");

  // colshift itself refuses the pooler.
  auto r = run_colshift({"status"}, b.url(dbname_, "ops"));
  EXPECT_EQ(r.exit_code, 0) << describe(r);  // read-only commands work through it
  r = run_colshift({"rollback"}, b.url(dbname_, "ops"));
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_NE(r.err.find("goes through a connection pooler"), std::string::npos) << r.err;
  EXPECT_TRUE(has_column("users", "domain"));
}

TEST_F(PgBouncerIdentity, SessionMode) {
  start_migration();
  Bouncer b(dir_, "session");
  {
    auto fresh = b.connect(dbname_, "colshift:" + version_);
    insert(*fresh, 2001);
  }
  {
    // The server connection the new version used goes to the old one next
    // (one server connection in the pool; released when the client leaves).
    auto old = b.connect(dbname_, "billing");
    insert(*old, 2002);
  }
  EXPECT_EQ(domain_of(2001), "unknown");
  EXPECT_EQ(domain_of(2002), "old.example");
  auto r = run_colshift({"complete", "--force"}, b.url(dbname_, "ops"));
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_NE(r.err.find("goes through a connection pooler"), std::string::npos) << r.err;
  EXPECT_EQ(phase_of(version_), "active");
}

}  // namespace
}  // namespace colshift::testing
