#include "augment_ops.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "thread_pool.h"

namespace loupe {

// Mirror without repeating the edge (tf.mirrorPad 'reflect'), so the composite op matches.
static inline long reflect(long i, long n) {
  if (n == 1) return 0;
  while (i < 0 || i >= n) i = i < 0 ? -i : 2 * (n - 1) - i;
  return i;
}

void crop_and_resize(long n, long h, long w, long c, const float* x, const float* boxes, long oh, long ow, float* out) {
  ThreadPool::instance().parallel_for(n, [&](long i0, long i1, int) {
    for (long i = i0; i < i1; ++i) {
      const float y1 = boxes[4 * i], x1 = boxes[4 * i + 1], y2 = boxes[4 * i + 2], x2 = boxes[4 * i + 3];
      const float hs = oh > 1 ? (y2 - y1) * (h - 1) / (oh - 1) : 0.f;
      const float ws = ow > 1 ? (x2 - x1) * (w - 1) / (ow - 1) : 0.f;
      const float* img = x + i * h * w * c;
      float* o = out + i * oh * ow * c;
      for (long y = 0; y < oh; ++y) {
        const float iy = oh > 1 ? y1 * (h - 1) + y * hs : 0.5f * (y1 + y2) * (h - 1);
        if (iy < 0 || iy > h - 1) {
          std::memset(o + y * ow * c, 0, ow * c * sizeof(float));
          continue;
        }
        const long top = static_cast<long>(std::floor(iy)), bottom = std::min(h - 1, top + 1);
        const float dy = iy - top;
        for (long xx = 0; xx < ow; ++xx) {
          float* px = o + (y * ow + xx) * c;
          const float ix = ow > 1 ? x1 * (w - 1) + xx * ws : 0.5f * (x1 + x2) * (w - 1);
          if (ix < 0 || ix > w - 1) {
            for (long k = 0; k < c; ++k) px[k] = 0.f;
            continue;
          }
          const long left = static_cast<long>(std::floor(ix)), right = std::min(w - 1, left + 1);
          const float dx = ix - left;
          const float *tl = img + (top * w + left) * c, *tr = img + (top * w + right) * c;
          const float *bl = img + (bottom * w + left) * c, *br = img + (bottom * w + right) * c;
          for (long k = 0; k < c; ++k) {
            const float t = tl[k] + (tr[k] - tl[k]) * dx;
            const float b = bl[k] + (br[k] - bl[k]) * dx;
            px[k] = t + (b - t) * dy;
          }
        }
      }
    }
  });
}

void color_affine(long n, long hw, long c, const float* x, const float* a, const float* t, float lo, float hi,
                  float* out) {
  ThreadPool::instance().parallel_for(n, [&](long i0, long i1, int) {
    for (long i = i0; i < i1; ++i) {
      const float* A = a + i * c * c;
      const float* T = t + i * c;
      const float* xi = x + i * hw * c;
      float* oi = out + i * hw * c;
      if (c == 3) {
        for (long p = 0; p < hw; ++p) {
          const float r = xi[3 * p], g = xi[3 * p + 1], b = xi[3 * p + 2];
          for (int k = 0; k < 3; ++k)
            oi[3 * p + k] = std::min(hi, std::max(lo, A[3 * k] * r + A[3 * k + 1] * g + A[3 * k + 2] * b + T[k]));
        }
      } else {
        for (long p = 0; p < hw; ++p)
          for (long k = 0; k < c; ++k) {
            float v = T[k];
            for (long j = 0; j < c; ++j) v += A[k * c + j] * xi[p * c + j];
            oi[p * c + k] = std::min(hi, std::max(lo, v));
          }
      }
    }
  });
}

void gaussian_blur(long n, long h, long w, long c, const float* x, const float* sigma, long radius, float* out) {
  ThreadPool::instance().parallel_for(n, [&](long i0, long i1, int) {
    std::vector<float> taps(2 * radius + 1), tmp(h * w * c);
    for (long i = i0; i < i1; ++i) {
      const float* xi = x + i * h * w * c;
      float* oi = out + i * h * w * c;
      if (!(sigma[i] > 0.f)) {
        std::memcpy(oi, xi, h * w * c * sizeof(float));
        continue;
      }
      float total = 0.f;
      for (long k = -radius; k <= radius; ++k) total += taps[k + radius] = std::exp(-0.5f * k * k / (sigma[i] * sigma[i]));
      for (auto& v : taps) v /= total;
      for (long y = 0; y < h; ++y)
        for (long xx = 0; xx < w; ++xx)
          for (long ch = 0; ch < c; ++ch) {
            float v = 0.f;
            for (long k = -radius; k <= radius; ++k) {
              const long xs = reflect(xx + k, w);
              v += taps[k + radius] * xi[(y * w + xs) * c + ch];
            }
            tmp[(y * w + xx) * c + ch] = v;
          }
      for (long y = 0; y < h; ++y)
        for (long xx = 0; xx < w; ++xx)
          for (long ch = 0; ch < c; ++ch) {
            float v = 0.f;
            for (long k = -radius; k <= radius; ++k) {
              const long ys = reflect(y + k, h);
              v += taps[k + radius] * tmp[(ys * w + xx) * c + ch];
            }
            oi[(y * w + xx) * c + ch] = v;
          }
    }
  });
}

void solarize_normalize(long n, long hw, long c, const float* x, const float* flags, float threshold,
                        const float* mean, const float* std, float* out) {
  std::vector<float> inv(c);
  for (long k = 0; k < c; ++k) inv[k] = 1.f / std[k];
  ThreadPool::instance().parallel_for(n, [&](long i0, long i1, int) {
    for (long i = i0; i < i1; ++i) {
      const bool sol = flags[i] != 0.f;
      const float* xi = x + i * hw * c;
      float* oi = out + i * hw * c;
      for (long p = 0; p < hw; ++p)
        for (long k = 0; k < c; ++k) {
          float v = xi[p * c + k];
          if (sol && v >= threshold) v = 1.f - v;
          oi[p * c + k] = (v - mean[k]) * inv[k];
        }
    }
  });
}

}  // namespace loupe
