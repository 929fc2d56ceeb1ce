#include "conv.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "gemm.h"
#include "thread_pool.h"

namespace loupe {

namespace {

constexpr long kBlockRows = 192;  // a multiple of every micro-kernel height (4, 6, 12)

// Rows [r0, r0+count) of the im2col matrix (one per output pixel), K = kh·kw·ci columns. In NHWC
// the kw taps of one filter row are adjacent pixels when the dilation is 1, so an in-bounds run is
// a single copy of kw·ci floats.
void im2col_rows(const ConvShape& s, const float* x, long r0, long count, float* col) {
  const long k = s.depth();
  const long run = s.kw * s.ci;
  for (long r = 0; r < count; ++r) {
    long idx = r0 + r;
    const long ow = idx % s.ow;
    idx /= s.ow;
    const long oh = idx % s.oh;
    const long n = idx / s.oh;
    float* out = col + r * k;
    const long iw0 = ow * s.sw - s.pl;
    const bool row_inside = s.dw == 1 && iw0 >= 0 && iw0 + s.kw <= s.w;
    for (long i = 0; i < s.kh; ++i) {
      const long ih = oh * s.sh - s.pt + i * s.dh;
      if (ih < 0 || ih >= s.h) {
        std::memset(out, 0, run * sizeof(float));
        out += run;
        continue;
      }
      const float* src = x + ((n * s.h + ih) * s.w) * s.ci;
      if (row_inside) {
        std::memcpy(out, src + iw0 * s.ci, run * sizeof(float));
        out += run;
        continue;
      }
      for (long j = 0; j < s.kw; ++j, out += s.ci) {
        const long iw = iw0 + j * s.dw;
        if (iw < 0 || iw >= s.w)
          std::memset(out, 0, s.ci * sizeof(float));
        else
          std::memcpy(out, src + iw * s.ci, s.ci * sizeof(float));
      }
    }
  }
}

// The adjoint of im2col_rows: adds each column block back onto the input positions it came from.
void col2im_add_rows(const ConvShape& s, const float* col, long r0, long count, float* dx) {
  const long k = s.depth();
  for (long r = 0; r < count; ++r) {
    long idx = r0 + r;
    const long ow = idx % s.ow;
    idx /= s.ow;
    const long oh = idx % s.oh;
    const long n = idx / s.oh;
    const float* in = col + r * k;
    for (long i = 0; i < s.kh; ++i) {
      const long ih = oh * s.sh - s.pt + i * s.dh;
      for (long j = 0; j < s.kw; ++j, in += s.ci) {
        const long iw = ow * s.sw - s.pl + j * s.dw;
        if (ih < 0 || ih >= s.h || iw < 0 || iw >= s.w) continue;
        float* out = dx + ((n * s.h + ih) * s.w + iw) * s.ci;
        for (long c = 0; c < s.ci; ++c) out[c] += in[c];
      }
    }
  }
}

std::vector<float>& scratch(size_t size) {
  thread_local std::vector<float> buffer;
  if (buffer.size() < size) buffer.resize(size);
  return buffer;
}

// The im2col rows [r0, r0+count) of a block: x itself for a pointwise conv, else this thread's
// scratch buffer filled by im2col_rows.
const float* im2col_block(const ConvShape& s, const float* x, long r0, long count) {
  if (s.is_pointwise()) return x + r0 * s.ci;
  float* col = scratch(kBlockRows * s.depth()).data();
  im2col_rows(s, x, r0, count, col);
  return col;
}

}  // namespace

void conv2d_forward(const ConvShape& s, const float* x, const float* filter, float* y) {
  const long rows = s.rows(), k = s.depth();
  const long blocks = (rows + kBlockRows - 1) / kBlockRows;
  ThreadPool::instance().parallel_for(blocks, [&](long b0, long b1, int) {
    for (long b = b0; b < b1; ++b) {
      const long r0 = b * kBlockRows, count = std::min(kBlockRows, rows - r0);
      gemm(count, s.co, k, im2col_block(s, x, r0, count), k, 1, filter, s.co, false, y + r0 * s.co, s.co, false);
    }
  });
}

void conv2d_backprop_input(const ConvShape& s, const float* dy, const float* filter, float* dx) {
  const long k = s.depth();
  // Stride 1: dx is the "full" correlation of dy with the filter rotated 180° and its channel
  // axes swapped, i.e. a forward conv, which avoids the scatter-add of col2im.
  if (s.sh == 1 && s.sw == 1 && s.dh == 1 && s.dw == 1 && !s.is_pointwise()) {
    const long pt = s.kh - 1 - s.pt, pl = s.kw - 1 - s.pl;
    const long oh = s.h, ow = s.w;
    // The forward conv over dy must produce exactly h×w outputs from oh×ow inputs.
    const long pb = (oh - 1) + s.kh - s.oh - pt, pr = (ow - 1) + s.kw - s.ow - pl;
    if (pt >= 0 && pl >= 0 && pb >= 0 && pr >= 0) {
      std::vector<float> rotated(k * s.co);
      for (long i = 0; i < s.kh; ++i)
        for (long j = 0; j < s.kw; ++j)
          for (long ci = 0; ci < s.ci; ++ci)
            for (long co = 0; co < s.co; ++co)
              rotated[((i * s.kw + j) * s.co + co) * s.ci + ci] =
                  filter[(((s.kh - 1 - i) * s.kw + (s.kw - 1 - j)) * s.ci + ci) * s.co + co];
      ConvShape t{s.n, s.oh, s.ow, s.co, s.kh, s.kw, s.ci, oh, ow, 1, 1, pt, pl, 1, 1};
      conv2d_forward(t, dy, rotated.data(), dx);
      return;
    }
  }
  // Wᵀ (co × k) once, so every block's gemm reads B row-major without repacking.
  std::vector<float> wt(s.co * k);
  for (long r = 0; r < k; ++r)
    for (long c = 0; c < s.co; ++c) wt[c * k + r] = filter[r * s.co + c];
  const long per_image = s.oh * s.ow;
  if (s.is_pointwise()) {
    const long rows = s.rows(), blocks = (rows + kBlockRows - 1) / kBlockRows;
    ThreadPool::instance().parallel_for(blocks, [&](long b0, long b1, int) {
      for (long b = b0; b < b1; ++b) {
        const long r0 = b * kBlockRows, count = std::min(kBlockRows, rows - r0);
        gemm(count, k, s.co, dy + r0 * s.co, s.co, 1, wt.data(), k, false, dx + r0 * k, k, false);
      }
    });
    return;
  }
  // Threads own whole images, so the scatter-add of overlapping windows never races.
  ThreadPool::instance().parallel_for(s.n, [&](long n0, long n1, int) {
    std::memset(dx + n0 * s.h * s.w * s.ci, 0, (n1 - n0) * s.h * s.w * s.ci * sizeof(float));
    float* col = scratch(kBlockRows * k).data();
    const long r_end = n1 * per_image;
    for (long r0 = n0 * per_image; r0 < r_end; r0 += kBlockRows) {
      const long count = std::min(kBlockRows, r_end - r0);
      gemm(count, k, s.co, dy + r0 * s.co, s.co, 1, wt.data(), k, false, col, k, false);
      col2im_add_rows(s, col, r0, count, dx);
    }
  });
}

void conv2d_backprop_filter(const ConvShape& s, const float* x, const float* dy, float* dfilter) {
  const long rows = s.rows(), k = s.depth();
  const long blocks = (rows + kBlockRows - 1) / kBlockRows;
  const int threads = ThreadPool::instance().threads();
  std::vector<std::vector<float>> partial(threads);
  ThreadPool::instance().parallel_for(blocks, [&](long b0, long b1, int t) {
    std::vector<float>& acc = partial[t];
    acc.assign(k * s.co, 0.f);
    for (long b = b0; b < b1; ++b) {
      const long r0 = b * kBlockRows, count = std::min(kBlockRows, rows - r0);
      const float* col = im2col_block(s, x, r0, count);
      // dW (k × co) += colᵀ · dy_block: the gemm reads the im2col block transposed in place.
      gemm(k, s.co, count, col, 1, k, dy + r0 * s.co, s.co, false, acc.data(), s.co, true);
    }
  });
  std::fill(dfilter, dfilter + k * s.co, 0.f);
  for (const auto& acc : partial)
    if (!acc.empty())
      for (long i = 0; i < k * s.co; ++i) dfilter[i] += acc[i];
}

}  // namespace loupe
