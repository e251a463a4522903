// colshift-http.so: http/http.h implemented with cpp-httplib. Built as a
// module of its own (CMakeLists.txt: colshift_http) that uses nothing of
// colshift_lib, only this header's inline types, so that cpp-httplib and
// OpenSSL are loaded only by the commands that speak HTTP.
#include <httplib.h>

#include "http/http.h"

namespace colshift::http {
namespace {

std::string describe(httplib::Error e) {
  switch (e) {
    case httplib::Error::Read:
      return "no answer within the timeout, or the connection closed";
    case httplib::Error::Connection:
      return "cannot connect";
    case httplib::Error::ConnectionTimeout:
      return "connecting timed out";
    case httplib::Error::Write:
      return "sending failed";
    default:
      return "request failed";
  }
}

PostResult post_with_httplib(const PostRequest& r) {
  httplib::Headers headers(r.headers.begin(), r.headers.end());
  httplib::Client client(r.origin);
  const auto s = static_cast<time_t>(r.timeout.count() / 1000);
  const auto us = static_cast<time_t>((r.timeout.count() % 1000) * 1000);
  client.set_connection_timeout(s, us);
  client.set_read_timeout(s, us);
  client.set_write_timeout(s, us);
  auto res = client.Post(r.path, headers, r.body, r.content_type);
  PostResult out;
  if (res) {
    out.answered = true;
    out.status = res->status;
    if (res->has_header("Retry-After")) out.retry_after = res->get_header_value("Retry-After");
  } else {
    out.error = describe(res.error()) + " (" + httplib::to_string(res.error()) + ")";
  }
  return out;
}

class RequestView : public Request {
 public:
  explicit RequestView(const httplib::Request& req) : req_(req) {}
  std::string param(const std::string& name) const override { return req_.get_param_value(name); }
  std::string header(const std::string& name) const override { return req_.get_header_value(name); }
  std::string match(size_t i) const override {
    return i < req_.matches.size() ? std::string(req_.matches[i]) : std::string();
  }

 private:
  const httplib::Request& req_;
};

class ResponseView : public Response {
 public:
  explicit ResponseView(httplib::Response& res) : res_(res) {}
  void set_status(int status) override { res_.status = status; }
  void set_header(const std::string& name, const std::string& value) override {
    res_.set_header(name, value);
  }
  void set_content(const std::string& body, const std::string& content_type) override {
    res_.set_content(body, content_type);
  }
  void set_redirect(const std::string& url, int status) override { res_.set_redirect(url, status); }
  void set_chunked_content(const std::string& content_type, Chunks chunks) override {
    res_.set_chunked_content_provider(
        content_type, [chunks = std::move(chunks)](size_t, httplib::DataSink& sink) {
          return chunks(
              [&sink](const std::string& data) { return sink.write(data.data(), data.size()); });
        });
  }

 private:
  httplib::Response& res_;
};

httplib::Server::Handler adapt(Handler handler) {
  return [handler = std::move(handler)](const httplib::Request& req, httplib::Response& res) {
    RequestView request(req);
    ResponseView response(res);
    handler(request, response);
  };
}

class HttplibServer : public Server {
 public:
  explicit HttplibServer(int threads) {
    svr_.new_task_queue = [threads] {
      return new httplib::ThreadPool(static_cast<size_t>(threads));
    };
  }
  void set_pre_routing(PreRouting handler) override {
    svr_.set_pre_routing_handler(
        [handler = std::move(handler)](const httplib::Request& req, httplib::Response& res) {
          RequestView request(req);
          ResponseView response(res);
          return handler(request, response) ? httplib::Server::HandlerResponse::Handled
                                            : httplib::Server::HandlerResponse::Unhandled;
        });
  }
  void get(const std::string& pattern, Handler handler) override {
    svr_.Get(pattern, adapt(std::move(handler)));
  }
  void post(const std::string& pattern, Handler handler) override {
    svr_.Post(pattern, adapt(std::move(handler)));
  }
  bool bind_to_port(const std::string& host, int port) override {
    return svr_.bind_to_port(host, port);
  }
  int bind_to_any_port(const std::string& host) override { return svr_.bind_to_any_port(host); }
  bool listen_after_bind() override { return svr_.listen_after_bind(); }
  void stop() override { svr_.stop(); }

 private:
  httplib::Server svr_;
};

Server* make_httplib_server(int threads) { return new HttplibServer(threads); }

const Module kModule = {kModuleVersion, &post_with_httplib, &make_httplib_server};

}  // namespace
}  // namespace colshift::http

extern "C" __attribute__((visibility("default"))) const colshift::http::Module*
colshift_http_module() {
  return &colshift::http::kModule;
}
