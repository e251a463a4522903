// The deterministic crash-point suite (issue 8 §5; LevelDB's fault-injection
// test is the model). For every step of start, complete and rollback — and
// the first backfill batches — colshift is stopped just before and just
// after the step's commit, as kill -9 would (`exit`), or its session is cut
// there (`disconnect`). Then the same command runs again (or, for complete,
// the migration is rolled back instead), and each time:
//   - an app writer that ran throughout had 0 failed transactions, and every
//     row holds exactly what it wrote (no row lost or wrong);
//   - the new columns hold what `up` derives for every row;
//   - after rollback the schema is identical to before (pg_dump -s), with no
//     colshift trigger, function, sequence, constraint, INVALID index,
//     advisory lock or session left; and the next migration starts.
// The points are not listed by hand: each command runs once with
// COLSHIFT_FAULT_LOG and the suite takes every point it reached.
#include <algorithm>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <sstream>

#include "core_helpers.h"

namespace colshift::testing {
namespace {

constexpr int kRows = 1200;
constexpr const char* kBatch = "300";

const char* kMigration =
    "purpose: every kind of step, for the fault suite\n"
    "undeclared_writers: old\n"
    "operations:\n"
    "  - add_column:\n"
    "      table: users\n"
    "      column: { name: email_domain, type: text, nullable: false, default: \"'?'\",\n"
    "                check: \"length(email_domain) < 200\" }\n"
    "      up: split_part(email, '@', 2)\n"
    "  - add_column:\n"
    "      table: users\n"
    "      column: { name: flag, type: boolean, default: \"false\" }\n"
    "  - create_index:\n"
    "      name: users_email_domain_idx\n"
    "      table: users\n"
    "      columns: [email_domain]\n"
    "  - raw_sql:\n"
    "      up: CREATE TABLE users_audit (id bigint PRIMARY KEY)\n"
    "      down: DROP TABLE users_audit\n";

// An app of the old version writing throughout (one session, autocommit),
// keeping the exact state its writes leave.
class Writer {
 public:
  Writer(std::unique_ptr<pg::PgConnection> conn, std::map<long long, std::string> rows)
      : conn_(std::move(conn)), rows_(std::move(rows)) {
    thread_ = std::thread([this] { loop(); });
  }
  ~Writer() { stop(); }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  // Runs `fn` while no write is in flight.
  template <typename Fn>
  void paused(Fn fn) {
    std::lock_guard<std::mutex> lock(mu_);
    fn();
  }
  long long writes() const { return writes_; }
  long long failures() const { return failures_; }
  const std::string& first_failure() const { return first_failure_; }
  // "id:email;..." in id order, as the table must hold it. REQUIRES: called
  // inside paused(), so no write is in flight or can follow.
  std::string expected() const {
    std::string out;
    for (const auto& [id, email] : rows_) out += std::to_string(id) + ":" + email + ";";
    return out;
  }

 private:
  void loop() {
    std::mt19937_64 rng(7);
    long long next = 100'000;
    while (!stop_) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        try {
          write(rng, next);
          ++writes_;
        } catch (const std::exception& e) {
          if (failures_++ == 0) first_failure_ = e.what();
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(3));
    }
  }
  void write(std::mt19937_64& rng, long long& next) {
    auto it = rows_.begin();
    std::advance(it, static_cast<long>(rng() % rows_.size()));
    const long long id = it->first;
    const std::string sid = std::to_string(id);
    switch (rng() % 4) {
      case 0: {  // changes what `up` reads
        std::string email =
            "w" + std::to_string(rng() % 1000) + "@m" + std::to_string(rng() % 7) + ".example";
        conn_->exec("UPDATE users SET email = $2 WHERE id = $1", {sid, email});
        it->second = email;
        break;
      }
      case 1:  // another column
        conn_->exec("UPDATE users SET n = n + 1 WHERE id = $1", {sid});
        break;
      case 2: {
        std::string email = "new" + std::to_string(next) + "@fresh.example";
        conn_->exec("INSERT INTO users (id, email) VALUES ($1, $2)", {std::to_string(next), email});
        rows_[next++] = email;
        break;
      }
      case 3:
        if (rows_.size() > 100) {
          conn_->exec("DELETE FROM users WHERE id = $1", {sid});
          rows_.erase(it);
        }
        break;
    }
  }

