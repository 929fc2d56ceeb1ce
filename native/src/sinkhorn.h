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

}  // namespace loupe
