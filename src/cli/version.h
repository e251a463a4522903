// What `colshift --version` prints.
#pragma once

#include <string>

namespace colshift::cli {

// Three lines (no final newline; CLI11 adds it):
//   colshift 0.1.0
//   commit 7006454f7a27... (or "commit unknown" outside git)
//   PostgreSQL parser 15.1 (libpg_query, PG_VERSION_NUM 150001)
// The parser line comes from libpg_query's pg_query.h, the parser lint and
// raw_sql planning use; lint's default target version (--pg-version) is separate.
std::string version_text();

}  // namespace colshift::cli
