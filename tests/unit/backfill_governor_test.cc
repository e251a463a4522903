// The load governor's decisions, fed measurements directly: how fast the
// backfill may run for a given app load, how it gives way and recovers.
#include <gtest/gtest.h>

#include <memory>

#include "backfill/governor.h"
#include "util/clock.h"

namespace colshift {
namespace {

using backfill::LoadGovernor;
using backfill::LoadSettings;
using std::chrono::milliseconds;

// A governor whose baseline is a 2 ms probe and one session busy on average.
std::unique_ptr<LoadGovernor> make(FakeClock& clock, int workers, double slowdown = 2.0) {
  LoadSettings s;
  s.max_slowdown = slowdown;
  auto g = std::make_unique<LoadGovernor>(clock, s, workers);
  g->set_baseline(2.0, 1.0);
  return g;
}

TEST(BackfillGovernor, HealthyAppLetsEveryWorkerRunFlatOut) {
  FakeClock clock;
  auto owner = make(clock, 2);
  auto& g = *owner;
  EXPECT_DOUBLE_EQ(g.level(), 2.0) << "starts at full speed";
  for (int i = 0; i < 20; ++i) g.feed(2.5, 1);
  EXPECT_DOUBLE_EQ(g.level(), 2.0);
  auto a0 = g.admit(0, milliseconds(100));
  auto a1 = g.admit(1, milliseconds(100));
  EXPECT_FALSE(a1.parked);
  EXPECT_EQ(a0.rest.count(), 0);
  EXPECT_EQ(a1.rest.count(), 0);
  EXPECT_DOUBLE_EQ(a0.batch_scale, 1.0);
  EXPECT_DOUBLE_EQ(a1.batch_scale, 1.0);
  EXPECT_EQ(a0.reason, "") << "nothing slows it: nothing to say";
  EXPECT_EQ(g.reason(), "");
}

TEST(BackfillGovernor, SlowProbeHalvesTheLevelAndSaysWhy) {
  FakeClock clock;
  auto owner = make(clock, 2);
  auto& g = *owner;
  for (int i = 0; i < 20; ++i) g.feed(2.0, 1);
  // Probe over 2 x 2 ms + 1 ms floor: slowed from the first slow sample,
  // halved at each one: 2 -> 1 -> 0.5 -> 0.25 -> 0.125.
  for (int i = 0; i < 5; ++i) g.feed(9.0, 1);
  EXPECT_LT(g.level(), 0.5);
  auto a1 = g.admit(1, milliseconds(100));
  EXPECT_TRUE(a1.parked) << "the second worker waits its turn";
  auto a0 = g.admit(0, milliseconds(100));
  EXPECT_FALSE(a0.parked);
  EXPECT_GT(a0.rest, milliseconds(100)) << "busy less than half the time";
  EXPECT_LT(a0.batch_scale, 0.5) << "in shorter batches";
  EXPECT_GE(a0.batch_scale, 0.1) << "never shorter than a tenth of the target";
  EXPECT_NE(a0.reason.find("probe 9.0 ms (baseline 2.0 ms)"), std::string::npos) << a0.reason;
  EXPECT_NE(g.reason().find("% of its speed"), std::string::npos) << g.reason();
}

TEST(BackfillGovernor, ProbeWithinTheFactorIsHealthy) {
  FakeClock clock;
  auto owner = make(clock, 1);
  auto& g = *owner;
  for (int i = 0; i < 10; ++i) g.feed(4.9, 1);  // < 2 x 2 ms + 1 ms
  EXPECT_DOUBLE_EQ(g.level(), 1.0);
}

TEST(BackfillGovernor, BusySessionsOverTheBaselineSlowIt) {
  FakeClock clock;
  auto owner = make(clock, 1);
  auto& g = *owner;
  for (int i = 0; i < 3; ++i) g.feed(2.0, 4);  // > 2 x 1 + 1 sessions busy
  EXPECT_LT(g.level(), 0.2);
  for (int i = 0; i < 5; ++i) g.feed(2.0, 3);  // exactly 2 x 1 + 1: healthy again
  EXPECT_GT(g.level(), 0.2);
}

TEST(BackfillGovernor, RecoversAdditivelyOnceTheAppIsHealthy) {
  FakeClock clock;
  auto owner = make(clock, 1);
  auto& g = *owner;
  for (int i = 0; i < 10; ++i) g.feed(50, 1);
  const double low = g.level();
  EXPECT_LE(low, 0.05);
  for (int i = 0; i < 4; ++i) g.feed(2, 1);  // the window still holds a slow probe
  EXPECT_DOUBLE_EQ(g.level(), low);
  g.feed(2, 1);  // all 5 in the window healthy from here
  EXPECT_NEAR(g.level(), low + 0.1, 1e-9);
  for (int i = 0; i < 20; ++i) g.feed(2, 1);
  EXPECT_DOUBLE_EQ(g.level(), 1.0);
}

TEST(BackfillGovernor, NeverStopsEntirely) {
  FakeClock clock;
  auto owner = make(clock, 1);
  auto& g = *owner;
  for (int i = 0; i < 100; ++i) g.feed(500, 50);
  auto a = g.admit(0, milliseconds(10));
  EXPECT_FALSE(a.parked);
  EXPECT_LE(a.rest, std::chrono::seconds(5)) << "a rest is capped";
  EXPECT_GT(a.rest.count(), 0);
}

TEST(BackfillGovernor, SlowProbeOnAnIdleDatabaseIsNoReasonToWait) {
  FakeClock clock;
  LoadSettings s;
  LoadGovernor g(clock, s, 2);
  g.set_baseline(0.3, 0);                       // nobody else uses the database
  for (int i = 0; i < 10; ++i) g.feed(8.0, 0);  // the backfill's own load on the probe
  EXPECT_DOUBLE_EQ(g.level(), 2.0);
  g.feed(8.0, 1);  // an app arrives: its sessions are busy, the slow probe now counts
  g.feed(8.0, 1);
  EXPECT_LT(g.level(), 2.0);
}

TEST(BackfillGovernor, ASampleWithoutAProbeJudgesTheSessionsAlone) {
  FakeClock clock;
  auto owner = make(clock, 2);
  auto& g = *owner;
  for (int i = 0; i < 10; ++i) g.feed(-1, 1);  // not probed
  EXPECT_DOUBLE_EQ(g.level(), 2.0);
  for (int i = 0; i < 3; ++i) g.feed(-1, 5);  // > 2 x 1 + 1 sessions busy
  EXPECT_LT(g.level(), 2.0);
}

TEST(BackfillGovernor, OffMeansNoRestAndFullLevel) {
  FakeClock clock;
  auto owner = make(clock, 3, 0);
  auto& g = *owner;
  EXPECT_FALSE(g.enabled());
  for (int i = 0; i < 5; ++i) g.feed(100, 10);
  EXPECT_DOUBLE_EQ(g.level(), 3.0);
  EXPECT_EQ(g.admit(2, milliseconds(100)).rest.count(), 0);
}

// An app's p99 is its rare slow commits: one slow probe in every few must
// slow the backfill, though the median of the window stays healthy. (It was
// judged by the median: 2 slow probes in 5 never slowed it.)
TEST(BackfillGovernor, RareSlowCommitsSlowTheBackfill) {
  FakeClock clock;
  auto owner = make(clock, 2);
  auto& g = *owner;
  for (int i = 0; i < 10; ++i) g.feed(i % 5 == 0 || i % 5 == 2 ? 30.0 : 2.0, 1);
  EXPECT_LT(g.level(), 1.0);
  EXPECT_NE(g.reason().find("probe 30.0 ms"), std::string::npos) << g.reason();
}

TEST(BackfillGovernor, OneSlowCommitInAWindowSlowsTheBackfill) {
  FakeClock clock;
  auto owner = make(clock, 2);
  auto& g = *owner;
  for (int i = 0; i < 20; ++i) g.feed(i % 5 == 0 ? 30.0 : 2.0, 1);
  EXPECT_LT(g.level(), 1.0) << "one slow commit in five is far more than an app's p99 allows";
}

TEST(BackfillGovernor, ProbesWithinTheBarNeverSlowIt) {
  FakeClock clock;
  auto owner = make(clock, 2);
  auto& g = *owner;
  for (int i = 0; i < 20; ++i) g.feed(i % 5 == 0 ? 4.9 : 2.0, 1);  // bar: 2 x 2 ms + 1 ms
  EXPECT_DOUBLE_EQ(g.level(), 2.0);
}

TEST(BackfillGovernor, QuantileIsTheNearestRank) {
  EXPECT_DOUBLE_EQ(backfill::quantile({}, 0.8), 0);
  EXPECT_DOUBLE_EQ(backfill::quantile({5, 1, 4, 2, 3}, 0.8), 4);
  EXPECT_DOUBLE_EQ(backfill::quantile({5, 1, 4, 2, 3}, 1.0), 5);
  EXPECT_DOUBLE_EQ(backfill::quantile({5, 1, 4, 2, 3}, 0.0), 1);
  EXPECT_DOUBLE_EQ(backfill::quantile({7}, 0.9), 7);
}

TEST(BackfillGovernor, MedianOfEvenAndOdd) {
  EXPECT_DOUBLE_EQ(backfill::median({}), 0);
  EXPECT_DOUBLE_EQ(backfill::median({3, 1, 2}), 2);
  EXPECT_DOUBLE_EQ(backfill::median({4, 1, 2, 3}), 2.5);
}

}  // namespace
}  // namespace colshift
