#include "sinkhorn.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "thread_pool.h"

namespace loupe {

namespace {

// exp for x <= 0 in float, written to auto-vectorise (std::exp does not without -ffast-math):
// 2^(x log2 e) split into integer and fraction, degree-6 polynomial on the fraction; relative
// error < 2e-7, and 0 below float's range.
inline float fast_exp(float x) {
  x = std::max(x, -87.0f);
  const float t = x * 1.44269504089f;
  const float fi = std::floor(t);
  const float f = t - fi;
  float p = 1.535336188319500e-4f;
  p = p * f + 1.339887440266574e-3f;
  p = p * f + 9.618437357674640e-3f;
  p = p * f + 5.550332471162809e-2f;
  p = p * f + 2.402264791363012e-1f;
  p = p * f + 6.931472028550421e-1f;
  p = p * f + 1.0f;
  int32_t bits;
  std::memcpy(&bits, &p, 4);
  bits += static_cast<int32_t>(fi) << 23;
  float out;
  std::memcpy(&out, &bits, 4);
  return out;
}

}  // namespace

void sinkhorn_prepare(long rows, long k, float lambda, float* a, double* shift) {
  ThreadPool::instance().parallel_for(rows, [&](long begin, long end, int) {
    for (long i = begin; i < end; ++i) {
      float* row = a + i * k;
      float m = row[0];
      for (long j = 1; j < k; ++j) m = std::max(m, row[j]);
      for (long j = 0; j < k; ++j) row[j] = fast_exp(lambda * (row[j] - m));
      shift[i] = static_cast<double>(lambda) * m;
    }
  }, 64);
}

void sinkhorn_pass(long rows, long k, const float* a, const double* c, const double* row_mass, bool uniform_rows,
                   double* r, double* c_acc) {
  ThreadPool& pool = ThreadPool::instance();
  const int threads = pool.threads();
  std::vector<float> cf(k);
  for (long j = 0; j < k; ++j) cf[j] = static_cast<float>(c[j]);
  // Per worker: a float accumulator for a block of rows, flushed into a double one, so a million
  // rows lose no precision and the inner loop stays single-precision SIMD.
  std::vector<float> block(static_cast<size_t>(threads) * k, 0.0f);
  std::vector<double> total(static_cast<size_t>(threads) * k, 0.0);
  pool.parallel_for(rows, [&](long begin, long end, int w) {
    float* acc = block.data() + static_cast<size_t>(w) * k;
    double* sum = total.data() + static_cast<size_t>(w) * k;
    const float* cv = cf.data();
    long in_block = 0;
    for (long i = begin; i < end; ++i) {
      const float* row = a + i * k;
      float dot = 0.0f;
      for (long j = 0; j < k; ++j) dot += row[j] * cv[j];
      const double mass = uniform_rows ? row_mass[0] : row_mass[i];
      const double ri = dot > 0.0f ? mass / static_cast<double>(dot) : 0.0;
      r[i] = ri;
      const float rf = static_cast<float>(ri);
      for (long j = 0; j < k; ++j) acc[j] += rf * row[j];
      if (++in_block == 64 || i + 1 == end) {
        for (long j = 0; j < k; ++j) {
          sum[j] += acc[j];
          acc[j] = 0.0f;
        }
        in_block = 0;
      }
    }
  }, 256);
  for (int w = 0; w < threads; ++w)
    for (long j = 0; j < k; ++j) c_acc[j] += total[static_cast<size_t>(w) * k + j];
}

void sinkhorn_assign(long rows, long k, const float* a, const double* c, int* labels, float* confidence) {
  std::vector<float> cf(k);
  for (long j = 0; j < k; ++j) cf[j] = static_cast<float>(c[j]);
  ThreadPool::instance().parallel_for(rows, [&](long begin, long end, int) {
    for (long i = begin; i < end; ++i) {
      const float* row = a + i * k;
      float best = -1.0f, total = 0.0f;
      int arg = 0;
      for (long j = 0; j < k; ++j) {
        const float v = row[j] * cf[j];
        total += v;
        if (v > best) {
          best = v;
          arg = static_cast<int>(j);
        }
      }
      labels[i] = arg;
      confidence[i] = total > 0.0f ? best / total : 0.0f;
    }
  }, 256);
}

}  // namespace loupe
