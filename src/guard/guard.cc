#include "guard/guard.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "util/text.h"

namespace colshift::guard {
namespace {

struct BuiltinName {
  Builtin b;
  const char* name;
};
constexpr BuiltinName kBuiltins[] = {
    {Builtin::kRollbackRatio, "rollback_ratio"},
    {Builtin::kDeadlocks, "deadlocks"},
    {Builtin::kTriggerFailures, "trigger_failures"},
    {Builtin::kLockWaiters, "lock_waiters"},
    {Builtin::kIdleInTransaction, "idle_in_transaction"},
    {Builtin::kReplicaLag, "replica_lag"},
    {Builtin::kWalRate, "wal_rate"},
    {Builtin::kAutovacuum, "autovacuum"},
};

std::string number(double v) { return fmt::format("{:g}", v); }

}  // namespace

const char* policy_name(Policy p) {
  switch (p) {
    case Policy::kPause:
      return "pause";
    case Policy::kRollback:
      return "rollback";
    case Policy::kWarn:
      break;
  }
  return "warn";
}

std::optional<Policy> parse_policy(std::string_view s) {
  if (s == "pause") return Policy::kPause;
  if (s == "rollback") return Policy::kRollback;
  if (s == "warn") return Policy::kWarn;
  return std::nullopt;
}

const char* builtin_name(Builtin b) {
  for (const auto& n : kBuiltins)
    if (n.b == b) return n.name;
  return "";
}

std::optional<Builtin> parse_builtin(std::string_view s) {
  for (const auto& n : kBuiltins)
    if (s == n.name) return n.b;
  return std::nullopt;
}

std::vector<std::string> builtin_names() {
  std::vector<std::string> out;
  for (const auto& n : kBuiltins) out.emplace_back(n.name);
  return out;
}

std::string source_text(const GuardSpec& g) {
  if (g.builtin != Builtin::kNone) return fmt::format("builtin: {}", builtin_name(g.builtin));
  if (!g.sql.empty()) return "sql: " + g.sql;
  if (g.command.size() == 3 && g.command[0] == "sh" && g.command[1] == "-c")
    return "command: " + g.command[2];
  return "command: [" + join(g.command, ", ") + "]";
}

std::string threshold_text(const GuardSpec& g) {
  std::vector<std::string> parts;
  if (g.max) parts.push_back("> " + number(*g.max));
  if (g.min) parts.push_back("< " + number(*g.min));
  if (g.max_ratio) {
    std::string r = fmt::format("> {}× baseline", number(*g.max_ratio));
    if (g.ignore_below > 0) r += fmt::format(" (ignored at or below {})", number(g.ignore_below));
    parts.push_back(r);
  }
  return join(parts, " or ");
}

nlohmann::json to_json(const GuardSpec& g) {
  nlohmann::json j = {{"name", g.name},
                      {"policy", policy_name(g.policy)},
                      {"interval_ms", g.interval.count()},
                      {"timeout_ms", g.timeout.count()},
                      {"breach_after", g.breach_after},
                      {"fail_after", g.fail_after}};
  if (g.builtin != Builtin::kNone) j["builtin"] = builtin_name(g.builtin);
  if (!g.sql.empty()) j["sql"] = g.sql;
  if (!g.command.empty()) j["command"] = g.command;
  if (g.max) j["max"] = *g.max;
  if (g.min) j["min"] = *g.min;
  if (g.max_ratio) j["max_ratio"] = *g.max_ratio;
  if (g.ignore_below != 0) j["ignore_below"] = g.ignore_below;
  if (!g.where.empty()) j["where"] = g.where;
  return j;
}

GuardSpec guard_from_json(const nlohmann::json& j) {
  GuardSpec g;
  g.name = j.value("name", "");
  g.policy = parse_policy(j.value("policy", "warn")).value_or(Policy::kWarn);
  g.interval = std::chrono::milliseconds(j.value("interval_ms", 5000LL));
  g.timeout = std::chrono::milliseconds(j.value("timeout_ms", 5000LL));
  g.breach_after = j.value("breach_after", 1);
  g.fail_after = j.value("fail_after", 3);
  if (j.contains("builtin")) g.builtin = parse_builtin(j["builtin"].get<std::string>()).value();
  g.sql = j.value("sql", "");
  if (j.contains("command")) g.command = j["command"].get<std::vector<std::string>>();
  if (j.contains("max")) g.max = j["max"].get<double>();
  if (j.contains("min")) g.min = j["min"].get<double>();
  if (j.contains("max_ratio")) g.max_ratio = j["max_ratio"].get<double>();
  g.ignore_below = j.value("ignore_below", 0.0);
  g.where = j.value("where", "");
  return g;
}

std::vector<GuardSpec> default_guards() {
  std::vector<GuardSpec> out;
  GuardSpec ratio;
  ratio.name = "rollback_ratio";
  ratio.builtin = Builtin::kRollbackRatio;
  // An absolute threshold: a ratio to a baseline would make every start wait
  // for the baseline; a file that wants one names the builtin with max_ratio.
  ratio.max = 0.1;
  ratio.breach_after = 2;
  out.push_back(ratio);
  GuardSpec deadlocks;
  deadlocks.name = "deadlocks";
  deadlocks.builtin = Builtin::kDeadlocks;
  deadlocks.max = 0;
  out.push_back(deadlocks);
  GuardSpec failures;
  failures.name = "trigger_failures";
  failures.builtin = Builtin::kTriggerFailures;
  failures.max = 0;
  out.push_back(failures);
  return out;
}

std::vector<GuardSpec> with_defaults(std::vector<GuardSpec> file) {
  for (auto& d : default_guards()) {
    bool replaced = std::any_of(file.begin(), file.end(), [&](const GuardSpec& g) {
      return g.builtin == d.builtin || g.name == d.name;
    });
    if (!replaced) file.push_back(std::move(d));
  }
  return file;
}

const char* health_name(Health h) {
  switch (h) {
    case Health::kOk:
      return "ok";
    case Health::kBreach:
      return "breach";
    case Health::kUnreadable:
      return "unreadable";
    case Health::kUnknown:
      break;
  }
  return "unknown";
}

bool Tracker::breaches(double value, std::string* why) const {
  auto say = [&](std::string text) {
    if (why) *why = std::move(text);
    return true;
  };
  if (spec_.max && value > *spec_.max)
    return say(fmt::format("{} > max {}", number(value), number(*spec_.max)));
  if (spec_.min && value < *spec_.min)
    return say(fmt::format("{} < min {}", number(value), number(*spec_.min)));
  if (spec_.max_ratio && value > spec_.ignore_below) {
    // No baseline, or a baseline of 0: any value above ignore_below is an
    // infinite ratio. A ratio never passes for want of a baseline.
    double base = baseline_.value_or(0);
    if (base <= 0 && value > 0)
      return say(fmt::format("{} > {}× baseline {}", number(value), number(*spec_.max_ratio),
                             number(base)));
    if (base > 0 && value > base * *spec_.max_ratio)
      return say(fmt::format("{} > {}× baseline {} ({:.1f}×)", number(value),
                             number(*spec_.max_ratio), number(base), value / base));
  }
  return false;
}

Verdict Tracker::observe(const Reading& r) {
  Verdict v;
  const bool was = tripped_;
  if (!r.value && r.error.empty()) {
    v.health = Health::kUnknown;
  } else if (!r.value) {
    ++failed_;
    v.health = Health::kUnreadable;
    v.reason = fmt::format("cannot be read ({} in a row, fails closed at {}): {}", failed_,
                           spec_.fail_after, r.error);
    if (failed_ >= spec_.fail_after) tripped_ = true;
  } else {
    failed_ = 0;
    v.value = r.value;
    std::string why;
    if (breaches(*r.value, &why)) {
      ++breaches_;
      v.health = Health::kBreach;
      v.reason = fmt::format("{} ({} in a row, trips at {})", why, breaches_, spec_.breach_after);
      if (breaches_ >= spec_.breach_after) tripped_ = true;
    } else {
      // One healthy read clears it: counting is consecutive.
      breaches_ = 0;
      v.health = Health::kOk;
      tripped_ = false;
    }
  }
  v.tripped = tripped_;
  v.changed = tripped_ != was;
  v.breaches = breaches_;
  v.failed_reads = failed_;
  return v;
}

std::string parse_number(std::string_view text, double& out) {
  std::string t = trim(text);
  if (t.empty()) return "empty result";
  errno = 0;
  char* end = nullptr;
  out = std::strtod(t.c_str(), &end);
  if (end == t.c_str() || *end != '\0' || errno == ERANGE || !std::isfinite(out)) {
    std::string shown = t.size() > 60 ? t.substr(0, 60) + "..." : t;
    return fmt::format("not a number: '{}'", shown);
  }
  return {};
}

}  // namespace colshift::guard
