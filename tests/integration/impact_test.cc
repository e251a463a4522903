// The impact section (issue 14 §1): plan, --json and docs name who feels a
// change to a table, read from the catalog of a real server.
#include "core_helpers.h"

namespace colshift::testing {
namespace {

class Impact : public CoreTest {
 protected:
  void TearDown() override {
    // Replication slots belong to the server, not the test's database.
    try {
      sql("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE "
          "slot_name = $1",
          {slot()});
    } catch (...) {
    }
    CoreTest::TearDown();
  }
  std::string slot() const { return "s_" + dbname_; }
};

TEST_F(Impact, PlanJsonAndDocsNameWhoFeelsTheChange) {
  make_users("users", 500);
  sql("CREATE INDEX users_email_idx ON users (email)");
  sql("CREATE VIEW user_emails AS SELECT id, email FROM users");
  sql("CREATE MATERIALIZED VIEW user_counts AS SELECT count(*) AS n FROM users");
  sql("CREATE FUNCTION count_users() RETURNS bigint LANGUAGE plpgsql AS "
      "$$BEGIN RETURN (SELECT count(*) FROM users); END$$");
  sql("CREATE FUNCTION unrelated() RETURNS int LANGUAGE sql AS 'SELECT 1'");
  sql("CREATE FUNCTION audit() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$");
  sql("CREATE TRIGGER users_audit AFTER UPDATE ON users FOR EACH ROW EXECUTE FUNCTION audit()");
  sql("CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint REFERENCES users (id))");
  sql("ALTER TABLE users ENABLE ROW LEVEL SECURITY");
  sql("CREATE POLICY own_rows ON users FOR SELECT USING (true)");
  sql("CREATE PUBLICATION users_pub FOR TABLE users");
  sql("CREATE PUBLICATION other_pub FOR TABLE orders");
  sql("SELECT pg_create_physical_replication_slot($1, true)", {slot()});
  auto f = domain_migration("0001_users_domain", "users", "email_domain");

  auto full = ok({"plan", f}).out;
  const auto from = full.find("impact (who feels the change");
  ASSERT_NE(from, std::string::npos) << full;
  const std::string text = full.substr(from, full.find("\nnote:", from) - from);
  EXPECT_NE(text.find("public.users: ~500 rows"), std::string::npos) << text;
  EXPECT_NE(text.find("users_email_idx"), std::string::npos) << text;
  EXPECT_NE(text.find("HOT possible (no index covers email_domain)"), std::string::npos) << text;
  EXPECT_NE(text.find("public.user_emails (view)"), std::string::npos) << text;
  EXPECT_NE(text.find("public.user_counts (materialized view)"), std::string::npos) << text;
  EXPECT_NE(text.find("count_users() (named in its body)"), std::string::npos) << text;
  EXPECT_EQ(text.find("unrelated()"), std::string::npos) << text;
  EXPECT_NE(text.find("users_audit: AFTER UPDATE"), std::string::npos) << text;
  EXPECT_EQ(text.find("colshift_dw"), std::string::npos) << "colshift's own objects are not impact";
  EXPECT_NE(text.find("in orders.orders_user_id_fkey: FOREIGN KEY (user_id) REFERENCES users(id)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("row security enabled; own_rows (FOR SELECT)"), std::string::npos) << text;
  EXPECT_NE(text.find("users_pub"), std::string::npos) << text;
  EXPECT_EQ(text.find("other_pub"), std::string::npos) << text;
  EXPECT_NE(text.find(slot() + " (physical, inactive"), std::string::npos) << text;

  auto j = nlohmann::json::parse(ok({"plan", f, "--json"}).out);
  ASSERT_EQ(j["impact"].size(), 1u) << j.dump(2);
  const auto& im = j["impact"][0];
  EXPECT_EQ(im["table"], "public.users");
  EXPECT_EQ(im["changed_columns"], nlohmann::json::array({"email_domain"}));
  EXPECT_EQ(im["indexes"].size(), 2u);
  EXPECT_GT(im["heap_bytes"].get<long long>(), 0);
  EXPECT_EQ(im["foreign_keys_in"].size(), 1u);
  EXPECT_TRUE(im["row_security"].get<bool>());
  EXPECT_EQ(im["publications"], nlohmann::json::array({"users_pub"}));

  ok({"start", f});
  ok({"complete", "--force"});

  // docs carries the same section for the applied migration.
  ok({"docs", dir_, "--out", dir_ + "/docs"});
  auto page = read_text(dir_ + "/docs/0001_users_domain.md");
  EXPECT_NE(page.find("## Impact"), std::string::npos) << page;
  EXPECT_NE(page.find("public.user_emails (view)"), std::string::npos) << page;
}

// A partitioned table is published through its partitions (pg_publication_tables
// lists the partitions unless publish_via_partition_root): the impact section
// and the downstream rules still see the publication.
TEST_F(Impact, PublicationOfAPartitionedTableIsSeen) {
  sql("CREATE TABLE events (id bigint PRIMARY KEY, email text NOT NULL) PARTITION BY RANGE (id)");
  sql("CREATE TABLE events_1 PARTITION OF events FOR VALUES FROM (0) TO (1000)");
  sql("CREATE TABLE events_2 PARTITION OF events FOR VALUES FROM (1000) TO (2000)");
  sql("INSERT INTO events SELECT i, 'u' || i || '@x.example' FROM generate_series(1, 1500) i");
  sql("CREATE PUBLICATION events_pub FOR TABLE events");
  auto f = domain_migration("0001_events_domain", "events", "email_domain");
  auto j = nlohmann::json::parse(ok({"plan", f, "--json"}).out);
  ASSERT_EQ(j["impact"].size(), 1u) << j.dump(2);
  EXPECT_EQ(j["impact"][0]["publications"], nlohmann::json::array({"events_pub"}));
  ASSERT_EQ(j["downstream"]["columns"].size(), 1u) << j.dump(2);
  EXPECT_EQ(j["downstream"]["columns"][0]["publications"], nlohmann::json::array({"events_pub"}));
}

// Offline there is no catalog: no impact section, and nothing claims one.
TEST_F(Impact, OfflinePlansHaveNone) {
  auto f = domain_migration("0001_users_domain", "users", "email_domain");
  auto text = ok({"plan", f, "--offline"}).out;
  EXPECT_EQ(text.find("impact ("), std::string::npos) << text;
  auto j = nlohmann::json::parse(ok({"plan", f, "--offline", "--json"}).out);
  EXPECT_TRUE(j["impact"].empty()) << j.dump(2);
}

}  // namespace
}  // namespace colshift::testing
