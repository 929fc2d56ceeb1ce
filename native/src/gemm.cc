#include "gemm.h"

#include <cstdlib>
#include <cstring>
#include <vector>

#if defined(__x86_64__) || defined(_M_X64)
#define LOUPE_X86 1
#endif

namespace loupe {

namespace generic {
#define MR_MAIN 4
#define VBYTES 16
#include "gemm_impl.h"
#undef MR_MAIN
#undef VBYTES
}  // namespace generic

#ifdef LOUPE_X86
#pragma GCC push_options
#pragma GCC target("avx2,fma")
namespace avx2 {
#define MR_MAIN 6
#define VBYTES 32
#include "gemm_impl.h"
#undef MR_MAIN
#undef VBYTES
}  // namespace avx2
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("avx512f,avx2,fma")
namespace avx512 {
#define MR_MAIN 12
#define VBYTES 64
#include "gemm_impl.h"
#undef MR_MAIN
#undef VBYTES
}  // namespace avx512
#pragma GCC pop_options
#endif

static Isa probe() {
#ifdef LOUPE_X86
  __builtin_cpu_init();
  Isa best = Isa::Generic;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) best = Isa::Avx2;
  if (__builtin_cpu_supports("avx512f")) best = Isa::Avx512;
  if (const char* env = std::getenv("LOUPE_ISA")) {
    if (!std::strcmp(env, "generic")) best = Isa::Generic;
    if (!std::strcmp(env, "avx2") && best == Isa::Avx512) best = Isa::Avx2;
  }
  return best;
#else
  return Isa::Generic;
#endif
}

static Isa current = probe();

Isa detected_isa() { return current; }
void force_isa(Isa isa) {
  const Isa best = probe();
  current = static_cast<int>(isa) <= static_cast<int>(best) ? isa : best;
}
const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::Avx512: return "avx512";
    case Isa::Avx2: return "avx2";
    default: return "generic";
  }
}

void gemm(long m, long n, long k, const float* a, long a_rs, long a_cs, const float* b, long ldb, bool b_trans,
          float* c, long ldc, bool accumulate) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    if (!accumulate)
      for (long i = 0; i < m; ++i) std::memset(c + i * ldc, 0, n * sizeof(float));
    return;
  }
#ifdef LOUPE_X86
  if (current == Isa::Avx512) return avx512::gemm_impl(m, n, k, a, a_rs, a_cs, b, ldb, b_trans, c, ldc, accumulate);
  if (current == Isa::Avx2) return avx2::gemm_impl(m, n, k, a, a_rs, a_cs, b, ldb, b_trans, c, ldc, accumulate);
#endif
  generic::gemm_impl(m, n, k, a, a_rs, a_cs, b, ldb, b_trans, c, ldc, accumulate);
}

}  // namespace loupe
