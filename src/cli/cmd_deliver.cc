// colshift deliver: the webhook deliverer (events/webhook.h), a long-running
// process of its own beside start, watch or serve.
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>

#include "cli/common.h"
#include "events/webhook.h"
#include "state/state.h"
#include "util/interrupt.h"

namespace colshift::cli {
namespace {

// The webhooks of a config file:
//   webhooks:
//     - url: https://hooks.example.com/colshift
//       secret_env: COLSHIFT_WEBHOOK_SECRET   # or secret: whsec_...
std::vector<events::Endpoint> read_config(const std::string& path) {
  std::vector<events::Endpoint> out;
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    throw Error(ErrorKind::kBadInput, fmt::format("cannot read {}: {}", path, e.what()), path);
  }
  for (const auto& w : root["webhooks"]) {
    events::Endpoint ep;
    ep.url = w["url"].as<std::string>("");
    if (ep.url.empty()) throw Error(ErrorKind::kBadInput, "a webhook without url", path);
    ep.secret = w["secret"].as<std::string>("");
    if (auto env = w["secret_env"].as<std::string>(""); !env.empty()) {
      const char* v = std::getenv(env.c_str());
      if (!v) {
        throw Error(ErrorKind::kBadInput, fmt::format("webhook {}: ${} is not set", ep.url, env),
                    path);
      }
      ep.secret = v;
    }
    out.push_back(ep);
  }
  return out;
}

}  // namespace

CommandRun setup_deliver(CLI::App& sub, const GlobalOptions& g) {
  struct Opts {
    std::vector<std::string> urls;
    std::string secret;
    std::string config;
    std::string timeout = "10s";
    std::string retry_base = "1s";
    std::string retry_max = "10m";
    int max_attempts = 0;
    bool until_idle = false;
    bool from_now = false;
  };
  auto o = std::make_shared<Opts>();
  sub.add_option("--webhook", o->urls, "endpoint URL to POST every event to (repeatable)");
  sub.add_option("--secret", o->secret,
                 "Standard Webhooks signing secret (whsec_<base64>) for --webhook endpoints "
                 "(default: $COLSHIFT_WEBHOOK_SECRET; none: unsigned)");
  sub.add_option("--config", o->config,
                 "YAML file with 'webhooks:', a list of {url, secret or secret_env}");
  sub.add_option("--timeout", o->timeout, "connect and answer time per attempt, more than 0")
      ->capture_default_str();
  sub.add_option("--retry-base", o->retry_base,
                 "first retry wait; doubles per failure, with jitter")
      ->capture_default_str();
  sub.add_option("--retry-max", o->retry_max, "longest retry wait")->capture_default_str();
  sub.add_option("--max-attempts", o->max_attempts,
                 "disable an endpoint after this many failures in a row (0 = retry forever)")
      ->capture_default_str();
  sub.add_flag("--until-idle", o->until_idle,
               "exit once every endpoint has every event (default: wait for more)");
  sub.add_flag("--from-now", o->from_now,
               "an endpoint not seen before starts at the next event (default: the first)");
  sub.footer(
      "Delivers each event as a CloudEvents 1.0 JSON POST, signed per Standard Webhooks "
      "(webhook-id, webhook-timestamp, webhook-signature), in order and at least once per "
      "endpoint; honours Retry-After; HTTP 410 disables the endpoint. Attempts are in the "
      "webhook_attempts table; a restarted deliverer resumes at the first unacknowledged event.");
  return [o, &g]() -> int {
    check_at_least("--max-attempts", o->max_attempts, 0, " (0 = retry forever)");
    events::DeliverOptions d;
    d.schema = g.schema;
    d.timeout = parse_positive_duration(o->timeout, "--timeout", "an attempt needs some time");
    d.retry_base = parse_positive_duration(o->retry_base, "--retry-base",
                                           "retrying at once would hammer a failing endpoint");
    d.retry_max = parse_duration(o->retry_max, "--retry-max");
    d.max_attempts = o->max_attempts;
    d.until_idle = o->until_idle;
    d.from_start = !o->from_now;
    std::string secret = o->secret;
    if (secret.empty()) {
      if (const char* env = std::getenv("COLSHIFT_WEBHOOK_SECRET")) secret = env;
    }
    for (const auto& url : o->urls) d.endpoints.push_back({url, secret});
    if (!o->config.empty())
      for (auto& ep : read_config(o->config)) d.endpoints.push_back(ep);
    d.log = [](const std::string& line) { std::cerr << line << "\n"; };
    {
      auto conn = connect_db(g);
      state::StateStore(*conn, g.schema).init();
    }
    events::deliver(connection_factory(g), d, Clock::real());
    return interrupt::requested() ? static_cast<int>(kExitInterrupted) : 0;
  };
}

}  // namespace colshift::cli
