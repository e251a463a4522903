#include "cli/version.h"

#include <fmt/format.h>
#include <pg_query.h>

#include "util/build_info.h"

namespace colshift::cli {

std::string version_text() {
  return fmt::format(
      "colshift {}\ncommit {}\nPostgreSQL parser {} (libpg_query, PG_VERSION_NUM {})",
      build_info::kVersion, build_info::kCommit, PG_VERSION, PG_VERSION_NUM);
}

}  // namespace colshift::cli
