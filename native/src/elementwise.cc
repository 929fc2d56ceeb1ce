#include "elementwise.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "thread_pool.h"

namespace loupe {

namespace {

constexpr long kMinChunk = 1 << 15;  // below this, waking the pool costs more than it saves

template <typename F>
void for_each_chunk(long size, F&& body) {
  ThreadPool::instance().parallel_for(size, [&](long b, long e, int) { body(b, e); }, kMinChunk);
}

// Per-channel sums over rows, reduced per thread (double, so 10⁷ rows keep their precision).
template <typename F>
void channel_sums(long rows, long c, int terms, F&& row_terms, std::vector<double>& out) {
  ThreadPool& pool = ThreadPool::instance();
  std::vector<std::vector<double>> partial(pool.threads());
  pool.parallel_for(rows, [&](long r0, long r1, int t) {
    std::vector<double>& acc = partial[t];
    acc.assign(terms * c, 0.0);
    std::vector<float> block(terms * c);
    // Accumulate 64 rows in float (vectorised), then fold into double.
    for (long r = r0; r < r1;) {
      const long end = std::min(r1, r + 64);
      std::fill(block.begin(), block.end(), 0.f);
      for (; r < end; ++r) row_terms(r, block.data());
      for (long i = 0; i < terms * c; ++i) acc[i] += block[i];
    }
  }, std::max<long>(1, kMinChunk / std::max<long>(1, c)));
  out.assign(terms * c, 0.0);
  for (const auto& acc : partial)
    if (!acc.empty())
      for (long i = 0; i < terms * c; ++i) out[i] += acc[i];
}

}  // namespace

void batch_norm_forward(long rows, long c, const float* x, const float* gamma, const float* beta, float eps, bool relu,
                        float* y, float* mean, float* var) {
  std::vector<double> sums;
  channel_sums(rows, c, 2, [&](long r, float* acc) {
    const float* xr = x + r * c;
    for (long j = 0; j < c; ++j) {
      acc[j] += xr[j];
      acc[c + j] += xr[j] * xr[j];
    }
  }, sums);
  std::vector<float> scale(c), shift(c);
  for (long j = 0; j < c; ++j) {
    const double m = sums[j] / rows;
    const double v = std::max(0.0, sums[c + j] / rows - m * m);
    mean[j] = static_cast<float>(m);
    var[j] = static_cast<float>(v);
    scale[j] = static_cast<float>(gamma[j] / std::sqrt(v + eps));
    shift[j] = static_cast<float>(beta[j] - m * scale[j]);
  }
  ThreadPool::instance().parallel_for(rows, [&](long r0, long r1, int) {
    for (long r = r0; r < r1; ++r) {
      const float* xr = x + r * c;
      float* yr = y + r * c;
      if (relu)
        for (long j = 0; j < c; ++j) yr[j] = std::max(0.f, xr[j] * scale[j] + shift[j]);
      else
        for (long j = 0; j < c; ++j) yr[j] = xr[j] * scale[j] + shift[j];
    }
  }, std::max<long>(1, kMinChunk / std::max<long>(1, c)));
}

template <bool RELU>
static void batch_norm_backward_impl(long rows, long c, const float* dy, const float* x, const float* y,
                                     const float* gamma, const float* mean, const float* var, float eps, float* dx,
                                     float* dgamma, float* dbeta) {
  std::vector<float> invstd(c);
  for (long j = 0; j < c; ++j) invstd[j] = 1.f / std::sqrt(var[j] + eps);
  ThreadPool& pool = ThreadPool::instance();
  std::vector<std::vector<double>> partial(pool.threads());
  const long min_rows = std::max<long>(1, kMinChunk / std::max<long>(1, c));
  pool.parallel_for(rows, [&](long r0, long r1, int t) {
    std::vector<double>& acc = partial[t];
    acc.assign(2 * c, 0.0);
    std::vector<float> sg(c), sgx(c);
    const float* mu = mean;
    for (long r = r0; r < r1;) {
      const long end = std::min(r1, r + 64);
      std::fill(sg.begin(), sg.end(), 0.f);
      std::fill(sgx.begin(), sgx.end(), 0.f);
      float* __restrict a = sg.data();
      float* __restrict b = sgx.data();
      for (; r < end; ++r) {
        const float* __restrict xr = x + r * c;
        const float* __restrict dyr = dy + r * c;
        const float* __restrict yr = y + r * c;
        for (long j = 0; j < c; ++j) {
          const float d = dyr[j];
          const float g = RELU ? (yr[j] > 0.f ? d : 0.f) : d;
          a[j] += g;
          b[j] += g * (xr[j] - mu[j]);
        }
      }
      for (long j = 0; j < c; ++j) {
        acc[j] += sg[j];
        acc[c + j] += sgx[j];
      }
    }
  }, min_rows);
  std::vector<double> sums(2 * c, 0.0);
  for (const auto& acc : partial)
    if (!acc.empty())
      for (long i = 0; i < 2 * c; ++i) sums[i] += acc[i];
  std::vector<float> a(c), b(c), d(c);
  for (long j = 0; j < c; ++j) {
    dbeta[j] = static_cast<float>(sums[j]);
    dgamma[j] = static_cast<float>(sums[c + j] * invstd[j]);
    // dx = γ·σ⁻¹·(g − Σg/M − x̂·Σ(g·x̂)/M), written as a·g + b·(x − μ) + d per channel
    // (centring x before scaling avoids cancellation when |μ| ≫ σ).
    a[j] = gamma[j] * invstd[j];
    b[j] = -a[j] * dgamma[j] * invstd[j] / rows;
    d[j] = -a[j] * dbeta[j] / rows;
  }
  pool.parallel_for(rows, [&](long r0, long r1, int) {
    const float* __restrict pa = a.data();
    const float* __restrict pb = b.data();
    const float* __restrict pd = d.data();
    const float* __restrict mu = mean;
    for (long r = r0; r < r1; ++r) {
      const float* __restrict xr = x + r * c;
      const float* __restrict dyr = dy + r * c;
      const float* __restrict yr = y + r * c;
      float* __restrict dxr = dx + r * c;
      for (long j = 0; j < c; ++j) {
        const float dv = dyr[j];
        const float g = RELU ? (yr[j] > 0.f ? dv : 0.f) : dv;
        dxr[j] = pa[j] * g + pb[j] * (xr[j] - mu[j]) + pd[j];
      }
    }
  }, min_rows);
}

void batch_norm_backward(long rows, long c, const float* dy, const float* x, const float* y, const float* gamma,
                         const float* mean, const float* var, float eps, bool relu, float* dx, float* dgamma,
                         float* dbeta) {
  if (relu)
    batch_norm_backward_impl<true>(rows, c, dy, x, y, gamma, mean, var, eps, dx, dgamma, dbeta);
  else
    batch_norm_backward_impl<false>(rows, c, dy, x, y, gamma, mean, var, eps, dx, dgamma, dbeta);
}

void add(long size, const float* a, const float* b, float* out) {
  for_each_chunk(size, [&](long s, long e) {
    for (long i = s; i < e; ++i) out[i] = a[i] + b[i];
  });
}

void add_relu(long size, const float* a, const float* b, float* out) {
  for_each_chunk(size, [&](long s, long e) {
    for (long i = s; i < e; ++i) out[i] = std::max(0.f, a[i] + b[i]);
  });
}

void relu_grad(long size, const float* dy, const float* y, float* out) {
  for_each_chunk(size, [&](long s, long e) {
    for (long i = s; i < e; ++i) { const float d = dy[i]; out[i] = y[i] > 0.f ? d : 0.f; }
  });
}

void global_avg_pool(long n, long hw, long c, const float* x, float* y) {
  ThreadPool::instance().parallel_for(n, [&](long n0, long n1, int) {
    std::vector<float> acc(c);
    for (long i = n0; i < n1; ++i) {
      std::fill(acc.begin(), acc.end(), 0.f);
      const float* xi = x + i * hw * c;
      for (long p = 0; p < hw; ++p)
        for (long j = 0; j < c; ++j) acc[j] += xi[p * c + j];
      for (long j = 0; j < c; ++j) y[i * c + j] = acc[j] / hw;
    }
  });
}

void global_avg_pool_grad(long n, long hw, long c, const float* dy, float* dx) {
  ThreadPool::instance().parallel_for(n, [&](long n0, long n1, int) {
    for (long i = n0; i < n1; ++i)
      for (long p = 0; p < hw; ++p)
        for (long j = 0; j < c; ++j) dx[(i * hw + p) * c + j] = dy[i * c + j] / hw;
  });
}

}  // namespace loupe

