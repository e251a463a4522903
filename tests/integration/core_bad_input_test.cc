// Bad input gives a clear message at file:line:col, the right exit code, and
// changes nothing in the database.
#include "core_helpers.h"

namespace colshift::testing {
namespace {

class CoreBadInput : public CoreTest {
 protected:
  struct Case {
    std::string name;
    std::string yaml;
    int exit_code;
    std::vector<std::string> expected;  // substrings of stderr
  };

  void expect_refused(const Case& c) {
    SCOPED_TRACE(c.name);
    std::string before = schema_dump();
    auto f = migration(c.name, c.yaml);
    auto r = colshift({"start", f});
    EXPECT_EQ(r.exit_code, c.exit_code) << describe(r);
    for (const auto& e : c.expected) {
      std::string want = e;
      if (want.rfind("@FILE", 0) == 0) want = f + want.substr(5);
      EXPECT_NE(r.err.find(want), std::string::npos) << "missing: " << want << "\n" << r.err;
    }
    EXPECT_EQ(r.err.find("internal error"), std::string::npos) << r.err;
    EXPECT_EQ(schema_dump(), before);
    EXPECT_EQ(migration_rows(), 0);
  }
};

TEST_F(CoreBadInput, FileAndSchemaProblemsAreExit2AtFileLineColChangingNothing) {
  sql("CREATE TABLE users (id int PRIMARY KEY, email text)");
  sql("CREATE TABLE logs (at timestamptz, line text)");
  const std::string head = "purpose: p\noperations:\n";
  const std::vector<Case> cases = {
      {"malformed_yaml",
       head + "  - add_column:\n      table: [users\n",
       2,
       {"@FILE:", "not valid YAML"}},
      {"unknown_operation",
       head + "  - add_colum:\n      table: users\n",
       2,
       {"@FILE:3:5: error: unknown operation 'add_colum'", "did you mean 'add_column'?"}},
      {"unknown_key",
       head + "  - add_column:\n      table: users\n      colum: { name: x, type: int }\n",
       2,
       {"@FILE:5:7: error: unknown key 'colum' in add_column", "did you mean 'column'?"}},
      {"missing_table",
       head + "  - add_column:\n      table: nosuch\n      column: { name: x, type: int }\n",
       2,
       {"@FILE:4:7: error: table nosuch does not exist"}},
      {"missing_column_in_up",
       head + "  - add_column:\n      table: users\n      column: { name: d, type: text }\n"
              "      up: split_part(mail, '@', 2)\n",
       2,
       {"@FILE:6:22: error: 'up' of add_column does not fit the table",
        "column \"mail\" does not exist"}},
      {"not_null_without_default_or_up",
       head + "  - add_column:\n      table: users\n      column: { name: d, type: text, nullable: "
              "false }\n",
       2,
       {"@FILE:5:48: error: column 'd' is NOT NULL but has neither 'default' nor 'up'"}},
      {"no_primary_key",
       head + "  - add_column:\n      table: logs\n      column: { name: day, type: date }\n"
              "      up: at::date\n",
       2,
       {"@FILE:4:7: error: table logs has no primary key", "ADD PRIMARY KEY"}},
      {"bad_type",
       head + "  - add_column:\n      table: users\n      column: { name: d, type: txet }\n",
       2,
       {"@FILE:5:32: error: type 'txet' of column d does not fit the table"}},
      {"existing_column",
       head + "  - add_column:\n      table: users\n      column: { name: email, type: text }\n",
       2,
       {"@FILE:4:7: error: column users.email already exists"}},
  };
  for (const auto& c : cases) expect_refused(c);
}

TEST_F(CoreBadInput, UnreachableDatabaseAndMalformedUrl) {
  auto f = domain_migration("0001_users_domain", "users", "email_domain");
  auto unreachable = run_colshift({"start", f}, "postgresql://postgres@127.0.0.1:1/nowhere", dir_);
  EXPECT_EQ(unreachable.exit_code, 1) << describe(unreachable);
  EXPECT_NE(unreachable.err.find("cannot connect to the database"), std::string::npos)
      << unreachable.err;
  EXPECT_NE(unreachable.err.find("127.0.0.1:1"), std::string::npos) << unreachable.err;

  auto malformed = run_colshift({"start", f}, "postgresql://u:secret@host:notaport/db", dir_);
  EXPECT_EQ(malformed.exit_code, 2) << describe(malformed);
  EXPECT_NE(malformed.err.find("invalid database URL"), std::string::npos) << malformed.err;
  EXPECT_EQ(malformed.err.find("secret"), std::string::npos)
      << "password echoed: " << malformed.err;

  for (const char* cmd : {"status", "history", "rollback", "complete"}) {
    auto r = run_colshift({cmd}, "postgresql://postgres@127.0.0.1:1/nowhere", dir_);
    EXPECT_EQ(r.exit_code, 1) << cmd << ": " << describe(r);
    EXPECT_NE(r.err.find("cannot connect to the database"), std::string::npos)
        << cmd << ": " << r.err;
  }
  auto usage = colshift({"start"});
  EXPECT_EQ(usage.exit_code, 2) << describe(usage);
  auto missing = colshift({"start", dir_ + "/nope.yaml"});
  EXPECT_EQ(missing.exit_code, 2) << describe(missing);
  EXPECT_NE(missing.err.find("cannot read migration file"), std::string::npos) << missing.err;
  auto bad_timeout = colshift({"start", f, "--lock-timeout", "soon"});
  EXPECT_EQ(bad_timeout.exit_code, 2) << describe(bad_timeout);
  EXPECT_NE(bad_timeout.err.find("--lock-timeout: 'soon' is not a duration"), std::string::npos)
      << bad_timeout.err;
  EXPECT_EQ(migration_rows(), 0);
}

}  // namespace
}  // namespace colshift::testing