  std::unique_ptr<pg::PgConnection> conn_;
  std::map<long long, std::string> rows_;
  std::mutex mu_;
  std::atomic<bool> stop_{false};
  std::atomic<long long> writes_{0}, failures_{0};
  std::string first_failure_;
  std::thread thread_;
};

class FaultSuite : public CoreTest {
 protected:
  std::string file_;  // the migration file
  std::string next_;  // a second migration, to show the next one starts
  int cases_ = 0;

  void SetUp() override {
    CoreTest::SetUp();
    if (IsSkipped()) return;
    file_ = migration("0001_users_everything", kMigration);
    next_ = migration("0002_users_next",
                      "purpose: the next migration\noperations:\n  - add_column:\n"
                      "      table: users\n      column: { name: later, type: int }\n");
  }

  std::map<long long, std::string> load(CaseDb& db) {
    db.sql().exec(
        "CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL, n int NOT NULL "
        "DEFAULT 0)");
    db.sql().exec(
        "INSERT INTO users (id, email) SELECT i, 'user' || i || '@d' || (i % 17) || "
        "'.example' FROM generate_series(1, " +
        std::to_string(kRows) + ") i");
    db.sql().exec("ANALYZE users");
    std::map<long long, std::string> rows;
    for (long long i = 1; i <= kRows; ++i)
      rows[i] = "user" + std::to_string(i) + "@d" + std::to_string(i % 17) + ".example";
    return rows;
  }

  std::string dump(const std::string& url) {
    std::string out = dir_ + "/case_dump.sql";
    std::string cmd = "pg_dump --schema-only --no-owner --exclude-schema=colshift '" + url +
                      "' > '" + out + "' 2>&1";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << read_text(out);
    // pg_dump >= 15.14 brackets its output with a random \restrict key.
    std::istringstream in(read_text(out));
    std::string text, line;
    while (std::getline(in, line)) {
      if (line.rfind("\\restrict ", 0) == 0 || line.rfind("\\unrestrict ", 0) == 0) continue;
      text += line + "\n";
    }
    return text;
  }

  RunResult run(const std::string& url, const std::vector<std::string>& args,
                const std::string& fault = {}) {
    if (!fault.empty()) setenv("COLSHIFT_FAULT", fault.c_str(), 1);
    auto r = run_colshift(args, url, dir_);
    unsetenv("COLSHIFT_FAULT");
    return r;
  }

  // The points `args` reaches on a fresh database after `before` ran.
  std::vector<std::string> points(const std::vector<std::vector<std::string>>& before,
                                  const std::vector<std::string>& args) {
    CaseDb db(dbname_ + "_list");
    load(db);
    for (const auto& b : before) EXPECT_EQ(run(db.url(), b).exit_code, 0);
    const std::string log = dir_ + "/points.log";
    std::remove(log.c_str());
    setenv("COLSHIFT_FAULT_LOG", log.c_str(), 1);
    auto r = run(db.url(), args);
    unsetenv("COLSHIFT_FAULT_LOG");
    EXPECT_EQ(r.exit_code, 0) << describe(r);
    std::vector<std::string> out;
    std::ifstream in(log);
    for (std::string p; std::getline(in, p);) {
      // Two backfill batches stand for all of them.
      if (p.rfind("backfill.batch", 0) == 0 && p.rfind("backfill.batch1.", 0) != 0 &&
          p.rfind("backfill.batch2.", 0) != 0)
        continue;
      if (std::find(out.begin(), out.end(), p) == out.end()) out.push_back(p);
    }
    EXPECT_GE(out.size(), 6u);
    for (const auto& p : out) std::cerr << "fault point: " << p << "\n";
    return out;
  }