namespace loupe {
void adam_update(long size, const float* w, const float* g, const float* m, const float* v, float beta1, float beta2,
                 float step_size, float eps_hat, float l2, float decoupled, float* w_out, float* m_out, float* v_out) {
  ThreadPool::instance().parallel_for(size, [&](long s, long e, int) {
    for (long i = s; i < e; ++i) {
      const float gi = g[i] + l2 * w[i];
      const float mi = beta1 * m[i] + (1.f - beta1) * gi;
      const float vi = beta2 * v[i] + (1.f - beta2) * gi * gi;
      m_out[i] = mi;
      v_out[i] = vi;
      w_out[i] = w[i] - step_size * mi / (std::sqrt(vi) + eps_hat) - decoupled * w[i];
    }
  }, 1 << 15);
}
}  // namespace loupe

namespace loupe {
void max_pool(long n, long h, long w, long c, long kh, long kw, long sh, long sw, long pt, long pl, long oh, long ow,
              const float* x, float* y, int* argmax) {
  ThreadPool::instance().parallel_for(n, [&](long n0, long n1, int) {
    for (long i = n0; i < n1; ++i) {
      const float* xi = x + i * h * w * c;
      for (long yy = 0; yy < oh; ++yy)
        for (long xx = 0; xx < ow; ++xx) {
          float* out = y + ((i * oh + yy) * ow + xx) * c;
          int* arg = argmax + ((i * oh + yy) * ow + xx) * c;
          for (long k = 0; k < c; ++k) {
            out[k] = -std::numeric_limits<float>::infinity();
            arg[k] = -1;
          }
          for (long a = 0; a < kh; ++a) {
            const long iy = yy * sh - pt + a;
            if (iy < 0 || iy >= h) continue;
            for (long b = 0; b < kw; ++b) {
              const long ix = xx * sw - pl + b;
              if (ix < 0 || ix >= w) continue;
              const long base = (iy * w + ix) * c;
              for (long k = 0; k < c; ++k) {
                const float v = xi[base + k];
                if (v > out[k] || arg[k] < 0) {
                  out[k] = v;
                  arg[k] = static_cast<int>(base + k);
                }
              }
            }
          }
        }
    }
  });
}

void max_pool_grad(long n, long in_per_image, long out_per_image, const float* dy, const int* argmax, float* dx) {
  ThreadPool::instance().parallel_for(n, [&](long n0, long n1, int) {
    for (long i = n0; i < n1; ++i) {
      float* dxi = dx + i * in_per_image;
      std::fill(dxi, dxi + in_per_image, 0.f);
      const float* dyi = dy + i * out_per_image;
      const int* ai = argmax + i * out_per_image;
      for (long o = 0; o < out_per_image; ++o)
        if (ai[o] >= 0) dxi[ai[o]] += dyi[o];
    }
  });
}
}  // namespace loupe
