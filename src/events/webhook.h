// Webhook delivery of the outbox, as CloudEvents 1.0 (structured mode) signed
// per Standard Webhooks:
//   webhook-id         the CloudEvents id (the same on every retry)
//   webhook-timestamp  Unix seconds of this attempt
//   webhook-signature  "v1,<base64 HMAC-SHA256(key, id.timestamp.body)>",
//                      key: the base64 after "whsec_" in the secret
// At least once, in order: each endpoint has a cursor (the last event id it
// acknowledged with 2xx, in webhook_endpoints) and gets the next event only
// after the one before; a failure is retried with exponential backoff and
// jitter, or after the Retry-After the endpoint asked for; HTTP 410 disables
// the endpoint. Every attempt is a row of webhook_attempts, written with the
// cursor it advances, so a killed deliverer resumes at the first event not
// acknowledged (which a receiver may then get twice: dedupe on webhook-id).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dialect/connection.h"
#include "util/clock.h"

namespace colshift::events {

struct Endpoint {
  std::string url;     // http:// or https://
  std::string secret;  // "whsec_<base64>"; empty: unsigned
};

// "v1,<base64 signature>". Throws Error(kUsage) for a secret that is not
// "whsec_" followed by base64.
std::string sign(const std::string& secret, const std::string& msg_id, long long timestamp,
                 const std::string& body);

std::string base64_encode(const std::string& bytes);
// Throws Error(kUsage) naming `what` for text that is not base64.
std::string base64_decode(const std::string& text, const std::string& what);

// The wait before attempt `attempt` + 1 after `attempt` failures (1-based):
// base * 2^(attempt-1) capped at `cap`, times a jitter factor in [0.5, 1).
std::chrono::milliseconds backoff(int attempt, std::chrono::milliseconds base,
                                  std::chrono::milliseconds cap, double random_unit);
// A Retry-After value (seconds, or an HTTP date relative to `now_unix`) as a
// wait; nullopt when it is neither.
std::optional<std::chrono::milliseconds> parse_retry_after(const std::string& value,
                                                           long long now_unix);

struct DeliverOptions {
  std::string schema = "colshift";
  std::vector<Endpoint> endpoints;
  std::chrono::milliseconds timeout{10'000};  // connect and read, per attempt
  std::chrono::milliseconds retry_base{1'000};
  std::chrono::milliseconds retry_max{600'000};
  std::chrono::milliseconds retry_after_max{3'600'000};  // Retry-After beyond it is capped
  int max_attempts = 0;     // > 0: the endpoint is disabled after that many failures in a row
  bool until_idle = false;  // return once every endpoint is up to date (or disabled)
  // From the first event (true) or, for an endpoint not seen before, from the
  // next event written (false).
  bool from_start = true;
  std::function<void(const std::string&)> log;  // narration (stderr)
};

// Runs one delivery loop per endpoint, each on its own connection from
// `connect`, until interrupted (or idle, with until_idle). One deliverer per
// endpoint and schema: a second one is refused (Error kConflict).
void deliver(const std::function<std::unique_ptr<Connection>()>& connect,
             const DeliverOptions& options, Clock& clock);

}  // namespace colshift::events
