// The seam for time: every sleep and every "now" in backoff, throttling and
// progress goes through a Clock, so that logic is tested without waiting.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>

namespace colshift {

class Clock {
 public:
  using Duration = std::chrono::nanoseconds;
  using TimePoint = std::chrono::steady_clock::time_point;
  virtual ~Clock() = default;
  virtual TimePoint now() = 0;
  virtual void sleep_for(Duration d) = 0;
  // A uniformly random value in [0, 1) for jitter.
  virtual double random_unit() = 0;

  // The process-wide real clock.
  static Clock& real();
};

// A clock for tests: time moves only when something sleeps or advance() is called.
class FakeClock : public Clock {
 public:
  TimePoint now() override { return now_; }
  void sleep_for(Duration d) override {
    now_ += d;
    slept_ += d;
  }
  double random_unit() override { return random_; }
  void advance(Duration d) { now_ += d; }
  void set_random(double r) { random_ = r; }
  Duration total_slept() const { return slept_; }

 private:
  TimePoint now_{};
  Duration slept_{};
  double random_ = 0.5;
};

}  // namespace colshift
