// colshift serve during a running backfill: the JSON endpoint, Server-Sent
// Events that advance, the token, read-only by default, the control buttons
// with --allow-control, and headless Chromium seeing the page go live.
#include <httplib.h>

#include <filesystem>
#include <regex>

#include "cdp_browser.h"
#include "core_helpers.h"
#include "events/webhook.h"

namespace colshift::testing {
namespace {

constexpr long long kRows = 30'000;

class ServeStatus : public CoreTest {
 protected:
  void SetUp() override {
    CoreTest::SetUp();
    if (IsSkipped()) return;
    make_users("users", kRows);
    file_ = domain_migration("0001_users_domain", "users", "email_domain");
  }
  // A start whose backfill takes about 10 s.
  std::unique_ptr<Spawned> slow_start() {
    auto p = std::make_unique<Spawned>(
        std::vector<std::string>{"start", file_, "--batch-size", "300", "--max-rate", "3000"}, url_,
        dir_ + "/start.log");
    EXPECT_TRUE(eventually([&] { return rows_done() > 0 || !p->running(); })) << p->output();
    return p;
  }
  // Starts colshift serve on a free port; returns the URL it prints.
  std::string serve(std::unique_ptr<Spawned>& s, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"serve", "--port", "0", "--interval", "200ms"};
    args.insert(args.end(), extra.begin(), extra.end());
    s = std::make_unique<Spawned>(args, url_, dir_ + "/serve.log");
    std::smatch m;
    static const std::regex re(R"(status page: (http://127\.0\.0\.1:([0-9]+)/\S*))");
    std::string out;
    EXPECT_TRUE(eventually([&] {
      out = read_text(dir_ + "/serve.log");
      return std::regex_search(out, m, re) || !s->running();
    })) << s->output();
    if (!std::regex_search(out, m, re)) {
      ADD_FAILURE() << "no URL: " << s->output();
      return "";
    }
    port_ = std::stoi(m[2]);
    return m[1];
  }
  httplib::Client client() {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(10, 0);
    return c;
  }
  // rows_done of the first backfill in the SSE events, for `count` events.
  std::vector<long long> sse_rows(int count, const std::string& path = "/events") {
    std::vector<long long> rows;
    std::string buffer;
    auto c = client();
    c.Get(path.c_str(), [&](const char* data, size_t len) {
      buffer.append(data, len);
      for (size_t end; (end = buffer.find("\n\n")) != std::string::npos;) {
        std::string msg = buffer.substr(0, end);
        buffer.erase(0, end + 2);
        auto at = msg.find("data: ");
        if (at == std::string::npos) continue;
        auto j = nlohmann::json::parse(msg.substr(at + 6));
        const auto& ms = j["status"]["migrations"];
        if (ms.empty() || ms[0]["backfills"].empty()) continue;
        rows.push_back(ms[0]["backfills"][0]["rows_done"]);
        EXPECT_NE(j["html"].get<std::string>().find("<progress"), std::string::npos);
      }
      return static_cast<int>(rows.size()) < count;
    });
    return rows;
  }
  std::string file_;
  int port_ = 0;
};

TEST_F(ServeStatus, JsonAndServerSentEventsAdvanceDuringBackfill) {
  auto start = slow_start();
  std::unique_ptr<Spawned> srv;
  serve(srv);
  auto c = client();
  auto res = c.Get("/status.json");
  ASSERT_TRUE(res) << srv->output();
  auto j = nlohmann::json::parse(res->body);
  ASSERT_EQ(j["migrations"].size(), 1u) << res->body;
  EXPECT_EQ(j["migrations"][0]["phase"], "backfilling");
  EXPECT_EQ(j["migrations"][0]["running"], true);
  EXPECT_EQ(j["migrations"][0]["backfills"][0]["table"], "users");
  auto rows = sse_rows(4);
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_LT(rows.front(), rows.back()) << "progress did not advance over SSE";
  auto page = c.Get("/");
  ASSERT_TRUE(page);
  EXPECT_NE(page->body.find("<progress max=\"100\""), std::string::npos);
  EXPECT_NE(page->body.find("0001_users_domain"), std::string::npos);
  EXPECT_EQ(page->body.find("/control/"), std::string::npos) << "read-only by default";
  auto post = c.Post("/control/pause", "", "application/x-www-form-urlencoded");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 403);
  EXPECT_EQ(start->wait(), 0) << start->output();
  ASSERT_TRUE(eventually([&] {
    auto r = c.Get("/status.json");
    return r && nlohmann::json::parse(r->body)["migrations"][0]["phase"] == "active";
  })) << "the page did not see the migration become active";
  std::cerr << "SSE rows_done: " << rows.front() << " -> " << rows.back() << "\n";
}

TEST_F(ServeStatus, TokenIsRequiredOffLoopbackAndChecked) {
  auto r = colshift({"serve", "--host", "0.0.0.0", "--port", "0"});
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  EXPECT_NE(r.err.find("--host 0.0.0.0 is not loopback: give --token"), std::string::npos) << r.err;
  std::unique_ptr<Spawned> srv;
  auto url = serve(srv, {"--token", "s3cret"});
  EXPECT_NE(url.find("?token=s3cret"), std::string::npos) << url;
  auto c = client();
  EXPECT_EQ(c.Get("/status.json")->status, 401);
  EXPECT_EQ(c.Get("/status.json?token=wrong")->status, 401);
  EXPECT_EQ(c.Get("/status.json?token=s3cret")->status, 200);
  EXPECT_EQ(c.Get("/", {{"Authorization", "Bearer s3cret"}})->status, 200);
}

