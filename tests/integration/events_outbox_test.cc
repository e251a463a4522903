// The transactional outbox: start, complete and rollback write their phase
// changes and backfill milestones as events, in order; CREATE INDEX
// CONCURRENTLY gets a started and an outcome, settled from the catalog after
// a kill -9; `colshift events` tails them as JSON lines.
#include "core_helpers.h"

namespace colshift::testing {
namespace {

class EventsOutbox : public CoreTest {
 protected:
  std::vector<nlohmann::json> events_of(const RunResult& r) {
    std::vector<nlohmann::json> out;
    std::istringstream in(r.out);
    for (std::string line; std::getline(in, line);)
      if (!line.empty()) out.push_back(nlohmann::json::parse(line));
    return out;
  }
  std::vector<nlohmann::json> all_events() { return events_of(ok({"events"})); }
  std::string index_file() {
    return migration("0001_users_email_idx",
                     "purpose: look users up by email\noperations:\n  - create_index:\n"
                     "      name: users_email_idx\n      table: users\n      columns: [email]\n");
  }
};

TEST_F(EventsOutbox, StartAndCompleteWritePhasesAndMilestonesInOrder) {
  make_users("users", 4000);
  auto f = domain_migration("0001_users_domain", "users", "email_domain");
  ok({"start", f, "--batch-size", "200"});
  ok({"complete", "--quiet-period", "0s"});
  auto ev = all_events();
  ASSERT_FALSE(ev.empty());
  EXPECT_EQ(ev.front()["kind"], "started");
  EXPECT_EQ(ev.front()["detail"]["phase"], "expanding");
  std::string phase = "expanding";
  std::vector<std::string> phases;
  std::vector<int> percents;
  long long last_id = 0;
  for (const auto& e : ev) {
    EXPECT_GT(e["id"].get<long long>(), last_id);
    last_id = e["id"];
    EXPECT_EQ(e["migration"], "0001_users_domain");
    if (e["kind"] == "phase") {
      EXPECT_EQ(e["detail"]["from"], phase) << e.dump();
      phase = e["detail"]["phase"];
      phases.push_back(phase);
    }
    if (e["kind"] == "progress") {
      EXPECT_EQ(phase, "backfilling");
      percents.push_back(e["detail"]["percent"]);
    }
  }
  EXPECT_EQ(phases, (std::vector<std::string>{"backfilling", "active", "completing", "completed"}));
  EXPECT_EQ(percents, (std::vector<int>{10, 20, 30, 40, 50, 60, 70, 80, 90, 100}));
  EXPECT_EQ(ev.back()["kind"], "phase");
  // --since an id, --migration, --limit.
  auto since = events_of(ok({"events", "--since", std::to_string(ev[2]["id"].get<long long>())}));
  ASSERT_EQ(since.size(), ev.size() - 3);
  EXPECT_EQ(since.front()["id"], ev[3]["id"]);
  EXPECT_TRUE(events_of(ok({"events", "--migration", "other"})).empty());
  EXPECT_EQ(events_of(ok({"events", "-n", "2"})).size(), 2u);
  auto bad = colshift({"events", "--since", "yesterday-ish"});
  EXPECT_EQ(bad.exit_code, 2) << describe(bad);
  EXPECT_NE(bad.err.find("--since: 'yesterday-ish' is neither an event id nor a timestamp"),
            std::string::npos)
      << bad.err;
}

TEST_F(EventsOutbox, RollbackEventsAndAnAbortedTransactionWritesNone) {
  make_users("users", 300);
  ok({"start", domain_migration("0001_users_domain", "users", "email_domain")});
  ok({"rollback"});
  auto ev = all_events();
  ASSERT_GE(ev.size(), 2u);
  EXPECT_EQ(ev[ev.size() - 2]["detail"]["phase"], "rolling_back");
  EXPECT_EQ(ev.back()["detail"]["phase"], "rolled_back");
  // An event belongs to its transaction: rolled back, it never was.
  long long before = scalar_int("SELECT count(*) FROM colshift.events");
  sql("BEGIN");
  sql("SELECT colshift.colshift_event(NULL, 'x', 'test', '{}')");
  sql("ROLLBACK");
  EXPECT_EQ(scalar_int("SELECT count(*) FROM colshift.events"), before);
}

TEST_F(EventsOutbox, FollowPrintsNewEventsAsTheyCommit) {
  ok({"init"});
  sql("SELECT colshift.colshift_event(NULL, 'm', 'old', '{}')");
  Spawned f({"events", "--follow"}, url_, dir_ + "/follow.log");
  ASSERT_TRUE(eventually([&] {
    // Idle after its first read of the events: it listens by then.
    return scalar_int(
               "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
               "AND state = 'idle' AND query LIKE 'SELECT id, to_char(at%'") > 0 ||
           !f.running();
  })) << f.output();
  sql("SELECT colshift.colshift_event(NULL, 'm', 'new', jsonb_build_object('n', 1))");
  ASSERT_TRUE(eventually(
      [&] { return read_text(dir_ + "/follow.log").find("\"new\"") != std::string::npos; },
      std::chrono::seconds(5)))
      << f.output();
  EXPECT_EQ(read_text(dir_ + "/follow.log").find("\"old\""), std::string::npos)
      << "--follow starts with new events";
}

TEST_F(EventsOutbox, CreateIndexStartedThenCompleted) {
  make_users("users", 500);
  ok({"start", index_file()});
  std::vector<std::string> kinds;
  for (const auto& e : all_events())
    if (e["kind"].get<std::string>().rfind("index_", 0) == 0) kinds.push_back(e["kind"]);
  EXPECT_EQ(kinds, (std::vector<std::string>{"index_started", "index_completed"}));
}

TEST_F(EventsOutbox, CreateIndexKilledIsReconciledFromTheCatalog) {
  make_users("users", 500);
  auto f = index_file();
  // An open transaction with an xid makes CREATE INDEX CONCURRENTLY wait.
  auto blocker = connect();
  blocker->exec("BEGIN");
  blocker->exec("SELECT txid_current()");
  {
    Spawned p({"start", f}, url_, dir_ + "/start.log");
    ASSERT_TRUE(eventually([&] {
      return !p.running() ||
             scalar_int(
                 "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'CREATE INDEX "
                 "CONCURRENTLY%' AND wait_event_type = 'Lock'") > 0;
    })) << p.output();
    ASSERT_TRUE(p.running()) << p.output();
    p.kill9();
  }
  blocker->exec("ROLLBACK");
  // The killed build may still run on the server; the next start ends it.
  ok({"start", f});
  std::vector<nlohmann::json> index_events;
  for (const auto& e : all_events())
    if (e["kind"].get<std::string>().rfind("index_", 0) == 0) index_events.push_back(e);
  ASSERT_GE(index_events.size(), 3u);
  EXPECT_EQ(index_events[0]["kind"], "index_started");
  // The killed build's outcome, from the catalog as the resumed start found it
  // (an orphaned build may have finished on the server meanwhile).
  const std::string settled = index_events[1]["kind"];
  EXPECT_TRUE(settled == "index_completed" || settled == "index_failed") << settled;
  EXPECT_EQ(index_events[1]["detail"]["reconciled"], true);
  EXPECT_EQ(index_events[1]["detail"]["started_event"], index_events[0]["id"]);
  EXPECT_EQ(index_events.back()["kind"], "index_completed");
  EXPECT_TRUE(sql("SELECT indisvalid FROM pg_index WHERE indexrelid = "
                  "'public.users_email_idx'::regclass")
                  .boolean(0, 0));
}

}  // namespace
}  // namespace colshift::testing
