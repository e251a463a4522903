// Deterministic crash points, for the fault suite (tests/integration/
// fault_suite_test.cc). Off unless the environment asks:
//
//   COLSHIFT_FAULT=<point>=exit        the process ends at once there, as kill -9 would
//   COLSHIFT_FAULT=<point>=disconnect  the session's link is cut there, the first time
//                                      the point is reached (the next statement finds
//                                      its connection gone; the retry may succeed)
//   COLSHIFT_FAULT_LOG=<file>          every point reached is appended to <file>
//
// A point is "<scope>.<where>": the runner names the scope ("start.step3",
// "complete.step6", "rollback.step1"; the backfill "backfill.batch2"), and
// the code that commits names where ("before-commit", "after-commit").
#pragma once

#include <string>

namespace colshift {

class Connection;

namespace fault {

// While alive, points hit on this thread are named "<scope>.<where>".
class Scope {
 public:
  explicit Scope(std::string scope);
  ~Scope();
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

 private:
  std::string previous_;
};

// The current scope ("" when none), to name a nested one.
const std::string& current();

// Reached point "<current scope>.<where>": logs it, and acts when it is the
// configured point. `conn` is the session a "disconnect" ends. No-op when
// there is no scope.
void hit(const std::string& where, Connection& conn);

}  // namespace fault
}  // namespace colshift
