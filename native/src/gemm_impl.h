// The register-blocked micro-kernel and its driver, included once per instruction set by gemm.cc
// under a `#pragma GCC target`, so one portable source yields AVX-512, AVX2+FMA and baseline code
// and the best one is picked at run time (a prebuilt binary then runs on any x86-64 or ARM CPU).
//
// Why hand-written rather than a BLAS: the conv shapes of narrow encoders are tall and skinny
// (n = 16…256 output channels, k = 9·Cin), fed from an im2col block that lives in L2; a 16-wide
// panel kernel that reads B in place (no packing when n is a multiple of 16) and A with arbitrary
// strides (so the filter-gradient reads the im2col block transposed for free) fits them better
// than a general BLAS call, and keeps the addon free of system libraries.
// (gemm.cc includes <cstring> and <vector> before the per-ISA namespaces.)

// VBYTES (set by gemm.cc) is the native vector width: a row of the 16-wide tile is NV vectors.
typedef float vec __attribute__((vector_size(VBYTES)));
constexpr int NV = 64 / VBYTES;

static inline vec loadv(const float* p) {
  vec v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
static inline void storev(float* p, vec v) { std::memcpy(p, &v, sizeof v); }

// MR×16 tile over the full depth k. A_T: A is read as a[p*a_cs + i] (a_rs == 1).
template <int MR, bool A_T>
static void micro_kernel(long k, const float* a, long a_rs, long a_cs, const float* b, long b_rs, float* c, long ldc,
                         int mv, int nv, bool accumulate) {
  vec acc[MR][NV];
  for (int i = 0; i < MR; ++i)
    for (int v = 0; v < NV; ++v) acc[i][v] = vec{};
  for (long p = 0; p < k; ++p) {
    vec bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) bv[v] = loadv(b + p * b_rs + v * (16 / NV));
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const float ai = A_T ? a[p * a_cs + i] : a[i * a_rs + p];
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[i][v] += ai * bv[v];
    }
  }
  if (mv == MR && nv == 16) {
    for (int i = 0; i < MR; ++i) {
      float* cp = c + i * ldc;
      for (int v = 0; v < NV; ++v) {
        float* q = cp + v * (16 / NV);
        storev(q, accumulate ? loadv(q) + acc[i][v] : acc[i][v]);
      }
    }
    return;
  }
  for (int i = 0; i < mv; ++i) {
    float tile[16];
    for (int v = 0; v < NV; ++v) storev(tile + v * (16 / NV), acc[i][v]);
    float* cp = c + i * ldc;
    for (int j = 0; j < nv; ++j) cp[j] = accumulate ? cp[j] + tile[j] : tile[j];
  }
}

template <bool A_T>
static void gemm_kernel_loop(long m, long n, long k, const float* a, long a_rs, long a_cs, const float* b, long ldb,
                             bool b_trans, float* c, long ldc, bool accumulate) {
  // Panels of B that are not 16 contiguous floats per row (tails, or B transposed) are packed.
  thread_local std::vector<float> packed;
  for (long j0 = 0; j0 < n; j0 += 16) {
    const int nv = static_cast<int>(n - j0 < 16 ? n - j0 : 16);
    const float* panel;
    long panel_rs;
    if (!b_trans && nv == 16) {
      panel = b + j0;
      panel_rs = ldb;
    } else {
      packed.assign(static_cast<size_t>(k) * 16, 0.f);
      for (long p = 0; p < k; ++p)
        for (int j = 0; j < nv; ++j) packed[p * 16 + j] = b_trans ? b[(j0 + j) * ldb + p] : b[p * ldb + j0 + j];
      panel = packed.data();
      panel_rs = 16;
    }
    long i0 = 0;
    for (; i0 + MR_MAIN <= m; i0 += MR_MAIN)
      micro_kernel<MR_MAIN, A_T>(k, a + i0 * a_rs, a_rs, a_cs, panel, panel_rs, c + i0 * ldc + j0, ldc, MR_MAIN, nv,
                                 accumulate);
    // The rows left after the MR_MAIN blocks (MR_MAIN = 6 on AVX2 leaves 2 of a multiple of 4):
    // each kernel reads exactly its MR rows of A, never past m.
    for (; i0 + 4 <= m; i0 += 4)
      micro_kernel<4, A_T>(k, a + i0 * a_rs, a_rs, a_cs, panel, panel_rs, c + i0 * ldc + j0, ldc, 4, nv, accumulate);
    for (; i0 + 2 <= m; i0 += 2)
      micro_kernel<2, A_T>(k, a + i0 * a_rs, a_rs, a_cs, panel, panel_rs, c + i0 * ldc + j0, ldc, 2, nv, accumulate);
    for (; i0 < m; ++i0)
      micro_kernel<1, A_T>(k, a + i0 * a_rs, a_rs, a_cs, panel, panel_rs, c + i0 * ldc + j0, ldc, 1, nv, accumulate);
  }
}

// Rows past m in a short tail are never read: micro_kernel<4> reads a[i*a_rs…] for i < 4 only
// when mv == 4; for mv < 4 the extra rows would read out of bounds, so the tail is copied.
static void gemm_impl(long m, long n, long k, const float* a, long a_rs, long a_cs, const float* b, long ldb,
                      bool b_trans, float* c, long ldc, bool accumulate) {
  const long full = m - m % 4;
  const bool a_t = a_rs == 1 && a_cs != 1;
  if (full > 0) {
    if (a_t)
      gemm_kernel_loop<true>(full, n, k, a, a_rs, a_cs, b, ldb, b_trans, c, ldc, accumulate);
    else
      gemm_kernel_loop<false>(full, n, k, a, a_rs, a_cs, b, ldb, b_trans, c, ldc, accumulate);
  }
  if (full < m) {
    const long rows = m - full;
    thread_local std::vector<float> tail;
    tail.assign(static_cast<size_t>(4 * k), 0.f);
    for (long i = 0; i < rows; ++i)
      for (long p = 0; p < k; ++p) tail[i * k + p] = a[(full + i) * a_rs + p * a_cs];
    thread_local std::vector<float> out;
    out.assign(static_cast<size_t>(4 * n), 0.f);
    if (accumulate)
      for (long i = 0; i < rows; ++i) std::memcpy(&out[i * n], c + (full + i) * ldc, n * sizeof(float));
    gemm_kernel_loop<false>(4, n, k, tail.data(), k, 1, b, ldb, b_trans, out.data(), n, accumulate);
    for (long i = 0; i < rows; ++i) std::memcpy(c + (full + i) * ldc, &out[i * n], n * sizeof(float));
  }
}
