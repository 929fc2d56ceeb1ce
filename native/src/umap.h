// Kernels of the 2-D map (core/cluster/umap.ts): exact nearest neighbours and UMAP's layout epochs.
#pragma once
#include <cstdint>

namespace loupe {

// Exact k nearest neighbours (largest dot products) of rows [q_begin, q_end) of x (n × dim) among
// all n rows, best first: idx and vals are (q_end − q_begin) × k. Dot products are computed in
// cache-sized tiles by the GEMM and selected on the fly, never materialised.
void knn_exact(long q_begin, long q_end, long n, long dim, long k, const float* x, int* idx, float* vals);

// Epochs [from, to) of UMAP's layout SGD (McInnes et al. 2018) on y (n_vertices × 2), in place:
// edge e pulls head[e] and tail[e] together every epochs_per_sample[e] epochs (negative: never)
// and pushes head[e] from `negative_rate` random vertices per pull; gradients clipped at 4; the
// learning rate decays linearly to 0 at n_epochs. next_sample / next_negative carry the schedule
// between calls, and rng_state (the 64-bit state as two uint32) the random stream.
void umap_epochs(long n_vertices, long edges, const int* head, const int* tail, const float* epochs_per_sample,
                 float* next_sample, float* next_negative, float* y, int from, int to, int n_epochs, float a, float b,
                 float gamma, float negative_rate, float learning_rate, uint32_t* rng_state);

}  // namespace loupe
