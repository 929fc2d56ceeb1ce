#include "label_model.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "thread_pool.h"

namespace loupe {

// Rows go to the pool in large contiguous chunks; each worker sums into its own buffers and the
// buffers are added afterwards (cells are few: a few thousand at most), so no atomics.
void label_model_sums(const LabelModelShape& s, const int* used, const float* q, const int* row_start,
                      const int* entry_class, const int* entry_cell, bool abstain_per_class, double* mass_in,
                      double* mass_out, double* class_total, double* none_in, double* none_out) {
  const long k = s.classes, cells = s.cells;
  ThreadPool& pool = ThreadPool::instance();
  const int parts = pool.threads();
  const long width = 2 * cells + 3 * k;
  std::vector<double> scratch(static_cast<size_t>(parts) * width, 0.0);
  pool.parallel_for(
      s.used,
      [&](long begin, long end, int worker) {
        double* in = scratch.data() + static_cast<size_t>(worker) * width;
        double* out = in + cells;
        double* total = out + cells;
        double* n_in = total + k;
        double* n_out = n_in + k;
        std::vector<unsigned char> fired(static_cast<size_t>(k), 0);
        for (long u = begin; u < end; ++u) {
          const long i = used[u];
          const float* qi = q + i * k;
          for (long c = 0; c < k; ++c) total[c] += qi[c];
          for (long t = row_start[i]; t < row_start[i + 1]; ++t) {
            const double p = qi[entry_class[t]];
            in[entry_cell[t]] += p;
            out[entry_cell[t]] += 1.0 - p;
            fired[entry_class[t]] = 1;
          }
          if (!abstain_per_class) continue;
          for (long c = 0; c < k; ++c) {
            if (!fired[c]) n_in[c] += qi[c], n_out[c] += 1.0 - qi[c];
            fired[c] = 0;
          }
        }
      },
      4096);
  std::fill(mass_in, mass_in + cells, 0.0);
  std::fill(mass_out, mass_out + cells, 0.0);
  std::fill(class_total, class_total + k, 0.0);
  if (abstain_per_class) std::fill(none_in, none_in + k, 0.0), std::fill(none_out, none_out + k, 0.0);
  for (int w = 0; w < parts; ++w) {
    const double* in = scratch.data() + static_cast<size_t>(w) * width;
    for (long o = 0; o < cells; ++o) mass_in[o] += in[o], mass_out[o] += in[cells + o];
    for (long c = 0; c < k; ++c) class_total[c] += in[2 * cells + c];
    if (abstain_per_class)
      for (long c = 0; c < k; ++c) none_in[c] += in[2 * cells + k + c], none_out[c] += in[2 * cells + 2 * k + c];
  }
}

void label_model_posteriors(const LabelModelShape& s, const int* used, const int* known, const int* row_start,
                            const int* entry_class, const int* entry_cell, const double* base, const double* term,
                            const double* abstain, bool abstain_per_class, float* q) {
  const long k = s.classes;
  ThreadPool::instance().parallel_for(
      s.used,
      [&](long begin, long end, int) {
        std::vector<double> score(static_cast<size_t>(k));
        std::vector<unsigned char> fired(static_cast<size_t>(k), 0);
        for (long u = begin; u < end; ++u) {
          const long i = used[u];
          if (known && known[i] >= 0) continue;  // clamped
          for (long c = 0; c < k; ++c) score[c] = base[c];
          for (long t = row_start[i]; t < row_start[i + 1]; ++t) {
            const int c = entry_class[t];
            if (abstain_per_class && !fired[c]) fired[c] = 1, score[c] -= abstain[c];
            score[c] += term[entry_cell[t]];
          }
          if (abstain_per_class) std::fill(fired.begin(), fired.end(), 0);
          double max = -INFINITY, z = 0.0;
          for (long c = 0; c < k; ++c) max = std::max(max, score[c]);
          for (long c = 0; c < k; ++c) z += (score[c] = std::exp(score[c] - max));
          const double inv = 1.0 / z;
          float* qi = q + i * k;
          for (long c = 0; c < k; ++c) qi[c] = static_cast<float>(score[c] * inv);
        }
      },
      2048);
}

}  // namespace loupe
