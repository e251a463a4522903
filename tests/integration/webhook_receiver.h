// A webhook receiver for the events tests: a cpp-httplib server on a free
// loopback port, run by the test, that answers each POST as a script says
// and records what it got.
#pragma once

#include <httplib.h>

#include <chrono>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

namespace colshift::testing {

struct Received {
  std::string webhook_id, timestamp, signature, content_type, body;
  std::chrono::steady_clock::time_point at;
  int answered = 0;  // the status it answered
  long long event_id() const { return nlohmann::json::parse(body)["data"]["id"]; }
};

class WebhookReceiver {
 public:
  // `answer(n)` (n: 0-based request number) gives the status to answer, and
  // may sleep (a slow endpoint); `retry_after` sets the header on 429s.
  explicit WebhookReceiver(std::function<int(int)> answer, std::string retry_after = "1")
      : answer_(std::move(answer)), retry_after_(std::move(retry_after)) {
    server_.Post("/hook", [this](const httplib::Request& req, httplib::Response& res) {
      // Recorded on arrival (in arrival order), answered after the script.
      size_t n;
      {
        std::lock_guard<std::mutex> g(mu_);
        n = received_.size();
        received_.push_back(
            {req.get_header_value("webhook-id"), req.get_header_value("webhook-timestamp"),
             req.get_header_value("webhook-signature"), req.get_header_value("Content-Type"),
             req.body, std::chrono::steady_clock::now(), 0});
      }
      int status = answer_(static_cast<int>(n));
      {
        std::lock_guard<std::mutex> g(mu_);
        received_[n].answered = status;
      }
      res.status = status;
      if (status == 429) res.set_header("Retry-After", retry_after_);
      res.set_content("ok", "text/plain");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~WebhookReceiver() {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hook"; }
  std::vector<Received> received() {
    std::lock_guard<std::mutex> g(mu_);
    return received_;
  }
  // The event ids acknowledged with 2xx, in arrival order.
  std::vector<long long> acknowledged() {
    std::vector<long long> out;
    for (const auto& r : received())
      if (r.answered >= 200 && r.answered < 300) out.push_back(r.event_id());
    return out;
  }

 private:
  std::function<int(int)> answer_;
  std::string retry_after_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::vector<Received> received_;
};

}  // namespace colshift::testing
