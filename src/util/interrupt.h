// Ctrl-C and SIGTERM. The first signal asks colshift to stop: every
// registered connection's running statement is cancelled on the server (so no
// CREATE INDEX CONCURRENTLY or backfill batch runs on without us), sleeps end
// early, and the command unwinds normally: the state table records where it
// stopped and the command says what to run next. A second signal ends the
// process at once (everything colshift does is recorded or idempotent).
#pragma once

#include <mutex>

namespace colshift {

class Connection;

namespace interrupt {

// Installs the handlers and the thread that cancels statements. Call once, from main.
void install();
// Whether a stop was asked for, and by which signal (0: none).
bool requested();
int signal_number();
// Throws Error(kInterrupted) when a stop was asked for.
void check();
// Sleeps for up to `ms`, returning early when a stop is asked for.
void sleep_ms(long long ms);

// While alive, an interrupt cancels what `conn` is running. REQUIRES: `conn`
// outlives this object.
class CancelOnInterrupt {
 public:
  explicit CancelOnInterrupt(Connection& conn);
  ~CancelOnInterrupt();
  CancelOnInterrupt(const CancelOnInterrupt&) = delete;
  CancelOnInterrupt& operator=(const CancelOnInterrupt&) = delete;

 private:
  Connection* conn_;
};

}  // namespace interrupt
}  // namespace colshift
