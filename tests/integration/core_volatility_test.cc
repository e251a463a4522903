// The offline volatility table matches pg_proc on the test server.
#include "core_helpers.h"
#include "dialect/postgres/postgres_dialect.h"

namespace colshift::testing {
namespace {

class CoreVolatility : public CoreTest {};

TEST_F(CoreVolatility, BuiltinTableMatchesPgProcOnTheServer) {
  ASSERT_GE(conn_->server_version(), 150000);
  sql("CREATE EXTENSION IF NOT EXISTS \"uuid-ossp\"");
  sql("CREATE EXTENSION IF NOT EXISTS pgcrypto");
  const auto& table = postgres::builtin_volatility_table();
  EXPECT_GE(table.size(), 40u);
  for (const auto& [fn, v] : table) {
    // The rule gather_facts applies online: the most volatile overload.
    auto r = sql("SELECT max(provolatile::text) FROM pg_proc WHERE proname = $1", {fn});
    EXPECT_EQ(r.text(0, 0, "(not in pg_proc)"), std::string(1, v)) << fn;
  }
}

TEST_F(CoreVolatility, OfflinePlanAndDocsOfAVolatileDefaultShowTheBackfill) {
  write_file("migrations/0001_token.yaml",
             "purpose: a token per user\noperations:\n  - add_column:\n      table: users\n"
             "      column: { name: token, type: uuid, nullable: false, default: "
             "gen_random_uuid() }\n");
  auto p = run_colshift({"plan", "--offline", dir_ + "/migrations/0001_token.yaml"}, "", dir_);
  EXPECT_EQ(p.exit_code, 0) << describe(p);
  EXPECT_NE(p.out.find("backfill users.token = gen_random_uuid() for existing rows"),
            std::string::npos)
      << p.out;
  EXPECT_EQ(p.out.find("catalog only: no rewrite"), std::string::npos) << p.out;
  auto d = run_colshift({"docs", dir_ + "/migrations", "--out", dir_ + "/docs"}, "", dir_);
  EXPECT_EQ(d.exit_code, 0) << describe(d);
  std::string page = read_text(dir_ + "/docs/0001_token.md");
  EXPECT_NE(page.find("| backfill | backfill users.token = gen_random_uuid()"), std::string::npos)
      << page;
  EXPECT_NE(page.find("> note: planned without a database"), std::string::npos) << page;
}

}  // namespace
}  // namespace colshift::testing
