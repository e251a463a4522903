#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <regex>

#include "cli/common.h"
#include "migration/migration.h"
#include "util/error.h"

namespace colshift::cli {

CommandRun setup_new(CLI::App& sub, const GlobalOptions& g) {
  struct Opts {
    std::string name;
    std::string dir = "migrations";
  };
  auto o = std::make_shared<Opts>();
  sub.add_option("NAME", o->name, "migration name, e.g. users_email_domain")->required();
  sub.add_option("--dir", o->dir, "directory for the file")->capture_default_str();
  return [o, &g]() -> int {
    namespace fs = std::filesystem;
    static const std::regex ok(R"(^[A-Za-z0-9_\-]+$)");
    if (!std::regex_match(o->name, ok)) {
      throw Error(ErrorKind::kUsage, fmt::format("'{}' is not a usable migration name", o->name),
                  {}, "use letters, digits, '_' and '-'");
    }
    fs::create_directories(o->dir);
    int next = 1;
    for (const auto& f : migration::list_migration_files(o->dir)) {
      auto stem = fs::path(f).filename().string();
      try {
        next = std::max(next, std::stoi(stem.substr(0, stem.find('_'))) + 1);
      } catch (...) {
      }
    }
    fs::path path = fs::path(o->dir) / fmt::format("{:04d}_{}.yaml", next, o->name);
    if (fs::exists(path)) throw Error(ErrorKind::kUsage, "file exists already", path.string());
    std::ofstream(path) << fmt::format(
        R"(# {name}: see 'colshift plan {path}' for its steps, locks and rollback.
purpose: >-
  TODO say why this change exists; it goes into the history and the docs.
operations:
  - add_column:
      table: my_table
      column:
        name: my_column
        type: text
        nullable: false
      up: "'value for existing rows'"   # SQL over the row's columns
  # - create_index:
  #     name: my_table_my_column_idx
  #     table: my_table
  #     columns: [my_column]
  # - raw_sql:
  #     up: "COMMENT ON TABLE my_table IS 'x'"
  #     down: "COMMENT ON TABLE my_table IS NULL"
  #     allow_hazards: []   # hazards start may run here, e.g. [rewrites_table]; see 'colshift plan'
)",
        fmt::arg("name", o->name), fmt::arg("path", path.string()));
    if (g.json) {
      print_json({{"file", path.string()}});
    } else {
      std::cout << path.string() << "\n";
    }
    return 0;
  };
}

}  // namespace colshift::cli
