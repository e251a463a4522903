// Throttle signals checked before every backfill batch. Each check returns the
// reason to wait ("replica lag 2.3 s > 1 s on standby1"), or an empty string
// when the batch may run.
//
// Replica lag is measured in time, not bytes, and without connecting to the
// standbys: the primary's WAL position is sampled with the server's clock
// before every check. A standby reports (pg_stat_replication.reply_time) that
// it had replayed up to L; the primary's WAL first passed L at time T; so at
// reply_time it was at least reply_time - T behind. A standby that stops
// replaying (paused, stuck, slow disk) keeps replying (on new WAL, and every
// wal_receiver_status_interval) with the same L, so its lag grows even while
// the backfill waits; a healthy one catches up and reports it within one
// status interval. pg_stat_replication.replay_lag cannot serve: it freezes
// at its last value when replay stops. When the lag cannot be read
// (permission, query failure) the check fails closed: the backfill waits and
// says why.
#pragma once

#include <chrono>
#include <deque>
#include <optional>
#include <string>

#include "dialect/connection.h"
#include "util/clock.h"

namespace colshift::backfill {

struct ThrottleSettings {
  std::chrono::milliseconds max_replica_lag{1000};  // 0: do not check replicas
  int max_lock_waiters = 4;                         // sessions waiting on locks; < 0: do not check
  std::string probe_sql;                            // user probe returning one number; empty: none
  double probe_max = 0;                             // wait while probe value > probe_max
  double max_rate = 0;                              // rows/s ceiling; 0: none
  std::chrono::milliseconds wait_step{250};         // sleep between re-checks while throttled
};

class Throttle {
 public:
  Throttle(Clock& clock) : clock_(clock) {}

  // Checks every signal on `conn` (the backfill's session, between
  // transactions). `table` is the quoted, qualified table being filled.
  std::string check(Connection& conn, const ThrottleSettings& s, const std::string& table);

  // The replica lag check alone (exposed for tests). Returns the reason or "".
  std::string check_replicas(Connection& conn, std::chrono::milliseconds max_lag);

  // Worst lag seen at the last check, in seconds (-1 when no standby).
  double last_lag_seconds() const { return last_lag_; }

 private:
  struct Sample {
    double at;  // server clock, epoch seconds
    unsigned long long lsn;
  };
  void sample(Connection& conn);
  double lag_seconds(unsigned long long replay_lsn, double reply_at) const;

  Clock& clock_;
  std::deque<Sample> wal_;  // primary WAL positions, oldest first
  double last_lag_ = -1;
};

// Parses "16/B374D848" to a byte position.
unsigned long long parse_lsn(const std::string& text);

}  // namespace colshift::backfill
