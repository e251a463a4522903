#include "support/pg_fixture.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

namespace colshift::testing {

bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return pred();
}

int wait_exit(int pid, std::chrono::seconds timeout) {
  auto end = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (std::chrono::steady_clock::now() < end) {
    if (waitpid(pid, &status, WNOHANG) == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return -1;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::string read_all(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string unique_suffix() {
  static std::mt19937_64 rng{std::random_device{}()};
  return std::to_string(getpid()) + "_" + std::to_string(rng() % 1000000000);
}

}  // namespace

bool test_server_available() { return !env("COLSHIFT_TEST_PGPORT").empty(); }

std::string test_url(const std::string& dbname) {
  std::string host = env("COLSHIFT_TEST_PGHOST");
  if (host.empty()) host = "127.0.0.1";
  return "postgresql://postgres@" + host + ":" + env("COLSHIFT_TEST_PGPORT") + "/" + dbname;
}

static pid_t spawn(const std::vector<std::string>& args, const std::string& url,
                   const std::string& cwd, const std::string& out_path,
                   const std::string& err_path) {
  pid_t pid = fork();
  if (pid == 0) {
    if (!cwd.empty() && chdir(cwd.c_str()) != 0) _exit(126);
    int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(out, 1);
    dup2(err, 2);
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    if (url.empty()) {
      unsetenv("DATABASE_URL");
    } else {
      setenv("DATABASE_URL", url.c_str(), 1);
    }
    setenv("NO_COLOR", "1", 1);
    std::vector<char*> argv;
    // COLSHIFT_TEST_BINARY runs the suite against another build (e.g. to see
    // a regression test fail on the code before its fix).
    const char* other = std::getenv("COLSHIFT_TEST_BINARY");
    std::string bin = other && *other ? other : COLSHIFT_BINARY;
    argv.push_back(bin.data());
    std::vector<std::string> copy = args;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(bin.c_str(), argv.data());
    _exit(127);
  }
  return pid;
}

RunResult run_colshift(const std::vector<std::string>& args, const std::string& url,
                       const std::string& cwd) {
  auto tmp = std::filesystem::temp_directory_path() / ("colshift_run_" + unique_suffix());
  std::filesystem::create_directories(tmp);
  std::string out_path = (tmp / "out").string();
  std::string err_path = (tmp / "err").string();
  pid_t pid = spawn(args, url, cwd, out_path, err_path);
  int status = 0;
  waitpid(pid, &status, 0);
  RunResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = read_all(out_path);
  r.err = read_all(err_path);
  std::filesystem::remove_all(tmp);
  return r;
}

int spawn_colshift(const std::vector<std::string>& args, const std::string& url,
                   const std::string& log_path) {
  return spawn(args, url, {}, log_path, log_path + ".err");
}

void PgTest::SetUp() {
  if (!test_server_available()) {
    GTEST_SKIP() << "no test PostgreSQL: run through ./run test (sets COLSHIFT_TEST_PGPORT)";
  }
  dbname_ = "t_" + unique_suffix();
  {
    auto admin = pg::PgConnection::connect({test_url("postgres")});
    admin->exec("CREATE DATABASE " + dbname_);
  }
  url_ = test_url(dbname_);
  conn_ = connect();
  dir_ = (std::filesystem::temp_directory_path() / ("colshift_test_" + dbname_)).string();
  std::filesystem::create_directories(dir_);
}

void PgTest::TearDown() {
  if (dbname_.empty()) return;
  conn_.reset();
  try {
    auto admin = pg::PgConnection::connect({test_url("postgres")});
    admin->exec("DROP DATABASE IF EXISTS " + dbname_ + " WITH (FORCE)");
  } catch (const std::exception& e) {
    ADD_FAILURE() << "could not drop test database " << dbname_ << ": " << e.what();
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::unique_ptr<pg::PgConnection> PgTest::connect() const {
  return pg::PgConnection::connect({url_});
}

QueryResult PgTest::sql(const std::string& query, const Params& params) {
  return conn_->exec(query, params);
}

long long PgTest::scalar_int(const std::string& query) { return sql(query).integer(0, 0); }
std::string PgTest::scalar_text(const std::string& query) { return sql(query).text(0, 0); }

std::string PgTest::write_file(const std::string& name, const std::string& content) {
  auto path = std::filesystem::path(dir_) / name;
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path) << content;
  return path.string();
}

std::string PgTest::schema_dump() {
  std::string out = dir_ + "/dump.sql";
  std::string cmd = "pg_dump --schema-only --no-owner --exclude-schema=colshift '" + url_ +
                    "' > '" + out + "' 2>&1";
  int rc = std::system(cmd.c_str());
  EXPECT_EQ(rc, 0) << read_all(out);
  // pg_dump >= 15.14 brackets its output with \restrict KEY / \unrestrict KEY,
  // a random key per run: drop those lines so two dumps of one schema are equal.
  std::istringstream in(read_all(out));
  std::string dump, line;
  while (std::getline(in, line)) {
    if (line.rfind("\\restrict ", 0) == 0 || line.rfind("\\unrestrict ", 0) == 0) continue;
    dump += line + "\n";
  }
  return dump;
}

}  // namespace colshift::testing
