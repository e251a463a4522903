#include "backfill/governor.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "util/interrupt.h"

namespace colshift::backfill {

double median(std::deque<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

double quantile(std::deque<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double rank = std::ceil(std::clamp(q, 0.0, 1.0) * static_cast<double>(v.size()));
  const size_t i = rank < 1 ? 0 : static_cast<size_t>(rank) - 1;
  return v[std::min(i, v.size() - 1)];
}

LoadGovernor::LoadGovernor(Clock& clock, LoadSettings s, int workers)
    : clock_(clock),
      s_(s),
      workers_(std::max(1, workers)),
      enabled_(s.max_slowdown > 0),
      level_(workers_) {}

void LoadGovernor::set_queries(std::string probe_sql, Params probe_params, std::string active_sql,
                               Params active_params) {
  probe_sql_ = std::move(probe_sql);
  probe_params_ = std::move(probe_params);
  active_sql_ = std::move(active_sql);
  active_params_ = std::move(active_params);
}

std::pair<double, double> LoadGovernor::measure(Connection& conn, bool always_probe) {
  const double active = static_cast<double>(conn.exec(active_sql_, active_params_).integer(0, 0));
  if (!always_probe) {
    // With nobody else on the database a slow probe is no reason to wait, so
    // it is not run: under the backfill's WAL its commit's flush can take tens
    // of milliseconds, a worker's time for nothing.
    std::lock_guard lock(mu_);
    if (!app_present_locked(active)) return {-1, active};
  }
  auto t0 = std::chrono::steady_clock::now();
  conn.exec(probe_sql_, probe_params_);
  double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  return {ms, active};
}

bool LoadGovernor::app_present_locked(double active) const {
  return base_active_ > 0.05 || active > 0 ||
         std::any_of(actives_.begin(), actives_.end(), [](double a) { return a > 0; });
}

void LoadGovernor::sample_baseline(Connection& conn) {
  if (!enabled_) return;
  std::deque<double> probes, actives;
  const auto end = clock_.now() + s_.baseline;
  do {
    auto [ms, active] = measure(conn, true);
    probes.push_back(ms);
    actives.push_back(active);
    clock_.sleep_for(s_.sample_every / 4);  // denser than during the backfill: a short baseline
    interrupt::check();
  } while (clock_.now() < end);
  // The mean of busy sessions (Little's law wants the mean); the probe's bar
  // stands on a high quantile of the app's own commits' spread (not their
  // maximum: one stall of the server must not set it).
  double sum = 0;
  for (double a : actives) sum += a;
  set_baseline(quantile(probes, s_.baseline_quantile), sum / static_cast<double>(actives.size()));
}

void LoadGovernor::set_baseline(double probe_ms, double active) {
  std::lock_guard lock(mu_);
  base_probe_ms_ = probe_ms;
  base_active_ = active;
}

void LoadGovernor::maybe_observe(Connection& conn) {
  if (!enabled_) return;
  {
    std::lock_guard lock(mu_);
    if (measuring_ || clock_.now() < next_sample_) return;
    measuring_ = true;
    next_sample_ = clock_.now() + s_.sample_every;
  }
  std::pair<double, double> m;
  try {
    m = measure(conn, false);
  } catch (...) {
    std::lock_guard lock(mu_);
    measuring_ = false;
    throw;
  }
  feed(m.first, m.second);
  std::lock_guard lock(mu_);
  measuring_ = false;
}

void LoadGovernor::feed(double probe_ms, double active) {
  std::lock_guard lock(mu_);
  last_probe_ms_ = probe_ms;
  last_active_ = active;
  if (probe_ms >= 0) probes_.push_back(probe_ms);  // < 0: not probed (nobody else there)
  actives_.push_back(active);
  while (static_cast<int>(probes_.size()) > s_.window) probes_.pop_front();
  while (static_cast<int>(actives_.size()) > s_.window) actives_.pop_front();
  const double busy = median(actives_);
  // The window's probe quantile over the bar, counted so that a window not yet
  // full judges the same way: slow when at least as many probes are over the
  // bar as lie above the quantile's rank in a full window.
  const double bar = s_.max_slowdown * base_probe_ms_ + s_.probe_floor_ms;
  const int rank =
      std::max(1, static_cast<int>(std::ceil(std::clamp(s_.probe_quantile, 0.0, 1.0) * s_.window)));
  const auto over =
      std::count_if(probes_.begin(), probes_.end(), [&](double p) { return p > bar; });
  // A slow probe counts only while an app is there to feel it: on a database
  // nobody else uses, the backfill's own load on the probe is no reason to wait.
  const bool app_present = app_present_locked(active);
  const bool probe_slow = app_present && over >= s_.window - rank + 1;
  const bool busy_slow = busy > s_.max_slowdown * base_active_ + 1.0;
  slowed_ = probe_slow || busy_slow;
  if (slowed_) {
    level_ = std::max(s_.min_level, level_ * s_.decrease);
  } else {
    level_ = std::min(static_cast<double>(workers_), level_ + s_.increase);
  }
}

double LoadGovernor::level() const {
  std::lock_guard lock(mu_);
  return enabled_ ? level_ : workers_;
}

Admission LoadGovernor::admit(int w, Clock::Duration busy) const {
  Admission a;
  if (!enabled_) return a;
  std::lock_guard lock(mu_);
  double share = std::clamp(level_ - w, 0.0, 1.0);
  if (share < s_.min_level && w > 0) {
    a.parked = true;
  } else {
    share = std::max(share, s_.min_level);
    a.batch_scale = std::clamp(share, s_.min_batch_scale, 1.0);
    // Busy `share` of the time: rest (1 - share) / share of the batch's time.
    auto rest = std::chrono::duration_cast<Clock::Duration>(busy * ((1.0 - share) / share));
    a.rest = std::min<Clock::Duration>(rest, std::chrono::seconds(5));
  }
  if (level_ < workers_ - 0.05) a.reason = describe_locked();
  return a;
}

std::string LoadGovernor::describe_locked() const {
  return fmt::format(
      "app load: probe {:.1f} ms (baseline {:.1f} ms), {:g} sessions busy (baseline {:.1f}); "
      "backfill at {:.0f}% of its speed",
      quantile(probes_, s_.probe_quantile), base_probe_ms_, median(actives_), base_active_,
      100.0 * level_ / static_cast<double>(workers_));
}

std::string LoadGovernor::reason() const {
  std::lock_guard lock(mu_);
  if (!enabled_ || level_ >= workers_ - 0.05) return {};
  return describe_locked();
}

}  // namespace colshift::backfill
