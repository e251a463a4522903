// .colshift.yaml, `lint:` section. Found by walking up from the working
// directory; every key is optional:
//
//   lint:
//     pg_version: 15            # 11..17, or "14.2" for a minor release
//     timezone: UTC             # the servers' TimeZone (timestamp -> timestamptz)
//     assume_lock_timeout: true # the runner sets lock_timeout for every statement
//     transactions: per-file    # how files run: auto | none | per-file | a runner
//                               # (diesel, sqlx, golang-migrate, flyway, pop, prisma,
//                               # dbmate, goose, psql); see lint/runner.h
//     down: info                # down migrations: info | lint | skip
//     rules:                    # per rule: off | on | info | warning | error
//       prefer-text: off
//       drop-column: error
//     exclude:                  # paths (globs, relative to the config's folder)
//       - migrations/legacy/*
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "lint/runner.h"
#include "lint/types.h"

namespace colshift::lint {

struct LintConfig {
  std::string path;    // the file it came from; "" when none
  int pg_version = 0;  // 0: not set
  std::string timezone;
  bool assume_lock_timeout = false;
  std::optional<TransactionMode> transactions;  // unset: auto
  std::optional<DownMode> down;                 // unset: info
  std::map<std::string, bool> enabled;          // rule id -> on/off
  std::map<std::string, Severity> severity;     // rule id -> override
  std::vector<std::string> exclude;             // globs, made absolute

  // True when `file` matches an exclude glob.
  bool excluded(const std::string& file) const;
};

// The nearest .colshift.yaml in `dir` or a parent; nullopt when none.
std::optional<std::string> find_config(const std::string& dir);

// Loads `path`. Throws Error(kBadInput) at file:line:col for a malformed
// file, an unknown rule id or an unknown setting.
LintConfig load_config(const std::string& path);

// "15" -> 150000, "14.2" -> 140002, "150004" -> 150004. Throws Error(kUsage)
// naming `what` for anything else or a version outside 10..17.
int parse_pg_version(const std::string& text, const std::string& what);

}  // namespace colshift::lint
