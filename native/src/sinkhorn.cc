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

// Dot product with 16 independent partial sums: without -ffast-math the compiler may not reorder
// a single float accumulator, which would serialise the loop on the add latency.
inline float dot16(const float* a, const float* b, long k) {
  float part[16] = {0};
  long j = 0;
  for (; j + 16 <= k; j += 16)
    for (int l = 0; l < 16; ++l) part[l] += a[j + l] * b[j + l];
  float s = 0.0f;
  for (; j < k; ++j) s += a[j] * b[j];
  for (int l = 0; l < 16; ++l) s += part[l];
  return s;
}

inline float max16(const float* a, long k) {
  float part[16];
  for (int l = 0; l < 16; ++l) part[l] = a[0];
  long j = 0;
  for (; j + 16 <= k; j += 16)
    for (int l = 0; l < 16; ++l) part[l] = std::max(part[l], a[j + l]);
  float m = a[0];
  for (; j < k; ++j) m = std::max(m, a[j]);
  for (int l = 0; l < 16; ++l) m = std::max(m, part[l]);
  return m;
}

// The row loops are compiled for AVX-512, AVX2 and the baseline, picked at load time (GCC on
// x86-64 Linux; elsewhere the baseline build).
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define LOUPE_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define LOUPE_CLONES
#endif

LOUPE_CLONES void prepare_rows(long begin, long end, long k, float lambda, float* a, double* shift) {
  for (long i = begin; i < end; ++i) {
    float* row = a + i * k;
    const float m = max16(row, k);
    for (long j = 0; j < k; ++j) row[j] = fast_exp(lambda * (row[j] - m));
    shift[i] = static_cast<double>(lambda) * m;
  }
}

LOUPE_CLONES void pass_rows(long begin, long end, long k, const float* a, const float* cv, const double* row_mass,
                            bool uniform_rows, double* r, float* acc, double* sum) {
  long in_block = 0;
  for (long i = begin; i < end; ++i) {
    const float* row = a + i * k;
    const float dot = dot16(row, cv, k);
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
}

LOUPE_CLONES void assign_rows(long begin, long end, long k, const float* a, const float* cf, int* labels, float* confidence) {
  for (long i = begin; i < end; ++i) {
    const float* row = a + i * k;
    const float total = dot16(row, cf, k);
    float best = -1.0f;
    int arg = 0;
    for (long j = 0; j < k; ++j) {
      const float v = row[j] * cf[j];
      if (v > best) {
        best = v;
        arg = static_cast<int>(j);
      }
    }
    labels[i] = arg;
    confidence[i] = total > 0.0f ? best / total : 0.0f;
  }
}

}  // namespace

void sinkhorn_prepare(long rows, long k, float lambda, float* a, double* shift) {
  ThreadPool::instance().parallel_for(rows, [&](long begin, long end, int) { prepare_rows(begin, end, k, lambda, a, shift); }, 64);
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
    pass_rows(begin, end, k, a, cf.data(), row_mass, uniform_rows, r, block.data() + static_cast<size_t>(w) * k,
              total.data() + static_cast<size_t>(w) * k);
  }, 256);
  for (int w = 0; w < threads; ++w)
    for (long j = 0; j < k; ++j) c_acc[j] += total[static_cast<size_t>(w) * k + j];
}

void sinkhorn_assign(long rows, long k, const float* a, const double* c, int* labels, float* confidence) {
  std::vector<float> cf(k);
  for (long j = 0; j < k; ++j) cf[j] = static_cast<float>(c[j]);
  ThreadPool::instance().parallel_for(rows, [&](long begin, long end, int) { assign_rows(begin, end, k, a, cf.data(), labels, confidence); }, 256);
}

}  // namespace loupe
