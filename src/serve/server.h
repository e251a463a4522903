// colshift serve: the status page over HTTP (cpp-httplib), on loopback by
// default.
//   GET  /             the page (plain HTML; a small script makes it live)
//   GET  /status.json  the snapshot (serve/snapshot.h to_json)
//   GET  /events       Server-Sent Events: "status" events whose data is
//                      {"html": <live part>, "status": <snapshot JSON>}, sent
//                      when the state changes (the server reads it every
//                      --interval and on every outbox notification)
//   POST /control/pause|resume|abort   only with allow_control
// With a token every request must carry it (?token=... or "Authorization:
// Bearer ..."); binding anything but loopback requires one.
//
// Threads: one poller owns its database session and publishes the rendered
// snapshot under a mutex (Shared in server.cc); HTTP handlers only read it,
// except control requests, which open a session of their own.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "dialect/connection.h"

namespace colshift::serve {

struct ServeOptions {
  std::string schema = "colshift";
  std::string host = "127.0.0.1";
  int port = 8077;  // 0: any free port
  std::string token;
  bool allow_control = false;
  std::chrono::milliseconds interval{500};
  // Called once listening, with the page's URL (token included).
  std::function<void(const std::string&)> on_listening;
  std::function<void(const std::string&)> log;
};

bool is_loopback(const std::string& host);

// Serves until a stop is asked for (Ctrl-C, or *stop becoming true). Throws
// Error(kUsage) for a non-loopback host without a token, Error(kConflict)
// when the address cannot be bound.
void serve(const std::function<std::unique_ptr<Connection>()>& connect, const ServeOptions& options,
           const std::atomic<bool>* stop = nullptr);

}  // namespace colshift::serve
