// The rule catalogue and the context each rule family's check runs in.
//
// A rule is a row of data (RuleInfo: id, default severity, the danger, why,
// the safe recipe, examples, and the equivalent rules of other linters) plus
// code in its family's check function, which looks at one statement at a
// time and calls RuleContext::report. Families live one per file
// (rules_*.cc); rule_families() lists them. docs/lint/RULE-ID.md and
// `colshift lint --explain` are rendered from RuleInfo (explain.cc).
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "lint/facts.h"
#include "lint/file_state.h"
#include "lint/source.h"
#include "lint/types.h"

namespace colshift::lint {

struct RuleInfo {
  const char* id;
  Severity severity;
  const char* summary;  // the danger in one sentence
  const char* why;      // what PostgreSQL does, and what it costs on a live table
  const char* recipe;   // the safe way; names the colshift operation where one exists
  const char* bad;      // SQL that triggers the rule
  const char* good;     // the safe recipe as SQL, which does not
  const char* covers;   // the same check in other linters ("squawk: ...; eugene: E2")
};

class RuleContext {
 public:
  RuleContext(const SourceText& src, const std::vector<Statement>& statements, int index,
              const StatementFacts& facts, const FileState& state, const FactsOptions& options,
              bool executes, std::set<std::string>& memo, std::vector<Finding>& out)
      : src_(src),
        statements_(statements),
        index_(index),
        facts_(facts),
        state_(state),
        options_(options),
        executes_(executes),
        memo_(memo),
        out_(out) {}

  const Statement& st() const { return statements_[static_cast<size_t>(index_)]; }
  const std::vector<Statement>& statements() const { return statements_; }
  int index() const { return index_; }
  const StatementFacts& facts() const { return facts_; }
  const FileState& state() const { return state_; }
  int pg_version() const { return options_.pg_version; }
  const FactsOptions& options() const { return options_; }
  // False for SQL inside a function body: it runs when the function is called.
  bool executes() const { return executes_; }
  // True when `table` is a live table (not created earlier in this file).
  bool live(const std::string& table) const { return !state_.created_here(table); }
  // The file position of a parse-tree "location" (-1: the statement start).
  Position at(int location) const;

  // True the first time it is called with `key` in this file (for rules
  // that report once per transaction or per file).
  bool once(const std::string& key) { return memo_.insert(key).second; }

  // Adds a finding of `rule` (REQUIRES: a known id). `recipe` defaults to
  // the rule's; `location` is a parse-tree location within the statement.
  void report(const char* rule, std::string message, int location = -1, std::string recipe = {});

 private:
  const SourceText& src_;
  const std::vector<Statement>& statements_;
  int index_;
  const StatementFacts& facts_;
  const FileState& state_;
  const FactsOptions& options_;
  bool executes_;
  std::set<std::string>& memo_;
  std::vector<Finding>& out_;
};

struct RuleFamily {
  const char* name;
  std::vector<RuleInfo> rules;
  void (*check)(RuleContext& ctx);
};

const std::vector<const RuleFamily*>& rule_families();
// Every rule, in catalogue order.
const std::vector<const RuleInfo*>& all_rules();
const RuleInfo* find_rule(std::string_view id);

// The families (defined in rules_*.cc).
const RuleFamily& column_rules();
const RuleFamily& table_rules();
const RuleFamily& index_rules();
const RuleFamily& constraint_rules();
const RuleFamily& transaction_rules();
const RuleFamily& data_rules();
const RuleFamily& type_rules();
const RuleFamily& naming_rules();
const RuleFamily& version_rules();
const RuleFamily& meta_rules();

// Rules that look at the whole file once it has been read (an unfinished
// transaction); called after the last statement.
void check_end_of_file(const SourceText& src, const std::vector<Statement>& statements,
                       const FileState& state, std::vector<Finding>& out);

}  // namespace colshift::lint
