// Every (phase × command) pair has a defined outcome (issue 8 §3), and
// `status` suggests only commands that work there. Each phase is reached the
// way a user gets there — a start or complete or rollback stopped at a crash
// point (util/fault.h), or finished — in a database of its own per pair.
#include <functional>

#include "core_helpers.h"

namespace colshift::testing {
namespace {

struct Expect {
  int start_same;   // `start FILE` of the migration in that phase
  int start_other;  // `start OTHER` of a different migration
  int complete;     // `complete --force`
  int rollback;
};

class CorePhaseMatrix : public CoreTest {
 protected:
  std::string file_, other_;
  int n_ = 0;

  void SetUp() override {
    CoreTest::SetUp();
    if (IsSkipped()) return;
    file_ = migration("0001_users_everything",
                      "purpose: a step of every phase\noperations:\n"
                      "  - add_column:\n      table: users\n"
                      "      column: { name: email_domain, type: text, nullable: false }\n"
                      "      up: split_part(email, '@', 2)\n"
                      "  - add_column:\n      table: users\n"
                      "      column: { name: flag, type: boolean, default: \"false\" }\n"
                      "  - create_index:\n      name: users_email_domain_idx\n"
                      "      table: users\n      columns: [email_domain]\n");
    other_ = migration("0002_users_other",
                       "purpose: another change\noperations:\n"
                       "  - add_column:\n      table: users\n"
                       "      column: { name: other, type: int }\n");
  }

  RunResult run(CaseDb& db, const std::vector<std::string>& args, const std::string& fault = {}) {
    if (!fault.empty()) setenv("COLSHIFT_FAULT", fault.c_str(), 1);
    auto r = run_colshift(args, db.url(), dir_);
    unsetenv("COLSHIFT_FAULT");
    return r;
  }
  std::string phase(CaseDb& db) {
    if (db.count("SELECT count(*) FROM pg_namespace WHERE nspname = 'colshift'") == 0) return "";
    auto r = db.sql().exec("SELECT phase FROM colshift.migrations ORDER BY id DESC LIMIT 1");
    return r.empty() ? "" : r.text(0, 0);
  }

  // A fresh database with the migration brought to `state`.
  std::unique_ptr<CaseDb> reach(const std::string& state) {
    auto db = std::make_unique<CaseDb>(dbname_ + "_m" + std::to_string(++n_));
    db->sql().exec("CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL)");
    db->sql().exec(
        "INSERT INTO users SELECT i, 'u' || i || '@d' || (i % 5) || '.example' FROM "
        "generate_series(1, 900) i");
    const std::vector<std::string> start = {"start", file_, "--batch-size", "300"};
    auto stop_at = [&](const std::vector<std::string>& args, const std::string& point) {
      EXPECT_EQ(run(*db, args, point + "=exit").exit_code, 137) << state;
    };
    if (state == "expanding") stop_at(start, "start.step0.after-commit");
    if (state == "backfilling") stop_at(start, "backfill.batch1.after-commit");
    if (state == "finishing") stop_at(start, "start.step3.before-commit");
    if (state != "" && state != "expanding" && state != "backfilling" && state != "finishing") {
      EXPECT_EQ(run(*db, start).exit_code, 0);
    }
    if (state == "completing") stop_at({"complete", "--force"}, "complete.step6.add.after-commit");
    if (state == "completing_contracted") {
      EXPECT_EQ(run(*db, {"complete", "--force"}).exit_code, 0);
      db->sql().exec("UPDATE colshift.migrations SET phase = 'completing', completed_at = NULL");
    }
    if (state == "rolling_back") stop_at({"rollback"}, "rollback.step3.after-commit");
    if (state == "completed") {
      EXPECT_EQ(run(*db, {"complete", "--force"}).exit_code, 0);
    }
    if (state == "rolled_back") {
      EXPECT_EQ(run(*db, {"rollback"}).exit_code, 0);
    }
    const std::string want = state == "completing_contracted" ? "completing" : state;
    EXPECT_EQ(phase(*db), want) << "could not reach " << state;
    return db;
  }

  void check(const std::string& state, const Expect& e) {
    SCOPED_TRACE(state);
    const std::vector<std::pair<std::vector<std::string>, int>> commands = {
        {{"start", file_}, e.start_same},
        {{"start", other_}, e.start_other},
        {{"complete", "--force"}, e.complete},
        {{"rollback"}, e.rollback}};
    for (const auto& [args, code] : commands) {
      auto db = reach(state);
      auto r = run(*db, args);
      EXPECT_EQ(r.exit_code, code) << args[0] << " " << (args.size() > 1 ? args[1] : "") << "\n"
                                   << describe(r);
    }
    // What status suggests works.
    auto db = reach(state);
    auto st = run(*db, {"--json", "status"});
    ASSERT_EQ(st.exit_code, 0) << describe(st);
    auto j = nlohmann::json::parse(st.out);
    for (const auto& next : j.value("next", nlohmann::json::array())) {
      const std::string cmd = next.get<std::string>();
      int expected = -1;
      if (cmd.rfind("colshift start", 0) == 0) expected = e.start_same;
      if (cmd.rfind("colshift complete", 0) == 0) expected = e.complete;
      if (cmd.rfind("colshift rollback", 0) == 0) expected = e.rollback;
      EXPECT_EQ(expected, 0) << "status suggests '" << cmd << "', which does not work in " << state;
    }
  }
};

TEST_F(CorePhaseMatrix, EveryPhaseAndCommand) {
  // Exit codes: 0 done, 1 refused (the state forbids it, told why), 2 nothing to do.
  check("", {0, 0, 2, 2});
  check("expanding", {0, 1, 1, 0});
  check("backfilling", {0, 1, 1, 0});
  check("finishing", {0, 1, 1, 0});
  check("active", {0, 1, 0, 0});
  check("completing", {1, 1, 0, 0});
  check("completing_contracted", {1, 1, 0, 1});
  check("rolling_back", {1, 1, 1, 0});
  check("completed", {0, 0, 2, 2});
  check("rolled_back", {0, 0, 2, 2});
}

}  // namespace
}  // namespace colshift::testing