  // Nothing of the migration is left: schema as before, no colshift object.
  void expect_clean(CaseDb& db, const std::string& before, const std::string& what) {
    SCOPED_TRACE(what);
    EXPECT_EQ(dump(db.url()), before);
    EXPECT_EQ(
        db.count("SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'colshift%' AND tgname <> "
                 "'colshift_backfill_milestone'"),
        0);
    EXPECT_EQ(db.count("SELECT count(*) FROM pg_proc WHERE proname LIKE 'colshift%' AND "
                       "pronamespace <> 'colshift'::regnamespace"),
              0);
    EXPECT_EQ(db.count("SELECT count(*) FROM pg_class WHERE relkind = 'S' AND relname LIKE "
                       "'colshift%'"),
              0);
    EXPECT_EQ(db.count("SELECT count(*) FROM pg_constraint WHERE conname LIKE 'colshift%' OR "
                       "conname = 'users_email_domain_check'"),
              0);
    EXPECT_EQ(db.count("SELECT count(*) FROM pg_index WHERE NOT indisvalid"), 0);
    EXPECT_TRUE(eventually([&] {
      return db.count("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'") == 0 &&
             db.count(
                 "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                 "AND application_name LIKE 'colshift%' AND pid <> pg_backend_pid()") == 0;
    })) << "a colshift lock or session is left";
  }

  void expect_rows(CaseDb& db, Writer& w, bool derived) {
    w.paused([&] {
      std::string actual = db.sql()
                               .exec(
                                   "SELECT coalesce(string_agg(id || ':' || email, ';' ORDER BY "
                                   "id) || ';', '') FROM users")
                               .text(0, 0);
      // (expected() locks too: compare outside the pause below)
      rows_now_ = actual;
      expected_ = w.expected();
      if (derived) {
        derived_mismatch_ = db.count(
            "SELECT count(*) FROM users WHERE email_domain IS DISTINCT FROM "
            "split_part(email, '@', 2)");
      }
    });
    const std::string expected = expected_;
    if (rows_now_ != expected) {
      // Name the rows that differ (the whole table is too long to read).
      auto split = [](const std::string& text) {
        std::set<std::string> out;
        std::istringstream in(text);
        for (std::string item; std::getline(in, item, ';');) out.insert(item);
        return out;
      };
      auto have = split(rows_now_), want = split(expected);
      std::string missing, extra;
      for (const auto& r : want)
        if (!have.count(r)) missing += r + " ";
      for (const auto& r : have)
        if (!want.count(r)) extra += r + " ";
      ADD_FAILURE() << "rows the app wrote were lost or changed; missing: " << missing
                    << "; not written by the app: " << extra;
    }
    if (derived) {
      EXPECT_EQ(derived_mismatch_, 0) << "rows whose email_domain is not up(row)";
    }
  }

  void finish(Writer& w) {
    w.stop();
    EXPECT_EQ(w.failures(), 0) << "an app write failed: " << w.first_failure();
    EXPECT_GT(w.writes(), 20) << "the writer barely ran";
  }

  std::string case_name() { return dbname_ + "_c" + std::to_string(++cases_); }

  static int expected_exit(const std::string& action) { return action == "exit" ? 137 : -1; }

  // start, stopped at `point`; then start again; then rollback.
  void start_case(const std::string& point, const std::string& action) {
    SCOPED_TRACE(point + "=" + action);
    CaseDb db(case_name());
    Writer w(pg::PgConnection::connect({db.url() + "?application_name=app"}), load(db));
    const std::string before = dump(db.url());
    auto r = run(db.url(), {"start", file_, "--batch-size", kBatch}, point + "=" + action);
    if (expected_exit(action) > 0) {
      EXPECT_EQ(r.exit_code, expected_exit(action)) << describe(r);
    }
    auto again = run(db.url(), {"start", file_, "--batch-size", kBatch});
    EXPECT_EQ(again.exit_code, 0) << describe(again);
    expect_rows(db, w, true);
    auto rb = run(db.url(), {"rollback"});
    EXPECT_EQ(rb.exit_code, 0) << describe(rb);
    finish(w);
    expect_rows(db, w, false);
    expect_clean(db, before, "after rollback");
    EXPECT_EQ(run(db.url(), {"start", next_}).exit_code, 0);
  }

  // complete, stopped at `point`; then complete again, or roll back.
  void complete_case(const std::string& point, const std::string& action, bool then_rollback) {
    SCOPED_TRACE(point + "=" + action + (then_rollback ? ", then rollback" : ", then complete"));
    CaseDb db(case_name());
    Writer w(pg::PgConnection::connect({db.url() + "?application_name=app"}), load(db));
    const std::string before = dump(db.url());
    EXPECT_EQ(run(db.url(), {"start", file_, "--batch-size", kBatch}).exit_code, 0);
    auto r = run(db.url(), {"complete", "--force"}, point + "=" + action);
    if (expected_exit(action) > 0) {
      EXPECT_EQ(r.exit_code, expected_exit(action)) << describe(r);
    }
    const bool completed =
        db.count("SELECT count(*) FROM colshift.migrations WHERE phase = 'completed'") > 0;
    const bool contracted =
        completed ||
        db.count(
            "SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'colshift%' AND tgname <> "
            "'colshift_backfill_milestone'") == 0;
    if (then_rollback && !contracted) {
      auto rb = run(db.url(), {"rollback"});
      EXPECT_EQ(rb.exit_code, 0) << describe(rb);
      finish(w);
      expect_rows(db, w, false);
      expect_clean(db, before, "after rollback");
    } else {
      if (then_rollback) {
        // Past the contract there is no way back, and rollback says so.
        auto rb = run(db.url(), {"rollback"});
        EXPECT_EQ(rb.exit_code, completed ? 2 : 1) << describe(rb);
      }
      if (!completed) {
        auto again = run(db.url(), {"complete", "--force"});
        EXPECT_EQ(again.exit_code, 0) << describe(again);
      }
      finish(w);
      expect_rows(db, w, false);
      EXPECT_EQ(db.count("SELECT count(*) FROM colshift.migrations WHERE phase = 'completed'"), 1);
      EXPECT_EQ(db.count("SELECT count(*) FROM pg_attribute WHERE attrelid = 'users'::regclass "
                         "AND attname = 'email_domain' AND attnotnull"),
                1);
      EXPECT_EQ(
          db.count("SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'colshift%' AND tgname <> "
                   "'colshift_backfill_milestone'"),
          0);
      EXPECT_EQ(db.count("SELECT count(*) FROM pg_index WHERE NOT indisvalid"), 0);
    }
    EXPECT_EQ(run(db.url(), {"start", next_}).exit_code, 0);
  }

  // rollback, stopped at `point`; then rollback again.
  void rollback_case(const std::string& point, const std::string& action) {
    SCOPED_TRACE(point + "=" + action);
    CaseDb db(case_name());
    Writer w(pg::PgConnection::connect({db.url() + "?application_name=app"}), load(db));
    const std::string before = dump(db.url());
    EXPECT_EQ(run(db.url(), {"start", file_, "--batch-size", kBatch}).exit_code, 0);
    auto r = run(db.url(), {"rollback"}, point + "=" + action);
    if (expected_exit(action) > 0) {
      EXPECT_EQ(r.exit_code, expected_exit(action)) << describe(r);
    }
    // The last undo commits with the phase rolled_back: stopped after it (or
    // past a disconnect it survived), the rollback is finished already.
    const bool finished =
        db.count("SELECT count(*) FROM colshift.migrations WHERE phase = 'rolled_back'") > 0;
    auto again = run(db.url(), {"rollback"});
    EXPECT_EQ(again.exit_code, finished ? 2 : 0) << describe(again);
    finish(w);
    expect_rows(db, w, false);
    expect_clean(db, before, "after rollback");
    EXPECT_EQ(run(db.url(), {"start", next_}).exit_code, 0);
  }

  std::string rows_now_, expected_;
  long long derived_mismatch_ = 0;
};

TEST_F(FaultSuite, StartKilledAtEveryCommitResumesAndRollsBack) {
  auto all = points({}, {"start", file_, "--batch-size", kBatch});
  for (const auto& p : all) start_case(p, "exit");
  RecordProperty("cases", cases_);
  std::cerr << "fault suite: start, exit: " << cases_ << " cases\n";
}

TEST_F(FaultSuite, StartDisconnectedAtEveryCommitResumesAndRollsBack) {
  auto all = points({}, {"start", file_, "--batch-size", kBatch});
  for (const auto& p : all) start_case(p, "disconnect");
  std::cerr << "fault suite: start, disconnect: " << cases_ << " cases\n";
}

TEST_F(FaultSuite, CompleteKilledAtEveryCommitFinishesOrRollsBack) {
  auto all = points({{"start", file_, "--batch-size", kBatch}}, {"complete", "--force"});
  for (const auto& p : all) {
    complete_case(p, "exit", false);
    complete_case(p, "exit", true);
  }
  std::cerr << "fault suite: complete, exit: " << cases_ << " cases\n";
}

TEST_F(FaultSuite, CompleteDisconnectedAtEveryCommitFinishes) {
  auto all = points({{"start", file_, "--batch-size", kBatch}}, {"complete", "--force"});
  for (const auto& p : all) complete_case(p, "disconnect", false);
  std::cerr << "fault suite: complete, disconnect: " << cases_ << " cases\n";
}

TEST_F(FaultSuite, RollbackKilledOrDisconnectedAtEveryCommitFinishes) {
  auto all = points({{"start", file_, "--batch-size", kBatch}}, {"rollback"});
  for (const auto& p : all) {
    rollback_case(p, "exit");
    rollback_case(p, "disconnect");
  }
  std::cerr << "fault suite: rollback: " << cases_ << " cases\n";
}

}  // namespace
}  // namespace colshift::testing
