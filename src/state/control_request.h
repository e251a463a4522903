// What pause, resume and abort do, wherever they are asked for: the
// `colshift pause/resume/abort` commands and the buttons of `colshift serve
// --allow-control`.
#pragma once

#include <string>

#include "state/state.h"

namespace colshift::state {

// Throws Error(kUsage) when colshift is not initialised, Error(kConflict)
// when no colshift start is running (the settings address the running start:
// a run clears them when it begins). `command` names the action in messages.
void require_running_start(StateStore& store, const std::string& command);

// "pause", "resume" or "abort": checks require_running_start(), then sets the
// control row (and writes the event: paused, resumed, abort_requested).
// Throws Error(kUsage) for another action.
void request_control(StateStore& store, const std::string& action);

}  // namespace colshift::state
