// HTTP for colshift serve and the webhook deliverer. cpp-httplib does the work
// in a module of its own, colshift-http.so (src/http/module/), opened on first
// use: linked into colshift, cpp-httplib and what it brings (OpenSSL, zlib,
// brotli) would be loaded at every start, lint's included
// (util/shared_library.h). The module is looked for beside the running
// executable (the build tree) and in the directory it is installed to
// (<libdir>/colshift, relative to the executable's directory).
//
// The types below cross the module's boundary; both sides are built together
// from this header (kModuleVersion guards against a stale module).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace colshift::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct PostRequest {
  std::string origin;  // "http://host:port" or "https://host:port"
  std::string path;    // "/..." with the query, if any
  Headers headers;
  std::string body;
  std::string content_type;
  std::chrono::milliseconds timeout{10'000};  // connect, read and write, each
};

struct PostResult {
  bool answered = false;    // a response came back; else `error` says why not
  int status = 0;           // its HTTP status
  std::string retry_after;  // its Retry-After header, empty when absent
  std::string error;        // e.g. "cannot connect (Connection)"
};

// One POST. Throws Error(kChangeFailed) when the module cannot be loaded.
PostResult post(const PostRequest& request);

// A request as a handler sees it. Header names are case-insensitive.
class Request {
 public:
  virtual ~Request() = default;
  virtual std::string param(const std::string& name) const = 0;   // query or form; "" if absent
  virtual std::string header(const std::string& name) const = 0;  // "" if absent
  virtual std::string match(size_t i) const = 0;                  // group i of the route's pattern
};

class Response {
 public:
  // Called until it returns false (done, or the client is gone); it sends
  // with `write`, which returns false once the client is gone.
  using Write = std::function<bool(const std::string&)>;
  using Chunks = std::function<bool(const Write& write)>;

  virtual ~Response() = default;
  virtual void set_status(int status) = 0;
  virtual void set_header(const std::string& name, const std::string& value) = 0;
  virtual void set_content(const std::string& body, const std::string& content_type) = 0;
  virtual void set_redirect(const std::string& url, int status) = 0;
  virtual void set_chunked_content(const std::string& content_type, Chunks chunks) = 0;
};

using Handler = std::function<void(const Request&, Response&)>;
// Returns true when it answered the request itself (no route runs).
using PreRouting = std::function<bool(const Request&, Response&)>;

// An HTTP server answering on a thread pool. Set everything before
// listen_after_bind(); stop() may be called from another thread.
class Server {
 public:
  virtual ~Server() = default;
  virtual void set_pre_routing(PreRouting handler) = 0;
  // `pattern` is a regular expression over the path (groups: Request::match).
  virtual void get(const std::string& pattern, Handler handler) = 0;
  virtual void post(const std::string& pattern, Handler handler) = 0;
  virtual bool bind_to_port(const std::string& host, int port) = 0;
  virtual int bind_to_any_port(const std::string& host) = 0;  // the port, or < 0
  // Serves until stop(); false when it could not listen.
  virtual bool listen_after_bind() = 0;
  virtual void stop() = 0;
};

// A server with `threads` worker threads. Throws Error(kChangeFailed) when
// the module cannot be loaded.
std::unique_ptr<Server> make_server(int threads);

// What the module exports, as `colshift_http_module` (extern "C").
inline constexpr int kModuleVersion = 1;
struct Module {
  int version;
  PostResult (*post)(const PostRequest& request);
  Server* (*make_server)(int threads);
};
using ModuleEntry = const Module* (*)();
inline constexpr const char* kModuleEntry = "colshift_http_module";
inline constexpr const char* kModuleFile = "colshift-http.so";

}  // namespace colshift::http
