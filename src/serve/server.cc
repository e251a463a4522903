#include "serve/server.h"

#include <fmt/format.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "http/http.h"
#include "serve/page.h"
#include "serve/snapshot.h"
#include "state/control_request.h"
#include "util/error.h"
#include "util/interrupt.h"
#include "util/libcrypto.h"

namespace colshift::serve {
namespace {

// What the poller publishes; guarded by mu.
struct Shared {
  std::mutex mu;
  std::condition_variable changed;
  long long version = 0;
  std::string page;      // the whole document
  std::string json;      // /status.json
  std::string sse_data;  // {"html", "status"} on one line
  bool stopping = false;
};

bool token_ok(const http::Request& req, const std::string& token) {
  if (token.empty()) return true;
  std::string given = req.param("token");
  if (given.empty()) {
    auto auth = req.header("Authorization");
    if (auth.rfind("Bearer ", 0) == 0) given = auth.substr(7);
  }
  return given.size() == token.size() &&
         libcrypto().CRYPTO_memcmp(given.data(), token.data(), token.size()) == 0;
}

void poll_state(const std::function<std::unique_ptr<Connection>()>& connect, const ServeOptions& o,
                const PageOptions& page, Shared& shared, const std::function<bool()>& should_stop) {
  RateTracker tracker;
  std::unique_ptr<Connection> conn;
  std::string last_state;
  auto last_push = std::chrono::steady_clock::now();
  while (!should_stop()) {
    try {
      if (!conn || !conn->alive()) {
        conn = connect();
        conn->exec("LISTEN colshift");
      }
      auto snap = read_snapshot(*conn, o.schema, &tracker);
      auto j = to_json(snap);
      auto state = j;
      state.erase("generated_at");
      const std::string state_text = state.dump();
      auto now = std::chrono::steady_clock::now();
      if (state_text != last_state || now - last_push > std::chrono::seconds(5)) {
        nlohmann::json sse = {{"html", render_live(snap, page)}, {"status", j}};
        std::lock_guard<std::mutex> g(shared.mu);
        shared.page = render_page(snap, page);
        shared.json = j.dump(2);
        shared.sse_data = sse.dump();
        ++shared.version;
        shared.changed.notify_all();
        last_state = state_text;
        last_push = now;
      }
      conn->wait_notifications(o.interval);
    } catch (const std::exception& e) {
      if (o.log)
        o.log(fmt::format("status page: reading the state failed ({}); retrying", e.what()));
      conn.reset();
      for (int i = 0; i < 10 && !should_stop(); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
}

}  // namespace

bool is_loopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

void serve(const std::function<std::unique_ptr<Connection>()>& connect, const ServeOptions& o,
           const std::atomic<bool>* stop) {
  if (!is_loopback(o.host) && o.token.empty()) {
    throw Error(ErrorKind::kUsage, fmt::format("--host {} is not loopback: give --token", o.host),
                {},
                "anyone who can reach the address could read the page; with --token every "
                "request must carry ?token=... or 'Authorization: Bearer ...'");
  }
  PageOptions page;
  page.allow_control = o.allow_control;
  if (!o.token.empty()) page.query = "?token=" + o.token;  // a token is URL-safe text we check

  auto shared = std::make_shared<Shared>();
  auto should_stop = [&] { return interrupt::requested() || (stop && stop->load()); };
  {
    // The first snapshot before listening: the page is never empty.
    auto conn = connect();
    auto snap = read_snapshot(*conn, o.schema, nullptr);
    shared->page = render_page(snap, page);
    shared->json = to_json(snap).dump(2);
  }

  auto server = http::make_server(32);
  http::Server& svr = *server;
  svr.set_pre_routing([&](const http::Request& req, http::Response& res) {
    if (token_ok(req, o.token)) return false;
    res.set_status(401);
    res.set_content("a token is required: ?token=... or 'Authorization: Bearer ...'\n",
                    "text/plain");
    return true;
  });
  svr.get("/", [shared](const http::Request&, http::Response& res) {
    std::lock_guard<std::mutex> g(shared->mu);
    res.set_header("Cache-Control", "no-store");
    res.set_content(shared->page, "text/html; charset=utf-8");
  });
  svr.get("/status.json", [shared](const http::Request&, http::Response& res) {
    std::lock_guard<std::mutex> g(shared->mu);
    res.set_header("Cache-Control", "no-store");
    res.set_content(shared->json, "application/json");
  });
  svr.get("/events", [shared](const http::Request&, http::Response& res) {
    res.set_header("Cache-Control", "no-store");
    auto seen = std::make_shared<long long>(0);
    res.set_chunked_content(
        "text/event-stream", [shared, seen](const http::Response::Write& write) {
          std::string msg;
          {
            std::unique_lock<std::mutex> lk(shared->mu);
            shared->changed.wait_for(lk, std::chrono::seconds(15), [&] {
              return shared->stopping || (shared->version > *seen && !shared->sse_data.empty());
            });
            if (shared->stopping) return false;
            if (shared->version > *seen && !shared->sse_data.empty()) {
              msg = fmt::format("event: status\nid: {}\ndata: {}\n\n", shared->version,
                                shared->sse_data);
              *seen = shared->version;
            } else {
              msg = ": keep-alive\n\n";
            }
          }
          return write(msg);
        });
  });
  svr.post(R"(/control/(pause|resume|abort))", [&](const http::Request& req, http::Response& res) {
    if (!o.allow_control) {
      res.set_status(403);
      res.set_content("read-only: start colshift serve with --allow-control\n", "text/plain");
      return;
    }
    // A form posted from another site must not pause a migration.
    auto origin = req.header("Origin");
    if (!origin.empty() && origin != "null" &&
        origin.substr(origin.find("://") + 3) != req.header("Host")) {
      res.set_status(403);
      res.set_content("cross-origin control request refused\n", "text/plain");
      return;
    }
    const std::string action = req.match(1);
    try {
      auto conn = connect();
      state::StateStore store(*conn, o.schema);
      state::request_control(store, action);
      if (o.log) o.log(fmt::format("status page: {} requested", action));
      res.set_redirect("/" + page.query, 303);
    } catch (const Error& e) {
      res.set_status(409);
      res.set_content(e.render() + "\n", "text/plain");
    }
  });

  int port = o.port;
  if (port == 0) {
    port = svr.bind_to_any_port(o.host);
    if (port < 0) port = 0;
  } else if (!svr.bind_to_port(o.host, port)) {
    port = 0;
  }
  if (port <= 0) {
    throw Error(ErrorKind::kConflict, fmt::format("cannot listen on {}:{}", o.host, o.port), {},
                "another process may use the port; --port 0 picks a free one");
  }
  std::thread poller(poll_state, connect, std::cref(o), std::cref(page), std::ref(*shared),
                     should_stop);
  std::thread watcher([&] {
    while (!should_stop()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    {
      std::lock_guard<std::mutex> g(shared->mu);
      shared->stopping = true;
      shared->changed.notify_all();
    }
    svr.stop();
  });
  const std::string host = o.host.find(':') != std::string::npos ? "[" + o.host + "]" : o.host;
  if (o.on_listening) o.on_listening(fmt::format("http://{}:{}/{}", host, port, page.query));
  svr.listen_after_bind();
  poller.join();
  watcher.join();
}

}  // namespace colshift::serve
