#include "lint/types.h"

#include <algorithm>
#include <array>
#include <cctype>

namespace colshift::lint {

const char* severity_name(Severity s) {
  switch (s) {
    case Severity::kInfo:
      return "info";
    case Severity::kWarning:
      return "warning";
    case Severity::kError:
      return "error";
  }
  return "warning";
}

std::optional<Severity> parse_severity(const std::string& text) {
  if (text == "info") return Severity::kInfo;
  if (text == "warning" || text == "warn") return Severity::kWarning;
  if (text == "error") return Severity::kError;
  return std::nullopt;
}

namespace {

constexpr std::array<const char*, 9> kLockNames = {
    "",
    "AccessShareLock",
    "RowShareLock",
    "RowExclusiveLock",
    "ShareUpdateExclusiveLock",
    "ShareLock",
    "ShareRowExclusiveLock",
    "ExclusiveLock",
    "AccessExclusiveLock",
};

// Conflict sets from PostgreSQL's "Conflicting Lock Modes" table, one bit per
// LockMode value; the relation is symmetric.
constexpr unsigned bit(LockMode m) { return 1u << static_cast<unsigned>(m); }
constexpr unsigned conflict_set(LockMode m) {
  using L = LockMode;
  switch (m) {
    case L::kNone:
      return 0;
    case L::kAccessShare:
      return bit(L::kAccessExclusive);
    case L::kRowShare:
      return bit(L::kExclusive) | bit(L::kAccessExclusive);
    case L::kRowExclusive:
      return bit(L::kShare) | bit(L::kShareRowExclusive) | bit(L::kExclusive) |
             bit(L::kAccessExclusive);
    case L::kShareUpdateExclusive:
      return bit(L::kShareUpdateExclusive) | bit(L::kShare) | bit(L::kShareRowExclusive) |
             bit(L::kExclusive) | bit(L::kAccessExclusive);
    case L::kShare:
      return bit(L::kRowExclusive) | bit(L::kShareUpdateExclusive) | bit(L::kShareRowExclusive) |
             bit(L::kExclusive) | bit(L::kAccessExclusive);
    case L::kShareRowExclusive:
      return bit(L::kRowExclusive) | bit(L::kShareUpdateExclusive) | bit(L::kShare) |
             bit(L::kShareRowExclusive) | bit(L::kExclusive) | bit(L::kAccessExclusive);
    case L::kExclusive:
      return bit(L::kRowShare) | bit(L::kRowExclusive) | bit(L::kShareUpdateExclusive) |
             bit(L::kShare) | bit(L::kShareRowExclusive) | bit(L::kExclusive) |
             bit(L::kAccessExclusive);
    case L::kAccessExclusive:
      return 0x1FEu;
  }
  return 0;
}

}  // namespace

const char* lock_name(LockMode m) { return kLockNames[static_cast<size_t>(m)]; }

std::string lock_label(LockMode m) {
  std::string name = lock_name(m), out;
  if (name.size() > 4) name.resize(name.size() - 4);
  for (char c : name) {
    if (std::isupper(static_cast<unsigned char>(c)) && !out.empty()) out += ' ';
    out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return out;
}

LockMode parse_lock_name(const std::string& text) {
  std::string squashed;
  for (char c : text) {
    if (std::isalpha(static_cast<unsigned char>(c))) {
      squashed += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
  }
  if (squashed.size() > 4 && squashed.ends_with("lock")) squashed.resize(squashed.size() - 4);
  for (size_t i = 1; i < kLockNames.size(); ++i) {
    std::string name = kLockNames[i];
    name.resize(name.size() - 4);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (name == squashed) return static_cast<LockMode>(i);
  }
  return LockMode::kNone;
}

bool locks_conflict(LockMode held, LockMode wanted) {
  return (conflict_set(held) & bit(wanted)) != 0;
}

Blocks blocks_of(LockMode m) {
  return {locks_conflict(m, LockMode::kAccessShare), locks_conflict(m, LockMode::kRowExclusive),
          locks_conflict(m, LockMode::kShareUpdateExclusive)};
}

LockMode StatementFacts::strongest() const {
  LockMode best = LockMode::kNone;
  for (const auto& r : relations) {
    if (!r.created_here) best = std::max(best, r.lock);
  }
  return best;
}

Blocks StatementFacts::blocks() const { return blocks_of(strongest()); }

}  // namespace colshift::lint
