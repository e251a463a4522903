#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/common.h"
#include "dialect/dialect.h"
#include "util/text.h"

namespace colshift::cli {

CommandRun setup_watch(CLI::App& sub, const GlobalOptions& g) {
  struct Opts {
    std::string duration;
    bool no_default_guards = false;
    ChangeOptions change;
  };
  auto o = std::make_shared<Opts>();
  sub.add_option("--for", o->duration,
                 "stop watching after this long (default: until Ctrl-C, or until the migration "
                 "is completed or rolled back)");
  sub.add_flag("--no-default-guards", o->change.no_default_guards,
               "do not read the built-in warn guards, only the file's");
  add_lock_retries_option(sub, o->change);
  return [o, &g]() -> int {
    auto options = run_options(g, o->change);
    std::chrono::milliseconds d{0};
    if (!o->duration.empty())
      d = parse_positive_duration(o->duration, "--for", "leave --for out to watch until Ctrl-C");
    auto hooks = make_hooks(g);
    run::Runner runner(postgres_dialect(), connection_factory(g), options, hooks);
    auto active = runner.state().initialized() ? runner.state().active() : std::nullopt;
    auto w = runner.watch(d);
    std::string name = active ? active->name : "";
    if (g.json) {
      print_json({{"migration", name},
                  {"tripped", w.tripped},
                  {"decisions", w.decisions},
                  {"rolled_back", w.rolled_back},
                  {"reason", w.reason}});
    } else if (w.rolled_back) {
      std::cout << fmt::format("{} was rolled back: {}.\n", name, w.reason);
    } else {
      std::cout << fmt::format("{}: {} guard decision{}{}.\n", name, w.decisions,
                               w.decisions == 1 ? "" : "s",
                               w.tripped.empty() ? "" : "; tripped now: " + join(w.tripped, ", "));
    }
    return w.rolled_back ? 1 : 0;
  };
}

}  // namespace colshift::cli
