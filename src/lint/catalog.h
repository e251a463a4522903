// Reading the Catalog (file_state.h) from a live server for --db.
#pragma once

#include "dialect/connection.h"
#include "lint/file_state.h"

namespace colshift::lint {

// Server version, TimeZone, every user table's columns (type, NOT NULL),
// partitioned tables and index key columns. Read-only; throws DbError.
Catalog load_catalog(Connection& conn);

}  // namespace colshift::lint
