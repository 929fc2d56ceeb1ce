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

inline long count_at_least(const float* a, long k, float t) {
  int part[16] = {0};
  long j = 0;
  for (; j + 16 <= k; j += 16)
    for (int l = 0; l < 16; ++l) part[l] += a[j + l] >= t ? 1 : 0;
  long n = 0;
  for (; j < k; ++j) n += a[j] >= t;
  for (int l = 0; l < 16; ++l) n += part[l];
  return n;
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

// Entries below the row's max by more than cutoff / lambda are left out without an exp: the
// compare loop is cheap next to reading the row, so the pass runs at memory speed.
// Keeps the entries of row >= threshold (at most cap; returns false when more qualify) and the
// largest entry left out. Blocks of 16 whose max is under the threshold (nearly all) are skipped
// after one SIMD max.
inline bool fill_row(const float* row, const float* block_max, long k, float m, float threshold, float lambda, long cap,
                     float* v, int* c, long* kept, float* below_out) {
  long n = 0;
  bool overflow = false;
  float below = -INFINITY;
  auto visit = [&](long j) {
    if (row[j] < threshold) below = std::max(below, row[j]);
    else if (n < cap) {
      v[n] = std::exp(lambda * (row[j] - m));
      c[n++] = static_cast<int>(j);
    } else {
      overflow = true;
      below = std::max(below, row[j]);
    }
  };
  long j0 = 0;
  for (; j0 + 16 <= k; j0 += 16) {
    const float bm = block_max[j0 / 16];
    if (bm < threshold) below = std::max(below, bm);
    else
      for (long j = j0; j < j0 + 16; ++j) visit(j);
  }
  for (long j = j0; j < k; ++j) visit(j);
  *kept = n;
  *below_out = below;
  return !overflow;
}

// Entries below the row's max by more than cutoff / lambda are left out without an exp, so the
// pass runs near memory speed.
LOUPE_CLONES void sparsify_rows(long begin, long end, long k, float lambda, float cutoff, long cap, const float* logits,
                                float* vals, int* cols, int* count, float* dropped) {
  std::vector<float> block_max(k / 16 + 1);
  for (long i = begin; i < end; ++i) {
    const float* row = logits + i * k;
    // One read of the row: the max of each block of 16 (SIMD), then of those.
    const long blocks = k / 16;
    float m = -INFINITY;
    for (long b = 0; b < blocks; ++b) {
      const float* x = row + b * 16;
      float bm = x[0];
      for (int l = 1; l < 16; ++l) bm = std::max(bm, x[l]);
      block_max[b] = bm;
      m = std::max(m, bm);
    }
    for (long j = blocks * 16; j < k; ++j) m = std::max(m, row[j]);
    float* v = vals + i * cap;
    int* c = cols + i * cap;
    long n = 0;
    float below = -INFINITY;
    if (!fill_row(row, block_max.data(), k, m, m - cutoff / lambda, lambda, cap, v, c, &n, &below)) {
      // Rare (a flat row): raise the threshold by bisection until at most cap entries pass. Ties
      // at the max can still exceed cap; the fill then stops at cap and `dropped` reports a large
      // entry, so the caller's bound rejects the truncation.
      float lo = m - cutoff / lambda, hi = m;
      for (int step = 0; step < 30; ++step) {
        const float mid = 0.5f * (lo + hi);
        if (count_at_least(row, k, mid) > cap) lo = mid;
        else hi = mid;
      }
      fill_row(row, block_max.data(), k, m, hi, lambda, cap, v, c, &n, &below);
    }
    count[i] = static_cast<int>(n);
    dropped[i] = below == -INFINITY ? 0.0f : std::exp(lambda * (below - m));
  }
}

void sparse_pass_rows(long begin, long end, const float* vals, const int* cols, const int* row_ptr, const double* c,
                      const double* row_mass, bool uniform_rows, double* r, double* acc) {
  for (long i = begin; i < end; ++i) {
    const float* v = vals + row_ptr[i];
    const int* cj = cols + row_ptr[i];
    const int n = row_ptr[i + 1] - row_ptr[i];
    double dot = 0.0;
    for (int e = 0; e < n; ++e) dot += static_cast<double>(v[e]) * c[cj[e]];
    const double mass = uniform_rows ? row_mass[0] : row_mass[i];
    const double ri = dot > 0.0 ? mass / dot : 0.0;
    r[i] = ri;
    for (int e = 0; e < n; ++e) acc[cj[e]] += ri * v[e];
  }
}

}  // namespace

