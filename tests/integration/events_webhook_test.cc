// colshift deliver against a real HTTP receiver on loopback: CloudEvents
// signed per Standard Webhooks, retries on 500, a timeout and a 429 with
// Retry-After, an endpoint disabled by 410, and a deliverer killed with
// kill -9 that resumes with no event lost or reordered.
#include "core_helpers.h"
#include "events/webhook.h"
#include "webhook_receiver.h"

namespace colshift::testing {
namespace {

const std::string kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

class EventsWebhook : public CoreTest {
 protected:
  void SetUp() override {
    CoreTest::SetUp();
    if (IsSkipped()) return;
    ok({"init"});
  }
  // Writes `n` events through the outbox function, as colshift does.
  void write_events(int n) {
    sql("SELECT colshift.colshift_event(NULL, 'm1', 'test', jsonb_build_object('n', i)) "
        "FROM generate_series(1, " +
        std::to_string(n) + ") i");
  }
  std::vector<long long> event_ids() {
    auto r = sql("SELECT id FROM colshift.events ORDER BY id");
    std::vector<long long> out;
    for (size_t i = 0; i < r.size(); ++i) out.push_back(r.integer(i, 0));
    return out;
  }
};

TEST_F(EventsWebhook, RetriesFailuresTimeoutsAnd429InOrderSigned) {
  write_events(3);
  // Request 0: 500; 1: too slow for --timeout; 2: 429 Retry-After 1; then 200.
  WebhookReceiver rx([](int n) {
    if (n == 1) std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    return n == 0 ? 500 : n == 1 ? 503 : n == 2 ? 429 : 200;
  });
  auto t0 = std::chrono::steady_clock::now();
  auto r = ok({"deliver", "--webhook", rx.url(), "--secret", kSecret, "--until-idle", "--timeout",
               "500ms", "--retry-base", "50ms"});
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  auto got = rx.received();
  ASSERT_EQ(got.size(), 6u) << r.err;
  EXPECT_EQ(rx.acknowledged(), event_ids());
  for (const auto& g : got) {
    EXPECT_EQ(g.content_type, "application/cloudevents+json");
    EXPECT_EQ(g.signature, events::sign(kSecret, g.webhook_id, std::stoll(g.timestamp), g.body));
    auto ce = nlohmann::json::parse(g.body);
    EXPECT_EQ(ce["specversion"], "1.0");
    EXPECT_EQ(ce["type"], "dev.colshift.test");
    EXPECT_EQ(ce["id"], g.webhook_id);
  }
  // Every try of the first event carries the same webhook-id.
  EXPECT_EQ(got[0].webhook_id, got[3].webhook_id);
  // Retry-After: 1 was honoured (the backoff alone would be 50-200 ms).
  double gap = std::chrono::duration<double>(got[3].at - got[2].at).count();
  EXPECT_GE(gap, 0.95) << "Retry-After not honoured";
  // Every attempt is recorded: 500, no answer (timeout), 429, 200, 200, 200.
  auto attempts =
      sql("SELECT event_id, attempt, coalesce(status::text, 'none'), coalesce(error, ''), "
          "coalesce(next_retry_ms, -1) FROM colshift.webhook_attempts ORDER BY id");
  ASSERT_EQ(attempts.size(), 6u);
  std::vector<std::string> statuses;
  for (size_t i = 0; i < attempts.size(); ++i) statuses.push_back(attempts.text(i, 2));
  EXPECT_EQ(statuses, (std::vector<std::string>{"500", "none", "429", "200", "200", "200"}));
  EXPECT_EQ(attempts.integer(3, 1), 4) << "the 4th attempt of event 1";
  EXPECT_NE(attempts.text(1, 3).find("Read"), std::string::npos) << attempts.text(1, 3);
  EXPECT_EQ(attempts.integer(2, 4), 1000) << "the 429's wait is its Retry-After";
  EXPECT_EQ(scalar_int("SELECT last_event_id FROM colshift.webhook_endpoints"), event_ids().back());
  std::cerr << "delivered 3 events through 500, timeout, 429 in " << secs << " s\n";
}

TEST_F(EventsWebhook, Http410DisablesTheEndpoint) {
  write_events(2);
  WebhookReceiver rx([](int) { return 410; });
  auto r = ok({"deliver", "--webhook", rx.url(), "--until-idle", "--retry-base", "50ms"});
  EXPECT_EQ(rx.received().size(), 1u) << "no retry after 410";
  EXPECT_EQ(scalar_text("SELECT disabled_reason FROM colshift.webhook_endpoints"), "HTTP 410 Gone");
  EXPECT_NE(r.err.find("endpoint disabled"), std::string::npos) << r.err;
  // A later deliverer leaves it alone.
  ok({"deliver", "--webhook", rx.url(), "--until-idle"});
  EXPECT_EQ(rx.received().size(), 1u);
}

TEST_F(EventsWebhook, KilledDelivererResumesWithoutLossOrReorder) {
  constexpr int kEvents = 120;
  write_events(kEvents);
  WebhookReceiver rx([](int) {
    std::this_thread::sleep_for(std::chrono::milliseconds(15));
    return 200;
  });
  {
    Spawned d({"deliver", "--webhook", rx.url(), "--secret", kSecret}, url_, dir_ + "/d1.log");
    ASSERT_TRUE(eventually([&] { return rx.received().size() >= 40 || !d.running(); }))
        << d.output();
    ASSERT_TRUE(d.running()) << d.output();
    d.kill9();
  }
  size_t before_restart = rx.received().size();
  EXPECT_LT(before_restart, static_cast<size_t>(kEvents)) << "killed too late";
  wait_for_no_colshift_sessions();
  // Meanwhile more events are written; the new deliverer gets them too.
  write_events(5);
  ok({"deliver", "--webhook", rx.url(), "--secret", kSecret, "--until-idle"});
  auto got = rx.acknowledged();
  // In order, each event after the one before; the only repeat allowed is the
  // event in flight when the deliverer died (at least once).
  std::vector<long long> firsts;
  int repeats = 0;
  for (long long id : got) {
    if (!firsts.empty() && id <= firsts.back()) {
      ++repeats;
      EXPECT_EQ(id, firsts.back()) << "reordered";
      continue;
    }
    firsts.push_back(id);
  }
  EXPECT_EQ(firsts, event_ids()) << "lost or reordered events";
  EXPECT_LE(repeats, 1);
  std::cerr << "kill -9 after " << before_restart << " of " << kEvents + 5
            << " deliveries; redelivered " << repeats << "\n";
}

TEST_F(EventsWebhook, OneDelivererPerEndpoint) {
  WebhookReceiver rx([](int) { return 200; });
  Spawned d({"deliver", "--webhook", rx.url()}, url_, dir_ + "/d1.log");
  ASSERT_TRUE(eventually([&] {
    return scalar_int("SELECT count(*) FROM colshift.webhook_endpoints") == 1 || !d.running();
  }));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  auto r = colshift({"deliver", "--webhook", rx.url(), "--until-idle"});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_NE(r.err.find("another colshift deliver is delivering to"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace colshift::testing
