// The static lock/rewrite/scan facts of the common DDL forms, checked against
// what the test PostgreSQL really does (colshift lint --trace); plus the
// lint command line against a server.
#include <algorithm>
#include <nlohmann/json.hpp>

#include "lint/catalog.h"
#include "lint/linter.h"
#include "lint/trace.h"
#include "support/pg_fixture.h"

namespace colshift::testing {
namespace {

class LintTrace : public PgTest {
 protected:
  void SetUp() override {
    PgTest::SetUp();
    if (!test_server_available()) GTEST_SKIP() << "run through ./run test";
    sql("CREATE TABLE orgs (id bigint PRIMARY KEY)");
    sql("INSERT INTO orgs SELECT generate_series(1, 100)");
    sql("CREATE TABLE users (id bigint PRIMARY KEY, org_id bigint, email text, n int, at "
        "timestamp, "
        "v varchar(20))");
    sql("INSERT INTO users SELECT g, 1 + g % 100, 'u' || g || '@x', g, now(), 'v' FROM "
        "generate_series(1, 1000) g");
    sql("CREATE INDEX users_n_idx ON users (n)");
    sql("CREATE UNIQUE INDEX users_email_uq ON users (email)");
    sql("CREATE TABLE m (id bigint, k int) PARTITION BY LIST (k)");
    sql("CREATE TABLE m_1 (id bigint, k int)");
    sql("CREATE MATERIALIZED VIEW mv AS SELECT org_id, count(*) FROM users GROUP BY org_id");
    sql("CREATE FUNCTION trg() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$");
  }

