// The load throttle: keeps the application's latency near what it was before
// the backfill, by itself, without a threshold the user must know.
//
// Before the first batch it samples a baseline of two signals for a few
// seconds: the latency of a probe colshift times itself (a read of the table
// by key and a commit that waits for its WAL flush, as an app's write
// transaction does: the backfill's WAL volume shows up there first) and the
// number of other sessions running a statement (the PostgreSQL analogue of
// gh-ost's Threads_running; by Little's law it grows with the app's latency at
// a fixed request rate). During the backfill it measures both again every
// `sample_every`. The probe is judged by a high quantile of the last few
// samples (by default their maximum) against the baseline's 90th percentile,
// not by their median: an app's p99 is made of the rare slow commits, and a
// median hides them (measured under the demo's workload: with the median, and
// with 2 of 5 over the bar, the app's p99 rose to 18.7x and 24x its baseline). The app is slowed
// when that quantile is over `max_slowdown` times the baseline (plus a floor for a noisy
// sub-millisecond baseline), or when the median of busy sessions is over `max_slowdown` times the
// baseline's. A slow probe counts only while other sessions are busy (now or in the baseline): an
// idle database gets the full speed.
//
// The answer is a level, in workers: level 2.0 lets two workers run flat out,
// 0.5 lets one worker be busy half the time (it rests after each batch for as
// long as the batch took, and its batches aim at half their usual time: the
// same speed in shorter bursts, each holding its rows' locks and putting its
// WAL ahead of the app's commits for less). The level rises additively while the app is
// healthy and falls multiplicatively when it is slowed (AIMD, as TCP finds a
// link's capacity), so the backfill settles near the fastest rate the app
// tolerates and gives way within one sample when the app's load rises. It
// starts at full speed: a busy app halves it at each slowed sample from there.
//
// Thread-safe: every worker calls it between batches, on its own session.
#pragma once

#include <chrono>
#include <deque>
#include <mutex>
#include <string>

#include "dialect/connection.h"
#include "util/clock.h"

namespace colshift::backfill {

struct LoadSettings {
  double max_slowdown = 2.0;                    // <= 0: the load throttle is off
  std::chrono::milliseconds baseline{1000};     // how long to sample before the first batch
  std::chrono::milliseconds sample_every{200};  // one measurement this often
  long long from_rows = 100'000;                // engage for backfills of at least this many rows
  double probe_floor_ms = 1.0;                  // slack on the probe's baseline
  int window = 5;                               // samples judged together
  double probe_quantile = 1.0;                  // of the window's probes: 1 = any one over the bar
  double baseline_quantile = 0.9;               // of the baseline's probes: the bar's base
  double increase = 0.1;                        // level added per healthy sample
  double decrease = 0.5;                        // level multiplied by this per slowed sample
  double min_level = 0.02;                      // never stop entirely
  double min_batch_scale = 0.1;                 // shortest batches: this share of the target
};

// What the governor tells a worker between batches.
struct Admission {
  bool parked = false;       // not this worker's turn at all right now
  Clock::Duration rest{0};   // rest this long after the batch that took `busy`
  double batch_scale = 1.0;  // aim batches at this share of their target time
  std::string reason;        // why the backfill runs slower than it could; empty if not
};

class LoadGovernor {
 public:
  // `workers`: the level's ceiling.
  LoadGovernor(Clock& clock, LoadSettings s, int workers);

  bool enabled() const { return enabled_; }
  // Switches it off (a small backfill, or --max-app-slowdown 0).
  void disable() { enabled_ = false; }

  // The SQL it runs: the probe (timed) with its params, and the active
  // sessions count with its params.
  void set_queries(std::string probe_sql, Params probe_params, std::string active_sql,
                   Params active_params);

  // Samples the baseline on `conn` for settings.baseline; says so through `note`.
  void sample_baseline(Connection& conn);

  // Measures on `conn` when a sample is due (at most one worker measures at a time).
  void maybe_observe(Connection& conn);

  // For worker `w` (0-based) after a batch that took `busy`.
  Admission admit(int w, Clock::Duration busy) const;

  // Pure: one measurement (probe latency in ms, < 0 for none; busy sessions).
  // Exposed for tests.
  void feed(double probe_ms, double active);
  // Pure: the baseline, from samples already taken. Exposed for tests.
  void set_baseline(double probe_ms, double active);

  double level() const;
  std::string reason() const;
  double baseline_probe_ms() const { return base_probe_ms_; }
  double baseline_active() const { return base_active_; }

 private:
  // One measurement: probe latency (ms; -1 when not probed because no other
  // session is busy now, in the window or in the baseline, unless
  // `always_probe`) and busy sessions.
  std::pair<double, double> measure(Connection& conn, bool always_probe);
  bool app_present_locked(double active) const;
  std::string describe_locked() const;

  Clock& clock_;
  LoadSettings s_;
  int workers_;
  bool enabled_;
  std::string probe_sql_, active_sql_;
  Params probe_params_, active_params_;

  mutable std::mutex mu_;
  Clock::TimePoint next_sample_{};
  bool measuring_ = false;
  double level_;
  double base_probe_ms_ = 0, base_active_ = 0;
  std::deque<double> probes_, actives_;
  double last_probe_ms_ = 0, last_active_ = 0;
  bool slowed_ = false;  // the last sample found the app slowed
};

// The median of `v` (0 when empty).
double median(std::deque<double> v);
// The q-quantile of `v` (0 <= q <= 1; nearest rank: the smallest value with at
// least q of the values at or below it; 0 when empty).
double quantile(std::deque<double> v, double q);

}  // namespace colshift::backfill
