// The command line's errors: one JSON object on stdout with --json, numeric
// flags out of range refused naming the flag, passwords never printed.
#include "core_helpers.h"

namespace colshift::testing {
namespace {

const std::string kUnreachable = "postgresql://postgres@127.0.0.1:1/nowhere";

class CoreCliErrors : public CoreTest {};

TEST_F(CoreCliErrors, JsonErrorsAreOneObjectOnStdoutToo) {
  make_users("users", 10);
  auto f = migration("0001_bad",
                     "purpose: p\noperations:\n  - add_column:\n      table: nosuch\n"
                     "      column: { name: d, type: text }\n");
  auto r = colshift({"--json", "start", f});
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  EXPECT_NE(r.err.find("error: table nosuch does not exist"), std::string::npos) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j, nlohmann::json::parse(R"({"error": {"kind": "bad_input",
      "message": "table nosuch does not exist", "where": ")" +
                                     f + R"(:4:7",
      "hint": "check the name and the schema (searched: public); qualify it as schema.table if it lives elsewhere",
      "exit_code": 2}})"));

  // An error with a source excerpt: "where" is the location alone.
  auto bad = migration("0002_bad", "purpose: p\noperations:\n  - add_colum:\n      table: users\n");
  j = nlohmann::json::parse(colshift({"plan", bad, "--json"}).out);
  EXPECT_EQ(j["error"]["where"], bad + ":3:5");
  EXPECT_EQ(j["error"]["message"], "unknown operation 'add_colum'");

  auto unreachable = run_colshift({"--json", "status"}, kUnreachable, dir_);
  EXPECT_EQ(unreachable.exit_code, 1) << describe(unreachable);
  j = nlohmann::json::parse(unreachable.out);
  EXPECT_EQ(j["error"]["kind"], "connection");
  EXPECT_EQ(j["error"]["exit_code"], 1);
  EXPECT_EQ(j["error"]["where"], kUnreachable);

  auto usage = colshift({"--json", "start", f, "--no-such-flag"});
  EXPECT_EQ(usage.exit_code, 2) << describe(usage);
  EXPECT_NE(usage.err.find("--no-such-flag"), std::string::npos) << usage.err;
  j = nlohmann::json::parse(usage.out);
  EXPECT_EQ(j["error"]["kind"], "usage");
  EXPECT_EQ(j["error"]["message"], "The following argument was not expected: --no-such-flag");
  EXPECT_EQ(j["error"]["exit_code"], 2);

