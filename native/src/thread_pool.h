// A small persistent thread pool: parallel_for splits [0, n) into contiguous chunks, one per
// worker, and the calling thread takes the first chunk. A training step issues a few hundred
// parallel kernels a few hundred microseconds apart, so workers spin briefly before sleeping and
// the caller spins for the stragglers: a condition-variable wake-up alone costs tens of µs each.
#pragma once
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace loupe {

class ThreadPool {
 public:
  static ThreadPool& instance();
  void set_threads(int n);
  int threads() const { return static_cast<int>(workers_.size()) + 1; }
  // fn(begin, end, worker_index); chunks are balanced, at most threads() of them.
  void parallel_for(long n, const std::function<void(long, long, int)>& fn, long min_chunk = 1);

 private:
  ThreadPool();
  ~ThreadPool();
  void stop();
  void worker_loop(int index, long seen);

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::mutex call_mutex_;  // one parallel_for at a time (kernels may be called from several JS threads)
  std::condition_variable wake_;
  const std::function<void(long, long, int)>* task_ = nullptr;
  long n_ = 0;
  int chunks_ = 0;
  std::atomic<long> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<int> sleeping_{0};
  std::atomic<bool> stopping_{false};
};

}  // namespace loupe
