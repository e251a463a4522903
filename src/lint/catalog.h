// Reading the Catalog (file_state.h) from a live server for --db.
#pragma once

#include "dialect/connection.h"
#include "lint/file_state.h"

namespace colshift::lint {

// A type as format_type() prints it, read the way the linter names types:
// "character varying(20)" -> varchar {20}, "integer[]" -> int4 array.
ast::TypeInfo parse_format_type(const std::string& text);

// Server version, TimeZone, every user table's columns (type, NOT NULL),
// partitioned tables and index key columns. Read-only; throws DbError.
Catalog load_catalog(Connection& conn);

}  // namespace colshift::lint
