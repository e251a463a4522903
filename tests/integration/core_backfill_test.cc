// Backfill correctness on every kind of primary key, with small batches so
// that many batches run, on tables with gaps and on an empty table.
#include <filesystem>

#include "core_helpers.h"

namespace colshift::testing {
namespace {

class CoreBackfill : public CoreTest {
 protected:
  // Starts `file` with --batch-size `batch`, checks every row against `up`,
  // completes, and checks NOT NULL and the default.
  void start_check_complete(const std::string& file, const std::string& table,
                            const std::string& column, const std::string& up, int batch,
                            const std::string& expected_default) {
    ok({"start", file, "--batch-size", std::to_string(batch)});
    EXPECT_EQ(phase_of(std::filesystem::path(file).stem().string()), "active");
    EXPECT_EQ(mismatches(table, column, up), 0)
        << "rows whose " << column << " is not up(row) after start";
    EXPECT_EQ(scalar_int("SELECT count(*) FROM " + table + " WHERE " + column + " IS NULL"), 0);
    EXPECT_FALSE(column_not_null(table, column)) << "NOT NULL must wait for complete";
    ok({"complete", "--quiet-period", "0s"});
    EXPECT_TRUE(column_not_null(table, column));
    EXPECT_EQ(column_default(table, column), expected_default);
    EXPECT_EQ(mismatches(table, column, up), 0);
    // The dual-write trigger and its function are gone.
    EXPECT_EQ(scalar_int("SELECT count(*) FROM pg_trigger WHERE tgrelid = '" + table +
                         "'::regclass AND tgname LIKE 'colshift%'"),
              0);
    EXPECT_EQ(scalar_int("SELECT count(*) FROM pg_proc WHERE proname LIKE 'colshift%' AND "
                         "pronamespace <> 'colshift'::regnamespace"),
              0);
  }
};

TEST_F(CoreBackfill, IntegerKeyWithGapsAndBigJumps) {
  sql("CREATE TABLE acct (id bigint PRIMARY KEY, email text, plan text)");
  sql("INSERT INTO acct SELECT i, 'u' || i || '@Host' || (i % 13) || '.io', 'p' || (i % 3) "
      "FROM generate_series(1, 2000) i");
  sql("DELETE FROM acct WHERE id % 7 = 0");
  sql("INSERT INTO acct VALUES (1000000, 'a@jump.io', 'p1'), (50000000000, 'b@far.io', 'p2'), "
      "(-5, 'neg@minus.io', 'p0'), (9223372036854775807, 'max@edge.io', 'p1')");
  long long rows = scalar_int("SELECT count(*) FROM acct");
  auto f = add_column_file("0001_acct_domain", "acct",
                           "{ name: domain, type: text, nullable: false, default: \"'none'\" }",
                           "lower(split_part(email, '@', 2))");
  start_check_complete(f, "acct", "domain", "lower(split_part(email, '@', 2))", 7, "'none'::text");
  EXPECT_EQ(scalar_int("SELECT rows_done FROM colshift.backfill"), rows);
  EXPECT_EQ(scalar_int("SELECT batch_size FROM colshift.backfill"), 7);
  // New rows after complete get the default.
  sql("INSERT INTO acct (id, email) VALUES (77777777, 'x@y.z')");
  EXPECT_EQ(scalar_text("SELECT domain FROM acct WHERE id = 77777777"), "none");
}

TEST_F(CoreBackfill, CompositeIntTextKey) {
  sql("CREATE TABLE item (tenant int, code text, qty int NOT NULL, PRIMARY KEY (tenant, code))");
  sql("INSERT INTO item SELECT t, c, t * 10 + length(c) FROM generate_series(1, 30) t, "
      "unnest(ARRAY['a', 'B', 'b', 'aa', 'Z', 'z 1', 'é', 'x''q', '', '10', '9', 'null']) c");
  sql("DELETE FROM item WHERE (tenant + length(code)) % 7 = 0");
  long long rows = scalar_int("SELECT count(*) FROM item");
  auto f =
      add_column_file("0001_item_label", "item", "{ name: label, type: text, nullable: false }",
                      "tenant::text || '/' || code || '/' || qty");
  start_check_complete(f, "item", "label", "tenant::text || '/' || code || '/' || qty", 5, "");
  EXPECT_EQ(scalar_int("SELECT rows_done FROM colshift.backfill"), rows);
}

TEST_F(CoreBackfill, TextKeyWithAwkwardValues) {
  sql("CREATE TABLE tag (name text PRIMARY KEY, hits int NOT NULL)");
  sql("INSERT INTO tag SELECT 'tag-' || i, i FROM generate_series(1, 400) i");
  sql("INSERT INTO tag (name, hits) SELECT v, 1000 + ord FROM unnest(ARRAY['', '  ', 'A', 'a', "
      "'Ä', 'ä', "
      "'\"quoted\"', 'back\\slash', '[\"json\"]', '日本', 'zzz', repeat('x', 2000)]) WITH "
      "ORDINALITY AS u(v, ord)");
  sql("DELETE FROM tag WHERE hits % 7 = 0");
  long long rows = scalar_int("SELECT count(*) FROM tag");
  auto f = add_column_file("0001_tag_score", "tag",
                           "{ name: score, type: bigint, nullable: false, default: \"0\" }",
                           "hits * 2 + length(name)");
  start_check_complete(f, "tag", "score", "hits * 2 + length(name)", 7, "0");
  EXPECT_EQ(scalar_int("SELECT rows_done FROM colshift.backfill"), rows);
}

TEST_F(CoreBackfill, UuidKey) {
  sql("CREATE TABLE sess (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), started bigint NOT NULL)");
  sql("INSERT INTO sess (started) SELECT i FROM generate_series(1, 1500) i");
  sql("INSERT INTO sess VALUES ('00000000-0000-0000-0000-000000000000', 0), "
      "('ffffffff-ffff-ffff-ffff-ffffffffffff', 1)");
  sql("DELETE FROM sess WHERE started % 7 = 0");
  long long rows = scalar_int("SELECT count(*) FROM sess");
  auto f = add_column_file("0001_sess_bucket", "sess",
                           "{ name: bucket, type: int, nullable: false }", "(started / 60)::int");
  start_check_complete(f, "sess", "bucket", "(started / 60)::int", 11, "");
  EXPECT_EQ(scalar_int("SELECT rows_done FROM colshift.backfill"), rows);
}

TEST_F(CoreBackfill, EmptyTable) {
  sql("CREATE TABLE nothing (id int PRIMARY KEY, email text)");
  auto f = add_column_file("0001_nothing_domain", "nothing",
                           "{ name: domain, type: text, nullable: false, default: \"'x'\" }",
                           "split_part(email, '@', 2)");
  start_check_complete(f, "nothing", "domain", "split_part(email, '@', 2)", 7, "'x'::text");
  EXPECT_EQ(scalar_int("SELECT rows_done FROM colshift.backfill"), 0);
  EXPECT_TRUE(sql("SELECT done FROM colshift.backfill").boolean(0, 0));
}

TEST_F(CoreBackfill, NullableColumnKeepsNullsFromUp) {
  // `up` may yield NULL for a nullable column: those rows stay NULL and the
  // backfill still ends (it must not loop on rows it cannot fill).
  make_users("people", 300);
  auto f = add_column_file("0001_people_even", "people", "{ name: even_mail, type: text }",
                           "CASE WHEN id % 2 = 0 THEN email END");
  ok({"start", f, "--batch-size", "13"});
  EXPECT_EQ(mismatches("people", "even_mail", "CASE WHEN id % 2 = 0 THEN email END"), 0);
  ok({"complete", "--quiet-period", "0s"});
  EXPECT_FALSE(column_not_null("people", "even_mail"));
}

}  // namespace
}  // namespace colshift::testing
