#include "dialect/table_shape.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

namespace colshift {

nlohmann::json shape_to_json(const TableShape& t) {
  nlohmann::json cols = nlohmann::json::array();
  for (const auto& c : t.columns) {
    cols.push_back({{"name", c.name},
                    {"type", c.type},
                    {"not_null", c.not_null},
                    {"default", c.default_expr},
                    {"generated", c.generated},
                    {"comment", c.comment}});
  }
  nlohmann::json idx = nlohmann::json::array();
  for (const auto& i : t.indexes)
    idx.push_back({{"name", i.name}, {"definition", i.definition}, {"valid", i.valid}});
  nlohmann::json cons = nlohmann::json::array();
  for (const auto& c : t.constraints) {
    cons.push_back({{"name", c.name},
                    {"kind", c.kind},
                    {"definition", c.definition},
                    {"validated", c.validated}});
  }
  nlohmann::json trg = nlohmann::json::array();
  for (const auto& g : t.triggers)
    trg.push_back({{"name", g.name}, {"definition", g.definition}, {"enabled", g.enabled}});
  nlohmann::json refs = nlohmann::json::array();
  for (const auto& r : t.referenced_by) {
    refs.push_back(
        {{"table", r.table}, {"constraint", r.constraint}, {"definition", r.definition}});
  }
  return {{"name", t.name}, {"kind", t.kind},      {"comment", t.comment}, {"columns", cols},
          {"indexes", idx}, {"constraints", cons}, {"triggers", trg},      {"referenced_by", refs}};
}

TableShape shape_from_json(const nlohmann::json& j) {
  TableShape t;
  t.name = j.value("name", "");
  t.kind = j.value("kind", "table");
  t.comment = j.value("comment", "");
  for (const auto& c : j.value("columns", nlohmann::json::array())) {
    t.columns.push_back({c.value("name", ""), c.value("type", ""), c.value("not_null", false),
                         c.value("default", ""), c.value("generated", ""), c.value("comment", "")});
  }
  for (const auto& i : j.value("indexes", nlohmann::json::array()))
    t.indexes.push_back({i.value("name", ""), i.value("definition", ""), i.value("valid", true)});
  for (const auto& c : j.value("constraints", nlohmann::json::array())) {
    t.constraints.push_back({c.value("name", ""), c.value("kind", ""), c.value("definition", ""),
                             c.value("validated", true)});
  }
  for (const auto& g : j.value("triggers", nlohmann::json::array())) {
    t.triggers.push_back(
        {g.value("name", ""), g.value("definition", ""), g.value("enabled", true)});
  }
  for (const auto& r : j.value("referenced_by", nlohmann::json::array())) {
    t.referenced_by.push_back(
        {r.value("table", ""), r.value("constraint", ""), r.value("definition", "")});
  }
  return t;
}

nlohmann::json snapshot_to_json(const SchemaSnapshot& s) {
  nlohmann::json tables = nlohmann::json::array();
  for (const auto& t : s.tables) tables.push_back(shape_to_json(t));
  return {{"tables", tables}, {"absent", s.absent}};
}

SchemaSnapshot snapshot_from_json(const nlohmann::json& j) {
  SchemaSnapshot s;
  if (!j.is_object()) return s;
  s.recorded = true;
  for (const auto& t : j.value("tables", nlohmann::json::array()))
    s.tables.push_back(shape_from_json(t));
  for (const auto& a : j.value("absent", nlohmann::json::array()))
    if (a.is_string()) s.absent.push_back(a.get<std::string>());
  return s;
}

std::vector<ShapeLine> shape_lines(const TableShape& t) {
  std::vector<ShapeLine> out;
  if (!t.comment.empty()) out.push_back({"comment", "comment: " + t.comment});
  for (const auto& c : t.columns) {
    std::string line = "column " + c.name + " " + c.type;
    if (c.not_null) line += " NOT NULL";
    if (!c.default_expr.empty()) line += " DEFAULT " + c.default_expr;
    if (!c.generated.empty()) line += " GENERATED " + c.generated;
    if (!c.comment.empty()) line += " -- " + c.comment;
    out.push_back({"column " + c.name, line});
  }
  for (const auto& c : t.constraints) {
    out.push_back(
        {"constraint " + c.name, fmt::format("constraint {} ({}): {}{}", c.name, c.kind,
                                             c.definition, c.validated ? "" : " NOT VALID")});
  }
  for (const auto& i : t.indexes) {
    out.push_back({"index " + i.name, fmt::format("index {}: {}{}", i.name, i.definition,
                                                  i.valid ? "" : " (INVALID)")});
  }
  for (const auto& g : t.triggers) {
    out.push_back({"trigger " + g.name, fmt::format("trigger {}: {}{}", g.name, g.definition,
                                                    g.enabled ? "" : " (disabled)")});
  }
  for (const auto& r : t.referenced_by) {
    out.push_back({"referenced by " + r.table + " " + r.constraint,
                   fmt::format("referenced by {} ({}): {}", r.table, r.constraint, r.definition)});
  }
  return out;
}

std::vector<std::string> shape_diff(const TableShape* before, const TableShape* after) {
  std::vector<ShapeLine> a = before ? shape_lines(*before) : std::vector<ShapeLine>{};
  std::vector<ShapeLine> b = after ? shape_lines(*after) : std::vector<ShapeLine>{};
  std::vector<std::string> out;
  if (!before && after) out.push_back("+ table " + after->name + " (created)");
  if (before && !after) out.push_back("- table " + before->name + " (dropped)");
  std::map<std::string, const ShapeLine*> in_b;
  for (const auto& l : b) in_b[l.key] = &l;
  std::map<std::string, const ShapeLine*> in_a;
  for (const auto& l : a) in_a[l.key] = &l;
  // Lines of `before` in their order (removed or changed), then lines only
  // `after` has, in theirs: a column added last reads last.
  for (const auto& l : a) {
    auto it = in_b.find(l.key);
    if (it == in_b.end()) {
      out.push_back("- " + l.text);
    } else if (it->second->text != l.text) {
      out.push_back("- " + l.text);
      out.push_back("+ " + it->second->text);
    }
  }
  for (const auto& l : b)
    if (!in_a.count(l.key)) out.push_back("+ " + l.text);
  return out;
}

const TableShape* find_table(const SchemaSnapshot& s, const std::string& name) {
  auto it = std::find_if(s.tables.begin(), s.tables.end(),
                         [&](const TableShape& t) { return t.name == name; });
  return it == s.tables.end() ? nullptr : &*it;
}

}  // namespace colshift
