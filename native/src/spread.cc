#include "spread.h"

#include <algorithm>
#include <vector>

#include "thread_pool.h"

namespace loupe {

void spread_diffuse(long n, long cols, long steps, const int* row_start, const int* col, const double* s,
                    const double* y, double keep, double* f, double* scratch) {
  ThreadPool& pool = ThreadPool::instance();
  double* from = f;
  double* to = scratch;
  for (long step = 0; step < steps; ++step) {
    pool.parallel_for(
        n,
        [&](long begin, long end, int) {
          std::vector<double> acc(static_cast<size_t>(cols));
          for (long i = begin; i < end; ++i) {
            const double* yi = y + i * cols;
            for (long c = 0; c < cols; ++c) acc[c] = keep * yi[c];
            for (long t = row_start[i]; t < row_start[i + 1]; ++t) {
              const double w = s[t];
              if (w == 0) continue;
              const double* fj = from + static_cast<long>(col[t]) * cols;
              for (long c = 0; c < cols; ++c) acc[c] += w * fj[c];
            }
            std::copy(acc.begin(), acc.end(), to + i * cols);
          }
        },
        256);
    std::swap(from, to);
  }
  if (from != f) std::copy(from, from + n * cols, f);
}

}  // namespace loupe
