#include "state/control_request.h"

#include <fmt/format.h>

#include "util/error.h"

namespace colshift::state {

void require_running_start(StateStore& store, const std::string& command) {
  if (!store.initialized()) {
    throw Error(ErrorKind::kUsage,
                "colshift is not initialised in this database; nothing to control");
  }
  auto active = store.active();
  const bool starting = active && (active->phase == kExpanding || active->phase == kBackfilling ||
                                   active->phase == kFinishing);
  if (!starting || !store.lock_held()) {
    throw Error(
        ErrorKind::kConflict,
        fmt::format("nothing to {}: no colshift start is running{}", command,
                    active ? fmt::format(" (migration '{}' is {})", active->name, active->phase)
                           : std::string()),
        {},
        "pause, resume, throttle and abort act on a running start only; 'colshift "
        "start FILE' resumes a stopped one (with its own --max-rate and other flags), "
        "'colshift rollback' undoes it");
  }
}

void request_control(StateStore& store, const std::string& action) {
  const char* assignment = action == "pause"    ? "paused = true"
                           : action == "resume" ? "paused = false"
                           : action == "abort"  ? "abort_requested = true"
                                                : nullptr;
  if (!assignment) throw Error(ErrorKind::kUsage, fmt::format("no control action '{}'", action));
  require_running_start(store, action);
  store.update_control(assignment, {});
  store.event(0, "",
              action == "pause"    ? "paused"
              : action == "resume" ? "resumed"
                                   : "abort_requested");
}

}  // namespace colshift::state
