// Headless Chromium driven over the DevTools protocol on a pipe
// (--remote-debugging-pipe: commands on its fd 3, answers on its fd 4, each
// message JSON ended by a NUL), for tests that need a real browser running
// the page's JavaScript in real time (--dump-dom freezes timers and streams).
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

namespace colshift::testing {

class CdpBrowser {
 public:
  // Starts the browser (`binary`: the real executable, not a shell wrapper,
  // which may not pass fds 3 and 4 on) with a fresh profile in `profile_dir`.
  CdpBrowser(const std::string& binary, const std::string& profile_dir,
             const std::string& stderr_path) {
    int to_browser[2], from_browser[2];
    if (pipe(to_browser) || pipe(from_browser)) throw std::runtime_error("pipe");
    pid_ = fork();
    if (pid_ == 0) {
      int in = dup(to_browser[0]), out = dup(from_browser[1]);
      dup2(in, 3);
      dup2(out, 4);
      int err = ::open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (err >= 0) dup2(err, 2);
      for (int fd = 5; fd < 1024; ++fd) close(fd);
      const std::string profile = "--user-data-dir=" + profile_dir;
      execl(binary.c_str(), binary.c_str(), "--headless", "--no-sandbox", "--disable-gpu",
            "--disable-dev-shm-usage", "--no-first-run", "--window-size=1200,900",
            "--remote-debugging-pipe", profile.c_str(), "about:blank", static_cast<char*>(nullptr));
      _exit(127);
    }
    close(to_browser[0]);
    close(from_browser[1]);
    out_ = to_browser[1];
    in_ = from_browser[0];
  }
  ~CdpBrowser() {
    try {
      send("Browser.close", {}, false);
    } catch (...) {
    }
    close(out_);
    close(in_);
    for (int i = 0; i < 100; ++i) {
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) return;
      usleep(50'000);
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  CdpBrowser(const CdpBrowser&) = delete;
  CdpBrowser& operator=(const CdpBrowser&) = delete;

  // Opens `url` in the browser's page; later calls act on it.
  void open(const std::string& url) {
    auto targets = send("Target.getTargets");
    for (const auto& t : targets["targetInfos"]) {
      if (t["type"] == "page") {
        session_ = send("Target.attachToTarget", {{"targetId", t["targetId"]}, {"flatten", true}},
                        true, false)["sessionId"];
        break;
      }
    }
    if (session_.empty()) throw std::runtime_error("no page target");
    send("Page.navigate", {{"url", url}});
  }
  // The value of a JavaScript expression in the page.
  nlohmann::json eval(const std::string& expression) {
    return send("Runtime.evaluate",
                {{"expression", expression}, {"returnByValue", true}})["result"]["value"];
  }
  // A PNG screenshot, base64.
  std::string screenshot_base64() {
    return send("Page.captureScreenshot", {{"format", "png"}})["data"];
  }

  // Sends a command (on the page's session unless `browser_level`) and waits
  // (at most 20 s) for its result.
  nlohmann::json send(const std::string& method,
                      const nlohmann::json& params = nlohmann::json::object(), bool wait = true,
                      bool on_page = true) {
    nlohmann::json msg = {{"id", ++next_id_}, {"method", method}, {"params", params}};
    if (on_page && !session_.empty()) msg["sessionId"] = session_;
    std::string text = msg.dump();
    text.push_back('\0');
    if (write(out_, text.data(), text.size()) != static_cast<ssize_t>(text.size()))
      throw std::runtime_error("the browser's pipe closed");
    if (!wait) return {};
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    for (;;) {
      for (size_t end; (end = buffer_.find('\0')) != std::string::npos;) {
        auto reply = nlohmann::json::parse(buffer_.substr(0, end));
        buffer_.erase(0, end + 1);
        if (reply.value("id", -1) != next_id_) continue;
        if (reply.contains("error"))
          throw std::runtime_error(method + ": " + reply["error"].dump());
        return reply["result"];
      }
      if (std::chrono::steady_clock::now() > deadline)
        throw std::runtime_error(method + ": timeout");
      pollfd p{in_, POLLIN, 0};
      if (poll(&p, 1, 200) <= 0) continue;
      char buf[65536];
      ssize_t n = read(in_, buf, sizeof buf);
      if (n <= 0) throw std::runtime_error("the browser exited");
      buffer_.append(buf, static_cast<size_t>(n));
    }
  }

 private:
  int pid_ = -1, out_ = -1, in_ = -1;
  int next_id_ = 0;
  std::string session_;
  std::string buffer_;
};

}  // namespace colshift::testing
