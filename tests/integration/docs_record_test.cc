// The schema repository's record (issue 10 §3) on a real server: a
// migration's page shows each table it touched before and after, with a
// diff, what each step took and who ran what; every table gets a page of its
// own; the output is the same byte for byte when nothing changed; and
// `docs --check` fails, naming the page, once the database moved on.
#include <filesystem>
#include <map>

#include "core_helpers.h"

namespace colshift::testing {
namespace {

namespace fs = std::filesystem;

class DocsRecord : public CoreTest {
 protected:
  // Every file under `dir`, by relative path, with its content.
  std::map<std::string, std::string> tree(const std::string& dir) {
    std::map<std::string, std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(dir))
      if (e.is_regular_file()) out[fs::relative(e.path(), dir).string()] = read_text(e.path());
    return out;
  }
  std::string docs_dir() const { return dir_ + "/docs"; }
  RunResult check() { return colshift({"docs", dir_, "--out", docs_dir(), "--check"}); }
  static bool has(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
  }
};

TEST_F(DocsRecord, PageShowsEachTableBeforeAndAfterWithADiffAndEveryTableGetsAPage) {
  make_users("users", 500);
  sql("COMMENT ON TABLE users IS 'people who sign in'");
  sql("COMMENT ON COLUMN users.email IS 'login address'");
  sql("CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint REFERENCES users (id))");
  auto f = domain_migration("0001_users_domain", "users", "email_domain");

  ok({"start", f});
  ok({"docs", dir_, "--out", docs_dir()});
  auto page = read_text(docs_dir() + "/0001_users_domain.md");
  // Active: the shape now, with the dual-write trigger colshift keeps meanwhile.
  EXPECT_TRUE(has(page, "## Tables")) << page;
  EXPECT_TRUE(has(page, "Change (now (the migration is active))")) << page;
  EXPECT_TRUE(has(page, "+ column email_domain text")) << page;
  EXPECT_TRUE(has(page, "+ trigger ")) << page;

  ok({"complete"});
  ok({"docs", dir_, "--out", docs_dir()});
  page = read_text(docs_dir() + "/0001_users_domain.md");
  EXPECT_TRUE(has(page, "Recorded just before expand and after complete.")) << page;
  EXPECT_TRUE(has(page, "```diff\n+ column email_domain text NOT NULL\n")) << page;
  EXPECT_FALSE(has(page, "+ trigger ")) << page;  // complete dropped it
  EXPECT_TRUE(has(page, "column email text NOT NULL -- login address")) << page;
  EXPECT_TRUE(has(page, "[`public.users`](tables/public.users.md)")) << page;
  // What each step took, who ran it, and where rollback stops being possible.
  EXPECT_TRUE(has(page, "| estimate | took |")) << page;
  EXPECT_TRUE(has(page, "## Run log")) << page;
  EXPECT_TRUE(has(page, ": phase completed — by ")) << page;
  EXPECT_TRUE(has(page, "**Point of no return:**")) << page;

  auto users = read_text(docs_dir() + "/tables/public.users.md");
  EXPECT_TRUE(has(users, "# public.users\n\npeople who sign in")) << users;
  EXPECT_TRUE(has(users, "| 4 | email_domain | text | yes |")) << users;
  EXPECT_TRUE(has(users, "login address")) << users;
  EXPECT_TRUE(has(users, "users_pkey")) << users;
  EXPECT_TRUE(has(users, "## Referenced by")) << users;
  EXPECT_TRUE(has(users, "public.orders")) << users;
  EXPECT_TRUE(has(users, "- [0001_users_domain](../0001_users_domain.md) (completed)")) << users;
  auto orders = read_text(docs_dir() + "/tables/public.orders.md");
  EXPECT_TRUE(has(orders, "FOREIGN KEY (user_id) REFERENCES public.users(id)")) << orders;
  EXPECT_TRUE(has(orders, "No colshift migration in the directory touched it.")) << orders;
  EXPECT_FALSE(fs::exists(docs_dir() + "/tables/colshift.migrations.md"));  // colshift's own
  auto index = read_text(docs_dir() + "/README.md");
  EXPECT_TRUE(has(index, "- [public.users](tables/public.users.md)")) << index;

  // The same database gives the same bytes.
  auto first = tree(docs_dir());
  ok({"docs", dir_, "--out", docs_dir()});
  EXPECT_EQ(tree(docs_dir()), first);
  auto c = check();
  EXPECT_EQ(c.exit_code, 0) << describe(c);
  EXPECT_TRUE(has(c.out, "up to date")) << c.out;

  // The database moved on without colshift: the check names the page.
  sql("ALTER TABLE users ADD COLUMN note text");
  sql("CREATE TABLE audit (id int PRIMARY KEY)");
  c = check();
  EXPECT_EQ(c.exit_code, 1) << describe(c);
  EXPECT_TRUE(has(c.out, "tables/public.users.md: out of date")) << c.out;
  EXPECT_TRUE(has(c.out, "tables/public.audit.md: missing")) << c.out;
  EXPECT_TRUE(has(c.out, "README.md: out of date")) << c.out;
  EXPECT_FALSE(has(c.out, "0001_users_domain.md")) << c.out;  // its record did not change
  ok({"docs", dir_, "--out", docs_dir()});
  c = check();
  EXPECT_EQ(c.exit_code, 0) << describe(c);

  sql("DROP TABLE audit");
  c = colshift({"--json", "docs", dir_, "--out", docs_dir(), "--check"});
  EXPECT_EQ(c.exit_code, 1) << describe(c);
  auto j = nlohmann::json::parse(c.out);
  EXPECT_EQ(j["up_to_date"], false);
  ASSERT_FALSE(j["stale"].empty()) << c.out;
  bool gone = false;
  for (const auto& s : j["stale"])
    gone |= s["reason"] == "no longer generated" &&
            s["file"].get<std::string>().find("public.audit.md") != std::string::npos;
  EXPECT_TRUE(gone) << c.out;
  ok({"docs", dir_, "--out", docs_dir()});
  EXPECT_FALSE(fs::exists(docs_dir() + "/tables/public.audit.md"));
}

TEST_F(DocsRecord, RollbackLeavesEveryTableAsItsBeforeShape) {
  make_users("users", 300);
  sql("CREATE INDEX users_n ON users (n)");
  auto f = migration("0001_users_domain",
                     "purpose: per-domain analytics\n"
                     "operations:\n"
                     "  - add_column:\n"
                     "      table: users\n"
                     "      column: { name: email_domain, type: text, nullable: false }\n"
                     "      up: split_part(email, '@', 2)\n"
                     "  - create_index: { name: users_email_domain, table: users, columns: "
                     "[email_domain] }\n");
  ok({"start", f});
  ok({"rollback"});
  // Every column, index, constraint and trigger is back as it was.
  EXPECT_EQ(scalar_int("SELECT count(*) FROM colshift.schema_snapshots"), 2);
  EXPECT_TRUE(sql("SELECT b.tables = a.tables FROM colshift.schema_snapshots b, "
                  "colshift.schema_snapshots a WHERE b.stage = 'before' AND a.stage = 'after'")
                  .boolean(0, 0))
      << sql("SELECT string_agg(stage || ': ' || tables::text, E'\\n') FROM "
             "colshift.schema_snapshots")
             .text(0, 0);
  auto before = sql("SELECT tables::text FROM colshift.schema_snapshots WHERE stage = 'before'");
  EXPECT_TRUE(has(before.text(0, 0), "users_n")) << before.text(0, 0);
  EXPECT_FALSE(has(before.text(0, 0), "email_domain")) << before.text(0, 0);

  // The page of a rolled-back migration says so in its run log.
  ok({"docs", dir_, "--out", docs_dir()});
  auto page = read_text(docs_dir() + "/0001_users_domain.md");
  EXPECT_TRUE(has(page, "ended rolled_back")) << page;
  EXPECT_TRUE(has(page, ": phase rolling_back — by ")) << page;
}

TEST_F(DocsRecord, PendingPagesCarryLiveEstimatesThatTheCheckLeavesAlone) {
  make_users("users", 200);
  domain_migration("0001_users_domain", "users", "email_domain");
  ok({"docs", dir_, "--out", docs_dir()});
  auto page = read_text(docs_dir() + "/0001_users_domain.md");
  EXPECT_TRUE(has(page, "Status: **pending**")) << page;
  EXPECT_TRUE(has(page, "Tables it touches (as they are now):")) << page;
  // The table grows: the pending page's estimates would change, the record not.
  sql("INSERT INTO users (id, email) SELECT i, 'x' || i || '@y.example' FROM "
      "generate_series(1000, 60000) i");
  sql("ANALYZE users");
  auto c = check();
  EXPECT_EQ(c.exit_code, 0) << describe(c);
  // A change to the migration file itself is a stale page.
  domain_migration("0001_users_domain", "users", "email_host");
  c = check();
  EXPECT_EQ(c.exit_code, 1) << describe(c);
  EXPECT_TRUE(has(c.out, "0001_users_domain.md: out of date")) << c.out;
}

TEST_F(DocsRecord, AStateFromBeforeTheRecordStillDocuments) {
  make_users("users", 100);
  auto f = domain_migration("0001_users_domain", "users", "email_domain");
  ok({"start", f});
  ok({"complete"});
  // As an older colshift left it: no shapes recorded anywhere.
  sql("DROP TABLE colshift.schema_snapshots");
  ok({"docs", dir_, "--out", docs_dir()});
  auto page = read_text(docs_dir() + "/0001_users_domain.md");
  EXPECT_TRUE(has(page, "The shapes before this migration were not recorded")) << page;
  EXPECT_TRUE(has(page, "| status | completed |")) << page;
}

}  // namespace
}  // namespace colshift::testing
