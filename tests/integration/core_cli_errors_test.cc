// The command line's errors: passwords never printed.
#include "core_helpers.h"

namespace colshift::testing {
namespace {

class CoreCliErrors : public CoreTest {};

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
