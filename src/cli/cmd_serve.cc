// colshift serve: the live status page (serve/server.h).
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/common.h"
#include "serve/server.h"
#include "util/interrupt.h"

namespace colshift::cli {

CommandRun setup_serve(CLI::App& sub, const GlobalOptions& g) {
  struct Opts {
    std::string host = "127.0.0.1";
    int port = 8077;
    std::string token;
    bool allow_control = false;
    std::string interval = "500ms";
  };
  auto o = std::make_shared<Opts>();
  sub.add_option("--host", o->host, "address to listen on; anything but loopback needs --token")
      ->capture_default_str();
  sub.add_option("--port", o->port, "TCP port (0 = any free one; the URL is printed)")
      ->capture_default_str();
  sub.add_option("--token", o->token,
                 "require this token on every request (?token=... or 'Authorization: Bearer')");
  sub.add_flag("--allow-control", o->allow_control,
               "show pause, resume and abort buttons (default: read-only)");
  sub.add_option("--interval", o->interval, "how often the state is read, more than 0")
      ->capture_default_str();
  sub.footer(
      "GET / is the page (plain HTML, live through Server-Sent Events when JavaScript runs), "
      "GET /status.json the same as JSON, GET /events the event stream.");
  return [o, &g]() -> int {
    check_at_least("--port", o->port, 0, " (0 = any free one)");
    serve::ServeOptions s;
    s.schema = g.schema;
    s.host = o->host;
    s.port = o->port;
    s.token = o->token;
    s.allow_control = o->allow_control;
    s.interval = parse_positive_duration(o->interval, "--interval", "the page needs some pace");
    s.log = [](const std::string& line) { std::cerr << line << "\n"; };
    s.on_listening = [&g](const std::string& url) {
      if (g.json)
        std::cout << nlohmann::json({{"url", url}}).dump() << std::endl;
      else
        std::cout << "status page: " << url << std::endl;
    };
    serve::serve(connection_factory(g), s);
    return interrupt::requested() ? static_cast<int>(kExitInterrupted) : 0;
  };
}

}  // namespace colshift::cli