  // Lints `file` with the server's catalog and traces it; returns the
  // disagreements (empty when the static facts are honest).
  std::vector<std::string> trace(const std::string& file,
                                 std::vector<lint::TraceStatement>* out = nullptr) {
    auto conn = connect();
    lint::LintOptions o;
    o.catalog = lint::load_catalog(*conn);
    auto report = lint::lint_sql("t.sql", file, o);
    auto t = lint::trace_file(*conn, url_, report);
    for (const auto& s : t.statements) {
      EXPECT_EQ(s.status, "traced") << file << ": " << s.detail;
    }
    if (out) *out = t.statements;
    return t.disagreements(&report);
  }
};

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += x + "\n";
  return s;
}

// The static facts of the common DDL forms against what the server does.
// CREATE INDEX CONCURRENTLY is traced on a copy after the trace's transaction
// ends (it waits for every older snapshot, the trace's own included).
TEST_F(LintTrace, StaticFactsMatchTheServer) {
  const char* forms[] = {
      "ALTER TABLE users ADD COLUMN c int",
      "ALTER TABLE users ADD COLUMN c int DEFAULT 0",
      "ALTER TABLE users ADD COLUMN c float8 DEFAULT random()",
      "ALTER TABLE users ADD COLUMN c bigserial",
      "ALTER TABLE users ALTER COLUMN email SET NOT NULL",
      "ALTER TABLE users ALTER COLUMN email DROP NOT NULL",
      "ALTER TABLE users ALTER COLUMN email SET DEFAULT 'x'",
      "ALTER TABLE users ADD CONSTRAINT n_pos CHECK (n > 0)",
      "ALTER TABLE users ADD CONSTRAINT n_pos CHECK (n > 0) NOT VALID",
      "ALTER TABLE users ADD CONSTRAINT n_pos CHECK (n > 0) NOT VALID;\n"
      "ALTER TABLE users VALIDATE CONSTRAINT n_pos",
      "ALTER TABLE users ADD CONSTRAINT e_nn CHECK (email IS NOT NULL) NOT VALID;\n"
      "ALTER TABLE users VALIDATE CONSTRAINT e_nn;\nALTER TABLE users ALTER COLUMN email SET NOT "
      "NULL",
      "ALTER TABLE users ADD CONSTRAINT org_fk FOREIGN KEY (org_id) REFERENCES orgs (id) NOT VALID",
      "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email)",
      "ALTER TABLE users ALTER COLUMN n TYPE bigint",
      "ALTER TABLE users ALTER COLUMN v TYPE text",
      "ALTER TABLE users ALTER COLUMN v TYPE varchar(40)",
      "ALTER TABLE users ALTER COLUMN v TYPE varchar(10)",
      "ALTER TABLE users SET UNLOGGED",
      "ALTER TABLE users ADD COLUMN g int GENERATED ALWAYS AS (n * 2) STORED",
      "ALTER TABLE users ADD COLUMN u uuid DEFAULT gen_random_uuid()",
      "ALTER TABLE users ALTER COLUMN at TYPE timestamptz",
      "ALTER TABLE users ALTER COLUMN n TYPE numeric",
      "ALTER TABLE users ALTER COLUMN v TYPE varchar(20)",
      "ALTER TABLE users REPLICA IDENTITY FULL",
      "ALTER TABLE users ALTER COLUMN email SET STORAGE EXTERNAL",
      "ALTER TABLE users CLUSTER ON users_pkey",
      "ALTER TABLE users ENABLE ROW LEVEL SECURITY",
      "ALTER TABLE users DROP CONSTRAINT users_pkey",
      "ALTER TABLE users ADD CONSTRAINT users_email_uq UNIQUE USING INDEX users_email_uq",
      "CREATE UNIQUE INDEX users_n_uq2 ON users (n)",
      "ALTER TABLE orgs ADD COLUMN note text",
      "CREATE VIEW v_users AS SELECT id, email FROM users",
      "GRANT SELECT ON users TO PUBLIC",
      "INSERT INTO users (id) VALUES (100000)",
      "SELECT count(*) FROM users",
      "ALTER TABLE users SET (fillfactor = 70)",
      "ALTER TABLE users ALTER COLUMN n SET STATISTICS 500",
      "ALTER TABLE users RENAME COLUMN email TO mail",
      "ALTER TABLE users RENAME TO people",
      "ALTER TABLE users DROP COLUMN v",
      "ALTER TABLE users DISABLE TRIGGER ALL",
      "ALTER TABLE m ATTACH PARTITION m_1 FOR VALUES IN (1)",
      "ALTER INDEX users_n_idx RENAME TO users_n_idx2",
      "CREATE INDEX users_email_idx ON users (email)",
      "CREATE INDEX CONCURRENTLY users_email_idx ON users (email)",
      "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS users_email_key ON users (email)",
      "REINDEX TABLE CONCURRENTLY users",
      "REINDEX INDEX CONCURRENTLY users_n_idx",
      "REINDEX INDEX users_n_idx",
      "REINDEX TABLE users",
      "DROP INDEX CONCURRENTLY users_n_idx",
      "DROP INDEX CONCURRENTLY IF EXISTS users_n_idx",
      "VACUUM users",
      "VACUUM (ANALYZE, VERBOSE) users",
      "VACUUM FULL users",
      "ANALYZE users",
      "CLUSTER users USING users_pkey",
      "TRUNCATE users CASCADE",
      "REFRESH MATERIALIZED VIEW mv",
      "DROP INDEX users_n_idx",
      "CREATE TRIGGER t BEFORE INSERT ON users FOR EACH ROW EXECUTE FUNCTION trg()",
      "CREATE TABLE posts (id bigint PRIMARY KEY, user_id bigint REFERENCES users (id))",
      "COMMENT ON TABLE users IS 'people'",
      "LOCK TABLE users IN SHARE MODE",
      "UPDATE users SET n = n + 1",
      "DELETE FROM users WHERE id = 1",
      "DROP TABLE users CASCADE",
      // Issue 11: foreign keys lock the referenced table SHARE ROW EXCLUSIVE;
      // REINDEX TABLE locks each index ACCESS EXCLUSIVE; TRUNCATE gives a
      // new file; tables made by AS / INTO / renamed are new.
      "ALTER TABLE users ADD CONSTRAINT org_fk FOREIGN KEY (org_id) REFERENCES orgs (id)",
      "ALTER TABLE users ADD COLUMN org2 bigint REFERENCES orgs (id)",
      "ALTER TABLE users ADD COLUMN org2 bigint DEFAULT 1 REFERENCES orgs (id)",
      "TRUNCATE users, orgs",
      "CREATE TABLE users2 AS SELECT * FROM users;\nCREATE INDEX users2_n ON users2 (n)",
      "SELECT * INTO users3 FROM users;\nCREATE INDEX users3_n ON users3 (n)",
      "CREATE TABLE t9 (id bigint);\nALTER TABLE t9 RENAME TO t10;\nCREATE INDEX t10_i ON t10 (id)",
      "UPDATE users u SET n = 1 FROM orgs o WHERE u.org_id = o.id",
      "CREATE FUNCTION f_imm() RETURNS int LANGUAGE sql IMMUTABLE AS $$SELECT 1$$;\n"
      "ALTER TABLE users ADD COLUMN c int DEFAULT f_imm()",
      // plpgsql: a SQL function as simple as SELECT 1 is inlined, so the
      // server sees a constant whatever the function is declared.
      "CREATE FUNCTION f_vol() RETURNS int LANGUAGE plpgsql AS $$BEGIN RETURN 1; END$$;\n"
      "ALTER TABLE users ADD COLUMN c int DEFAULT f_vol()",
  };
  for (const char* form : forms) {
    auto d = trace(form);
    EXPECT_TRUE(d.empty()) << form << "\n" << joined(d);
  }
}

TEST_F(LintTrace, ObservesRewritesAndScans) {
  std::vector<lint::TraceStatement> out;
  trace("ALTER TABLE users ALTER COLUMN n TYPE bigint", &out);
  ASSERT_EQ(out.size(), 1u);
  ASSERT_FALSE(out[0].relations.empty());
  EXPECT_TRUE(out[0].relations[0].rewrite);
  EXPECT_EQ(out[0].relations[0].lock, lint::LockMode::kAccessExclusive);
  trace("ALTER TABLE users ALTER COLUMN email SET NOT NULL", &out);
  ASSERT_FALSE(out[0].relations.empty());
  EXPECT_TRUE(out[0].relations[0].scan);
  EXPECT_FALSE(out[0].relations[0].rewrite);
}

// Every index REINDEX TABLE rebuilds is named, locked ACCESS EXCLUSIVE and
// given a new file, as the server does.
TEST_F(LintTrace, ReindexTableNamesEachIndex) {
  std::vector<lint::TraceStatement> out;
  auto d = trace("REINDEX TABLE users", &out);
  EXPECT_TRUE(d.empty()) << joined(d);
  ASSERT_EQ(out.size(), 1u);
  int indexes = 0;
  for (const auto& r : out[0].relations) {
    if (r.relation == "users_n_idx" || r.relation == "users_email_uq" ||
        r.relation == "users_pkey") {
      ++indexes;
      EXPECT_EQ(r.lock, lint::LockMode::kAccessExclusive) << r.relation;
      EXPECT_TRUE(r.rewrite) << r.relation;
    }
  }
  EXPECT_EQ(indexes, 3);
}

// An index lock stronger than its table's that the facts leave out is a
// disagreement (the trace looked at tables only).
TEST_F(LintTrace, UnnamedIndexLockIsReported) {
  auto conn = connect();
  lint::LintOptions o;
  o.catalog = lint::load_catalog(*conn);
  auto report = lint::lint_sql("t.sql", "REINDEX TABLE users", o);
  auto& rels = report.facts[0].relations;
  rels.erase(std::remove_if(rels.begin(), rels.end(),
                            [](const lint::RelationFact& r) { return r.relation != "users"; }),
             rels.end());
  auto t = lint::trace_file(*conn, url_, report);
  auto d = t.disagreements(&report);
  ASSERT_EQ(d.size(), 3u) << joined(d);
  EXPECT_NE(d[0].find("took AccessExclusiveLock on index"), std::string::npos) << d[0];
}

TEST_F(LintTrace, TruncateGivesANewFile) {
  std::vector<lint::TraceStatement> out;
  auto conn = connect();
  lint::LintOptions o;
  o.catalog = lint::load_catalog(*conn);
  auto report = lint::lint_sql("t.sql", "TRUNCATE users CASCADE", o);
  ASSERT_FALSE(report.facts[0].relations.empty());
  EXPECT_TRUE(report.facts[0].relations[0].new_file);
  EXPECT_FALSE(report.facts[0].relations[0].rewrite);
  auto t = lint::trace_file(*conn, url_, report);
  ASSERT_FALSE(t.statements[0].relations.empty());
  EXPECT_TRUE(t.statements[0].relations[0].rewrite) << "the server gave it a new file";
  EXPECT_TRUE(t.disagreements(&report).empty()) << joined(t.disagreements(&report));
}

TEST_F(LintTrace, ConcurrentBuildAfterALockInTheFileIsSkippedNotHung) {
  auto conn = connect();
  lint::LintOptions o;
  auto report = lint::lint_sql("t.sql",
                               "ALTER TABLE users ADD COLUMN c int;\n"
                               "CREATE INDEX CONCURRENTLY users_c_idx ON users (c)",
                               o);
  auto t = lint::trace_file(*conn, url_, report);
  ASSERT_EQ(t.statements.size(), 2u);
  EXPECT_EQ(t.statements[0].status, "traced");
  EXPECT_EQ(t.statements[1].status, "skipped");
  EXPECT_NE(t.statements[1].detail.find("earlier statement"), std::string::npos)
      << t.statements[1].detail;
}

TEST_F(LintTrace, WrongStaticFactIsReported) {
  auto conn = connect();
  lint::LintOptions o;
  auto report = lint::lint_sql("t.sql", "ALTER TABLE users ADD COLUMN c int", o);
  report.facts[0].relations[0].lock = lint::LockMode::kShareUpdateExclusive;  // a lie
  auto t = lint::trace_file(*conn, url_, report);
  auto d = t.disagreements(&report);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0],
            "t.sql:1:1: \"users\": static lock ShareUpdateExclusiveLock, server took "
            "AccessExclusiveLock");
  EXPECT_EQ(scalar_int("SELECT count(*) FROM information_schema.columns WHERE table_name = 'users' "
                       "AND column_name = 'c'"),
            0)
      << "the trace must roll back";
}

