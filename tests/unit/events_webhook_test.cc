// Events and webhooks without a database: signing (the Standard Webhooks
// test vector), backoff, Retry-After, the CloudEvents envelope, and the
// status page's HTML.
#include <gtest/gtest.h>

#include "events/outbox.h"
#include "events/webhook.h"
#include "serve/page.h"
#include "serve/server.h"
#include "util/error.h"

namespace colshift {
namespace {

using std::chrono::milliseconds;

TEST(EventsWebhook, SignsLikeTheStandardWebhooksVector) {
  // From the Standard Webhooks specification's test vectors.
  EXPECT_EQ(events::sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
                         1614265330, R"({"test": 2432232314})"),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

TEST(EventsWebhook, RefusesSecretsThatAreNotWhsecBase64) {
  EXPECT_THROW(events::sign("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "id", 1, ""), Error);
  EXPECT_THROW(events::sign("whsec_not base64!", "id", 1, ""), Error);
}

TEST(EventsWebhook, Base64RoundTrips) {
  for (const std::string& s :
       std::vector<std::string>{"a", "ab", "abc", "abcd", std::string("\0\xff\x10", 3)}) {
    EXPECT_EQ(events::base64_decode(events::base64_encode(s), "x"), s);
  }
}

TEST(EventsWebhook, BackoffDoublesWithJitterAndCap) {
  const milliseconds base(100), cap(1000);
  EXPECT_EQ(events::backoff(1, base, cap, 0.0), milliseconds(50));
  EXPECT_EQ(events::backoff(1, base, cap, 0.999), milliseconds(99));
  EXPECT_EQ(events::backoff(2, base, cap, 0.0), milliseconds(100));
  EXPECT_EQ(events::backoff(3, base, cap, 0.0), milliseconds(200));
  EXPECT_EQ(events::backoff(10, base, cap, 0.0), milliseconds(500));
  EXPECT_EQ(events::backoff(1000, base, cap, 0.0), milliseconds(500));
}

TEST(EventsWebhook, ParsesRetryAfterSecondsAndDates) {
  EXPECT_EQ(events::parse_retry_after("3", 0), milliseconds(3000));
  // 1994-11-06 08:49:37 UTC is 784111777.
  EXPECT_EQ(events::parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784111770),
            milliseconds(7000));
  EXPECT_EQ(events::parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784111800), milliseconds(0));
  EXPECT_FALSE(events::parse_retry_after("soon", 0));
  EXPECT_FALSE(events::parse_retry_after("", 0));
}

TEST(EventsWebhook, CloudEventEnvelope) {
  events::Event e;
  e.id = 7;
  e.at = "2026-12-01T16:07:13.123456Z";
  e.migration_id = 3;
  e.migration = "0003_users";
  e.kind = "phase";
  e.detail = {{"phase", "active"}, {"from", "finishing"}};
  auto ce = events::cloud_event(e, "app", "colshift");
  EXPECT_EQ(ce["specversion"], "1.0");
  EXPECT_EQ(ce["id"], "app.colshift.7");
  EXPECT_EQ(ce["source"], "colshift://app/colshift");
  EXPECT_EQ(ce["type"], "dev.colshift.phase");
  EXPECT_EQ(ce["subject"], "0003_users");
  EXPECT_EQ(ce["time"], e.at);
  EXPECT_EQ(ce["datacontenttype"], "application/json");
  EXPECT_EQ(ce["data"]["detail"]["phase"], "active");
  EXPECT_EQ(ce["data"]["migration_id"], 3);
}

TEST(ServePage, EscapesAndRendersWithoutJavaScript) {
  serve::Snapshot s;
  s.database = "app";
  s.schema = "colshift";
  s.initialized = true;
  serve::MigrationView m;
  m.name = "0001_<x>";
  m.phase = "backfilling";
  m.running = true;
  serve::BackfillView b;
  b.table = "public.users";
  b.columns = "email_domain";
  b.rows_done = 500;
  b.rows_total = 1000;
  b.percent = 50;
  b.rows_per_second = 250;
  b.eta_seconds = 2;
  b.throttle = "replica lag 2 s";
  b.rate_history = {{0, 100}, {1, 250}};
  m.backfills.push_back(b);
  s.migrations.push_back(m);
  serve::PageOptions o;
  auto html = serve::render_page(s, o);
  EXPECT_NE(html.find("0001_&lt;x&gt;"), std::string::npos);
  EXPECT_NE(html.find("<progress max=\"100\" value=\"50.0\">"), std::string::npos);
  EXPECT_NE(html.find("waiting: replica lag 2 s"), std::string::npos);
  EXPECT_NE(html.find("<svg class=\"rate-chart\""), std::string::npos);
  EXPECT_NE(html.find("new EventSource('/events')"), std::string::npos);
  EXPECT_EQ(html.find("/control/"), std::string::npos) << "read-only by default";
  o.allow_control = true;
  o.query = "?token=t";
  html = serve::render_page(s, o);
  EXPECT_NE(html.find("action=\"/control/pause?token=t\""), std::string::npos);
}

TEST(ServePage, LoopbackHosts) {
  EXPECT_TRUE(serve::is_loopback("127.0.0.1"));
  EXPECT_TRUE(serve::is_loopback("::1"));
  EXPECT_TRUE(serve::is_loopback("localhost"));
  EXPECT_FALSE(serve::is_loopback("0.0.0.0"));
  EXPECT_FALSE(serve::is_loopback("10.0.0.5"));
}

}  // namespace
}  // namespace colshift
