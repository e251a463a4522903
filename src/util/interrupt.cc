#include "util/interrupt.h"

#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <set>
#include <thread>

#include "dialect/connection.h"
#include "util/error.h"

namespace colshift::interrupt {
namespace {

std::atomic<int> g_signal{0};
int g_pipe[2] = {-1, -1};

// Who may be cancelled, and the wake-up for sleepers. The signal handler
// touches neither: it only stores the signal and writes to the pipe; the
// watcher thread does the rest.
std::mutex g_mu;
std::set<Connection*>& registry() {
  static std::set<Connection*> r;
  return r;
}
std::condition_variable g_wake;

extern "C" void on_signal(int sig) {
  if (g_signal.exchange(sig) != 0) {
    // Second signal: stop now.
    _exit(128 + sig);
  }
  char c = 1;
  ssize_t ignored = write(g_pipe[1], &c, 1);
  (void)ignored;
}

void watch() {
  char c;
  while (read(g_pipe[0], &c, 1) < 0) {
  }
  std::lock_guard<std::mutex> lock(g_mu);
  for (Connection* conn : registry()) {
    try {
      conn->cancel();
    } catch (...) {
    }
  }
  g_wake.notify_all();
}

}  // namespace

void install() {
  if (pipe(g_pipe) != 0) return;
  std::thread(watch).detach();
  struct sigaction sa = {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

bool requested() { return g_signal.load() != 0; }
int signal_number() { return g_signal.load(); }

void check() {
  int sig = g_signal.load();
  if (sig == 0) return;
  throw Error(ErrorKind::kInterrupted,
              fmt::format("stopped by {}", sig == SIGINT ? "Ctrl-C (SIGINT)" : "SIGTERM"));
}

void sleep_ms(long long ms) {
  std::unique_lock<std::mutex> lock(g_mu);
  g_wake.wait_for(lock, std::chrono::milliseconds(ms), [] { return requested(); });
}

CancelOnInterrupt::CancelOnInterrupt(Connection& conn) : conn_(&conn) {
  std::lock_guard<std::mutex> lock(g_mu);
  // A session opened after the stop was asked for is colshift's own
  // bookkeeping (recording where it stopped): not cancelled.
  registry().insert(conn_);
}

CancelOnInterrupt::~CancelOnInterrupt() {
  std::lock_guard<std::mutex> lock(g_mu);
  registry().erase(conn_);
}

}  // namespace colshift::interrupt
