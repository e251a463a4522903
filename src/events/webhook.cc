#include "events/webhook.h"

#include <fmt/format.h>

#include <cmath>
#include <ctime>
#include <mutex>
#include <thread>

#include "dialect/dialect.h"
#include "events/outbox.h"
#include "http/http.h"
#include "util/error.h"
#include "util/interrupt.h"
#include "util/libcrypto.h"

namespace colshift::events {

std::string base64_encode(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  int n = libcrypto().EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                      reinterpret_cast<const unsigned char*>(bytes.data()),
                                      static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::string base64_decode(const std::string& text, const std::string& what) {
  auto bad = [&] {
    return Error(ErrorKind::kUsage, fmt::format("{} is not base64", what), {},
                 "a Standard Webhooks secret is 'whsec_' followed by base64 of 24 to 64 random "
                 "bytes, e.g. whsec_$(openssl rand -base64 32)");
  };
  if (text.empty() || text.size() % 4 != 0) throw bad();
  std::string out(3 * text.size() / 4, '\0');
  int n = libcrypto().EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                      reinterpret_cast<const unsigned char*>(text.data()),
                                      static_cast<int>(text.size()));
  if (n < 0) throw bad();
  // EVP_DecodeBlock counts the padding as zero bytes.
  size_t pad = text.size() >= 2 && text[text.size() - 2] == '=' ? 2 : text.back() == '=' ? 1 : 0;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

std::string sign(const std::string& secret, const std::string& msg_id, long long timestamp,
                 const std::string& body) {
  const std::string prefix = "whsec_";
  if (secret.rfind(prefix, 0) != 0) {
    throw Error(ErrorKind::kUsage, "a webhook secret must start with 'whsec_'", {},
                "a Standard Webhooks secret is 'whsec_' followed by base64, e.g. "
                "whsec_$(openssl rand -base64 32)");
  }
  const std::string key = base64_decode(secret.substr(prefix.size()), "the webhook secret");
  const std::string content = fmt::format("{}.{}.{}", msg_id, timestamp, body);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  const Libcrypto& crypto = libcrypto();
  crypto.HMAC(crypto.EVP_sha256(), key.data(), static_cast<int>(key.size()),
              reinterpret_cast<const unsigned char*>(content.data()), content.size(), mac, &len);
  return "v1," + base64_encode(std::string(reinterpret_cast<char*>(mac), len));
}

std::chrono::milliseconds backoff(int attempt, std::chrono::milliseconds base,
                                  std::chrono::milliseconds cap, double random_unit) {
  double ms = static_cast<double>(base.count()) * std::pow(2.0, std::min(attempt - 1, 40));
  ms = std::min(ms, static_cast<double>(cap.count()));
  return std::chrono::milliseconds(static_cast<long long>(ms * (0.5 + 0.5 * random_unit)));
}

std::optional<std::chrono::milliseconds> parse_retry_after(const std::string& value,
                                                           long long now_unix) {
  if (value.empty()) return std::nullopt;
  if (value.find_first_not_of("0123456789") == std::string::npos && value.size() < 10)
    return std::chrono::milliseconds(std::stoll(value) * 1000);
  std::tm tm{};
  // IMF-fixdate, the form HTTP/1.1 senders use: "Sun, 06 Nov 1994 08:49:37 GMT".
  const char* end = strptime(value.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (!end || *end) return std::nullopt;
  long long at = timegm(&tm);
  return std::chrono::milliseconds(std::max(0LL, at - now_unix) * 1000);
}

namespace {

struct Url {
  std::string origin;  // scheme://host[:port]
  std::string path;    // "/..." (at least "/")
};

Url split_url(const std::string& url) {
  auto scheme = url.find("://");
  if (scheme == std::string::npos || (url.rfind("http://", 0) != 0 && url.rfind("https://", 0))) {
    throw Error(ErrorKind::kUsage, fmt::format("webhook URL '{}' is not http:// or https://", url));
  }
  auto slash = url.find('/', scheme + 3);
  if (slash == std::string::npos) return {url, "/"};
  return {url.substr(0, slash), url.substr(slash)};
}

long long unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// One endpoint's loop: its own session, its cursor, its lock.
class EndpointWorker {
 public:
  EndpointWorker(std::unique_ptr<Connection> conn, const Endpoint& endpoint,
                 const DeliverOptions& options, Clock& clock)
      : conn_(std::move(conn)), endpoint_(endpoint), options_(options), clock_(clock) {
    const auto& d = postgres_dialect();
    endpoints_ = d.quote_ident(options.schema) + "." + d.quote_ident("webhook_endpoints");
    attempts_ = d.quote_ident(options.schema) + "." + d.quote_ident("webhook_attempts");
    url_ = split_url(endpoint.url);
  }

  void run() {
    database_ = conn_->exec("SELECT current_database()").text(0, 0);
    const bool mine =
        conn_
            ->exec(
                "SELECT pg_try_advisory_lock(hashtextextended('colshift:deliver:' || $1 || ':' "
                "|| $2, 0))",
                {options_.schema, endpoint_.url})
            .boolean(0, 0);
    if (!mine) {
      throw Error(ErrorKind::kConflict,
                  fmt::format("another colshift deliver is delivering to {}", endpoint_.url), {},
                  "one deliverer per endpoint keeps events in order; stop the other one first");
    }
    conn_->exec(fmt::format("INSERT INTO {} (url, last_event_id) VALUES ($1, CASE WHEN $2 THEN 0 "
                            "ELSE (SELECT coalesce(max(id), 0) FROM {}.{}) END) "
                            "ON CONFLICT (url) DO NOTHING",
                            endpoints_, postgres_dialect().quote_ident(options_.schema),
                            postgres_dialect().quote_ident("events")),
                {endpoint_.url, options_.from_start ? "true" : "false"});
    conn_->exec(fmt::format("LISTEN {}", kChannel));
    while (!interrupt::requested()) {
      auto ep = conn_->exec(
          fmt::format("SELECT last_event_id, disabled_at IS NOT NULL, coalesce(disabled_reason, "
                      "'') FROM {} WHERE url = $1",
                      endpoints_),
          {endpoint_.url});
      if (ep.boolean(0, 1)) {
        say(fmt::format("{} is disabled ({}); not delivering to it", endpoint_.url, ep.text(0, 2)));
        return;
      }
      auto batch = read_after(*conn_, options_.schema, ep.integer(0, 0), 100);
      if (batch.empty()) {
        if (options_.until_idle) return;
        conn_->wait_notifications(std::chrono::milliseconds(1000));
        continue;
      }
      for (const auto& e : batch) {
        if (!deliver_one(e)) return;
      }
    }
  }

 private:
  void say(const std::string& line) {
    if (options_.log) options_.log(line);
  }

  // Delivers `e` until acknowledged; false when the endpoint got disabled
  // (or a stop was asked for).
  bool deliver_one(const Event& e) {
    const std::string id = cloud_event_id(database_, options_.schema, e.id);
    const std::string body = cloud_event(e, database_, options_.schema).dump();
    int attempt = static_cast<int>(
        conn_
            ->exec(fmt::format("SELECT coalesce(max(attempt), 0) FROM {} WHERE url = $1 AND "
                               "event_id = $2",
                               attempts_),
                   {endpoint_.url, std::to_string(e.id)})
            .integer(0, 0));
    int failures_in_row = 0;
    while (!interrupt::requested()) {
      ++attempt;
      const long long ts = unix_now();
      http::PostRequest request;
      request.origin = url_.origin;
      request.path = url_.path;
      request.headers = {
          {"webhook-id", id}, {"webhook-timestamp", std::to_string(ts)}, {"ce-id", id}};
      if (!endpoint_.secret.empty())
        request.headers.emplace_back("webhook-signature", sign(endpoint_.secret, id, ts, body));
      request.body = body;
      request.content_type = "application/cloudevents+json";
      request.timeout = options_.timeout;
      auto t0 = clock_.now();
      const http::PostResult res = http::post(request);
      double ms = std::chrono::duration<double, std::milli>(clock_.now() - t0).count();
      Param status;
      std::string error;
      std::optional<std::chrono::milliseconds> retry_after;
      if (res.answered) {
        status = std::to_string(res.status);
        if (!res.retry_after.empty()) retry_after = parse_retry_after(res.retry_after, unix_now());
        if (res.status < 200 || res.status >= 300) error = fmt::format("HTTP {}", res.status);
      } else {
        error = res.error;
      }
      const Params attempt_row = {endpoint_.url,
                                  std::to_string(e.id),
                                  std::to_string(attempt),
                                  status,
                                  error.empty() ? Param{} : Param{error},
                                  std::to_string(ms)};
      if (res.answered && res.status >= 200 && res.status < 300) {
        record(attempt_row, Param{},
               fmt::format("UPDATE {} SET last_event_id = $2 WHERE url = $1 "
                           "AND last_event_id < $2",
                           endpoints_),
               {endpoint_.url, std::to_string(e.id)});
        return true;
      }
      ++failures_in_row;
      const bool gone = res.answered && res.status == 410;
      const bool exhausted = options_.max_attempts > 0 && failures_in_row >= options_.max_attempts;
      if (gone || exhausted) {
        const std::string reason =
            gone ? "HTTP 410 Gone" : fmt::format("{} attempts in a row failed", failures_in_row);
        record(attempt_row, Param{},
               fmt::format("UPDATE {} SET disabled_at = clock_timestamp(), disabled_reason = $2 "
                           "WHERE url = $1",
                           endpoints_),
               {endpoint_.url, reason});
        say(fmt::format("{}: {}; endpoint disabled (event {} not delivered)", endpoint_.url, reason,
                        e.id));
        return false;
      }
      auto wait = retry_after ? std::min(*retry_after, options_.retry_after_max)
                              : backoff(failures_in_row, options_.retry_base, options_.retry_max,
                                        clock_.random_unit());
      record(attempt_row, std::to_string(wait.count()), {}, {});
      say(fmt::format("{}: event {} attempt {} failed ({}); retrying in {} ms", endpoint_.url, e.id,
                      attempt, error, wait.count()));
      sleep(wait);
    }
    return false;
  }

  // The attempt row and (when `then` is not empty) the change it causes, in
  // one transaction.
  void record(Params attempt_row, Param next_retry_ms, const std::string& then,
              const Params& then_params) {
    attempt_row.push_back(std::move(next_retry_ms));
    conn_->exec("BEGIN");
    try {
      conn_->exec(fmt::format("INSERT INTO {} (url, event_id, attempt, status, error, "
                              "duration_ms, next_retry_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                              attempts_),
                  attempt_row);
      if (!then.empty()) conn_->exec(then, then_params);
      conn_->exec("COMMIT");
    } catch (...) {
      try {
        conn_->exec("ROLLBACK");
      } catch (...) {
      }
      throw;
    }
  }

  void sleep(std::chrono::milliseconds wait) {
    // In slices, so Ctrl-C ends a long Retry-After at once.
    auto end = clock_.now() + wait;
    while (!interrupt::requested() && clock_.now() < end) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - clock_.now());
      clock_.sleep_for(std::min(left, std::chrono::milliseconds(100)));
    }
  }

  std::unique_ptr<Connection> conn_;
  Endpoint endpoint_;
  const DeliverOptions& options_;
  Clock& clock_;
  std::string endpoints_, attempts_, database_;
  Url url_;
};

}  // namespace

void deliver(const std::function<std::unique_ptr<Connection>()>& connect,
             const DeliverOptions& options, Clock& clock) {
  if (options.endpoints.empty()) {
    throw Error(ErrorKind::kUsage, "no webhook to deliver to", {},
                "give --webhook URL (and --secret), or a --config file with a webhooks list");
  }
  for (const auto& ep : options.endpoints) {
    split_url(ep.url);
    if (!ep.secret.empty()) sign(ep.secret, "check", 0, "");
  }
  std::vector<std::unique_ptr<EndpointWorker>> workers;
  for (const auto& ep : options.endpoints)
    workers.push_back(std::make_unique<EndpointWorker>(connect(), ep, options, clock));
  std::mutex mu;
  std::exception_ptr first_error;
  std::vector<std::thread> threads;
  for (auto& w : workers) {
    threads.emplace_back([&, worker = w.get()] {
      try {
        worker->run();
      } catch (...) {
        std::lock_guard<std::mutex> g(mu);
        if (!first_error) first_error = std::current_exception();
      }
    });
  }
  for (auto& t : threads) t.join();
  if (first_error) std::rethrow_exception(first_error);
}

}  // namespace colshift::events
