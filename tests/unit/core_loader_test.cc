// Loader error messages, as exact text: file:line:col, the source line with a
// caret, and the hint.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "migration/migration.h"
#include "util/error.h"

namespace colshift {
namespace {

constexpr const char* kFile = "migrations/0003_users_email_domain.yaml";

// The rendered error for loading `text`, or "loaded" when it loads.
std::string load_error(const std::string& text) {
  try {
    migration::parse_migration(text, kFile);
    return "loaded";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kBadInput);
    return e.render();
  }
}

const std::string kHead = "purpose: p\noperations:\n";

TEST(CoreLoader, LoadsAValidFile) {
  auto m = migration::parse_migration(
      kHead +
          "  - add_column:\n"
          "      table: app.users\n"
          "      column: { name: d, type: text, nullable: false, default: \"'x'\" }\n"
          "      up: split_part(email, '@', 2)\n"
          "  - create_index: { name: i, table: users, columns: [d], method: HASH }\n"
          "  - raw_sql: { up: SELECT 1, down: SELECT 2, phase: finish }\n",
      kFile);
  EXPECT_EQ(m.name, "0003_users_email_domain");
  EXPECT_EQ(m.purpose, "p");
  ASSERT_EQ(m.operations.size(), 3u);
  const auto& a = std::get<migration::AddColumn>(m.operations[0]);
  EXPECT_EQ(a.table.schema, "app");
  EXPECT_EQ(a.table.name, "users");
  EXPECT_FALSE(a.column.nullable);
  EXPECT_EQ(*a.column.default_expr, "'x'");
  EXPECT_EQ(*a.up, "split_part(email, '@', 2)");
  EXPECT_EQ(a.pos.line, 4);
  EXPECT_EQ(a.pos.column, 7);
  EXPECT_EQ(std::get<migration::CreateIndex>(m.operations[1]).method, "hash");
  EXPECT_EQ(std::get<migration::RawSql>(m.operations[2]).phase, migration::RawSqlPhase::kFinish);
  EXPECT_EQ(m.checksum.size(), 64u);
}

TEST(CoreLoader, MalformedYaml) {
  EXPECT_EQ(load_error(kHead + "  - add_column:\n      table: [users\n"),
            "migrations/0003_users_email_domain.yaml:5:1: error: not valid YAML: end of sequence "
            "flow not found\n"
            "    \n"
            "    ^\n"
            "  hint: check indentation and quoting; SQL with ':' or '#' needs quotes");
}

TEST(CoreLoader, InvalidUtf8IsNamedWithItsPosition) {
  std::string rendered = load_error("purpose: caf\xe9 (latin-1)\noperations: []\n");
  EXPECT_EQ(rendered.substr(0, rendered.find('\n')),
            "migrations/0003_users_email_domain.yaml:1:13: error: migration file is not valid "
            "UTF-8 (byte 0xE9)");
  EXPECT_NE(rendered.find("hint: save the file as UTF-8"), std::string::npos) << rendered;
  EXPECT_EQ(load_error(kHead + "  - raw_sql: { up: \"SELECT 'caf\xc3\xa9'\", down: SELECT 2 }\n"),
            "loaded");
}

TEST(CoreLoader, UnknownOperationSuggestsTheClosest) {
  EXPECT_EQ(
      load_error(kHead + "  - add_colum:\n      table: users\n"),
      "migrations/0003_users_email_domain.yaml:3:5: error: unknown operation 'add_colum'\n"
      "      - add_colum:\n"
      "        ^\n"
      "  hint: valid operations: add_column, create_index, raw_sql; did you mean 'add_column'?");
}

TEST(CoreLoader, UnknownKeySuggestsTheRightKey) {
  EXPECT_EQ(
      load_error(kHead +
                 "  - add_column:\n      table: users\n      colum: { name: x, type: int }\n"),
      "migrations/0003_users_email_domain.yaml:5:7: error: unknown key 'colum' in add_column\n"
      "          colum: { name: x, type: int }\n"
      "          ^\n"
      "  hint: valid keys: table, column, up; did you mean 'column'?");
  EXPECT_EQ(
      load_error(kHead +
                 "  - add_column:\n      table: users\n      column: { name: x, tpye: int }\n"),
      "migrations/0003_users_email_domain.yaml:5:26: error: unknown key 'tpye' in "
      "add_column.column\n"
      "          column: { name: x, tpye: int }\n"
      "                             ^\n"
      "  hint: valid keys: name, type, nullable, default, check; did you mean 'type'?");
  EXPECT_EQ(
      load_error("purpose: p\noperation:\n  - raw_sql: { up: x, down: y }\n"),
      "migrations/0003_users_email_domain.yaml:2:1: error: unknown key 'operation' in the "
      "migration\n"
      "    operation:\n"
      "    ^\n"
      "  hint: valid keys: name, purpose, undeclared_writers, subscribers, guards, operations; did "
      "you mean "
      "'operations'?");
}

TEST(CoreLoader, NotNullWithoutDefaultOrUp) {
  EXPECT_EQ(
      load_error(kHead + "  - add_column:\n      table: users\n"
                         "      column: { name: d, type: text, nullable: false }\n"),
      "migrations/0003_users_email_domain.yaml:5:48: error: column 'd' is NOT NULL but has neither "
      "'default' nor 'up'; existing rows would have no value\n"
      "          column: { name: d, type: text, nullable: false }\n"
      "                                                   ^\n"
      "  hint: add 'up: <expression>' to compute existing rows (for example up: 'lower(email)'), "
      "or a "
      "constant 'default', or make the column nullable");
}

TEST(CoreLoader, MissingPurposeAndEmptyFile) {
  EXPECT_EQ(
      load_error("operations:\n  - raw_sql: { up: x, down: y }\n"),
      "migrations/0003_users_email_domain.yaml:1:1: error: the migration needs 'purpose': why this "
      "change exists\n"
      "    operations:\n"
      "    ^\n"
      "  hint: purpose goes into the history table and the generated docs");
  EXPECT_EQ(load_error(""),
            "migrations/0003_users_email_domain.yaml: error: migration file is empty\n"
            "  hint: a migration needs 'purpose' and 'operations'; 'colshift new NAME' writes a "
            "skeleton");
}

TEST(CoreLoader, RawSqlNeedsDownAndAKnownPhase) {
  EXPECT_EQ(load_error(kHead + "  - raw_sql:\n      up: CREATE TABLE x (id int)\n"),
            "migrations/0003_users_email_domain.yaml:4:7: error: raw_sql needs 'down': the SQL "
            "that undoes 'up'\n"
            "          up: CREATE TABLE x (id int)\n"
            "          ^\n"
            "  hint: every operation must be reversible; write the inverse statements in 'down'");
  EXPECT_EQ(
      load_error(kHead + "  - raw_sql: { up: x, down: y, phase: later }\n"),
      "migrations/0003_users_email_domain.yaml:3:39: error: unknown phase 'later' in raw_sql\n"
      "      - raw_sql: { up: x, down: y, phase: later }\n"
      "                                          ^\n"
      "  hint: valid phases: expand, finish, complete");
}

TEST(CoreLoader, RawSqlAllowHazardsNamesKnownHazards) {
  auto m = migration::parse_migration(
      kHead +
          "  - raw_sql:\n      up: ALTER TABLE t ALTER COLUMN c TYPE bigint\n"
          "      down: ALTER TABLE t ALTER COLUMN c TYPE int\n"
          "      allow_hazards: [rewrites_table, breaks_old_app, rewrites_table]\n"
          "  - raw_sql: { up: SELECT 1, down: SELECT 2 }\n",
      kFile);
  const auto& raw = std::get<migration::RawSql>(m.operations[0]);
  EXPECT_EQ(raw.allow_hazards, (std::vector<migration::Hazard>{migration::Hazard::kRewritesTable,
                                                               migration::Hazard::kBreaksOldApp}));
  EXPECT_TRUE(std::get<migration::RawSql>(m.operations[1]).allow_hazards.empty());
  EXPECT_EQ(
      load_error(kHead + "  - raw_sql: { up: x, down: y, allow_hazards: [rewrite_table] }\n"),
      "migrations/0003_users_email_domain.yaml:3:48: error: unknown hazard 'rewrite_table' in "
      "allow_hazards\n"
      "      - raw_sql: { up: x, down: y, allow_hazards: [rewrite_table] }\n"
      "                                                   ^\n"
      "  hint: valid hazards: rewrites_table, scans_under_lock, blocks_writes, deletes_data, "
      "breaks_old_app; did you mean 'rewrites_table'?");
  EXPECT_EQ(
      load_error(kHead + "  - raw_sql: { up: x, down: y, allow_hazards: rewrites_table }\n"),
      "migrations/0003_users_email_domain.yaml:3:47: error: 'allow_hazards' in raw_sql must be a "
      "list of hazard names\n"
      "      - raw_sql: { up: x, down: y, allow_hazards: rewrites_table }\n"
      "                                                  ^\n"
      "  hint: allow_hazards: [rewrites_table]; valid hazards: rewrites_table, scans_under_lock, "
      "blocks_writes, deletes_data, breaks_old_app");
}

TEST(CoreLoader, IndexOptionsAreChecked) {
  EXPECT_EQ(
      load_error(kHead + "  - create_index: { name: i, table: t, columns: [a], method: btrie }\n"),
      "migrations/0003_users_email_domain.yaml:3:62: error: unknown index method 'btrie'\n"
      "      - create_index: { name: i, table: t, columns: [a], method: btrie }\n"
      "                                                                 ^\n"
      "  hint: valid methods: btree, hash, gist, gin, spgist, brin");
  EXPECT_EQ(
      load_error(kHead + "  - create_index: { name: i, table: t, columns: [] }\n"),
      "migrations/0003_users_email_domain.yaml:3:49: error: 'columns' in create_index must be a "
      "non-empty list\n"
      "      - create_index: { name: i, table: t, columns: [] }\n"
      "                                                    ^\n"
      "  hint: columns: [col1, col2]");
}

TEST(CoreLoader, DuplicateOperationAndLongName) {
  EXPECT_EQ(load_error(kHead + "  - add_column: { table: t, column: { name: a, type: int } }\n"
                               "  - add_column: { table: t, column: { name: a, type: int } }\n"),
            "migrations/0003_users_email_domain.yaml:4:5: error: column t.a is created twice in "
            "this migration\n"
            "      - add_column: { table: t, column: { name: a, type: int } }\n"
            "        ^\n"
            "  hint: remove one of the two operations");
  std::string name(64, 'n');
  EXPECT_EQ(load_error(kHead + "  - add_column: { table: t, column: { name: " + name +
                       ", type: int } }\n"),
            "migrations/0003_users_email_domain.yaml:3:45: error: 'name' in add_column.column is "
            "64 bytes; "
            "PostgreSQL truncates names to 63 bytes\n"
            "      - add_column: { table: t, column: { name: " +
                name +
                ", type: int } }\n"
                "                                                ^\n"
                "  hint: choose a shorter name");
}

TEST(CoreLoader, ExpressionPositionsMapEachByteWhereTheScalarIsOnOneLine) {
  auto m = migration::parse_migration(
      kHead +
          "  - add_column:\n"
          "      table: users\n"
          "      column: { name: d, type: text, check: \"d <> 'é'\", default: \"'a\\\"b'\" }\n"
          "      up: 'lower(''X'')'\n"
          "  - add_column:\n"
          "      table: users\n"
          "      column: { name: e, type: text }\n"
          "      up: |\n"
          "        lower(email)\n"
          "  - create_index: { name: i, table: users, columns: [d, \" lower(d) DESC\"], where: d > "
          "'é' }\n",
      kFile);
  const auto& a = std::get<migration::AddColumn>(m.operations[0]);
  EXPECT_EQ(a.column.type_pos.line, 5);
  EXPECT_EQ(a.column.type_pos.byte_columns, (std::vector<int>{32, 33, 34, 35}));
  // A two-byte character, and a value after it on the same line.
  EXPECT_EQ(*a.column.check, "d <> 'é'");
  EXPECT_EQ(a.column.check_pos.byte_columns,
            (std::vector<int>{46, 47, 48, 49, 50, 51, 52, 53, 54}));
  EXPECT_EQ(*a.column.default_expr, "'a\"b'");
  EXPECT_EQ(a.column.default_pos.byte_columns, (std::vector<int>{68, 69, 70, 72, 73}));
  EXPECT_EQ(a.column.default_pos.column, 68);
  EXPECT_EQ(*a.up, "lower('X')");
  EXPECT_EQ(a.up_pos.byte_columns, (std::vector<int>{12, 13, 14, 15, 16, 17, 18, 20, 21, 23}));
  EXPECT_EQ(a.up_pos.at(7).column, 20);
  EXPECT_EQ(a.up_pos.at(7).line, 6);
  EXPECT_TRUE(a.up_pos.at(7).byte_columns.empty());
  EXPECT_EQ(a.up_pos.at(99).column, 12);  // past the end: the start
  // A block scalar: only the start is known.
  const auto& b = std::get<migration::AddColumn>(m.operations[1]);
  EXPECT_TRUE(b.up_pos.byte_columns.empty());
  EXPECT_EQ(b.up_pos.line, 10);
  EXPECT_EQ(b.up_pos.column, 11);
  EXPECT_EQ(b.up_pos.at(3).column, 11);
  const auto& c = std::get<migration::CreateIndex>(m.operations[2]);
  ASSERT_EQ(c.column_pos.size(), 2u);
  EXPECT_EQ(c.column_pos[0].byte_columns, std::vector<int>{54});
  EXPECT_EQ(c.columns[1], "lower(d) DESC");
  EXPECT_EQ(c.column_pos[1].column, 59);
  EXPECT_EQ(c.column_pos[1].byte_columns.back(), 71);
  EXPECT_EQ(c.where_pos.line, 12);
  EXPECT_EQ(c.where_pos.byte_columns, (std::vector<int>{83, 84, 85, 86, 87, 88, 89, 90}));
  const std::string line =
      "  - create_index: { name: i, table: users, columns: [d, \" lower(d) DESC\"], where: d > "
      "'é' }";
  EXPECT_EQ(migration::excerpt(m, c.where_pos.at(4)),
            fmt::format("{}:12:87\n    {}\n    {:86}^", kFile, line, ""));
}

TEST(CoreLoader, EscapesInDoubleQuotesMapToTheirBackslash) {
  auto m = migration::parse_migration(
      kHead +
          "  - add_column:\n      table: users\n      column: { name: d, type: text }\n"
          "      up: \"'\\x41\\u00e9\\t' || \\\"x\\\"\"\n",
      kFile);
  const auto& a = std::get<migration::AddColumn>(m.operations[0]);
  EXPECT_EQ(*a.up, "'A\xc3\xa9\t' || \"x\"");
  // ' \x41 \u00e9 (two bytes) \t ' space | | space \" x \"
  EXPECT_EQ(a.up_pos.byte_columns,
            (std::vector<int>{12, 13, 17, 17, 23, 25, 26, 27, 28, 29, 30, 32, 33}));
}

}  // namespace
}  // namespace colshift
