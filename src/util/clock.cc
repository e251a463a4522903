#include "util/clock.h"

#include <thread>

#include "util/interrupt.h"

namespace colshift {
namespace {

class RealClock : public Clock {
 public:
  TimePoint now() override { return std::chrono::steady_clock::now(); }
  // Wakes early on Ctrl-C, so backoffs and throttle waits never hold up a stop.
  void sleep_for(Duration d) override {
    interrupt::sleep_ms(std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
  }
  double random_unit() override { return dist_(rng_); }

 private:
  std::mt19937_64 rng_{std::random_device{}()};
  std::uniform_real_distribution<double> dist_{0.0, 1.0};
};

}  // namespace

Clock& Clock::real() {
  static RealClock clock;
  return clock;
}

}  // namespace colshift
