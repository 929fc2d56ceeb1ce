#include "umap.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "gemm.h"
#include "thread_pool.h"

namespace loupe {

namespace {

// Offers entries [0, len) of row (columns col0 + j) to a sorted best-k list holding `filled`.
// Almost every entry fails the first compare once the list is full.
inline long offer(const float* row, long len, long col0, long k, long filled, int* best_i, float* best_v) {
  for (long j = 0; j < len; ++j) {
    const float v = row[j];
    if (filled == k && v <= best_v[k - 1]) continue;
    long p = filled < k ? filled++ : k - 1;
    while (p > 0 && best_v[p - 1] < v) {
      best_v[p] = best_v[p - 1];
      best_i[p] = best_i[p - 1];
      --p;
    }
    best_v[p] = v;
    best_i[p] = static_cast<int>(col0 + j);
  }
  return filled;
}

inline void pad(long filled, long k, int* best_i, float* best_v) {
  for (long p = filled; p < k; ++p) {
    best_v[p] = -INFINITY;
    best_i[p] = -1;
  }
}

}  // namespace

void knn_exact(long q_begin, long q_end, long n, long dim, long k, const float* x, int* idx, float* vals) {
  constexpr long kRows = 64, kCols = 1024;
  ThreadPool::instance().parallel_for(q_end - q_begin, [&](long begin, long end, int) {
    std::vector<float> tile(kRows * kCols);
    std::vector<long> filled(kRows);
    for (long r0 = begin; r0 < end; r0 += kRows) {
      const long rows = std::min(kRows, end - r0);
      std::fill(filled.begin(), filled.end(), 0);
      for (long c0 = 0; c0 < n; c0 += kCols) {
        const long cols = std::min(kCols, n - c0);
        gemm(rows, cols, dim, x + (q_begin + r0) * dim, dim, 1, x + c0 * dim, dim, true, tile.data(), kCols, false);
        for (long i = 0; i < rows; ++i)
          filled[i] = offer(tile.data() + i * kCols, cols, c0, k, filled[i], idx + (r0 + i) * k, vals + (r0 + i) * k);
      }
      for (long i = 0; i < rows; ++i) pad(filled[i], k, idx + (r0 + i) * k, vals + (r0 + i) * k);
    }
  }, kRows);
}

namespace {

// xorshift64*: a fast, decent stream for picking negative samples.
inline uint32_t next_random(uint64_t& s) {
  s ^= s >> 12;
  s ^= s << 25;
  s ^= s >> 27;
  return static_cast<uint32_t>((s * 2685821657736338717ULL) >> 32);
}

inline float clip4(float v) { return v > 4.0f ? 4.0f : (v < -4.0f ? -4.0f : v); }

}  // namespace

void umap_epochs(long n_vertices, long edges, const int* head, const int* tail, const float* epochs_per_sample,
                 float* next_sample, float* next_negative, float* y, int from, int to, int n_epochs, float a, float b,
                 float gamma, float negative_rate, float learning_rate, uint32_t* rng_state) {
  uint64_t s = (static_cast<uint64_t>(rng_state[0]) << 32) | rng_state[1];
  if (s == 0) s = 0x9E3779B97F4A7C15ULL;
  const float ab2 = -2.0f * a * b, gb2 = 2.0f * gamma * b;
  for (int epoch = from; epoch < to; ++epoch) {
    const float alpha = learning_rate * (1.0f - static_cast<float>(epoch) / static_cast<float>(n_epochs));
    for (long e = 0; e < edges; ++e) {
      const float per = epochs_per_sample[e];
      if (per <= 0.0f || next_sample[e] > static_cast<float>(epoch)) continue;
      const int j = head[e], k = tail[e];
      float cx = y[2 * j], cy = y[2 * j + 1];
      const float dx = cx - y[2 * k], dy = cy - y[2 * k + 1];
      const float d2 = dx * dx + dy * dy;
      if (d2 > 0.0f) {
        const float pb = std::pow(d2, b);
        const float coeff = ab2 * pb / d2 / (a * pb + 1.0f);
        const float gx = clip4(coeff * dx) * alpha, gy = clip4(coeff * dy) * alpha;
        cx += gx;
        cy += gy;
        y[2 * k] -= gx;
        y[2 * k + 1] -= gy;
      }
      next_sample[e] += per;
      const float per_negative = per / negative_rate;
      const int negatives = static_cast<int>(std::floor((static_cast<float>(epoch) - next_negative[e]) / per_negative));
      for (int p = 0; p < negatives; ++p) {
        const long q = static_cast<long>(next_random(s) % static_cast<uint32_t>(n_vertices));
        if (q == j) continue;
        const float ox = cx - y[2 * q], oy = cy - y[2 * q + 1];
        const float q2 = ox * ox + oy * oy;
        if (q2 > 0.0f) {
          const float coeff = gb2 / ((0.001f + q2) * (a * std::pow(q2, b) + 1.0f));
          cx += clip4(coeff * ox) * alpha;
          cy += clip4(coeff * oy) * alpha;
        } else {
          cx += 4.0f * alpha;
          cy += 4.0f * alpha;
        }
      }
      y[2 * j] = cx;
      y[2 * j + 1] = cy;
      if (negatives > 0) next_negative[e] += static_cast<float>(negatives) * per_negative;
    }
  }
  rng_state[0] = static_cast<uint32_t>(s >> 32);
  rng_state[1] = static_cast<uint32_t>(s);
}

}  // namespace loupe
