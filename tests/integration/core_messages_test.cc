// Messages about a migration's SQL, as exact text: expression errors at the
// expression's own line:col with a caret and a hint per error class; indexes
// on mixed-case and reserved-word columns; indexes on partitioned tables.
#include <sstream>

#include "core_helpers.h"

namespace colshift::testing {
namespace {

class CoreMessages : public CoreTest {
 protected:
  struct Refusal {
    std::string name;
    std::string operations;  // the YAML after "operations:\n"
    int line;                // where the caret points
    int col;
    std::string message;
    std::string hint;
  };

  // Runs `plan FILE` and `start FILE` for the case's migration; both must
  // refuse with exit 2 and print exactly the error at line:col (with its
  // source line and a caret; start says what it starts first), changing
  // nothing.
  void expect_refused(const Refusal& c) {
    SCOPED_TRACE(c.name);
    std::string before = schema_dump();
    const std::string yaml = "purpose: p\noperations:\n" + c.operations;
    std::istringstream lines(yaml);
    std::string source;
    for (int i = 0; i < c.line; ++i) std::getline(lines, source);
    auto f = migration(c.name, yaml);
    const std::string error = "colshift: " + f + ":" + std::to_string(c.line) + ":" +
                              std::to_string(c.col) + ": error: " + c.message + "\n    " + source +
                              "\n    " + std::string(c.col - 1, ' ') + "^\n  hint: " + c.hint +
                              "\n";
    for (const char* cmd : {"plan", "start"}) {
      auto r = colshift({cmd, f});
      EXPECT_EQ(r.exit_code, 2) << cmd << ": " << describe(r);
      EXPECT_EQ(r.err, (cmd == std::string("start") ? "start " + c.name + ": p\n" : "") + error)
          << cmd;
      EXPECT_EQ(r.out, "") << cmd;
    }
    EXPECT_EQ(schema_dump(), before);
    EXPECT_EQ(migration_rows(), 0);
  }
};

TEST_F(CoreMessages, ExpressionErrorsPointAtTheExpressionWithAHintPerErrorClass) {
  make_users("users", 10);
  const std::string add = "  - add_column:\n      table: users\n";
  const std::string text_d = add + "      column: { name: d, type: text }\n";
  const std::string index = "  - create_index:\n      name: users_x_idx\n      table: users\n";
  const std::string mail =
      "'up' of add_column does not fit the table: column \"mail\" does not exist";
  const std::string users =
      "columns of users: id, email, n; added by this migration: d; did you mean email?";
  const std::vector<Refusal> cases = {
      {"up_undefined_column", text_d + "      up: split_part(mail, '@', 2)\n", 6, 22, mail, users},
      // Double quotes with escapes, single quotes with '': the caret still
      // lands on the column as written in the file.
      {"up_double_quoted", text_d + "      up: \"split_part(\\\"mail\\\", '@', 2)\"\n", 6, 23, mail,
       users},
      {"up_single_quoted", text_d + "      up: 'split_part(''x'' || mail, ''@'', 2)'\n", 6, 32,
       mail, users},
      // A block scalar: the expression's start.
      {"up_block", text_d + "      up: |\n        lower(\n          mail)\n", 6, 11, mail, users},
      {"bad_type", add + "      column: { name: d, type: txet }\n", 5, 32,
       "type 'txet' of column d does not fit the table: type \"txet\" does not exist",
       "write a type PostgreSQL knows (text, integer, bigint, numeric(12,2), boolean, "
       "timestamptz, date, uuid, jsonb, ...); did you mean text?"},
      {"default_text_value", add + "      column: { name: d, type: text, default: \"abc\" }\n", 5,
       48, "'default' of add_column does not fit the table: column \"abc\" does not exist",
       "a default is an SQL expression, not a value: write a text constant in SQL quotes inside "
       "the YAML ones, default: \"'abc'\""},
      {"undefined_function", text_d + "      up: lowr(email)\n", 6, 11,
       "'up' of add_column does not fit the table: function lowr(text) does not exist",
       "check the name and the argument types (cast with ::type where they differ); did you mean "
       "lower?"},
      {"syntax_error", text_d + "      up: split_part(email, '@' 2)\n", 6, 33,
       "'up' of add_column does not fit the table: syntax error at or near \"2\"",
       "the expression goes into SELECT (...) as written: check the SQL at the caret"},
      {"check_not_boolean",
       add + "      column: { name: d, type: int, check: \"length(email)\" }\n", 5, 45,
       "'check' of add_column must be a boolean condition, not type integer",
       "write a condition that is true for valid rows (a comparison, IS NOT NULL, IN (...), ...)"},
      {"index_column", index + "      columns: [email, \"lower(emial)\"]\n", 6, 31,
       "'columns' of create_index does not fit the table: column \"emial\" does not exist",
       "columns of users: id, email, n; did you mean email?"},
      {"index_where", index + "      columns: [email]\n      where: n + 1\n", 7, 14,
       "'where' of create_index must be a boolean condition, not type integer",
       "write a condition that is true for the rows to index (a comparison, IS NOT NULL, IN "
       "(...), ...)"},
  };
  for (const auto& c : cases) expect_refused(c);
}

TEST_F(CoreMessages, IndexOnJustAddedMixedCaseAndReservedWordColumnsWorksEndToEnd) {
  make_users("users", 50);
  auto f = migration("0001_src",
                     "purpose: attribute sign-ups\noperations:\n"
                     "  - add_column:\n      table: users\n"
                     "      column: { name: SignupSource, type: text }\n"
                     "      up: split_part(email, '@', 2)\n"
                     "  - add_column:\n      table: users\n"
                     "      column: { name: order, type: int }\n"
                     "      up: n\n"
                     "  - create_index:\n      name: users_src_idx\n      table: users\n"
                     "      columns: [SignupSource, order DESC]\n");
  ok({"plan", f});
  ok({"start", f});
  auto r =
      sql("SELECT indisvalid, pg_get_indexdef(indexrelid) FROM pg_index WHERE indexrelid = "
          "to_regclass('users_src_idx')");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_TRUE(r.boolean(0, 0));
  EXPECT_EQ(r.text(0, 1),
            "CREATE INDEX users_src_idx ON public.users USING btree (\"SignupSource\", \"order\" "
            "DESC)");
  EXPECT_EQ(mismatches("users", "\"SignupSource\"", "split_part(email, '@', 2)"), 0);
  EXPECT_EQ(mismatches("users", "\"order\"", "n"), 0);
}

TEST_F(CoreMessages, UnquotedMixedCaseOrReservedWordInAnExpressionSaysHowToQuoteIt) {
  make_users("users", 10);
  const std::string adds =
      "  - add_column:\n      table: users\n      column: { name: SignupSource, type: text }\n"
      "  - add_column:\n      table: users\n      column: { name: order, type: int }\n"
      "  - create_index:\n      name: users_x_idx\n      table: users\n";
  const std::vector<Refusal> cases = {
      {"mixed_case", adds + "      columns: [lower(SignupSource)]\n", 12, 23,
       "'columns' of create_index does not fit the table: column \"signupsource\" does not exist",
       "unquoted names are folded to lower case: write \"SignupSource\" in double quotes"},
      {"reserved_word", adds + "      columns: [email]\n      where: order > 1\n", 13, 14,
       "'where' of create_index does not fit the table: syntax error at or near \"order\"",
       "order is a reserved word: write \"order\" in double quotes"},
      // A plain name is quoted, as the planner quotes it: matched exactly.
      {"plain_name_case", adds + "      columns: [signupsource]\n", 12, 17,
       "'columns' of create_index does not fit the table: column \"signupsource\" does not exist",
       "a plain column name is matched exactly: write SignupSource"},
  };
  for (const auto& c : cases) expect_refused(c);
}

TEST_F(CoreMessages, IndexOnAPartitionedTableIsRefusedAtPlanTime) {
  sql("CREATE TABLE events (id bigint, at date, PRIMARY KEY (id, at)) PARTITION BY RANGE (at)");
  sql("CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO "
      "('2025-01-01')");
  std::string before = schema_dump();
  auto f = migration("0001_events_at",
                     "purpose: p\noperations:\n  - create_index:\n      name: events_at_idx\n"
                     "      table: events\n      columns: [at]\n");
  for (const char* cmd : {"plan", "start"}) {
    auto r = colshift({cmd, f});
    EXPECT_EQ(r.exit_code, 2) << cmd << ": " << describe(r);
    EXPECT_EQ(
        r.err,
        std::string(cmd == std::string("start") ? "start 0001_events_at: p\n" : "") +
            "colshift: " + f +
            ":4:7: error: table events is partitioned: CREATE INDEX CONCURRENTLY cannot build an "
            "index on a partitioned table\n"
            "  hint: colshift does not build partitioned indexes yet; use raw_sql: CREATE INDEX "
            "events_at_idx ON ONLY public.events (at) (the index starts invalid), then on each "
            "partition CREATE INDEX CONCURRENTLY and ALTER INDEX events_at_idx ATTACH PARTITION "
            "<that index>; events_at_idx is valid once every partition's index is attached\n")
        << cmd;
  }
  EXPECT_EQ(schema_dump(), before);
  EXPECT_EQ(migration_rows(), 0);
}

}  // namespace
}  // namespace colshift::testing