TEST_F(LintTrace, CommandLine) {
  std::string bad = write_file("bad.sql", "CREATE INDEX i ON users (email);\n");
  auto r = colshift({"lint", "--trace", "--db", url_, bad});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  EXPECT_NE(r.out.find("error[create-index-non-concurrently]"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("trace traced"), std::string::npos) << r.out;
  std::string good = write_file(
      "good.sql", "SET lock_timeout = '1s';\nCREATE INDEX CONCURRENTLY i ON users (email);\n");
  auto g = colshift({"lint", "--db", url_, "--json", good});
  EXPECT_EQ(g.exit_code, 0) << g.out << g.err;
  auto j = nlohmann::json::parse(g.out);
  EXPECT_EQ(j["pg_version"].get<int>(), conn_->server_version());
  EXPECT_EQ(j["files"][0]["statements"][1]["facts"]["lock"], "ShareUpdateExclusiveLock");
  auto cfg = write_file(".colshift.yaml", "lint:\n  rules:\n    nope: off\n");
  auto c = colshift({"lint", good});
  EXPECT_EQ(c.exit_code, 2) << c.out << c.err;
  EXPECT_NE(c.err.find(".colshift.yaml:3:5"), std::string::npos) << c.err;
}

TEST_F(LintTrace, RepositoryExamplesAreClean) {
  std::string examples = std::string(COLSHIFT_SOURCE_DIR) + "/examples";
  auto r = run_colshift({"lint", examples}, "", COLSHIFT_SOURCE_DIR);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
}

}  // namespace
}  // namespace colshift::testing
