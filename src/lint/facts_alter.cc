// ALTER TABLE subcommands: lock level, rewrite and scan per subtype.
#include <fmt/format.h>

#include <map>

#include "lint/facts.h"
#include "lint/type_change.h"

namespace colshift::lint {

using ast::json;
using L = LockMode;

std::string add_column_rewrite_reason(const json& cd, int pg_version,
                                      const ast::UserFunctions* functions) {
  ast::TypeInfo type = ast::type_info(ast::obj(cd, "typeName"));
  if (type.name == "serial" || type.name == "bigserial" || type.name == "smallserial") {
    return fmt::format("{} fills every existing row from a sequence", type.name);
  }
  if (ast::find(cd, "identity") && !ast::str(cd, "identity").empty()) {
    return "an identity column fills every existing row";
  }
  for (const auto& c : ast::arr(cd, "constraints")) {
    const json& con = ast::obj(c, "Constraint");
    std::string t = ast::str(con, "contype");
    if (t == "CONSTR_IDENTITY") return "an identity column fills every existing row";
    if (t == "CONSTR_GENERATED") return "a stored generated column is computed for every row";
    if (t != "CONSTR_DEFAULT") continue;
    const json& expr = ast::obj(con, "raw_expr");
    if (pg_version < 110000) return "before PostgreSQL 11 any DEFAULT is written into every row";
    if (ast::volatility(expr, functions) == ast::Volatility::kVolatile) {
      return fmt::format("the volatile default {}() is evaluated for every row",
                         ast::first_function(expr, ast::Volatility::kVolatile, functions));
    }
  }
  return {};
}

namespace {

bool has_not_null_without_default(const json& cd) {
  bool not_null = false, has_default = false;
  for (const auto& c : ast::arr(cd, "constraints")) {
    std::string t = ast::str(ast::obj(c, "Constraint"), "contype");
    not_null = not_null || t == "CONSTR_NOTNULL" || t == "CONSTR_PRIMARY";
    has_default =
        has_default || t == "CONSTR_DEFAULT" || t == "CONSTR_IDENTITY" || t == "CONSTR_GENERATED";
  }
  return not_null && !has_default;
}

CommandFacts add_constraint_facts(const json& con, const std::string& table,
                                  const FileState& state) {
  std::string t = ast::str(con, "contype");
  bool not_valid = ast::flag(con, "skip_validation");
  CommandFacts f;
  if (t == "CONSTR_FOREIGN") {
    f.lock = L::kShareRowExclusive;
    f.scan = !not_valid;
    f.note = not_valid ? "NOT VALID: existing rows are not checked" : "checks every existing row";
  } else if (t == "CONSTR_CHECK") {
    f.scan = !not_valid;
    f.note = not_valid ? "NOT VALID: existing rows are not checked" : "checks every existing row";
  } else if (t == "CONSTR_PRIMARY" || t == "CONSTR_UNIQUE" || t == "CONSTR_EXCLUSION") {
    if (ast::str(con, "indexname").empty()) {
      f.scan = true;
      f.note = "builds the index while holding the lock";
    } else if (t == "CONSTR_PRIMARY") {
      for (const auto& k : ast::strings(ast::arr(con, "keys"))) {
        f.scan = f.scan || !state.not_null_proven(table, k);
      }
      f.note = f.scan ? "USING INDEX, but the key columns must be proven NOT NULL by a scan"
                      : "USING INDEX: catalog-only";
    } else {
      f.note = "USING INDEX: catalog-only";
    }
  }
  return f;
}

}  // namespace

CommandFacts alter_command_facts(const json& cmd, const std::string& table, const FileState& state,
                                 const FactsOptions& options) {
  static const std::map<std::string, L> kWeaker = {
      {"AT_SetStatistics", L::kShareUpdateExclusive},
      {"AT_SetOptions", L::kShareUpdateExclusive},
      {"AT_ResetOptions", L::kShareUpdateExclusive},
      {"AT_ClusterOn", L::kShareUpdateExclusive},
      {"AT_DropCluster", L::kShareUpdateExclusive},
      {"AT_SetRelOptions", L::kShareUpdateExclusive},
      {"AT_ResetRelOptions", L::kShareUpdateExclusive},
      {"AT_ValidateConstraint", L::kShareUpdateExclusive},
      {"AT_EnableTrig", L::kShareRowExclusive},
      {"AT_DisableTrig", L::kShareRowExclusive},
      {"AT_EnableTrigAll", L::kShareRowExclusive},
      {"AT_DisableTrigAll", L::kShareRowExclusive},
      {"AT_EnableTrigUser", L::kShareRowExclusive},
      {"AT_DisableTrigUser", L::kShareRowExclusive},
      {"AT_EnableAlwaysTrig", L::kShareRowExclusive},
      {"AT_EnableReplicaTrig", L::kShareRowExclusive},
  };
  std::string sub = ast::str(cmd, "subtype");
  const json& def = ast::obj(cmd, "def");
  CommandFacts f;
  if (auto it = kWeaker.find(sub); it != kWeaker.end()) f.lock = it->second;
  if (sub == "AT_AddColumn") {
    const json& cd = ast::obj(def, "ColumnDef");
    f.note = add_column_rewrite_reason(cd, options.pg_version, &state.functions());
    f.rewrite = !f.note.empty();
    f.index_rebuild = f.rewrite;
    if (!f.rewrite && has_not_null_without_default(cd)) {
      f.scan = true;
      f.note = "NOT NULL without a default: fails unless the table is empty";
    }
  } else if (sub == "AT_SetNotNull") {
    bool proven =
        options.pg_version >= 120000 && state.not_null_proven(table, ast::str(cmd, "name"));
    f.scan = !proven;
    f.note = proven ? "proven by a validated CHECK (col IS NOT NULL): no scan"
                    : "checks every row while holding the lock";
  } else if (sub == "AT_AlterColumnType") {
    const json& cd = ast::obj(def, "ColumnDef");
    auto to = ast::type_info(ast::obj(cd, "typeName"));
    auto from = state.column(table, ast::str(cmd, "name"));
    auto verdict = classify_type_change(
        from ? std::optional(from->type) : std::nullopt, to, options.pg_version,
        state.timezone().empty() ? options.timezone : state.timezone());
    f.rewrite = verdict.change != TypeChange::kNoRewrite || ast::find(cd, "raw_default");
    f.index_rebuild = f.rewrite;
    f.note = verdict.reason;
  } else if (sub == "AT_AddConstraint") {
    f = add_constraint_facts(ast::obj(def, "Constraint"), table, state);
  } else if (sub == "AT_ValidateConstraint") {
    f.scan = true;
    f.note = "checks every row without blocking reads or writes";
  } else if (sub == "AT_SetLogged" || sub == "AT_SetUnLogged" || sub == "AT_SetAccessMethod" ||
             sub == "AT_SetTableSpace" || sub == "AT_SetExpression") {
    f.rewrite = true;
    f.note = "copies the whole table into new files while holding the lock";
  } else if (sub == "AT_AttachPartition") {
    f.lock = options.pg_version >= 120000 ? L::kShareUpdateExclusive : L::kAccessExclusive;
    f.note = "the partition itself is locked ACCESS EXCLUSIVE and scanned";
  } else if (sub == "AT_DetachPartition" || sub == "AT_DetachPartitionFinalize") {
    bool concurrent = ast::flag(ast::obj(def, "PartitionCmd"), "concurrent") ||
                      sub == "AT_DetachPartitionFinalize";
    f.lock = concurrent ? L::kShareUpdateExclusive : L::kAccessExclusive;
  }
  return f;
}

}  // namespace colshift::lint
