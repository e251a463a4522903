#include "lint/rules.h"

#include <map>

namespace colshift::lint {

Position RuleContext::at(int location) const {
  if (location < 0) return st().start;
  return src_.position(st().tree_base + static_cast<size_t>(location));
}

void RuleContext::report(const char* rule, std::string message, int location, std::string recipe) {
  const RuleInfo* info = find_rule(rule);
  Finding f;
  f.rule = rule;
  f.severity = info ? info->severity : Severity::kWarning;
  f.message = std::move(message);
  f.recipe = recipe.empty() && info ? info->recipe : std::move(recipe);
  f.statement = index_;
  f.at = at(location);
  if (f.at.offset < st().offset || f.at.offset > st().offset + st().length) f.at = st().start;
  out_.push_back(std::move(f));
}

const std::vector<const RuleFamily*>& rule_families() {
  static const std::vector<const RuleFamily*> families = {
      &meta_rules(),        &column_rules(), &table_rules(), &index_rules(),  &constraint_rules(),
      &transaction_rules(), &data_rules(),   &type_rules(),  &naming_rules(), &version_rules()};
  return families;
}

const std::vector<const RuleInfo*>& all_rules() {
  static const std::vector<const RuleInfo*> rules = [] {
    std::vector<const RuleInfo*> v;
    for (const auto* fam : rule_families()) {
      for (const auto& r : fam->rules) v.push_back(&r);
    }
    return v;
  }();
  return rules;
}

const RuleInfo* find_rule(std::string_view id) {
  static const std::map<std::string, const RuleInfo*, std::less<>> by_id = [] {
    std::map<std::string, const RuleInfo*, std::less<>> m;
    for (const auto* r : all_rules()) m.emplace(r->id, r);
    return m;
  }();
  auto it = by_id.find(id);
  return it == by_id.end() ? nullptr : it->second;
}

}  // namespace colshift::lint
