#include "backfill/batch_sizer.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace colshift::backfill {

BatchSizer::BatchSizer(BatchSizerOptions o) : o_(o) {
  size_ = o_.fixed > 0 ? o_.fixed : std::clamp(o_.initial, o_.min, o_.max);
}

void BatchSizer::record(int rows, std::chrono::nanoseconds elapsed) {
  if (o_.fixed > 0 || rows <= 0) return;
  const double target_ns =
      scale_ * static_cast<double>(std::chrono::nanoseconds(o_.target).count());
  const double took = static_cast<double>(elapsed.count());
  if (took > o_.shrink_factor * target_ns) {
    // Far over target: shrink at once to what would have met it.
    per_row_ns_.clear();
    per_row_ns_.push_back(took / rows);
    size_ = std::clamp(static_cast<int>(target_ns / (took / rows)), o_.min, o_.max);
    return;
  }
  per_row_ns_.push_back(took / rows);
  while (static_cast<int>(per_row_ns_.size()) > o_.window) per_row_ns_.pop_front();
  std::vector<double> sorted(per_row_ns_.begin(), per_row_ns_.end());
  std::sort(sorted.begin(), sorted.end());
  // Nearest-rank 90th percentile: with few samples it is the slowest, so one
  // fast batch never lowers the estimate (floor(0.9 * (n - 1)) picked the
  // fastest of two).
  double p90 = sorted[static_cast<size_t>(std::ceil(0.9 * static_cast<double>(sorted.size()))) - 1];
  double ideal = p90 > 0 ? target_ns / p90 : o_.max;
  double next = std::min(ideal, size_ * o_.max_growth);
  size_ = std::clamp(static_cast<int>(next), o_.min, o_.max);
}

void BatchSizer::set_target_scale(double scale) {
  if (o_.fixed > 0) return;
  const double next = std::clamp(scale, 0.01, 1.0);
  if (next < scale_ && !per_row_ns_.empty()) {
    // Shorter at once: the next batch already meets the smaller target.
    const double per_row = *std::max_element(per_row_ns_.begin(), per_row_ns_.end());
    const double target_ns =
        next * static_cast<double>(std::chrono::nanoseconds(o_.target).count());
    size_ = std::clamp(std::min(size_, static_cast<int>(target_ns / per_row)), o_.min, o_.max);
  }
  scale_ = next;
}

void BatchSizer::back_off() {
  if (o_.fixed > 0) return;
  size_ = std::clamp(size_ / 2, o_.min, o_.max);
}

}  // namespace colshift::backfill
