// Label spreading's diffusion (core/weak/propagate.ts, diffuse): F ← S F + keep · Y, `steps`
// times, on a sparse graph in CSR form with its normalised edge weights S. In JavaScript one step
// over 5,000 rows × 14 edges × 50 columns (the graph choice's five folds at once) takes ~9 ms;
// here the rows are split over the thread pool, and each row's sums stay in registers.
#pragma once

namespace loupe {

// row_start: n + 1 rising offsets into col / s (edges in all); col[t] ∈ [0, n). y, f, scratch:
// n × cols, row-major. f holds F₀ on entry and the result on return; scratch is overwritten.
void spread_diffuse(long n, long cols, long steps, const int* row_start, const int* col, const double* s,
                    const double* y, double keep, double* f, double* scratch);

}  // namespace loupe
