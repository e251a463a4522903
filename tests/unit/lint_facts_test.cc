// Static facts per statement: lock mode per relation, rewrite, scan, what it
// blocks, by PostgreSQL version. The integration test lint_trace_test.cc
// checks the same forms against a real server.
#include <gtest/gtest.h>

#include "lint/types.h"
#include "lint_support.h"

namespace colshift::lint {
namespace {

const RelationFact& fact(const FileReport& r, size_t stmt, const std::string& rel) {
  for (const auto& f : r.facts.at(stmt).relations) {
    if (f.relation == rel) return f;
  }
  static RelationFact none;
  ADD_FAILURE() << "no fact for " << rel << " in statement " << stmt;
  return none;
}

struct Case {
  const char* sql;
  const char* relation;
  LockMode lock;
  bool rewrite;
  bool scan;
};

TEST(LintFacts, CommonForms) {
  using L = LockMode;
  const Case cases[] = {
      {"ALTER TABLE t ADD COLUMN c int", "t", L::kAccessExclusive, false, false},
      {"ALTER TABLE t ADD COLUMN c float8 DEFAULT random()", "t", L::kAccessExclusive, true, false},
      {"ALTER TABLE t ALTER COLUMN c SET NOT NULL", "t", L::kAccessExclusive, false, true},
      {"ALTER TABLE t ADD CONSTRAINT k CHECK (c > 0)", "t", L::kAccessExclusive, false, true},
      {"ALTER TABLE t ADD CONSTRAINT k CHECK (c > 0) NOT VALID", "t", L::kAccessExclusive, false,
       false},
      {"ALTER TABLE t VALIDATE CONSTRAINT k", "t", L::kShareUpdateExclusive, false, true},
      {"ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (c) REFERENCES u (id)", "u",
       L::kShareRowExclusive, false, true},
      {"ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (c) REFERENCES u (id) NOT VALID", "t",
       L::kShareRowExclusive, false, false},
      {"ALTER TABLE t SET (fillfactor = 70)", "t", L::kShareUpdateExclusive, false, false},
      {"ALTER TABLE t ALTER COLUMN c SET STATISTICS 500", "t", L::kShareUpdateExclusive, false,
       false},
      {"ALTER TABLE t SET UNLOGGED", "t", L::kAccessExclusive, true, false},
      {"ALTER TABLE t DISABLE TRIGGER ALL", "t", L::kShareRowExclusive, false, false},
      {"CREATE INDEX i ON t (c)", "t", L::kShare, false, true},
      {"CREATE INDEX CONCURRENTLY i ON t (c)", "t", L::kShareUpdateExclusive, false, true},
      {"DROP INDEX CONCURRENTLY i", "i", L::kShareUpdateExclusive, false, false},
      {"CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION f()", "t",
       L::kShareRowExclusive, false, false},
      {"TRUNCATE t", "t", L::kAccessExclusive, false, false},
      {"VACUUM FULL t", "t", L::kAccessExclusive, true, true},
      {"REFRESH MATERIALIZED VIEW CONCURRENTLY mv", "mv", L::kExclusive, false, true},
      {"LOCK TABLE t IN SHARE MODE", "t", L::kShare, false, false},
      {"UPDATE t SET c = 1", "t", L::kRowExclusive, false, true},
      {"UPDATE t SET c = 1 WHERE id = 1", "t", L::kRowExclusive, false, false},
      {"COMMENT ON TABLE t IS 'x'", "t", L::kShareUpdateExclusive, false, false},
  };
  for (const auto& c : cases) {
    auto r = testing::lint_text(c.sql, 150000);
    const auto& f = fact(r, 0, c.relation);
    EXPECT_EQ(lock_name(f.lock), std::string(lock_name(c.lock))) << c.sql;
    EXPECT_EQ(f.rewrite, c.rewrite) << c.sql;
    EXPECT_EQ(f.scan, c.scan) << c.sql;
  }
}

TEST(LintFacts, ByVersion) {
  auto attach12 = testing::lint_text("ALTER TABLE m ATTACH PARTITION p FOR VALUES IN (1)", 120000);
  EXPECT_EQ(fact(attach12, 0, "m").lock, LockMode::kShareUpdateExclusive);
  EXPECT_EQ(fact(attach12, 0, "p").lock, LockMode::kAccessExclusive);
  EXPECT_TRUE(fact(attach12, 0, "p").scan);
  auto attach11 = testing::lint_text("ALTER TABLE m ATTACH PARTITION p FOR VALUES IN (1)", 110000);
  EXPECT_EQ(fact(attach11, 0, "m").lock, LockMode::kAccessExclusive);
  EXPECT_EQ(fact(testing::lint_text("ALTER INDEX i RENAME TO j", 120000), 0, "i").lock,
            LockMode::kShareUpdateExclusive);
  EXPECT_EQ(fact(testing::lint_text("ALTER INDEX i RENAME TO j", 110000), 0, "i").lock,
            LockMode::kAccessExclusive);
  EXPECT_TRUE(
      fact(testing::lint_text("ALTER TABLE t ADD COLUMN c int DEFAULT 1", 100000), 0, "t").rewrite);
  EXPECT_FALSE(
      fact(testing::lint_text("ALTER TABLE t ADD COLUMN c int DEFAULT 1", 110000), 0, "t").rewrite);
}

TEST(LintFacts, BlocksFollowTheConflictTable) {
  EXPECT_TRUE(blocks_of(LockMode::kAccessExclusive).reads);
  EXPECT_FALSE(blocks_of(LockMode::kExclusive).reads);
  EXPECT_TRUE(blocks_of(LockMode::kShare).writes);
  EXPECT_FALSE(blocks_of(LockMode::kShareUpdateExclusive).writes);
  EXPECT_TRUE(blocks_of(LockMode::kShareUpdateExclusive).ddl);
  EXPECT_FALSE(blocks_of(LockMode::kRowExclusive).ddl);
  EXPECT_TRUE(locks_conflict(LockMode::kShareRowExclusive, LockMode::kShareRowExclusive));
  EXPECT_FALSE(locks_conflict(LockMode::kShare, LockMode::kShare));
  EXPECT_EQ(parse_lock_name("ShareUpdateExclusiveLock"), LockMode::kShareUpdateExclusive);
  EXPECT_EQ(parse_lock_name("ACCESS EXCLUSIVE"), LockMode::kAccessExclusive);
  EXPECT_EQ(lock_label(LockMode::kShareRowExclusive), "SHARE ROW EXCLUSIVE");
}

TEST(LintFacts, CreatedHereAndProvenNotNull) {
  auto r = testing::lint_text(
      "CREATE TABLE t (id bigint);\nALTER TABLE t ADD COLUMN c int;\n"
      "ALTER TABLE u ADD CONSTRAINT k CHECK (c IS NOT NULL);\nALTER TABLE u ALTER COLUMN c SET NOT "
      "NULL;",
      150000);
  EXPECT_TRUE(fact(r, 0, "t").created_here);
  EXPECT_TRUE(fact(r, 1, "t").created_here);
  EXPECT_EQ(r.facts[1].strongest(), LockMode::kNone);
  EXPECT_FALSE(fact(r, 3, "u").scan);
  EXPECT_TRUE(fact(r, 2, "u").scan);
}

}  // namespace
}  // namespace colshift::lint
