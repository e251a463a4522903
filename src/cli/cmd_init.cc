#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/common.h"
#include "state/state.h"

namespace colshift::cli {

CommandRun setup_init(CLI::App& /*sub*/, const GlobalOptions& g) {
  return [&g]() -> int {
    auto conn = connect_db(g);
    state::StateStore store(*conn, g.schema);
    bool existed = store.initialized();
    store.init();
    if (g.json) {
      print_json({{"schema", g.schema}, {"created", !existed}});
    } else {
      std::cout << fmt::format("colshift schema \"{}\" {} in {}\n", g.schema,
                               existed ? "is already in place" : "created", conn->describe());
    }
    return 0;
  };
}

}  // namespace colshift::cli
