#include "guard/monitor.h"

#include <fmt/format.h>

#include <algorithm>

#include "dialect/list_param.h"
#include "guard/command.h"
#include "util/error.h"
#include "util/interrupt.h"
#include "util/text.h"

namespace colshift::guard {
namespace {

using Ms = std::chrono::milliseconds;

std::string shorten(std::string s) {
  for (auto& c : s)
    if (c == '\n') c = ' ';
  if (s.size() > 300) s = s.substr(0, 300) + "...";
  return s;
}

// The guard's row as it stands before a reading: what it is, its baseline.
state::GuardRecord row(const Tracker& t, const std::string& stage) {
  state::GuardRecord g;
  const GuardSpec& spec = t.spec();
  g.name = spec.name;
  g.source = source_text(spec);
  g.threshold = threshold_text(spec);
  g.policy = policy_name(spec.policy);
  g.stage = stage;
  g.baseline = t.baseline();
  g.health = health_name(Health::kUnknown);
  return g;
}

}  // namespace

Monitor::Monitor(const Dialect& dialect, ConnectionFactory connect, Clock& clock,
                 std::vector<GuardSpec> guards, MonitorOptions options)
    : dialect_(dialect), connect_(std::move(connect)), clock_(clock), options_(std::move(options)) {
  for (auto& g : guards) trackers_.emplace_back(std::move(g));
}

Monitor::~Monitor() { stop(); }

Connection& Monitor::session() {
  if (!conn_ || !conn_->alive()) {
    state_.reset();
    conn_ = connect_();
    prepare_session(*conn_, dialect_, kGuardSession);
    state_ = std::make_unique<state::StateStore>(*conn_, options_.state_schema);
  }
  return *conn_;
}

Reading Monitor::read_sql(const GuardSpec& g) {
  Connection& c = session();
  Reading r;
  try {
    for (const auto& st : dialect_.guard_query_begin(g.timeout.count())) c.exec(st);
    auto res = c.exec(g.sql);
    c.exec(dialect_.end_transaction_sql(true));
    if (res.empty() || res.columns().empty()) {
      r.error = "the query returned no row";
    } else if (!res.at(0, 0)) {
      r.error = "the query returned NULL";
    } else {
      double v = 0;
      r.error = parse_number(*res.at(0, 0), v);
      if (r.error.empty()) r.value = v;
    }
  } catch (const DbError& e) {
    r.error = shorten(e.what());
    try {
      if (c.alive()) c.exec(dialect_.end_transaction_sql(false));
    } catch (const DbError&) {
    }
  }
  return r;
}

Reading Monitor::read_builtin(Slot& s) {
  const GuardSpec& g = s.tracker.spec();
  Reading r;
  try {
    Connection& c = session();
    switch (g.builtin) {
      case Builtin::kRollbackRatio:
      case Builtin::kDeadlocks: {
        c.exec(dialect_.stats_clear_snapshot_sql());
        auto res = c.exec(dialect_.database_counters_sql());
        std::vector<double> now = {std::stod(res.text(0, 0, "0")), std::stod(res.text(0, 1, "0")),
                                   std::stod(res.text(0, 2, "0"))};
        auto prev = s.last_counters;
        s.last_counters = now;
        if (!prev) return r;  // primes the delta: no reading yet
        if (g.builtin == Builtin::kDeadlocks) {
          r.value = now[2] - (*prev)[2];
        } else {
          double commits = now[0] - (*prev)[0];
          double rollbacks = now[1] - (*prev)[1];
          r.value = commits + rollbacks > 0 ? rollbacks / (commits + rollbacks) : 0;
        }
        break;
      }
      case Builtin::kTriggerFailures:
        r.value = std::stod(
            c.exec(dialect_.counter_total_sql(), {text_list_param(options_.failure_counters)})
                .text(0, 0, "0"));
        break;
      case Builtin::kLockWaiters:
        r.value =
            std::stod(c.exec(dialect_.table_lock_waiters_sql(), {text_list_param(options_.tables)})
                          .text(0, 0, "0"));
        break;
      case Builtin::kIdleInTransaction:
        r.value = std::stod(c.exec(dialect_.idle_in_transaction_sql(),
                                   {fmt::format("{}", options_.idle_in_transaction_seconds)})
                                .text(0, 0, "0"));
        break;
      case Builtin::kReplicaLag:
        r.value = std::stod(c.exec(dialect_.replica_lag_sql()).text(0, 0, "0"));
        break;
      case Builtin::kWalRate: {
        auto res = c.exec(dialect_.wal_position_sql());
        std::vector<double> now = {std::stod(res.text(0, 0, "0")), std::stod(res.text(0, 1, "0"))};
        auto prev = s.last_counters;
        s.last_counters = now;
        if (!prev || now[1] <= (*prev)[1]) return r;  // primes the delta: no reading yet
        r.value = (now[0] - (*prev)[0]) / (now[1] - (*prev)[1]);
        break;
      }
      case Builtin::kAutovacuum:
        r.value = std::stod(
            c.exec(dialect_.autovacuum_on_tables_sql(), {text_list_param(options_.tables)})
                .text(0, 0, "0"));
        break;
      case Builtin::kNone:
        r.error = "no built-in";
        break;
    }
  } catch (const DbError& e) {
    r.error = shorten(e.what());
  } catch (const std::exception& e) {
    r.error = shorten(e.what());
  }
  return r;
}

Reading Monitor::read(Slot& s) {
  const GuardSpec& g = s.tracker.spec();
  if (g.builtin != Builtin::kNone) return read_builtin(s);
  if (!g.sql.empty()) {
    try {
      return read_sql(g);
    } catch (const std::exception& e) {  // could not connect
      return Reading{std::nullopt, shorten(e.what())};
    }
  }
  Reading r;
  double v = 0;
  r.error = shorten(read_command_number(g.command, g.timeout, v));
  if (r.error.empty()) r.value = v;
  return r;
}

void Monitor::sample_baseline(Ms period) {
  const auto end = clock_.now() + period;
  struct Acc {
    std::vector<double> values;
    std::string last_error;
    bool read() const { return !values.empty() || !last_error.empty(); }
  };
  std::vector<Acc> acc(trackers_.size());
  for (auto& s : trackers_) s.next = clock_.now();
  for (;;) {
    interrupt::check();
    const auto now = clock_.now();
    bool all_read = true;
    for (size_t i = 0; i < trackers_.size(); ++i) {
      auto& s = trackers_[i];
      // Read on the interval; past the end, only what has no reading yet (a
      // delta's second read).
      if (now < s.next && !(now >= end && !acc[i].read())) {
        all_read &= acc[i].read();
        continue;
      }
      if (now >= end && acc[i].read()) continue;
      Reading r = read(s);
      if (r.value) acc[i].values.push_back(*r.value);
      if (!r.error.empty()) acc[i].last_error = r.error;
      s.next = now + s.tracker.spec().interval;
      all_read &= acc[i].read();
    }
    if (clock_.now() >= end && all_read) break;
    Clock::TimePoint wake = end;
    for (auto& s : trackers_) wake = std::min(wake, s.next);
    auto wait = std::clamp<Clock::Duration>(wake - clock_.now(), Ms(10), Ms(250));
    clock_.sleep_for(wait);
  }
  for (size_t i = 0; i < trackers_.size(); ++i) {
    auto& s = trackers_[i];
    const GuardSpec& g = s.tracker.spec();
    if (acc[i].values.empty() && !acc[i].last_error.empty()) {
      throw Error(
          ErrorKind::kBadInput,
          fmt::format("guard '{}' cannot be read before the change: {}", g.name, acc[i].last_error),
          g.where,
          "a guard that cannot be read fails closed once the change runs; fix its "
          "source first. Nothing was changed");
    }
    if (acc[i].values.empty()) continue;
    double sum = 0;
    for (double v : acc[i].values) sum += v;
    s.tracker.set_baseline(sum / static_cast<double>(acc[i].values.size()));
  }
  for (auto& s : trackers_) s.next = clock_.now();
}

void Monitor::attach(long long migration_id) {
  migration_id_ = migration_id;
  if (trackers_.empty()) return;
  session();
  for (const auto& rec : state_->guards(migration_id))
    for (auto& s : trackers_)
      if (s.tracker.spec().name == rec.name && rec.baseline) s.tracker.set_baseline(rec.baseline);
  // Record every guard with its baseline now, so status shows them before the first interval.
  for (auto& s : trackers_) state_->record_guard(migration_id_, row(s.tracker, stage_));
}

void Monitor::set_stage(const std::string& stage) {
  std::lock_guard lock(mu_);
  stage_ = stage;
}

void Monitor::set_can_act(bool can_act) { can_act_ = can_act; }

void Monitor::record(Slot& s, const Verdict& v) {
  const GuardSpec& spec = s.tracker.spec();
  std::string stage;
  {
    std::lock_guard lock(mu_);
    stage = stage_;
  }
  state::GuardRecord g = row(s.tracker, stage);
  g.value = v.value;
  g.health = health_name(v.health);
  g.tripped = v.tripped;
  g.breaches = v.breaches;
  g.failed_reads = v.failed_reads;
  g.reason = v.reason;

  std::string decision;
  if (v.changed && v.tripped) {
    decision = policy_name(spec.policy);
    if (!can_act_ && spec.policy != Policy::kWarn) decision = "alert";
    if (spec.policy == Policy::kPause && stage != "backfill" && stage != "expand" &&
        stage != "finish" && can_act_)
      decision = "alert";  // nothing runs to pause in the active window
  } else if (v.changed && !v.tripped && s.tripped_decided) {
    decision = spec.policy == Policy::kPause ? "resume" : "cleared";
  }
  bool final_rollback = false;
  {
    std::lock_guard lock(mu_);
    if (rollback_ && rollback_->guard == spec.name && !decision.empty()) decision.clear();
  }
  nlohmann::json detail = nullptr;
  if (!decision.empty()) {
    g.decision = decision;
    detail = {{"guard", spec.name},     {"decision", decision},
              {"policy", g.policy},     {"stage", stage},
              {"source", g.source},     {"threshold", g.threshold},
              {"breaches", v.breaches}, {"failed_reads", v.failed_reads},
              {"reason", v.reason},     {"health", g.health},
              {"value", nullptr},       {"baseline", nullptr}};
    if (v.value) detail["value"] = *v.value;
    if (g.baseline) detail["baseline"] = *g.baseline;
    s.tripped_decided = v.tripped;
  }
  session();
  state_->record_guard(migration_id_, g, detail);
  if (decision.empty()) return;
  ++decisions_;
  if (decision == "alert") ++alerts_;
  {
    std::lock_guard lock(mu_);
    auto name_in = [&](std::vector<std::string>& list, bool in) {
      list.erase(std::remove(list.begin(), list.end(), spec.name), list.end());
      if (in) list.push_back(spec.name);
    };
    name_in(tripped_, v.tripped);
    if (decision == "pause" || decision == "resume") {
      pause_.erase(std::remove_if(pause_.begin(), pause_.end(),
                                  [&](const auto& p) { return p.first == spec.name; }),
                   pause_.end());
      if (decision == "pause") pause_.emplace_back(spec.name, v.reason);
    }
    if (decision == "rollback" && !rollback_) {
      rollback_ = Trip{spec.name, v.reason};
      final_rollback = true;
    }
  }
  if (options_.log)
    options_.log(fmt::format("  guard {}: {} ({}; {})", spec.name, decision,
                             v.reason.empty() ? g.health : v.reason, stage));
  if (final_rollback && options_.on_rollback) options_.on_rollback();
}

void Monitor::poll() {
  for (auto& s : trackers_) {
    if (stop_) return;
    auto now = clock_.now();
    if (now < s.next) continue;
    s.next = now + s.tracker.spec().interval;
    Reading r = read(s);
    Verdict v = s.tracker.observe(r);
    if (v.health == Health::kUnknown && !v.changed) continue;  // a delta priming
    try {
      record(s, v);
    } catch (const DbError& e) {
      // The reading stays counted; the record is retried with the next one.
      if (options_.log)
        options_.log(fmt::format("  guard {}: not recorded ({})", s.tracker.spec().name, e.what()));
    }
  }
}

void Monitor::start() {
  if (trackers_.empty() || thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] {
    while (!stop_) {
      try {
        poll();
      } catch (const std::exception& e) {
        if (options_.log) options_.log(std::string("  guards: ") + e.what());
      }
      // Nothing is read until a guard is due: the loop itself costs no round trip.
      for (int i = 0; i < 5 && !stop_; ++i) std::this_thread::sleep_for(Ms(10));
    }
  });
}

void Monitor::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void Monitor::run_for(Ms duration, const std::function<bool()>& until) {
  auto end = clock_.now() + duration;
  while (duration.count() == 0 || clock_.now() < end) {
    interrupt::check();
    poll();
    if (rollback() || (until && until())) return;
    clock_.sleep_for(Ms(50));
  }
}

std::string Monitor::pause_reason() const {
  std::lock_guard lock(mu_);
  if (pause_.empty()) return {};
  std::vector<std::string> parts;
  for (const auto& [name, reason] : pause_) parts.push_back(fmt::format("{}: {}", name, reason));
  return "paused by guard " + join(parts, "; ");
}

std::optional<Trip> Monitor::rollback() const {
  std::lock_guard lock(mu_);
  return rollback_;
}

std::vector<std::string> Monitor::tripped() const {
  std::lock_guard lock(mu_);
  return tripped_;
}

}  // namespace colshift::guard
