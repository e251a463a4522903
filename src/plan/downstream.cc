// Downstream safety for logical replication: which subscribers must get a
// change before the publisher does, what start refuses, and the warnings of
// slots that hold WAL back (plan.h "logical replication downstream").
//
// The rules:
//   - a column added to a table that a publication replicates without a
//     column list (FOR TABLE, FOR ALL TABLES, FOR TABLES IN SCHEMA) must exist
//     on every subscriber first: each logical slot of the publisher's
//     database with the pgoutput plugin is a subscriber, and start refuses
//     until each is checked (a named connection that has the column with a
//     compatible type), prepared by start, or acknowledged;
//   - a publication whose column list leaves the column out does not
//     replicate it at all (the plan says so);
//   - a raw_sql drop or rename of a column that a publication's column list
//     or row filter names is refused, with the fix;
//   - an inactive logical slot that holds back kSlotLagWarningBytes or more
//     is a warning: the backfill's WAL adds to it.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "plan/planner.h"
#include "util/error.h"
#include "util/text.h"

namespace colshift::plan {
namespace {

const std::vector<SlotImpact>& slots_of(const CatalogFacts& facts) {
  static const std::vector<SlotImpact> none;
  return facts.impact.empty() ? none : facts.impact.front().slots;
}

// "name", "name (FOR ALL TABLES)", "name (FOR TABLES IN SCHEMA public)".
std::string publication_label(const PublicationFacts& p) {
  if (p.via == "all tables") return p.name + " (FOR ALL TABLES)";
  if (p.via.rfind("schema ", 0) == 0)
    return p.name + " (FOR TABLES IN SCHEMA " + p.via.substr(7) + ")";
  return p.name;
}

// Whether `expr` (a row filter as pg_get_expr prints it) names `column`:
// as a whole word, or double-quoted.
bool names_column(const std::string& expr, const std::string& column) {
  const std::string quoted = "\"" + column + "\"";
  if (expr.find(quoted) != std::string::npos) return true;
  auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  for (size_t at = expr.find(column); at != std::string::npos; at = expr.find(column, at + 1)) {
    const size_t end = at + column.size();
    if ((at == 0 || !word(expr[at - 1])) && (end >= expr.size() || !word(expr[end]))) return true;
  }
  return false;
}

// The drop and rename rules for one raw statement's column edits.
void check_edits(const Step& s, const RawStatement& st, const CatalogFacts& facts,
                 Downstream& out) {
  for (const auto& e : st.column_edits) {
    for (const auto& p : facts.publications) {
      if (p.table != e.relation) continue;
      const bool in_list = p.column_list && std::find(p.columns.begin(), p.columns.end(),
                                                      e.column) != p.columns.end();
      const bool in_filter = !p.row_filter.empty() && names_column(p.row_filter, e.column);
      if (!in_list && !in_filter) {
        if (!e.renamed_to.empty() && !p.column_list) {
          out.notes.push_back(fmt::format(
              "renaming {}.{} to {} changes what {} replicates: a subscriber without a column {} "
              "stops applying changes to {} until it renames its copy too (disable the "
              "subscription, rename on both sides, enable it)",
              e.relation, e.column, e.renamed_to, publication_label(p), e.renamed_to, e.relation));
        }
        continue;
      }
      const std::string names = in_list
                                    ? fmt::format("publication {}'s column list ({}) names it",
                                                  p.name, join(p.columns, ", "))
                                    : fmt::format("publication {}'s row filter (WHERE {}) names it",
                                                  p.name, p.row_filter);
      std::vector<std::string> kept;
      for (const auto& c : p.columns)
        if (c != e.column) kept.push_back(c);
      Downstream::Refusal r;
      r.where = s.where;
      if (e.renamed_to.empty()) {
        r.reason = fmt::format(
            "it drops column {} of {}, and {}: PostgreSQL refuses the drop, and DROP ... CASCADE "
            "takes {} out of {} (replication of the table stops)",
            e.column, e.relation, names, e.relation, p.name);
        r.fix = in_list ? fmt::format(
                              "first take the column out of the publication in a migration of "
                              "its own (raw_sql: ALTER PUBLICATION {} SET TABLE {} ({})), once "
                              "no subscriber needs it; then drop it",
                              p.name, e.relation, join(kept, ", "))
                        : fmt::format(
                              "first change the row filter so it no longer names {} in a "
                              "migration of its own (raw_sql: ALTER PUBLICATION {} SET TABLE {} "
                              "WHERE (...)); then drop it",
                              e.column, p.name, e.relation);
      } else {
        r.reason = fmt::format(
            "it renames column {} of {} to {}, and {}: the publisher then replicates {} "
            "under its new name, which subscribers do not have, and their apply stops",
            e.column, e.relation, e.renamed_to, names, e.column);
        r.fix = fmt::format(
            "add {} as a new column (add_column with up: {}), add it on the subscribers and to "
            "{}, move readers to it, then drop {} in a later migration (after taking it out of "
            "{})",
            e.renamed_to, e.column, p.name, e.column, p.name);
      }
      out.refusals.push_back(std::move(r));
    }
  }
}

// Checks one named subscriber's subscriptions against the columns that
// replicate; updates (or adds) the subscribers they stream to.
void check_subscriber(const SubscriberFacts& sf, const std::vector<DownstreamColumn>& columns,
                      Downstream& out) {
  if (!sf.error.empty()) {
    out.subscribers.push_back(
        {"", "", sf.label, false, SubscriberState::kUnreachable, "could not be read: " + sf.error});
    return;
  }
  bool matched = false;
  for (const auto& sub : sf.subscriptions) {
    auto it = std::find_if(out.subscribers.begin(), out.subscribers.end(),
                           [&](const DownstreamSubscriber& d) { return d.slot == sub.slot; });
    if (sub.slot.empty() || it == out.subscribers.end()) continue;  // another publisher's
    matched = true;
    it->subscription = sub.name;
    it->connection = sf.label;
    std::vector<std::string> missing, incompatible, ready;
    for (const auto& c : columns) {
      bool receives = false;
      for (const auto& p : c.publications) {
        const std::string name = p.substr(0, p.find(' '));
        receives |= std::find(sub.publications.begin(), sub.publications.end(), name) !=
                    sub.publications.end();
      }
      if (!receives) continue;
      const std::string full = c.table + "." + c.column;
      auto have = std::find_if(sf.columns.begin(), sf.columns.end(), [&](const auto& x) {
        return x.table == c.table && x.column == c.column;
      });
      if (have == sf.columns.end() || !have->table_exists) {
        missing.push_back(fmt::format("{} (no table {})", full, c.table));
      } else if (!have->present) {
        missing.push_back(full);
      } else if (!have->compatible) {
        incompatible.push_back(
            fmt::format("{} is {} there, the publisher adds {}", full, have->type, c.type));
      } else {
        ready.push_back(fmt::format("{} {}", full, have->type));
      }
    }
    if (!incompatible.empty()) {
      it->state = SubscriberState::kIncompatible;
      it->detail = "type does not fit: " + join(incompatible, "; ");
    } else if (!missing.empty()) {
      it->state = SubscriberState::kMissing;
      it->detail = "lacks " + join(missing, ", ");
    } else {
      it->state = SubscriberState::kReady;
      it->detail = ready.empty() ? fmt::format(
                                       "subscription {} receives none of the new columns "
                                       "(publications {})",
                                       sub.name, join(sub.publications, ", "))
                                 : "has " + join(ready, ", ");
    }
    if (sub.apply_errors > 0) {
      it->detail += fmt::format("; {} apply error{} recorded (pg_stat_subscription_stats)",
                                sub.apply_errors, sub.apply_errors == 1 ? "" : "s");
    }
  }
  if (!matched) {
    std::vector<std::string> names;
    for (const auto& sub : sf.subscriptions)
      names.push_back(fmt::format("{} (slot {})", sub.name, sub.slot));
    out.notes.push_back(
        fmt::format("subscriber {} has no subscription streaming from a slot of this database{}",
                    sf.label, names.empty() ? std::string() : ": it has " + join(names, ", ")));
  }
}

}  // namespace

const char* subscriber_state_name(SubscriberState s) {
  switch (s) {
    case SubscriberState::kUnchecked:
      return "unchecked";
    case SubscriberState::kReady:
      return "ready";
    case SubscriberState::kMissing:
      return "missing";
    case SubscriberState::kIncompatible:
      return "incompatible";
    case SubscriberState::kUnreachable:
      return "unreachable";
    case SubscriberState::kAcknowledged:
      return "acknowledged";
  }
  return "?";
}

bool Downstream::unconfirmed() const {
  return std::any_of(subscribers.begin(), subscribers.end(), [](const DownstreamSubscriber& s) {
    return s.state != SubscriberState::kReady && s.state != SubscriberState::kAcknowledged;
  });
}

void plan_downstream(const migration::Migration& m, const CatalogFacts& facts,
                     const Dialect& dialect, Plan& p) {
  if (facts.offline) return;
  Downstream& out = p.downstream;
  for (const auto& op : m.operations) {
    const auto* a = std::get_if<migration::AddColumn>(&op);
    if (!a) continue;
    auto t = facts.tables.find(a->table.display());
    if (t == facts.tables.end()) continue;
    DownstreamColumn c;
    c.table = t->second.schema + "." + t->second.name;
    c.column = a->column.name;
    c.type = a->column.type;
    for (const auto& pub : facts.publications) {
      if (pub.table != c.table) continue;
      if (pub.column_list) {
        c.not_replicated.push_back(pub.name);
        out.notes.push_back(fmt::format(
            "{} publishes {} with a column list ({}) that leaves {} out: the new column is not "
            "replicated at all; once subscribers have it, add it with ALTER PUBLICATION {} SET "
            "TABLE {} ({}, {})",
            pub.name, c.table, join(pub.columns, ", "), c.column, pub.name, c.table,
            join(pub.columns, ", "), c.column));
      } else {
        c.publications.push_back(publication_label(pub));
      }
    }
    if (c.publications.empty() && c.not_replicated.empty()) continue;
    c.subscriber_sql =
        dialect.subscriber_add_column_sql(t->second.schema, t->second.name, c.column, c.type);
    out.columns.push_back(std::move(c));
  }
  for (const auto& s : p.steps)
    for (const auto& st : s.statements) check_edits(s, st, facts, out);

  const bool replicates = std::any_of(out.columns.begin(), out.columns.end(),
                                      [](const auto& c) { return !c.publications.empty(); });
  std::vector<std::string> cdc;
  for (const auto& slot : slots_of(facts)) {
    if (slot.type != "logical") continue;
    if (!slot.active && slot.lag_bytes >= kSlotLagWarningBytes) {
      out.slot_warnings.push_back(fmt::format(
          "logical slot {} is inactive and holds back {} of WAL; the backfill's WAL adds to it "
          "while nothing consumes it, and the publisher keeps all of it: bring its consumer back "
          "before start, or drop the slot if the consumer is gone "
          "(SELECT pg_drop_replication_slot('{}'))",
          slot.name, human_bytes(slot.lag_bytes), slot.name));
      p.warnings.push_back(out.slot_warnings.back());
    }
    if (!replicates) continue;
    if (slot.plugin == "pgoutput") {
      out.subscribers.push_back(
          {slot.name, slot.client, "", slot.active, SubscriberState::kUnchecked, ""});
    } else {
      cdc.push_back(fmt::format("{} ({})", slot.name, slot.plugin));
    }
  }
  if (!cdc.empty()) {
    out.notes.push_back(fmt::format(
        "change-data-capture slot{} {} decode{} the new column from the first change after "
        "expand: make sure {} consumer{} accept{} it",
        cdc.size() == 1 ? "" : "s", join(cdc, ", "), cdc.size() == 1 ? "s" : "",
        cdc.size() == 1 ? "its" : "their", cdc.size() == 1 ? "" : "s", cdc.size() == 1 ? "s" : ""));
  }
  if (!replicates) return;
  for (const auto& sf : facts.subscribers) check_subscriber(sf, out.columns, out);
  if (out.subscribers.empty()) {
    out.notes.push_back(
        "no logical slot of this database streams to a subscriber now: nothing to prepare; a "
        "subscriber created later must have the new columns before it subscribes");
  }
  if (out.unconfirmed()) {
    p.warnings.push_back(
        "'colshift start' will refuse this migration until every subscriber listed under "
        "'downstream' has the new columns: name it (--subscriber URL, or 'subscribers:' in the "
        "file) so colshift checks it, add --prepare-subscribers to add them there first, or "
        "--subscribers-ready when you made sure yourself");
  }
}

void acknowledge_subscribers(Downstream& d, const std::string& who) {
  d.acknowledged = true;
  d.acknowledged_by = who;
  for (auto& s : d.subscribers) {
    if (s.state != SubscriberState::kUnchecked && s.state != SubscriberState::kUnreachable)
      continue;
    s.state = SubscriberState::kAcknowledged;
    s.detail += (s.detail.empty() ? "" : "; ") + std::string("--subscribers-ready by ") + who;
  }
}

void refuse_downstream(const Plan& plan) {
  const Downstream& d = plan.downstream;
  if (!d.refusals.empty()) {
    const auto& r = d.refusals.front();
    throw Error(
        ErrorKind::kBadInput,
        fmt::format("refusing raw_sql: {}; nothing was changed{}", r.reason,
                    d.refusals.size() > 1 ? fmt::format(" ({} more; 'colshift plan' lists them)",
                                                        d.refusals.size() - 1)
                                          : std::string()),
        r.where, r.fix);
  }
  if (!d.unconfirmed()) return;
  std::vector<std::string> pubs, sql, who;
  for (const auto& c : d.columns) {
    if (c.publications.empty()) continue;
    pubs.push_back(fmt::format("{} is published by {}", c.table, join(c.publications, ", ")));
    sql.push_back(c.subscriber_sql);
  }
  for (const auto& s : d.subscribers) {
    if (s.state == SubscriberState::kReady || s.state == SubscriberState::kAcknowledged) continue;
    std::string name;
    if (!s.subscription.empty()) name = "subscription " + s.subscription;
    if (!s.slot.empty())
      name += (name.empty() ? "slot " : " (slot ") + s.slot + (name.empty() ? "" : ")");
    if (!s.connection.empty()) name += (name.empty() ? "" : " on ") + s.connection;
    who.push_back(fmt::format("{} is {}{}", name, subscriber_state_name(s.state),
                              s.detail.empty() ? "" : ": " + s.detail));
  }
  throw Error(
      ErrorKind::kConflict,
      fmt::format("refusing to start: {}, and PostgreSQL does not replicate DDL; {}. Adding the "
                  "column here first would stop their replication ('missing replicated column') "
                  "while WAL piles up on this server; nothing was changed",
                  join(pubs, "; "), join(who, "; ")),
      plan.file,
      fmt::format("add the column on each subscriber first ({}); name the subscriber with "
                  "--subscriber URL (or 'subscribers:' in the file) so colshift checks it, and "
                  "add --prepare-subscribers to let colshift add it there; or, when the "
                  "subscribers are ready and not reachable from here, --subscribers-ready",
                  join(sql, "; ")));
}

}  // namespace colshift::plan
