#include "thread_pool.h"

#include <chrono>
#include <cstdlib>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
static inline void cpu_relax() { _mm_pause(); }
#else
static inline void cpu_relax() { std::this_thread::yield(); }
#endif

namespace loupe {

namespace {
constexpr auto kSpin = std::chrono::microseconds(200);
}

ThreadPool& ThreadPool::instance() {
  static ThreadPool pool;
  return pool;
}

ThreadPool::ThreadPool() {
  int n = static_cast<int>(std::thread::hardware_concurrency());
  if (const char* env = std::getenv("LOUPE_THREADS")) n = std::atoi(env);
  set_threads(n);
}

ThreadPool::~ThreadPool() { stop(); }

void ThreadPool::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
  workers_.clear();
  stopping_ = false;
}

void ThreadPool::set_threads(int n) {
  n = std::max(1, std::min(n, 256));
  if (n == threads()) return;
  stop();
  // The generation is read here, not by the new thread: a parallel_for issued before the thread
  // first runs (the pool is created by the first call) must still be seen as new work.
  const long start = generation_.load();
  for (int i = 1; i < n; ++i) workers_.emplace_back([this, i, start] { worker_loop(i, start); });
}

static void run_chunk(const std::function<void(long, long, int)>& fn, long n, int chunks, int index) {
  long begin = n * index / chunks, end = n * (index + 1) / chunks;
  if (begin < end) fn(begin, end, index);
}

void ThreadPool::worker_loop(int index, long seen) {
  for (;;) {
    // Spin a little: the next kernel usually follows within microseconds.
    const auto until = std::chrono::steady_clock::now() + kSpin;
    while (generation_.load() == seen && !stopping_.load() && std::chrono::steady_clock::now() < until) {
      for (int i = 0; i < 64; ++i) cpu_relax();
    }
    if (generation_.load() == seen && !stopping_.load()) {
      std::unique_lock<std::mutex> lock(mutex_);
      sleeping_.fetch_add(1);
      wake_.wait(lock, [&] { return stopping_.load() || generation_.load() != seen; });
      sleeping_.fetch_sub(1);
    }
    if (stopping_.load()) return;
    seen = generation_.load();
    if (index < chunks_) run_chunk(*task_, n_, chunks_, index);
    pending_.fetch_sub(1);
  }
}

void ThreadPool::parallel_for(long n, const std::function<void(long, long, int)>& fn, long min_chunk) {
  if (n <= 0) return;
  int chunks = static_cast<int>(std::min<long>(threads(), std::max<long>(1, n / std::max<long>(1, min_chunk))));
  if (chunks <= 1 || workers_.empty()) {
    fn(0, n, 0);
    return;
  }
  std::lock_guard<std::mutex> serial(call_mutex_);
  task_ = &fn;
  n_ = n;
  chunks_ = chunks;
  pending_.store(static_cast<int>(workers_.size()));
  generation_.fetch_add(1);  // publishes task_, n_, chunks_ (seq_cst)
  if (sleeping_.load() > 0) {
    std::lock_guard<std::mutex> lock(mutex_);
    wake_.notify_all();
  }
  run_chunk(fn, n, chunks, 0);
  while (pending_.load() != 0) cpu_relax();
}

}  // namespace loupe
