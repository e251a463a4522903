// The downstream section as plan, docs and --json show it.
#include <fmt/format.h>

#include "plan/plan.h"
#include "util/text.h"

namespace colshift::plan {

std::string render_downstream_text(const Downstream& d, const std::string& indent) {
  if (d.empty()) return "";
  std::string out;
  for (const auto& c : d.columns) {
    out += fmt::format("{}{}.{} ({}): ", indent, c.table, c.column, c.type);
    if (c.publications.empty()) {
      out += fmt::format("not replicated (column list of {})\n", join(c.not_replicated, ", "));
      continue;
    }
    out += "replicated by " + join(c.publications, ", ");
    if (!c.not_replicated.empty())
      out += fmt::format("; not by {} (column list)", join(c.not_replicated, ", "));
    out += "\n" + indent + "  subscribers first: " + c.subscriber_sql + "\n";
  }
  for (const auto& s : d.subscribers) {
    std::string name = s.subscription.empty() ? s.slot : s.subscription;
    if (name.empty()) name = s.connection;
    std::vector<std::string> about;
    if (!s.slot.empty()) about.push_back("slot " + s.slot + (s.active ? ", active" : ", inactive"));
    if (!s.connection.empty() && s.connection != name) about.push_back("on " + s.connection);
    std::string state = subscriber_state_name(s.state);
    if (s.state == SubscriberState::kUnchecked) {
      state +=
          ": name its connection (--subscriber URL or subscribers:) so colshift checks it, "
          "or --subscribers-ready";
    }
    out += fmt::format("{}subscriber {}{}: {}{}\n", indent, name,
                       about.empty() ? "" : " (" + join(about, "; ") + ")", state,
                       s.detail.empty() ? "" : " (" + s.detail + ")");
  }
  for (const auto& r : d.refusals) {
    out += fmt::format("{}refused: {}\n{}  fix: {}\n", indent, r.reason, indent, r.fix);
  }
  if (!d.prepared.empty())
    out += fmt::format("{}prepared first by start: {}\n", indent, join(d.prepared, ", "));
  if (d.acknowledged)
    out += fmt::format("{}acknowledged: --subscribers-ready by {}\n", indent, d.acknowledged_by);
  for (const auto& n : d.notes) out += fmt::format("{}note: {}\n", indent, n);
  return out;
}

nlohmann::json downstream_to_json(const Downstream& d) {
  nlohmann::json columns = nlohmann::json::array(), subscribers = nlohmann::json::array(),
                 refusals = nlohmann::json::array();
  for (const auto& c : d.columns) {
    columns.push_back({{"table", c.table},
                       {"column", c.column},
                       {"type", c.type},
                       {"publications", c.publications},
                       {"not_replicated", c.not_replicated},
                       {"subscriber_sql", c.subscriber_sql}});
  }
  for (const auto& s : d.subscribers) {
    subscribers.push_back({{"slot", s.slot},
                           {"subscription", s.subscription},
                           {"connection", s.connection},
                           {"active", s.active},
                           {"state", subscriber_state_name(s.state)},
                           {"detail", s.detail}});
  }
  for (const auto& r : d.refusals)
    refusals.push_back({{"reason", r.reason}, {"fix", r.fix}, {"where", r.where}});
  return {{"columns", columns},
          {"subscribers", subscribers},
          {"refusals", refusals},
          {"notes", d.notes},
          {"acknowledged", d.acknowledged},
          {"acknowledged_by", d.acknowledged_by},
          {"prepared", d.prepared}};
}

Downstream downstream_from_json(const nlohmann::json& j) {
  Downstream d;
  if (!j.is_object()) return d;
  for (const auto& c : j.value("columns", nlohmann::json::array())) {
    d.columns.push_back({c.value("table", ""), c.value("column", ""), c.value("type", ""),
                         c.value("publications", std::vector<std::string>{}),
                         c.value("not_replicated", std::vector<std::string>{}),
                         c.value("subscriber_sql", "")});
  }
  const auto states = {SubscriberState::kUnchecked,   SubscriberState::kReady,
                       SubscriberState::kMissing,     SubscriberState::kIncompatible,
                       SubscriberState::kUnreachable, SubscriberState::kAcknowledged};
  for (const auto& s : j.value("subscribers", nlohmann::json::array())) {
    DownstreamSubscriber x{s.value("slot", ""),         s.value("subscription", ""),
                           s.value("connection", ""),   s.value("active", false),
                           SubscriberState::kUnchecked, s.value("detail", "")};
    for (auto st : states)
      if (s.value("state", "") == subscriber_state_name(st)) x.state = st;
    d.subscribers.push_back(std::move(x));
  }
  for (const auto& r : j.value("refusals", nlohmann::json::array()))
    d.refusals.push_back({r.value("reason", ""), r.value("fix", ""), r.value("where", "")});
  d.notes = j.value("notes", std::vector<std::string>{});
  d.acknowledged = j.value("acknowledged", false);
  d.acknowledged_by = j.value("acknowledged_by", "");
  d.prepared = j.value("prepared", std::vector<std::string>{});
  return d;
}

}  // namespace colshift::plan
