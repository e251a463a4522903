// create_index (INVALID leftovers, unique / partial / method, rollback) and
// raw_sql (its phase, down only when up ran, CONCURRENTLY outside a transaction).
#include "core_helpers.h"

namespace colshift::testing {
namespace {

class CoreIndex : public CoreTest {
 protected:
  std::string indexdef(const std::string& name) {
    auto r = sql("SELECT indexdef FROM pg_indexes WHERE indexname = $1", {name});
    return r.empty() ? "" : r.text(0, 0);
  }
  bool index_valid(const std::string& name) {
    auto r = sql("SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass($1)", {name});
    return !r.empty() && r.boolean(0, 0);
  }
};

TEST_F(CoreIndex, InvalidLeftoverIsDroppedAndRebuilt) {
  sql("CREATE TABLE acct (id int PRIMARY KEY, code text)");
  sql("INSERT INTO acct SELECT i, 'c' || (i % 50) FROM generate_series(1, 200) i");
  // A failed unique build leaves an INVALID index behind.
  EXPECT_THROW(sql("CREATE UNIQUE INDEX CONCURRENTLY acct_code_key ON acct (code)"), DbError);
  ASSERT_EQ(scalar_int("SELECT count(*) FROM pg_class WHERE relname = 'acct_code_key'"), 1);
  ASSERT_FALSE(index_valid("acct_code_key"));
  sql("UPDATE acct SET code = 'c' || id");  // fix the data
  auto f = migration(
      "0001_acct_code_key",
      "purpose: one account per code\noperations:\n  - create_index:\n"
      "      name: acct_code_key\n      table: acct\n      columns: [code]\n      unique: true\n");
  auto r = ok({"start", f});
  EXPECT_NE(r.err.find("dropping the INVALID index"), std::string::npos) << r.err;
  EXPECT_TRUE(index_valid("acct_code_key"));
  EXPECT_EQ(indexdef("acct_code_key"),
            "CREATE UNIQUE INDEX acct_code_key ON public.acct USING btree (code)");
  ok({"rollback"});
  EXPECT_EQ(scalar_int("SELECT count(*) FROM pg_class WHERE relname = 'acct_code_key'"), 0);
}

TEST_F(CoreIndex, UniquePartialMethodAndExpressionIndexDefinitions) {
  sql("CREATE TABLE doc (id int PRIMARY KEY, title text, score int, tags text[], body text)");
  sql("INSERT INTO doc SELECT i, 't' || i, i % 100, ARRAY['a' || (i % 3)], 'b' FROM "
      "generate_series(1, 300) i");
  std::string before = schema_dump();
  auto f = migration(
      "0001_doc_indexes",
      "purpose: indexes of every shape\noperations:\n"
      "  - create_index: { name: doc_title_key, table: doc, columns: [title], unique: true }\n"
      "  - create_index:\n      name: doc_hot_idx\n      table: doc\n"
      "      columns: [score DESC, id]\n      where: score > 90\n"
      "  - create_index: { name: doc_title_hash, table: doc, columns: [title], method: hash }\n"
      "  - create_index: { name: doc_tags_gin, table: doc, columns: [tags], method: GIN }\n"
      "  - create_index: { name: doc_lower_title, table: doc, columns: [lower(title)] }\n");
  ok({"start", f});
  EXPECT_EQ(indexdef("doc_title_key"),
            "CREATE UNIQUE INDEX doc_title_key ON public.doc USING btree (title)");
  EXPECT_EQ(
      indexdef("doc_hot_idx"),
      "CREATE INDEX doc_hot_idx ON public.doc USING btree (score DESC, id) WHERE (score > 90)");
  EXPECT_EQ(indexdef("doc_title_hash"),
            "CREATE INDEX doc_title_hash ON public.doc USING hash (title)");
  EXPECT_EQ(indexdef("doc_tags_gin"), "CREATE INDEX doc_tags_gin ON public.doc USING gin (tags)");
  EXPECT_EQ(indexdef("doc_lower_title"),
            "CREATE INDEX doc_lower_title ON public.doc USING btree (lower(title))");
  ok({"rollback"});
  EXPECT_EQ(schema_dump(), before);
}

TEST_F(CoreIndex, UniqueBuildFailureLeavesNoInvalidIndex) {
  sql("CREATE TABLE acct (id int PRIMARY KEY, code text)");
  sql("INSERT INTO acct SELECT i, 'dup' FROM generate_series(1, 10) i");
  std::string before = schema_dump();
  auto f = migration(
      "0001_acct_code_key",
      "purpose: one account per code\noperations:\n  - create_index:\n"
      "      name: acct_code_key\n      table: acct\n      columns: [code]\n      unique: true\n");
  auto r = colshift({"start", f});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_NE(r.err.find("could not create unique index"), std::string::npos) << r.err;
  EXPECT_EQ(scalar_int("SELECT count(*) FROM pg_class WHERE relname = 'acct_code_key'"), 0);
  ok({"rollback"});
  EXPECT_EQ(schema_dump(), before);
}

class CoreRawSql : public CoreTest {};

TEST_F(CoreRawSql, UpRunsInItsPhaseDownOnlyIfUpRan) {
  sql("CREATE TABLE t (id int PRIMARY KEY, x int)");
  sql("CREATE TABLE down_log (what text)");
  std::string before = schema_dump();
  auto f = migration(
      "0001_raw",
      "purpose: raw steps in each phase\noperations:\n"
      "  - raw_sql:\n      up: CREATE TABLE side_expand (id int); CREATE TABLE side_expand2 (id "
      "int)\n"
      "      down: DROP TABLE side_expand2; DROP TABLE side_expand; INSERT INTO down_log VALUES "
      "('expand')\n"
      "  - raw_sql:\n      phase: finish\n      up: CREATE TABLE side_finish (id int)\n"
      "      down: DROP TABLE side_finish; INSERT INTO down_log VALUES ('finish')\n"
      "  - raw_sql:\n      phase: complete\n      up: CREATE TABLE side_complete (id int)\n"
      "      down: INSERT INTO down_log VALUES ('complete')\n");
  ok({"start", f});
  EXPECT_TRUE(sql("SELECT to_regclass('side_expand2') IS NOT NULL").boolean(0, 0));
  EXPECT_TRUE(sql("SELECT to_regclass('side_finish') IS NOT NULL").boolean(0, 0));
  EXPECT_FALSE(sql("SELECT to_regclass('side_complete') IS NOT NULL").boolean(0, 0))
      << "a complete-phase raw_sql ran during start";
  ok({"rollback"});
  EXPECT_EQ(scalar_text("SELECT string_agg(what, ',' ORDER BY what) FROM down_log"),
            "expand,finish");
  sql("DELETE FROM down_log");
  EXPECT_EQ(schema_dump(), before);

  // A failing finish-phase up: its down must not run, the expand one must.
  auto g = migration(
      "0002_raw_fails",
      "purpose: a raw step that fails\noperations:\n"
      "  - raw_sql:\n      up: CREATE TABLE side_a (id int)\n"
      "      down: DROP TABLE side_a; INSERT INTO down_log VALUES ('a')\n"
      "  - raw_sql:\n      phase: finish\n      up: CREATE TABLE side_b (id int); SELECT 1 / 0\n"
      "      down: DROP TABLE side_b; INSERT INTO down_log VALUES ('b')\n");
  auto r = colshift({"start", g});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_NE(r.err.find("division by zero"), std::string::npos) << r.err;
  EXPECT_FALSE(sql("SELECT to_regclass('side_b') IS NOT NULL").boolean(0, 0))
      << "up was not one transaction";
  ok({"rollback"});
  EXPECT_EQ(scalar_text("SELECT coalesce(string_agg(what, ','), '') FROM down_log"), "a");
  sql("DELETE FROM down_log");
  EXPECT_EQ(schema_dump(), before);

  // complete runs the complete-phase raw_sql.
  ok({"start", f});
  ok({"complete", "--quiet-period", "0s"});
  EXPECT_TRUE(sql("SELECT to_regclass('side_complete') IS NOT NULL").boolean(0, 0));
}

TEST_F(CoreRawSql, ConcurrentlyRunsOutsideATransaction) {
  sql("CREATE TABLE t (id int PRIMARY KEY, x int)");
  sql("INSERT INTO t SELECT i, i FROM generate_series(1, 100) i");
  std::string before = schema_dump();
  // CREATE INDEX CONCURRENTLY fails inside a transaction block (25001).
  auto f = migration("0001_raw_cic",
                     "purpose: an index by hand\noperations:\n"
                     "  - raw_sql:\n      up: CREATE INDEX CONCURRENTLY t_x_raw ON t (x)\n"
                     "      down: DROP INDEX CONCURRENTLY IF EXISTS t_x_raw\n");
  auto plan = ok({"plan", f});
  EXPECT_NE(plan.out.find("outside a transaction"), std::string::npos) << plan.out;
  ok({"start", f});
  EXPECT_EQ(scalar_int("SELECT count(*) FROM pg_indexes WHERE indexname = 't_x_raw'"), 1);
  ok({"rollback"});
  EXPECT_EQ(schema_dump(), before);
}

}  // namespace
}  // namespace colshift::testing
