// ALTER COLUMN ... TYPE, classified the way PostgreSQL decides it
// (ATColumnChangeRequiresRewrite and the binary-coercible casts).
#pragma once

#include <optional>
#include <string>

#include "lint/ast.h"

namespace colshift::lint {

enum class TypeChange {
  kUnknown,            // the current type is not known (not in this file, no --db)
  kNoRewrite,          // binary coercible: catalog-only, indexes kept
  kTimezoneDependent,  // timestamp -> timestamptz: no rewrite only when TimeZone is UTC (PG 12+)
  kRewrite,            // the table and its indexes are rewritten
};

struct TypeChangeVerdict {
  TypeChange change = TypeChange::kUnknown;
  std::string reason;  // "varchar(20) -> text is binary coercible", ...
};

// `timezone` is the server's TimeZone when known ("" otherwise).
TypeChangeVerdict classify_type_change(const std::optional<ast::TypeInfo>& from,
                                       const ast::TypeInfo& to, int pg_version,
                                       const std::string& timezone);

// Canonical spelling of a type name: "integer" -> "int4", "character varying" -> "varchar".
std::string canonical_type(const std::string& name);

}  // namespace colshift::lint
