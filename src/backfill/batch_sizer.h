// Batch sizing for the backfill: aim each batch at a target duration.
//
// After each batch, the size moves toward target/duration * size, using the
// 90th percentile of the last few batches' time-per-row so one fast batch does
// not cause a jump; growth is capped at `max_growth` per step, and a batch that
// ran more than `shrink_factor` times over target shrinks the size at once.
// A fixed size (fixed > 0) disables adaptation. Pure logic, no clock.
#pragma once

#include <chrono>
#include <deque>

namespace colshift::backfill {

struct BatchSizerOptions {
  int initial = 1000;
  int min = 100;
  int max = 50000;
  int fixed = 0;  // > 0: always this size
  std::chrono::milliseconds target{100};
  double max_growth = 1.5;
  double shrink_factor = 5.0;
  int window = 5;
};

class BatchSizer {
 public:
  explicit BatchSizer(BatchSizerOptions o);
  int size() const { return size_; }
  // Records a finished batch of `rows` that took `elapsed`; updates size().
  void record(int rows, std::chrono::nanoseconds elapsed);
  // After a lock timeout or deadlock: halve, within bounds.
  void back_off();
  // Aims at target * scale from the next batch on (0 < scale <= 1): the load
  // throttle asks for shorter batches while the app is slowed, so each holds
  // its rows' locks and puts its WAL in front of the app's commits for less.
  void set_target_scale(double scale);
  double target_scale() const { return scale_; }

 private:
  BatchSizerOptions o_;
  int size_;
  double scale_ = 1.0;
  std::deque<double> per_row_ns_;
};

}  // namespace colshift::backfill
