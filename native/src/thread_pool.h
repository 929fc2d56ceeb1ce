// A small persistent thread pool: parallel_for splits [0, n) into contiguous chunks, one per
// worker, and the calling thread takes the first chunk. Kernels are called synchronously from JS
// (the training loop already runs off the UI thread), so one pool per process is enough.
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
  void worker_loop(int index);

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  const std::function<void(long, long, int)>* task_ = nullptr;
  long n_ = 0;
  int chunks_ = 0;
  long generation_ = 0;
  int pending_ = 0;
  bool stopping_ = false;
};

}  // namespace loupe
