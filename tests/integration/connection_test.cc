#include "support/pg_fixture.h"

namespace colshift::testing {

class ConnectionTest : public PgTest {};

TEST_F(ConnectionTest, BindsParametersAndReadsNulls) {
  auto r = sql("SELECT $1::int + 1 AS n, NULL::text AS z", {std::string("41")});
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r.integer(0, 0), 42);
  EXPECT_FALSE(r.at(0, "z").has_value());
}

TEST_F(ConnectionTest, ClassifiesErrors) {
  try {
    sql("SELECT * FROM no_such_table");
    FAIL() << "expected an error";
  } catch (const DbError& e) {
    EXPECT_EQ(e.code(), "42P01");
    EXPECT_EQ(e.error_class(), DbErrorClass::kUserError);
  }
}

TEST_F(ConnectionTest, ErrorsCarryTheServersPositionInCharacters) {
  try {
    sql("SELECT 'é', nosuch FROM pg_class");
    FAIL() << "expected an error";
  } catch (const DbError& e) {
    EXPECT_EQ(e.code(), "42703");
    EXPECT_EQ(e.position(), 13);  // characters, not bytes: 'é' is one
  }
  try {
    sql("SELECT 1 / (SELECT 0)");
    FAIL() << "expected an error";
  } catch (const DbError& e) {
    EXPECT_EQ(e.code(), "22012");
    EXPECT_EQ(e.position(), 0);  // an execution error names no position
  }
}

TEST(ConnectionUrl, BadUrlIsBadInput) {
  try {
    pg::check_conninfo("postgresql://u:secret@host:notaport/db?bogus_option=1");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kBadInput);
    EXPECT_EQ(e.where().find("secret"), std::string::npos) << e.where();
  }
}

}  // namespace colshift::testing
