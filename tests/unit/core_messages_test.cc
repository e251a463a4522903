// What colshift tells the user without a database: offline plans and docs that
// describe a volatile default truthfully, an index on a partitioned table
// refused with the recipe, and connection strings with every password form
// redacted.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "dialect/dialect.h"
#include "docs/docs.h"
#include "migration/migration.h"
#include "pg/pg_connection.h"
#include "plan/planner.h"
#include "util/error.h"

namespace colshift {
namespace {

plan::Plan offline_plan(const std::string& default_expr) {
  auto m = migration::parse_migration(
      "purpose: a token per user\noperations:\n  - add_column:\n      table: users\n"
      "      column: { name: token, type: uuid, nullable: false, default: \"" +
          default_expr + "\" }\n",
      "m/0005_token.yaml");
  return plan::build_plan(m, postgres_dialect().offline_facts(m), postgres_dialect(), "colshift");
}

const std::string kOfflineNote =
    "planned without a database: table sizes unknown, PostgreSQL 15 assumed, expressions not "
    "checked; pass --db for a plan of the real schema";

TEST(CoreOffline, VolatileDefaultIsComputedPerRowNotAddedInstantly) {
  for (const char* expr : {"gen_random_uuid()", "md5(random()::text)::uuid", "uuid_generate_v4()",
                           "(clock_timestamp()::text || 'x')::uuid"}) {
    SCOPED_TRACE(expr);
    auto p = offline_plan(expr);
    EXPECT_TRUE(p.needs_backfill());
    ASSERT_FALSE(p.steps.empty());
    EXPECT_NE(p.steps[0].summary.find("with dual-write trigger"), std::string::npos)
        << p.steps[0].summary;
    EXPECT_EQ(p.notes.size(), 2u);  // offline, and both app versions work
  }
}

TEST(CoreOffline, NonVolatileBuiltinDefaultIsInstant) {
  for (const char* expr :
       {"md5('x')::uuid", "now()", "current_timestamp", "upper(md5('a'))::uuid"}) {
    SCOPED_TRACE(expr);
    auto p = offline_plan(expr);
    EXPECT_FALSE(p.needs_backfill());
    ASSERT_EQ(p.steps.size(), 1u);
    EXPECT_NE(p.steps[0].summary.find("(catalog only: no rewrite, no scan)"), std::string::npos);
    EXPECT_EQ(p.notes, std::vector<std::string>{kOfflineNote});
  }
}

TEST(CoreOffline, UnknownFunctionIsAssumedVolatileAndThePlanSaysSo) {
  auto p = offline_plan("app.new_token()");
  EXPECT_TRUE(p.needs_backfill());
  EXPECT_EQ(p.notes,
            (std::vector<std::string>{
                kOfflineNote,
                "the volatility of new_token() is unknown without a database: assumed volatile, "
                "so the default is computed per row like 'up'; plan with --db to read it from the "
                "server",
                "old and new app versions both work until complete. The new version declares "
                "itself with application_name=colshift:0005_token (or SET colshift.version = "
                "'0005_token'); its writes are never changed. A session that declares no "
                "version is guessed: a value such a session set is never overwritten, a row "
                "without a value is derived from 'up', and a value colshift derived follows "
                "'up' when the session changes what 'up' reads (undeclared_writers: old makes "
                "every undeclared session the old version)."}));
}

TEST(CoreOffline, DefaultThatDoesNotParseIsReportedAtTheOffendingByte) {
  try {
    offline_plan("lower(x y)");
    FAIL() << "planned";
  } catch (const Error& e) {
    EXPECT_EQ(e.render(),
              fmt::format("m/0005_token.yaml:5:77: error: SQL expression does not parse: syntax "
                          "error at or near \"y\"\n    {}\n    {:76}^\n  hint: {}",
                          "      column: { name: token, type: uuid, nullable: false, default: "
                          "\"lower(x y)\" }",
                          "",
                          "the expression goes into SELECT (...) as written: check the SQL at "
                          "the caret"));
  }
}

TEST(CoreOffline, DocsPageOfAnOfflinePlanShowsTheBackfillAndTheNotes) {
  auto page = docs::migration_page(offline_plan("gen_random_uuid()"), std::nullopt);
  EXPECT_NE(page.find("| 2 | backfill | backfill users.token = gen_random_uuid() for existing "
                      "rows, in primary-key batches |"),
            std::string::npos)
      << page;
  EXPECT_NE(page.find("\n> note: " + kOfflineNote + "\n"), std::string::npos) << page;
  EXPECT_EQ(page.find("catalog only: no rewrite"), std::string::npos) << page;
}

TEST(CorePlanner, IndexOnAPartitionedTableIsRefusedWithTheRecipe) {
  auto m = migration::parse_migration(
      "purpose: p\noperations:\n  - create_index:\n      name: ev_idx\n      table: app.events\n"
      "      columns: [at DESC, kind]\n      unique: true\n      where: kind <> 'x'\n",
      "m/0009.yaml");
  plan::CatalogFacts f;
  f.offline = false;
  plan::TableFacts t;
  t.schema = "app";
  t.name = "events";
  t.partitioned = true;
  f.tables["app.events"] = t;
  try {
    plan::build_plan(m, f, postgres_dialect(), "colshift");
    FAIL() << "planned";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kBadInput);
    EXPECT_EQ(e.render(),
              "m/0009.yaml:4:7: error: table app.events is partitioned: CREATE INDEX CONCURRENTLY "
              "cannot build an index on a partitioned table\n"
              "  hint: colshift does not build partitioned indexes yet; use raw_sql: CREATE UNIQUE "
              "INDEX ev_idx ON ONLY app.events (at DESC, kind) WHERE kind <> 'x' (the index "
              "starts invalid), then on each partition CREATE INDEX CONCURRENTLY and ALTER INDEX "
              "ev_idx ATTACH PARTITION <that index>; ev_idx is valid once every partition's index "
              "is attached");
  }
}

TEST(CoreRedact, EveryPasswordFormIsRedacted) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      // keyword strings: spaces around '=', quotes, escapes, any case
      {"host=db password = s3cret dbname=prod", "host=db password = **** dbname=prod"},
      {"host=db password= 'a b' dbname=prod", "host=db password= **** dbname=prod"},
      {"host=db password ='a b'", "host=db password =****"},
      {"host=db PASSWORD=s3cret", "host=db PASSWORD=****"},
      {"host=db Password=s3cret dbname=prod", "host=db Password=**** dbname=prod"},
      {"password='it\\'s' host=db", "password=**** host=db"},
      {"password=s3\\ cret host=db", "password=**** host=db"},
      {"  password=s3cret", "  password=****"},
      {"host=db\tpassword=s3cret\tdbname=prod", "host=db\tpassword=****\tdbname=prod"},
      // an unquoted password with a space: libpq reads "cret" as the next
      // keyword; the whole intended password is hidden
      {"host=db password=s3 cret dbname=prod", "host=db password=**** dbname=prod"},
      {"host=db password=", "host=db password=****"},
      {"host=db passfile=/x/pgpass dbname=prod", "host=db passfile=/x/pgpass dbname=prod"},
      {"host=db dbname=password", "host=db dbname=password"},
      // URLs: user:password, percent-encoded, unencoded '@' or '/', query parameters
      {"postgresql://app:s3cret@db.example:5432/prod",
       "postgresql://app:****@db.example:5432/prod"},
      {"postgresql://app%40corp:p%40ss%3Aw0rd@db:5432/prod",
       "postgresql://app%40corp:****@db:5432/prod"},
      {"postgresql://app:p@ss@db/prod", "postgresql://app:****@db/prod"},
      {"postgresql://app:pa/ss@db/prod", "postgresql://app:****@db/prod"},
      {"postgres://app:s3cret@h1:5432,h2:5433/prod", "postgres://app:****@h1:5432,h2:5433/prod"},
      {"postgresql://app@db/prod?sslmode=require&password=s3cret",
       "postgresql://app@db/prod?sslmode=require&password=****"},
      {"postgresql://app@db/prod?password=s3cret&sslmode=require",
       "postgresql://app@db/prod?password=****&sslmode=require"},
      {"postgresql://app@db/prod?pass%77ord=s3cret", "postgresql://app@db/prod?pass%77ord=****"},
      {"postgresql://app@db/prod?PASSWORD=s3cret", "postgresql://app@db/prod?PASSWORD=****"},
      {"postgresql://app:x@db/prod?password=y", "postgresql://app:****@db/prod?password=****"},
      {"postgresql://app@db.example:5432/prod", "postgresql://app@db.example:5432/prod"},
      {"postgresql://db.example:5432/prod", "postgresql://db.example:5432/prod"},
      {"postgresql:///prod?host=/run/pg", "postgresql:///prod?host=/run/pg"},
  };
  for (const auto& [in, want] : cases) EXPECT_EQ(pg::redact_conninfo(in), want) << in;
}

TEST(CoreRedact, LibpqParseErrorsNeverEchoAPasswordFragment) {
  for (const char* conninfo :
       {"host=db password=s3cr3t w0rd", "host=db PASSWORD=s3cr3t", "postgresql://u:s3cr3t%zz@db/x",
        "postgresql://u:s3cr3t/w0rd@db/x", "postgresql://u@db/x?password=s3cr3t&w0rd"}) {
    SCOPED_TRACE(conninfo);
    try {
      pg::check_conninfo(conninfo);
      ADD_FAILURE() << "accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kBadInput);
      std::string text = e.render();
      EXPECT_EQ(text.find("s3cr3t"), std::string::npos) << text;
      EXPECT_EQ(text.find("w0rd"), std::string::npos) << text;
    }
  }
}

}  // namespace
}  // namespace colshift