  // Without --json, stdout stays empty.
  EXPECT_EQ(colshift({"start", f}).out, "");
  // --help is not an error.
  auto help = colshift({"--json", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_EQ(help.out.find("\"error\""), std::string::npos);
}

TEST_F(CoreCliErrors, NegativeOrContradictoryNumericFlagsAreRefusedNamingTheFlag) {
  auto f = domain_migration("0001_users_domain", "users", "email_domain");
  struct Case {
    std::vector<std::string> args;
    std::string message;  // the first line of stderr after "colshift: error: "
  };
  const std::vector<Case> cases = {
      {{"start", f, "--batch-size=-5"}, "--batch-size must be 0 or more (0 = adaptive), not -5"},
      {{"start", f, "--batch-min", "0"}, "--batch-min must be 1 or more, not 0"},
      {{"start", f, "--batch-min", "500", "--batch-max", "100"},
       "--batch-max must be at least --batch-min (500), not 100"},
      {{"start", f, "--batch-target", "0"}, "--batch-target must be more than 0"},
      {{"start", f, "--batch-target=-1s"}, "--batch-target: '-1s' is negative"},
      {{"start", f, "--lock-retries", "0"}, "--lock-retries must be 1 or more, not 0"},
      {{"complete", "--lock-retries=-3"}, "--lock-retries must be 1 or more, not -3"},
      {{"start", f, "--max-rate=-1"}, "--max-rate must be 0 or more (0 = no ceiling), not -1"},
      {{"start", f, "--max-rate", "nan"}, "--max-rate must be a finite number, not nan"},
      {{"start", f, "--throttle-max", "5"}, "--throttle-max needs --throttle-query"},
      {{"start", f, "--throttle-query", "SELECT 1"}, "--throttle-query needs --throttle-max"},
      {{"start", f, "--max-lock-waiters=-2"},
       "--max-lock-waiters must be -1 or more (-1 = do not check), not -2"},
      {{"start", f, "--lock-timeout", "0"}, "--lock-timeout must be more than 0"},
      {{"status", "--lock-timeout", "0.2ms"}, "--lock-timeout must be more than 0"},
      {{"start", f, "--lock-timeout=-5s"}, "--lock-timeout: '-5s' is negative"},
      {{"start", f, "--max-replica-lag=-1s"}, "--max-replica-lag: '-1s' is negative"},
      {{"complete", "--quiet-period=-5m"}, "--quiet-period: '-5m' is negative"},
      {{"migrate", dir_, "--quiet-period=-5m"}, "--quiet-period: '-5m' is negative"},
      {{"throttle", "--max-rate=-1"}, "--max-rate must be 0 or more (0 = no ceiling), not -1"},
      {{"throttle", "--max-lock-waiters=-5"},
       "--max-lock-waiters must be -1 or more (-1 = do not check), not -5"},
      {{"throttle", "--batch-size=-1"}, "--batch-size must be 0 or more (0 = adaptive), not -1"},
      {{"throttle", "--max-replica-lag=-1s"}, "--max-replica-lag: '-1s' is negative"},
  };
  for (const auto& c : cases) {
    std::string cmd;
    for (const auto& a : c.args) cmd += " " + a;
    SCOPED_TRACE(cmd);
    auto r = run_colshift(c.args, kUnreachable, dir_);
    EXPECT_EQ(r.exit_code, 2) << describe(r);
    EXPECT_EQ(r.err.substr(0, r.err.find('\n')), "colshift: error: " + c.message) << r.err;
  }
  // A space-separated negative value is read as a value, too.
  auto r = run_colshift({"start", f, "--batch-size", "-5"}, kUnreachable, dir_);
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  EXPECT_NE(r.err.find("--batch-size"), std::string::npos) << r.err;
}

TEST_F(CoreCliErrors, PasswordsInAKeywordStringAreNeverPrinted) {
  auto f = domain_migration("0001_users_domain", "users", "email_domain");
  const std::vector<std::string> conninfos = {
      "host=127.0.0.1 port=1 user=postgres password = s3cr3t dbname=nowhere",
      "host=127.0.0.1 port=1 password= 's3cr3t w0rd' dbname=nowhere",
      "host=127.0.0.1 port=1 PASSWORD=s3cr3t dbname=nowhere",
      "host=127.0.0.1 port=1 password=s3cr3t w0rd dbname=nowhere",
      "postgresql://postgres@127.0.0.1:1/nowhere?sslmode=disable&password=s3cr3t",
      "postgresql://postgres:s3cr3t%40w0rd@127.0.0.1:1/nowhere",
      "postgresql://postgres:s3cr3t@w0rd@127.0.0.1:1/nowhere",
      "postgresql://postgres:s3cr3t/w0rd@127.0.0.1:1/nowhere",
      "postgresql://postgres:s3cr3t%zzw0rd@127.0.0.1:1/nowhere",
  };
  for (const auto& url : conninfos) {
    for (bool json : {false, true}) {
      SCOPED_TRACE(url + (json ? " --json" : ""));
      std::vector<std::string> args = {"start", f};
      if (json) args.push_back("--json");
      auto r = run_colshift(args, url, dir_);
      EXPECT_NE(r.exit_code, 0) << describe(r);
      EXPECT_NE(r.err, "");
      for (const char* secret : {"s3cr3t", "w0rd"}) {
        EXPECT_EQ(r.err.find(secret), std::string::npos) << r.err;
        EXPECT_EQ(r.out.find(secret), std::string::npos) << r.out;
      }
    }
  }
}

}  // namespace
}  // namespace colshift::testing