TEST_F(ServeStatus, AllowControlPausesAndResumesTheRunningStart) {
  auto start = slow_start();
  std::unique_ptr<Spawned> srv;
  serve(srv, {"--allow-control"});
  auto c = client();
  auto page = c.Get("/");
  ASSERT_TRUE(page);
  EXPECT_NE(page->body.find("action=\"/control/pause\""), std::string::npos) << page->body;
  auto cross = c.Post("/control/pause", {{"Origin", "http://evil.example"}}, "",
                      "application/x-www-form-urlencoded");
  EXPECT_EQ(cross->status, 403);
  auto p = c.Post("/control/pause", "", "application/x-www-form-urlencoded");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->status, 303);
  EXPECT_TRUE(sql("SELECT paused FROM colshift.control").boolean(0, 0));
  ASSERT_TRUE(eventually([&] {
    return nlohmann::json::parse(c.Get("/status.json")->body)["migrations"][0]["paused"] == true;
  }));
  EXPECT_EQ(c.Post("/control/resume", "", "application/x-www-form-urlencoded")->status, 303);
  EXPECT_FALSE(sql("SELECT paused FROM colshift.control").boolean(0, 0));
  EXPECT_EQ(start->wait(), 0) << start->output();
  EXPECT_EQ(scalar_int("SELECT count(*) FROM colshift.events WHERE kind IN ('paused', "
                       "'resumed')"),
            2);
}

TEST_F(ServeStatus, StartServeShowsThePageWhileItRuns) {
  Spawned p({"start", file_, "--batch-size", "300", "--max-rate", "3000", "--serve", "0"}, url_,
            dir_ + "/start.log");
  static const std::regex re(R"(status page: http://127\.0\.0\.1:([0-9]+)/)");
  std::smatch m;
  std::string err;
  ASSERT_TRUE(eventually([&] {
    err = read_text(dir_ + "/start.log.err");
    return std::regex_search(err, m, re) || !p.running();
  })) << p.output();
  ASSERT_TRUE(std::regex_search(err, m, re)) << p.output();
  port_ = std::stoi(m[1]);
  ASSERT_TRUE(eventually([&] { return rows_done() > 0; }));
  auto res = client().Get("/status.json");
  ASSERT_TRUE(res);
  EXPECT_EQ(nlohmann::json::parse(res->body)["migrations"][0]["phase"], "backfilling");
  EXPECT_EQ(p.wait(), 0) << p.output();
  EXPECT_FALSE(client().Get("/status.json")) << "the page outlived its start";
}

// Headless Chromium loads the page during the backfill and, with its
// JavaScript running in real time, sees the rows done advance through SSE.
TEST_F(ServeStatus, ChromiumSeesProgressAdvanceThroughSse) {
  const std::string chromium = "/usr/lib/chromium/chromium";
  if (!std::filesystem::exists(chromium))
    GTEST_SKIP() << "chromium is not installed (./run installs the Debian package chromium)";
  auto start = slow_start();
  std::unique_ptr<Spawned> srv;
  auto url = serve(srv);
  const std::string artifacts =
      std::filesystem::path(COLSHIFT_BINARY).parent_path().string() + "/test-artifacts";
  std::filesystem::create_directories(artifacts);
  CdpBrowser browser(chromium, dir_ + "/chromium-profile", dir_ + "/chromium.err");
  browser.open(url);
  const std::string probe =
      "JSON.stringify({sse: document.body ? document.body.getAttribute('data-sse-events') : "
      "null, rows: (document.querySelector('.rows-done') || {}).textContent || ''})";
  std::vector<long long> rows;
  int sse_events = 0;
  for (int i = 0; i < 100 && (rows.size() < 2 || rows.front() == rows.back()); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    auto v = nlohmann::json::parse(browser.eval(probe).get<std::string>());
    if (v["sse"].is_null() || v["rows"] == "") continue;
    sse_events = std::stoi(v["sse"].get<std::string>());
    std::string digits;
    for (char ch : v["rows"].get<std::string>())
      if (ch != ',') digits += ch;
    rows.push_back(std::stoll(digits));
  }
  ASSERT_GE(rows.size(), 2u) << "no SSE update reached the page: "
                             << read_text(dir_ + "/chromium.err");
  EXPECT_GT(rows.back(), rows.front()) << "the page did not advance";
  EXPECT_GE(sse_events, 2);
  const std::string png = artifacts + "/serve_status_page.png";
  {
    std::ofstream out(png, std::ios::binary);
    out << events::base64_decode(browser.screenshot_base64(), "the screenshot");
  }
  EXPECT_GT(std::filesystem::file_size(png), 1000u);
  std::cerr << "Chromium's page: rows done " << rows.front() << " -> " << rows.back() << " over "
            << sse_events << " SSE events; screenshot " << png << "\n";
  start->kill9();
}

}  // namespace
}  // namespace colshift::testing
