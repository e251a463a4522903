// Pure logic behind the core: batch sizing, lock-retry backoff, the plan's
// JSON round trip, and password redaction.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "backfill/batch_sizer.h"
#include "dialect/dialect.h"
#include "migration/migration.h"
#include "pg/pg_connection.h"
#include "plan/planner.h"
#include "run/ddl.h"
#include "util/clock.h"

namespace colshift {
namespace {

using backfill::BatchSizer;
using backfill::BatchSizerOptions;
using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;

// Feeds `n` batches that each cost `per_row` per row; returns the sizes seen.
std::vector<int> drive(BatchSizer& s, nanoseconds per_row, int n) {
  std::vector<int> sizes;
  for (int i = 0; i < n; ++i) {
    int size = s.size();
    s.record(size, per_row * size);
    sizes.push_back(s.size());
  }
  return sizes;
}

TEST(CoreBatchSizer, FastRowsGrowAtMostOneAndAHalfTimesPerStepToTheTarget) {
  BatchSizerOptions o;  // target 100 ms, initial 1000
  BatchSizer s(o);
  int prev = s.size();
  auto sizes = drive(s, microseconds(10), 20);  // ideal: 100 ms / 10 us = 10,000
  for (int size : sizes) {
    EXPECT_LE(size, static_cast<int>(prev * 1.5)) << "grew faster than 1.5x";
    EXPECT_GE(size, prev);
    prev = size;
  }
  EXPECT_EQ(sizes[0], 1500);
  EXPECT_EQ(sizes[1], 2250);
  EXPECT_NEAR(sizes.back(), 10'000, 10);
}

TEST(CoreBatchSizer, ATargetScaleShortensTheNextBatchAtOnceAndThenGrowsBack) {
  BatchSizerOptions o;  // target 100 ms
  BatchSizer s(o);
  drive(s, microseconds(10), 20);
  ASSERT_NEAR(s.size(), 10'000, 10);
  s.set_target_scale(0.2);  // the app is slowed: 20 ms batches
  EXPECT_NEAR(s.size(), 2'000, 2) << "the very next batch is short";
  drive(s, microseconds(10), 5);
  EXPECT_NEAR(s.size(), 2'000, 2) << "and stays at the smaller target";
  s.set_target_scale(1.0);
  auto back = drive(s, microseconds(10), 10);
  EXPECT_EQ(back[0], 3'000) << "grows back at the usual pace";
  EXPECT_NEAR(back.back(), 10'000, 10);
}

TEST(CoreBatchSizer, RespectsMaxAndFixed) {
  BatchSizerOptions o;
  o.max = 3000;
  BatchSizer s(o);
  auto sizes = drive(s, nanoseconds(100), 20);
  EXPECT_EQ(sizes.back(), 3000);
  BatchSizerOptions f;
  f.fixed = 7;
  BatchSizer fixed(f);
  EXPECT_EQ(fixed.size(), 7);
  drive(fixed, milliseconds(50), 5);
  fixed.back_off();
  EXPECT_EQ(fixed.size(), 7);
}

TEST(CoreBatchSizer, SlowRowsShrinkAtOnceWhenFarOverTarget) {
  BatchSizerOptions o;
  o.min = 10;
  BatchSizer s(o);
  // 2 ms a row: the first batch of 1000 takes 2 s, 20x the target.
  s.record(s.size(), milliseconds(2) * s.size());
  EXPECT_EQ(s.size(), 50);  // 100 ms / 2 ms, in one step
  auto sizes = drive(s, milliseconds(2), 10);
  for (int size : sizes) EXPECT_EQ(size, 50);
}

TEST(CoreBatchSizer, ModeratelySlowBatchMovesTowardTargetWithoutJumping) {
  BatchSizerOptions o;
  o.min = 10;
  BatchSizer s(o);
  // 3x over target: below the shrink factor, so the p90 rule applies.
  s.record(1000, milliseconds(300));
  EXPECT_EQ(s.size(), 333);
  // One fast batch among slow ones does not make it jump (p90 of the window).
  s.record(s.size(), microseconds(10) * s.size());
  EXPECT_LE(s.size(), 340);
}

TEST(CoreBatchSizer, BackOffHalvesWithinBounds) {
  BatchSizerOptions o;
  o.min = 100;
  BatchSizer s(o);
  s.back_off();
  EXPECT_EQ(s.size(), 500);
  for (int i = 0; i < 10; ++i) s.back_off();
  EXPECT_EQ(s.size(), 100);
}

TEST(CoreBackoff, DelayIsWithinZeroAndTheCappedExponentialNeverBelow10ms) {
  run::RetryPolicy p;  // base 100 ms, cap 5 s
  FakeClock clock;
  clock.set_random(0.0);
  for (int a = 1; a <= 40; ++a) EXPECT_EQ(run::backoff_delay(p, a, clock), milliseconds(10));
  clock.set_random(0.5);
  EXPECT_EQ(run::backoff_delay(p, 1, clock), milliseconds(50));
  EXPECT_EQ(run::backoff_delay(p, 2, clock), milliseconds(100));
  EXPECT_EQ(run::backoff_delay(p, 4, clock), milliseconds(400));
  clock.set_random(0.999999);
  long long prev = 0;
  for (int a = 1; a <= 40; ++a) {
    auto d = run::backoff_delay(p, a, clock).count();
    EXPECT_LE(d, 5000) << "attempt " << a;
    EXPECT_GE(d, prev) << "attempt " << a;
    prev = d;
  }
  EXPECT_EQ(run::backoff_delay(p, 7, clock), milliseconds(4999));
  EXPECT_EQ(run::backoff_delay(p, 1000, clock), milliseconds(4999))
      << "overflow for large attempts";
}

TEST(CorePlanJson, RoundTripKeepsEveryField) {
  std::ifstream in(std::filesystem::path(COLSHIFT_SOURCE_DIR) /
                   "examples/migrations/0002_users_signup_source.yaml");
  std::stringstream ss;
  ss << in.rdbuf();
  auto m = migration::parse_migration(ss.str(), "0002_users_signup_source.yaml");
  plan::CatalogFacts f;
  f.offline = false;
  f.server_version = 110000;
  plan::TableFacts t;
  t.schema = "app";
  t.name = "users";
  t.columns = {{"id", "bigint", true}};
  t.primary_key = {"id", "region"};
  t.primary_key_types = {"bigint", "text"};
  t.row_estimate = 123456;
  f.tables["users"] = t;
  auto p = plan::build_plan(m, f, postgres_dialect(), "colshift_state");
  p.warnings.push_back("a warning");
  ASSERT_TRUE(p.needs_backfill());
  auto j = plan::plan_to_json(p);
  auto back = plan::plan_from_json(nlohmann::json::parse(j.dump()));
  EXPECT_EQ(plan::plan_to_json(back), j);
  EXPECT_EQ(plan::render_plan_text(back), plan::render_plan_text(p));
  ASSERT_EQ(back.steps.size(), p.steps.size());
  for (size_t i = 0; i < p.steps.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(back.steps[i].phase, p.steps[i].phase);
    EXPECT_EQ(back.steps[i].kind, p.steps[i].kind);
    EXPECT_EQ(back.steps[i].lock, p.steps[i].lock);
    EXPECT_EQ(back.steps[i].undo_kind, p.steps[i].undo_kind);
    EXPECT_EQ(back.steps[i].undo_lock, p.steps[i].undo_lock);
    EXPECT_EQ(back.steps[i].sql, p.steps[i].sql);
    EXPECT_EQ(back.steps[i].undo, p.steps[i].undo);
    EXPECT_EQ(back.steps[i].backfill.has_value(), p.steps[i].backfill.has_value());
    if (p.steps[i].backfill) {
      EXPECT_EQ(back.steps[i].backfill->key_columns, p.steps[i].backfill->key_columns);
      EXPECT_EQ(back.steps[i].backfill->key_types, p.steps[i].backfill->key_types);
      ASSERT_EQ(back.steps[i].backfill->columns.size(), p.steps[i].backfill->columns.size());
      for (size_t c = 0; c < p.steps[i].backfill->columns.size(); ++c) {
        EXPECT_EQ(back.steps[i].backfill->columns[c].expression,
                  p.steps[i].backfill->columns[c].expression);
        EXPECT_EQ(back.steps[i].backfill->columns[c].not_null,
                  p.steps[i].backfill->columns[c].not_null);
      }
    }
    EXPECT_EQ(back.steps[i].writers.has_value(), p.steps[i].writers.has_value());
    if (p.steps[i].writers) {
      EXPECT_EQ(back.steps[i].writers->old_writes, p.steps[i].writers->old_writes);
      EXPECT_EQ(back.steps[i].writers->trigger_failures, p.steps[i].writers->trigger_failures);
    }
    EXPECT_EQ(back.steps[i].rank, p.steps[i].rank);
    EXPECT_EQ(back.steps[i].contract, p.steps[i].contract);
  }
  EXPECT_EQ(back.server_version, 110000);
  EXPECT_FALSE(back.offline);
}

TEST(CoreRedact, PasswordsNeverSurvive) {
  EXPECT_EQ(pg::redact_conninfo("postgresql://app:s3cret@db.example:5432/prod"),
            "postgresql://app:****@db.example:5432/prod");
  EXPECT_EQ(pg::redact_conninfo("postgres://app@db.example:5432/prod"),
            "postgres://app@db.example:5432/prod");
  EXPECT_EQ(pg::redact_conninfo("postgresql://db.example:5432/prod"),
            "postgresql://db.example:5432/prod");
  EXPECT_EQ(pg::redact_conninfo("postgresql://app@db/prod?password=s3cret&sslmode=require"),
            "postgresql://app@db/prod?password=****&sslmode=require");
  EXPECT_EQ(pg::redact_conninfo("host=db password=s3cret dbname=prod"),
            "host=db password=**** dbname=prod");
  EXPECT_EQ(pg::redact_conninfo("host=db password='s3 cret' dbname=prod"),
            "host=db password=**** dbname=prod");
  EXPECT_EQ(pg::redact_conninfo("host=db dbname=prod"), "host=db dbname=prod");
  EXPECT_EQ(pg::redact_conninfo("password=a password=b"), "password=**** password=****");
}

}  // namespace
}  // namespace colshift
