// The commands around a migration: one at a time per database, complete's
// quiet period, migrate over a directory, history, status and docs.
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core_helpers.h"
#include "util/text.h"

namespace colshift::testing {
namespace {

class CoreCommands : public CoreTest {};

TEST_F(CoreCommands, SecondMutatingCommandRefusesWhileOneHoldsTheLock) {
  make_users("users", 60'000);
  sql("CREATE TABLE other (id int PRIMARY KEY, email text)");
  auto f = domain_migration("0001_users_domain", "users", "email_domain");
  auto g = domain_migration("0002_other_domain", "other", "email_domain");
  Spawned p({"start", f, "--batch-size", "50"}, url_, dir_ + "/start.log");
  ASSERT_TRUE(eventually([&] { return rows_done() > 0 || !p.running(); })) << p.output();
  ASSERT_TRUE(p.running()) << p.output();
  for (const std::vector<std::string>& args : {std::vector<std::string>{"start", f},
                                               {"start", g},
                                               {"complete", "--force"},
                                               {"rollback"},
                                               {"migrate", dir_}}) {
    auto r = colshift(args);
    EXPECT_EQ(r.exit_code, 1) << args[0] << ": " << describe(r);
    EXPECT_NE(r.err.find("another colshift is changing this database right now: backend pid"),
              std::string::npos)
        << args[0] << ": " << r.err;
    EXPECT_NE(r.err.find("only one migration command runs at a time"), std::string::npos) << r.err;
  }
  EXPECT_TRUE(p.running()) << "the refused commands disturbed the running start: " << p.output();
  // Read-only commands still work meanwhile.
  auto s = ok({"status"});
  EXPECT_NE(s.out.find("phase backfilling"), std::string::npos) << s.out;
  EXPECT_NE(s.out.find("users.email_domain: backfill"), std::string::npos) << s.out;
  p.kill9();
}

TEST_F(CoreCommands, CompleteRefusesWithinQuietPeriodUnlessZeroOrForced) {
  make_users("users", 200);
  auto f = domain_migration("0001_users_domain", "users", "email_domain");
  ok({"start", f});
  // Writes by an app version that does not know the column, declaring no
  // version: the INSERT and the email change that leave the column to the
  // trigger count; an UPDATE of what 'up' does not read cannot be told from
  // a new-version write and does not (undeclared_writers: guess).
  sql("INSERT INTO users (id, email) VALUES (100001, 'old@app.example')");
  sql("UPDATE users SET email = 'moved@app.example' WHERE id = 5");
  sql("UPDATE users SET n = n + 1 WHERE id = 6");
  auto r = colshift({"complete"});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_NE(r.err.find("does not know column users.email_domain wrote"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("ago (2 such writes in all)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--quiet-period (5 min)"), std::string::npos) << r.err;
  EXPECT_EQ(phase_of("0001_users_domain"), "active") << "a refused complete must leave it active";
  EXPECT_FALSE(column_not_null("users", "email_domain"));
  r = colshift({"complete", "--quiet-period", "1h"});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  ok({"complete", "--quiet-period", "0s"});
  EXPECT_EQ(phase_of("0001_users_domain"), "completed");
  EXPECT_TRUE(column_not_null("users", "email_domain"));
  EXPECT_EQ(scalar_text("SELECT email_domain FROM users WHERE id = 100001"), "app.example");

  // --force, on a second migration.
  auto g = migration("0002_users_local",
                     "purpose: local part\noperations:\n  - add_column:\n      table: users\n"
                     "      column: { name: local, type: text, nullable: false }\n"
                     "      up: split_part(email, '@', 1)\n");
  ok({"start", g});
  sql("INSERT INTO users (id, email, email_domain) VALUES (100002, 'old2@app.example', "
      "'app.example')");
  EXPECT_EQ(colshift({"complete"}).exit_code, 1);
  auto forced = ok({"complete", "--force"});
  EXPECT_NE(forced.err.find("--force: an application version"), std::string::npos) << forced.err;
  EXPECT_TRUE(column_not_null("users", "local"));
}

TEST_F(CoreCommands, CompleteAndRollbackWithoutActiveMigration) {
  auto c = colshift({"complete"});
  EXPECT_EQ(c.exit_code, 2) << describe(c);
  EXPECT_NE(c.err.find("there is no active migration to complete"), std::string::npos) << c.err;
  auto r = colshift({"rollback"});
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  EXPECT_NE(r.err.find("there is no active migration to roll back"), std::string::npos) << r.err;
}

TEST_F(CoreCommands, MigrateAppliesInOrderSkipsAppliedRefusesChangedHistoryStatusDocs) {
  make_users("users", 500);
  auto dir = dir_ + "/migrations";
  // 0002 indexes the column 0001 adds: only file-name order works.
  write_file("migrations/0002_users_domain_idx.yaml",
             "purpose: look users up by domain\noperations:\n  - create_index:\n"
             "      name: users_domain_idx\n      table: users\n      columns: [email_domain]\n");
  write_file("migrations/0001_users_domain.yaml",
             "purpose: per-domain analytics\noperations:\n  - add_column:\n      table: users\n"
             "      column: { name: email_domain, type: text, nullable: false }\n"
             "      up: split_part(email, '@', 2)\n");
  write_file("migrations/README.md", "not a migration\n");
  auto r = ok({"migrate", dir, "--batch-size", "100"});
  EXPECT_NE(r.out.find("2 migrations applied, 0 already applied"), std::string::npos) << r.out;
  auto names = sql("SELECT name || ':' || phase FROM colshift.migrations ORDER BY id");
  ASSERT_EQ(names.size(), 2u);
  EXPECT_EQ(names.text(0, 0), "0001_users_domain:completed");
  EXPECT_EQ(names.text(1, 0), "0002_users_domain_idx:completed");
  EXPECT_TRUE(column_not_null("users", "email_domain"));
  EXPECT_EQ(scalar_int("SELECT count(*) FROM pg_indexes WHERE indexname = 'users_domain_idx'"), 1);

  r = ok({"migrate", dir});
  EXPECT_NE(r.out.find("0 migrations applied, 2 already applied"), std::string::npos) << r.out;

  write_file("migrations/0003_users_local.yaml",
             "purpose: local part of the email\noperations:\n  - add_column:\n      table: users\n"
             "      column: { name: local, type: text }\n      up: split_part(email, '@', 1)\n");
  r = ok({"migrate", dir});
  EXPECT_NE(r.out.find("1 migration applied, 2 already applied"), std::string::npos) << r.out;
  EXPECT_EQ(migration_rows(), 3);

  // An applied file edited afterwards is refused; nothing runs.
  write_file("migrations/0002_users_domain_idx.yaml",
             "purpose: look users up by domain, edited\noperations:\n  - create_index:\n"
             "      name: users_domain_idx\n      table: users\n      columns: [email_domain]\n");
  write_file("migrations/0004_users_upper.yaml",
             "purpose: upper email\noperations:\n  - add_column:\n      table: users\n"
             "      column: { name: upper_email, type: text }\n      up: upper(email)\n");
  r = colshift({"migrate", dir});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_NE(r.err.find("migration '0002_users_domain_idx' was applied on"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("from a different file (checksum changed)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("0002_users_domain_idx.yaml"), std::string::npos) << r.err;
  EXPECT_FALSE(has_column("users", "upper_email")) << "a later file ran after the refusal";

  auto h = ok({"history"});
  for (const char* name : {"0001_users_domain", "0002_users_domain_idx", "0003_users_local"}) {
    EXPECT_NE(h.out.find(name), std::string::npos) << h.out;
  }
  EXPECT_NE(h.out.find("completed"), std::string::npos) << h.out;
  auto hj = ok({"history", "--json"});
  auto j = nlohmann::json::parse(hj.out);
  ASSERT_EQ(j.size(), 3u);
  EXPECT_EQ(j[0]["name"], "0001_users_domain");
  EXPECT_EQ(j[2]["purpose"], "local part of the email");

  auto s = ok({"status"});
  EXPECT_NE(s.out.find("no migration in progress; last: 0003_users_local (completed)"),
            std::string::npos)
      << s.out;

  // docs: purpose, steps, locks and the rollback plan.
  auto d = ok({"docs", dir, "--out", dir_ + "/docs"});
  std::string page = read_text(dir_ + "/docs/0001_users_domain.md");
  EXPECT_NE(page.find("# 0001_users_domain"), std::string::npos) << page;
  EXPECT_NE(page.find("**Purpose.** per-domain analytics"), std::string::npos) << page;
  EXPECT_NE(page.find("## Steps"), std::string::npos) << page;
  EXPECT_NE(page.find("ACCESS EXCLUSIVE"), std::string::npos) << page;
  EXPECT_NE(page.find("backfill"), std::string::npos) << page;
  EXPECT_NE(page.find("| status | completed |"), std::string::npos) << page;
  EXPECT_NE(page.find("## Rollback plan"), std::string::npos) << page;
  EXPECT_NE(page.find("drop column users.email_domain"), std::string::npos) << page;
  std::string index = read_text(dir_ + "/docs/README.md");
  EXPECT_NE(index.find("0004_users_upper"), std::string::npos) << index;
  EXPECT_NE(index.find("pending"), std::string::npos) << index;
}

TEST_F(CoreCommands, StatusShowsPhaseAndBackfillFigures) {
  make_users("users", 300);
  auto f = domain_migration("0001_users_domain", "users", "email_domain");
  ok({"start", f, "--batch-size", "40"});
  auto s = ok({"status"});
  EXPECT_NE(s.out.find("migration 0001_users_domain: per-domain analytics for users"),
            std::string::npos)
      << s.out;
  EXPECT_NE(s.out.find("phase active"), std::string::npos) << s.out;
  EXPECT_NE(s.out.find("users.email_domain: backfill 100.0% 300/300 rows"), std::string::npos)
      << s.out;
  auto sj = nlohmann::json::parse(ok({"status", "--json"}).out);
  EXPECT_EQ(sj["active"]["phase"], "active");
  EXPECT_EQ(sj["active"]["backfill"][0]["rows_done"], 300);
  EXPECT_EQ(sj["active"]["backfill"][0]["batch_size"], 40);
  EXPECT_EQ(sj["active"]["backfill"][0]["done"], true);
}

}  // namespace
}  // namespace colshift::testing
