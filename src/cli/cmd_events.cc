// colshift events: the outbox as JSON lines, for scripts and log shippers.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/common.h"
#include "events/outbox.h"
#include "state/state.h"
#include "util/interrupt.h"

namespace colshift::cli {

CommandRun setup_events(CLI::App& sub, const GlobalOptions& g) {
  struct Opts {
    bool follow = false;
    std::string since;
    std::string migration;
    int limit = 0;
  };
  auto o = std::make_shared<Opts>();
  sub.add_flag("-f,--follow", o->follow,
               "keep printing new events as they commit (LISTEN, no polling) until Ctrl-C");
  sub.add_option("--since", o->since,
                 "start after this event id, or at this time ('2026-12-01 16:00Z'); default: the "
                 "first event, or with --follow only new ones");
  sub.add_option("--migration", o->migration, "only the events of this migration (its name)");
  sub.add_option("-n,--limit", o->limit, "print at most this many events, then stop (0 = all)")
      ->capture_default_str();
  sub.footer(
      "Each line is one event: {\"id\", \"at\", \"migration_id\", \"migration\", \"kind\", "
      "\"detail\"} (README \"Events\" lists the kinds and their detail).");
  return [o, &g]() -> int {
    check_at_least("--limit", o->limit, 0, " (0 = all)");
    auto conn = connect_db(g);
    state::StateStore store(*conn, g.schema);
    if (!store.initialized()) {
      if (!o->follow) return 0;  // nothing recorded yet
      throw Error(ErrorKind::kUsage, "colshift is not initialised in this database", {},
                  "'colshift init' creates its schema; then --follow has events to wait for");
    }
    interrupt::CancelOnInterrupt cancel(*conn);
    if (o->follow) conn->exec(fmt::format("LISTEN {}", events::kChannel));
    long long cursor = 0;
    if (!o->since.empty())
      cursor = events::cursor_before(*conn, g.schema, o->since);
    else if (o->follow)
      cursor = events::last_id(*conn, g.schema);
    int printed = 0;
    while (!interrupt::requested()) {
      auto batch = events::read_after(*conn, g.schema, cursor, 500, o->migration);
      for (const auto& e : batch) {
        std::cout << events::to_json(e).dump() << "\n";
        cursor = e.id;
        if (o->limit > 0 && ++printed >= o->limit) return 0;
      }
      std::cout.flush();
      if (batch.size() == 500) continue;
      if (!o->follow) return 0;
      conn->wait_notifications(std::chrono::milliseconds(500));
    }
    return 0;
  };
}

}  // namespace colshift::cli
