// Table-level lock modes, weakest first: PostgreSQL's eight (docs: "Explicit
// Locking"), the reference other dialects map onto. One enum for the planner
// (the lock a step takes) and the linter (the lock a statement takes).
#pragma once

namespace colshift {

enum class LockMode {
  kNone,
  kAccessShare,
  kRowShare,
  kRowExclusive,
  kShareUpdateExclusive,
  kShare,
  kShareRowExclusive,
  kExclusive,
  kAccessExclusive,
};

}  // namespace colshift
