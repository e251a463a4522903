// Downstream safety on real servers (issue 14 §2, §4): a publisher and a
// subscriber of the test's own (wal_level = logical), a publication and a
// subscription between them. Adding a column keeps replication flowing when
// the subscriber gets it first; without that step start refuses, naming the
// publication and the subscription.
#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "core_helpers.h"
#include "support/private_server.h"

namespace colshift::testing {
namespace {

// Whether `text` holds `piece`; on failure, says which and shows the text.
::testing::AssertionResult has(const std::string& text, const std::string& piece) {
  if (text.find(piece) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "missing \"" << piece << "\" in:\n" << text;
}

using namespace std::chrono_literals;

constexpr const char* kMigration =
    "purpose: per-domain analytics on the subscriber too\n"
    "operations:\n"
    "  - add_column:\n"
    "      table: users\n"
    "      column: { name: email_domain, type: text, nullable: false }\n"
    "      up: split_part(email, '@', 2)\n";

template <typename Pred>
bool wait_until(Pred pred, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return pred();
}

// A publisher with users (id, email) published by users_pub, and a
// subscriber whose subscription users_sub has copied it.
class DownstreamReplication : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!test_server_available()) GTEST_SKIP() << "run through ./run test";
    pub_ = std::make_unique<PrivateServer>(std::vector<std::string>{"wal_level = logical"});
    sub_ = std::make_unique<PrivateServer>(std::vector<std::string>{"wal_level = logical"});
    p_ = pg::PgConnection::connect({pub_->url()});
    s_ = pg::PgConnection::connect({sub_->url()});
    const std::string table =
        "CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL, n int NOT NULL DEFAULT "
        "0)";
    p_->exec(table);
    p_->exec(
        "INSERT INTO users (id, email) SELECT i, 'user' || i || '@d' || (i % 17) || '.example' "
        "FROM generate_series(1, 3000) i");
    p_->exec("ANALYZE users");
    p_->exec("CREATE PUBLICATION users_pub FOR TABLE users");
    s_->exec(table);
    s_->exec(fmt::format(
        "CREATE SUBSCRIPTION users_sub CONNECTION 'host=127.0.0.1 port={} user=postgres "
        "dbname=postgres' PUBLICATION users_pub",
        pub_->port()));
    ASSERT_TRUE(wait_until([&] { return count(*s_, "SELECT count(*) FROM users") == 3000; }, 60s))
        << "the subscription did not copy the table";
    char tmpl[] = "/tmp/colshift-downstream.XXXXXX";
    dir_ = mkdtemp(tmpl);
    file_ = dir_ + "/0001_users_domain.yaml";
    std::ofstream(file_) << kMigration;
  }
  void TearDown() override {
    p_.reset();
    s_.reset();
    sub_.reset();  // the subscriber first: its apply worker holds the publisher's slot
    pub_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  static long long count(Connection& c, const std::string& q) { return c.exec(q).integer(0, 0); }
  RunResult colshift(const std::vector<std::string>& args) {
    return run_colshift(args, pub_->url(), dir_);
  }
  bool column_on(Connection& c) {
    return c
        .exec(
            "SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'users'::regclass "
            "AND attname = 'email_domain' AND NOT attisdropped)")
        .boolean(0, 0);
  }
  long long apply_errors() {
    return count(*s_, "SELECT coalesce(sum(apply_error_count), 0) FROM pg_stat_subscription_stats");
  }

  std::unique_ptr<PrivateServer> pub_, sub_;
  std::unique_ptr<pg::PgConnection> p_, s_;
  std::string dir_, file_;
};

TEST_F(DownstreamReplication, StartIsRefusedUntilTheSubscriberIsConfirmed) {
  // Dependents and a second publication whose column list leaves the column out.
  p_->exec("CREATE VIEW user_emails AS SELECT id, email FROM users");
  p_->exec(
      "CREATE FUNCTION count_users() RETURNS bigint LANGUAGE plpgsql AS $$BEGIN RETURN "
      "(SELECT count(*) FROM users); END$$");
  p_->exec("CREATE PUBLICATION ids_pub FOR TABLE users (id)");
  // Plan names the subscription and what it must run first.
  auto plan = colshift({"plan", file_});
  ASSERT_EQ(plan.exit_code, 0) << describe(plan);
  EXPECT_TRUE(has(plan.out, "views:             public.user_emails (view)"));
  EXPECT_TRUE(has(plan.out, "count_users() (named in its body)"));
  EXPECT_TRUE(has(plan.out, "publications:      ids_pub (columns id); users_pub"));
  EXPECT_TRUE(has(plan.out, "replication slots: users_sub (logical pgoutput, active"));
  EXPECT_TRUE(has(plan.out, "replicated by users_pub; not by ids_pub (column list)"));
  EXPECT_TRUE(has(plan.out, "subscriber users_sub (slot users_sub, active): unchecked"));

  auto r = colshift({"start", file_});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_TRUE(has(r.err,
                  "error: refusing to start: public.users is published by users_pub, and "
                  "PostgreSQL does not replicate DDL; subscription users_sub (slot "
                  "users_sub) is unchecked"));
  EXPECT_TRUE(has(r.err, "--subscribers-ready"));
  EXPECT_FALSE(column_on(*p_)) << "a refused start changed the table";
  EXPECT_EQ(count(*p_, "SELECT count(*) FROM colshift.migrations"), 0);

  // Named, the subscriber is checked: it lacks the column, so still refused.
  setenv("COLSHIFT_TEST_SUBSCRIBER", sub_->url().c_str(), 1);
  r = colshift({"start", file_, "--subscriber", "COLSHIFT_TEST_SUBSCRIBER"});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_TRUE(has(r.err,
                  "subscription users_sub (slot users_sub) on COLSHIFT_TEST_SUBSCRIBER is "
                  "missing: lacks public.users.email_domain"));
  // --subscribers-ready does not override what colshift saw.
  r = colshift({"start", file_, "--subscriber", "COLSHIFT_TEST_SUBSCRIBER", "--subscribers-ready"});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_FALSE(column_on(*p_));

  // Acknowledged without a check: start runs, and the history says who vouched.
  r = colshift({"start", file_, "--subscribers-ready"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  auto h = colshift({"history"});
  EXPECT_TRUE(has(h.out,
                  "downstream: subscribers users_sub acknowledged; --subscribers-ready by "
                  "postgres"));
  EXPECT_EQ(count(*p_,
                  "SELECT count(*) FROM colshift.events WHERE kind = 'downstream' AND "
                  "(detail->>'acknowledged')::bool"),
            1);
  // ... and the vouch was wrong: the subscriber's apply stops at the next change.
  p_->exec("INSERT INTO users (id, email) VALUES (900001, 'late@x.example')");
  EXPECT_TRUE(wait_until([&] { return apply_errors() > 0; }, 30s))
      << "the subscriber applied a row with a column it does not have";
  EXPECT_EQ(count(*s_, "SELECT count(*) FROM users WHERE id = 900001"), 0);
}

TEST_F(DownstreamReplication, AddColumnWithBackfillKeepsReplicationFlowing) {
  auto plan = colshift({"plan", file_, "--subscriber", sub_->url()});
  ASSERT_EQ(plan.exit_code, 0) << describe(plan);
  EXPECT_TRUE(has(plan.out, "subscriber users_sub (slot users_sub, active; on postgresql://"));
  EXPECT_TRUE(has(plan.out, "): missing (lacks public.users.email_domain)"));

  // The old app version writes on the publisher during start and while the
  // migration is active; the new one (which sets the column) after complete.
  std::atomic<bool> stop{false}, new_app{false};
  std::atomic<long long> next{100000}, errors{0};
  auto write = [&] {
    auto w = pg::PgConnection::connect({pub_->url()});
    while (!stop) {
      const long long n = next++;
      const std::string id = std::to_string(n);
      try {
        if (new_app) {
          w->exec("INSERT INTO users (id, email, email_domain) VALUES ($1, $2, 'v2.example')",
                  {id, "v" + id + "@v2.example"});
        } else {
          w->exec("INSERT INTO users (id, email) VALUES ($1, $2)",
                  {id, "w" + id + "@new" + std::to_string(n % 3) + ".example"});
          w->exec("UPDATE users SET email = 'moved' || id || '@m.example' WHERE id = $1",
                  {std::to_string(n % 3000 + 1)});
        }
      } catch (const std::exception&) {
        ++errors;
      }
      std::this_thread::sleep_for(5ms);
    }
  };
  std::thread old_writer(write);
  auto r = colshift({"start", file_, "--subscriber", sub_->url(), "--prepare-subscribers",
                     "--batch-size", "200"});
  std::this_thread::sleep_for(500ms);  // writes while it is active
  stop = true;
  old_writer.join();
  auto c = colshift({"complete", "--force"});
  stop = false;
  new_app = true;
  std::thread new_writer(write);
  std::this_thread::sleep_for(300ms);  // and after complete
  stop = true;
  new_writer.join();
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  ASSERT_EQ(c.exit_code, 0) << describe(c);
  EXPECT_EQ(errors, 0) << "app writes failed";
  EXPECT_TRUE(has(r.err,
                  ": ALTER TABLE \"public\".\"users\" ADD COLUMN IF NOT EXISTS "
                  "\"email_domain\" text ..."));
  EXPECT_TRUE(column_on(*s_));

  // Everything written on the publisher arrives, with the new column's values.
  const long long total = count(*p_, "SELECT count(*) FROM users");
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(wait_until(
      [&] {
        return count(*s_, "SELECT count(*) FROM users") == total &&
               count(*s_,
                     "SELECT count(*) FROM users WHERE email_domain IS DISTINCT FROM "
                     "split_part(email, '@', 2)") == 0;
      },
      60s))
      << "subscriber rows " << count(*s_, "SELECT count(*) FROM users") << " of " << total
      << ", without the right email_domain: "
      << count(*s_,
               "SELECT count(*) FROM users WHERE email_domain IS DISTINCT FROM split_part(email, "
               "'@', 2)");
  const auto caught_up_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  EXPECT_GT(total, 3000 + 50) << "the writer wrote during the migration";
  EXPECT_EQ(apply_errors(), 0);
  EXPECT_EQ(count(*p_, "SELECT count(*) FROM users WHERE email_domain IS NULL"), 0);
  std::cout << "[ measured ] " << total - 3000 << " rows written during and after the migration; "
            << "subscriber caught up " << caught_up_ms << " ms after the writer stopped; slot lag "
            << count(*p_,
                     "SELECT coalesce(max(pg_wal_lsn_diff(pg_current_wal_lsn(), "
                     "confirmed_flush_lsn)), 0)::bigint FROM pg_replication_slots")
            << " bytes\n";
  auto h = colshift({"history"});
  EXPECT_TRUE(has(h.out, "downstream: subscribers users_sub ready; prepared first on"));
}

// An inactive logical slot that holds back much WAL is a warning in plan and start.
TEST(DownstreamSlots, InactiveSlotWithLargeLagIsAWarning) {
  if (!test_server_available()) GTEST_SKIP() << "run through ./run test";
  PrivateServer server(std::vector<std::string>{"wal_level = logical"});
  auto c = pg::PgConnection::connect({server.url()});
  c->exec("CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL)");
  c->exec("INSERT INTO users SELECT i, 'u' || i || '@x.example' FROM generate_series(1, 100) i");
  c->exec("SELECT pg_create_logical_replication_slot('gone_consumer', 'pgoutput')");
  for (int i = 0; i < 6; ++i) {  // more than four WAL segments (16 MB each) past the slot
    c->exec("INSERT INTO users VALUES (1000 + " + std::to_string(i) + ", 'x@y.example')");
    c->exec("SELECT pg_switch_wal()");
  }
  char tmpl[] = "/tmp/colshift-slots.XXXXXX";
  std::string dir = mkdtemp(tmpl);
  std::string file = dir + "/0001_users_domain.yaml";
  std::ofstream(file) << kMigration;
  auto plan = run_colshift({"plan", file}, server.url(), dir);
  ASSERT_EQ(plan.exit_code, 0) << describe(plan);
  EXPECT_TRUE(has(plan.out, "warning: logical slot gone_consumer is inactive and holds back"));
  // No publication: nothing to confirm, so start runs, and says it too.
  auto start = run_colshift({"start", file}, server.url(), dir);
  ASSERT_EQ(start.exit_code, 0) << describe(start);
  EXPECT_TRUE(has(start.err, "warning: logical slot gone_consumer is inactive"));
  c->exec("SELECT pg_drop_replication_slot('gone_consumer')");
  c.reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace colshift::testing