long sinkhorn_sparsify(long rows, long k, float lambda, float cutoff, long cap, const float* logits, float* vals,
                       int* cols, int* count, float* dropped) {
  ThreadPool::instance().parallel_for(rows, [&](long begin, long end, int) {
    sparsify_rows(begin, end, k, lambda, cutoff, cap, logits, vals, cols, count, dropped);
  }, 256);
  long total = 0;
  for (long i = 0; i < rows; ++i) total += count[i];
  return total;
}

void sinkhorn_compact(long rows, long cap, const float* slot_vals, const int* slot_cols, const int* count, float* vals,
                      int* cols, int* row_ptr) {
  long at = 0;
  for (long i = 0; i < rows; ++i) {
    row_ptr[i] = static_cast<int>(at);
    std::memcpy(vals + at, slot_vals + i * cap, sizeof(float) * count[i]);
    std::memcpy(cols + at, slot_cols + i * cap, sizeof(int) * count[i]);
    at += count[i];
  }
  row_ptr[rows] = static_cast<int>(at);
}

void sinkhorn_sparse_pass(long rows, long k, const float* vals, const int* cols, const int* row_ptr, const double* c,
                          const double* row_mass, bool uniform_rows, double* r, double* c_acc) {
  ThreadPool& pool = ThreadPool::instance();
  std::vector<double> total(static_cast<size_t>(pool.threads()) * k, 0.0);
  pool.parallel_for(rows, [&](long begin, long end, int w) {
    sparse_pass_rows(begin, end, vals, cols, row_ptr, c, row_mass, uniform_rows, r, total.data() + static_cast<size_t>(w) * k);
  }, 1024);
  for (int w = 0; w < pool.threads(); ++w)
    for (long j = 0; j < k; ++j) c_acc[j] += total[static_cast<size_t>(w) * k + j];
}

double sinkhorn_sparse_assign(long rows, long k, const float* vals, const int* cols, const int* row_ptr,
                              const float* dropped, const double* c, int* labels, float* confidence) {
  double c_max = 0.0;
  for (long j = 0; j < k; ++j) c_max = std::max(c_max, c[j]);
  ThreadPool& pool = ThreadPool::instance();
  std::vector<double> worst(pool.threads(), 0.0);
  pool.parallel_for(rows, [&](long begin, long end, int w) {
    double bound = 0.0;
    for (long i = begin; i < end; ++i) {
      double total = 0.0, best = -1.0;
      int arg = 0;
      for (int e = row_ptr[i]; e < row_ptr[i + 1]; ++e) {
        const double x = static_cast<double>(vals[e]) * c[cols[e]];
        total += x;
        if (x > best) {
          best = x;
          arg = cols[e];
        }
      }
      labels[i] = arg;
      confidence[i] = total > 0.0 ? static_cast<float>(best / total) : 0.0f;
      const double left_out = static_cast<double>(k - (row_ptr[i + 1] - row_ptr[i])) * dropped[i] * c_max;
      bound = std::max(bound, total > 0.0 ? left_out / total : (left_out > 0.0 ? INFINITY : 0.0));
    }
    worst[w] = std::max(worst[w], bound);
  }, 1024);
  return *std::max_element(worst.begin(), worst.end());
}

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
