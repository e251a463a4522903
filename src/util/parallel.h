// Running f(0) .. f(n - 1) on a few threads.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <thread>
#include <vector>

namespace colshift::util {

// The number of threads `jobs` asks for: 0 means one per core.
inline unsigned thread_count(unsigned jobs) {
  return jobs ? jobs : std::max(1u, std::thread::hardware_concurrency());
}

// Calls f(i) for every i in [0, n), on up to thread_count(jobs) threads (this
// one among them); each thread takes the next index. Returns when all are
// done. f must not throw.
template <typename F>
void parallel_for(size_t n, unsigned jobs, F&& f) {
  size_t threads = std::min<size_t>(thread_count(jobs), n);
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next++; i < n; i = next++) f(i);
  };
  if (threads <= 1) {
    work();
    return;
  }
  std::vector<std::thread> workers;
  for (size_t t = 1; t < threads; ++t) workers.emplace_back(work);
  work();
  for (auto& w : workers) w.join();
}

}  // namespace colshift::util
