// Single-precision matrix products for the conv and matmul kernels.
//
// C[m×n] (+)= A·B with
//   A(i,p) = a[i*a_rs + p*a_cs]   (either stride may be 1: row-major or transposed A),
//   B(p,j) = b[p*ldb + j]         (row-major) or b[j*ldb + p] when b_trans.
// gemm() is single-threaded; callers split work across the pool (row blocks of an im2col, images
// of a batch, …) because they know where the independent pieces are.
#pragma once

namespace loupe {

enum class Isa { Generic, Avx2, Avx512 };
Isa detected_isa();
const char* isa_name(Isa isa);
void force_isa(Isa isa);  // tests compare every code path against the others

void gemm(long m, long n, long k, const float* a, long a_rs, long a_cs, const float* b, long ldb, bool b_trans,
          float* c, long ldc, bool accumulate);

}  // namespace loupe
