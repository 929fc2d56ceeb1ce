// Kernels of the Sinkhorn-Knopp equipartition (core/cluster/sinkhorn.ts): the dense matrix is
// visited once per iteration, row block by row block, so time is bounded by memory bandwidth.
#pragma once

namespace loupe {

// In place, per row: A[i, j] = exp(lambda * (L[i, j] - max_j L[i, j])); shift[i] = lambda * max.
void sinkhorn_prepare(long rows, long k, float lambda, float* a, double* shift);

// One fused Sinkhorn iteration over a row block: r[i] = row_mass[i or 0] / sum_j A[i, j] c[j]
// then c_acc[j] += r[i] * A[i, j]. row_mass has 1 element (uniform) or `rows`.
void sinkhorn_pass(long rows, long k, const float* a, const double* c, const double* row_mass, bool uniform_rows,
                   double* r, double* c_acc);

// Per row: label = argmax_j A[i, j] c[j], confidence = that value / sum_j A[i, j] c[j].
void sinkhorn_assign(long rows, long k, const float* a, const double* c, int* labels, float* confidence);

// The truncated kernel (sparse path): per row, the entries of A = exp(lambda (L - rowmax)) of at
// least exp(-cutoff) are kept, at most `cap` of them, into a scratch slot of `cap` per row (vals,
// cols, count); dropped[i] is the largest entry left out of row i (0 when none), so the caller can
// bound what the truncation changed. Returns the number of entries kept.
long sinkhorn_sparsify(long rows, long k, float lambda, float cutoff, long cap, const float* logits, float* vals,
                       int* cols, int* count, float* dropped);

// Scratch slots to compressed rows (CSR): row_ptr has rows + 1 entries.
void sinkhorn_compact(long rows, long cap, const float* slot_vals, const int* slot_cols, const int* count, float* vals,
                      int* cols, int* row_ptr);

// sinkhorn_pass on the truncated kernel (CSR).
void sinkhorn_sparse_pass(long rows, long k, const float* vals, const int* cols, const int* row_ptr, const double* c,
                          const double* row_mass, bool uniform_rows, double* r, double* c_acc);

// sinkhorn_assign on the truncated kernel; returns max_i (k - kept_i) * dropped[i] * max(c) / sum_j A[i, j] c[j],
// a bound on the relative error the truncation causes in any row or column marginal.
double sinkhorn_sparse_assign(long rows, long k, const float* vals, const int* cols, const int* row_ptr,
                              const float* dropped, const double* c, int* labels, float* confidence);

}  // namespace loupe
