// Running DDL without making production queue behind it.
//
// Every transactional step runs as: BEGIN; SET LOCAL lock_timeout; [done
// check]; statements; record done; COMMIT. When the lock is not granted within
// lock_timeout (55P03) or the step loses a deadlock (40P01), the transaction
// is rolled back, colshift waits (exponential backoff with full jitter,
// base..cap) and tries again, up to `attempts`; then it fails cleanly with the
// sessions that held the lock named in the message.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "dialect/connection.h"
#include "util/clock.h"

namespace colshift::run {

struct RetryPolicy {
  std::chrono::milliseconds lock_timeout{500};
  int attempts = 30;
  std::chrono::milliseconds base{100};
  std::chrono::milliseconds cap{5000};
};

// The wait before retry number `attempt` (1-based): a uniform draw in
// [0, min(cap, base * 2^(attempt-1))], never below 10 ms.
std::chrono::milliseconds backoff_delay(const RetryPolicy& p, int attempt, Clock& clock);

// Called on each retry with the attempt number and the error.
using RetryLog = std::function<void(int attempt, const std::string& message)>;

// Runs `statements` in one transaction under lock_timeout with retries.
// `done_check` (may be empty) runs first inside the transaction; when it
// returns true the statements are skipped. `record` runs inside the same
// transaction before COMMIT (to record the step done). Returns false when the
// done check skipped the statements. Throws Error(kLockTimeout) after the last
// attempt, DbError for other failures.
bool run_transactional(Connection& conn, const std::vector<std::string>& statements,
                       const std::string& done_check, const std::function<void()>& record,
                       const RetryPolicy& policy, Clock& clock, const std::string& lock_table,
                       const RetryLog& log);

// Runs statements one by one outside a transaction (CREATE/DROP INDEX
// CONCURRENTLY): lock waits there block no reads or writes, so lock_timeout is
// set to `session_lock_timeout` (0 = wait) and retryable errors retry.
void run_outside_transaction(Connection& conn, const std::vector<std::string>& statements,
                             std::chrono::milliseconds session_lock_timeout,
                             const RetryPolicy& policy, Clock& clock, const RetryLog& log);

// The sessions holding locks on `table` ("schema.table"), for messages:
// "pid 123 (idle in transaction for 41 s: UPDATE users ...)".
std::string describe_lock_holders(Connection& conn, const std::string& table);

}  // namespace colshift::run
