// The record's table shapes without a database: a diff keyed by what each
// line describes (a changed column is one "-" and one "+", not a reshuffle),
// a created or dropped table said as such, shapes that survive their JSON,
// and table page paths that are safe file names.
#include <gtest/gtest.h>

#include "dialect/table_shape.h"
#include "docs/docs.h"

namespace colshift {
namespace {

TableShape users() {
  TableShape t;
  t.name = "public.users";
  t.kind = "table";
  t.comment = "people";
  t.columns = {{"id", "bigint", true, "", "ALWAYS AS IDENTITY", ""},
               {"email", "text", true, "", "", "login"},
               {"n", "integer", false, "0", "", ""}};
  t.indexes = {
      {"users_pkey", "CREATE UNIQUE INDEX users_pkey ON public.users USING btree (id)", true}};
  t.constraints = {{"users_pkey", "primary key", "PRIMARY KEY (id)", true}};
  return t;
}

TEST(DocsShape, DiffIsKeyedByWhatEachLineDescribes) {
  TableShape before = users();
  TableShape after = users();
  after.columns[2].type = "bigint";                                // changed
  after.columns.push_back({"domain", "text", false, "", "", ""});  // added last
  after.constraints.push_back({"users_n_check", "check", "CHECK ((n >= 0))", false});
  after.indexes.clear();  // dropped
  auto diff = shape_diff(&before, &after);
  std::vector<std::string> want = {
      "- column n integer DEFAULT 0",
      "+ column n bigint DEFAULT 0",
      "- index users_pkey: CREATE UNIQUE INDEX users_pkey ON public.users USING btree (id)",
      "+ column domain text",
      "+ constraint users_n_check (check): CHECK ((n >= 0)) NOT VALID",
  };
  EXPECT_EQ(diff, want);
  EXPECT_TRUE(shape_diff(&before, &before).empty());
}

TEST(DocsShape, ACreatedOrDroppedTableIsSaidAsSuch) {
  TableShape t = users();
  auto created = shape_diff(nullptr, &t);
  ASSERT_FALSE(created.empty());
  EXPECT_EQ(created[0], "+ table public.users (created)");
  EXPECT_EQ(created[1], "+ comment: people");
  auto dropped = shape_diff(&t, nullptr);
  EXPECT_EQ(dropped[0], "- table public.users (dropped)");
  EXPECT_EQ(dropped.size(), created.size());
}

TEST(DocsShape, ShapesSurviveTheirJson) {
  SchemaSnapshot s;
  s.recorded = true;
  s.tables = {users()};
  s.absent = {"public.new_table"};
  auto back = snapshot_from_json(nlohmann::json::parse(snapshot_to_json(s).dump()));
  ASSERT_EQ(back.tables.size(), 1u);
  EXPECT_TRUE(back.recorded);
  EXPECT_EQ(back.absent, s.absent);
  EXPECT_TRUE(shape_diff(&s.tables[0], &back.tables[0]).empty());
  EXPECT_EQ(back.tables[0].columns[0].generated, "ALWAYS AS IDENTITY");
  EXPECT_FALSE(snapshot_from_json(nullptr).recorded);  // none stored
}

TEST(DocsShape, TablePagePathsAreSafeFileNames) {
  EXPECT_EQ(docs::table_page_path("public.users"), "tables/public.users.md");
  EXPECT_EQ(docs::table_page_path("app.Order Items/x"), "tables/app.Order%20Items%2Fx.md");
}

TEST(DocsShape, TablePageListsWhatTheCatalogSaysAndWhoTouchedIt) {
  auto page = docs::table_page(users(), {{"0001_users", "completed", "../0001_users.md"}});
  EXPECT_NE(page.find("| 1 | id | bigint | yes | `GENERATED ALWAYS AS IDENTITY` |  |"),
            std::string::npos)
      << page;
  EXPECT_NE(page.find("| 3 | n | integer |  | `0` |  |"), std::string::npos) << page;
  EXPECT_NE(page.find("- [0001_users](../0001_users.md) (completed)"), std::string::npos) << page;
}

}  // namespace
}  // namespace colshift
