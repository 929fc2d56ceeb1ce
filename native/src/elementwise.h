// Batch normalisation (training mode, channels last) with an optional fused ReLU, and the few
// element-wise ops a ResNet step spends its time in; all split across the pool.
#pragma once

namespace loupe {

// y = relu?((x − mean)/√(var+eps)·γ + β) over rows×c; writes the batch mean and biased variance.
void batch_norm_forward(long rows, long c, const float* x, const float* gamma, const float* beta, float eps, bool relu,
                        float* y, float* mean, float* var);
// Gradients of batch_norm_forward; y is its output (only read for the ReLU mask).
void batch_norm_backward(long rows, long c, const float* dy, const float* x, const float* y, const float* gamma,
                         const float* mean, const float* var, float eps, bool relu, float* dx, float* dgamma,
                         float* dbeta);

void add(long size, const float* a, const float* b, float* out);
void add_relu(long size, const float* a, const float* b, float* out);
void relu_grad(long size, const float* dy, const float* y, float* out);  // dy·[y > 0]
void global_avg_pool(long n, long hw, long c, const float* x, float* y);
void global_avg_pool_grad(long n, long hw, long c, const float* dy, float* dx);

}  // namespace loupe

namespace loupe {
// One Adam/AdamW step for a tensor, written to fresh outputs (tfjs tensors are immutable).
// step_size = lr·√(1−β₂ᵗ)/(1−β₁ᵗ), eps_hat = ε·√(1−β₂ᵗ); decay is L2 (Adam) or decoupled (AdamW, scaled by lr).
void adam_update(long size, const float* w, const float* g, const float* m, const float* v, float beta1, float beta2,
                 float step_size, float eps_hat, float l2, float decoupled, float* w_out, float* m_out, float* v_out);
}  // namespace loupe

namespace loupe {
// Max pooling (NHWC, padding cells never win) with the flat input index of each maximum, and its
// gradient: each output's dy goes to the input that won (threads own whole images).
void max_pool(long n, long h, long w, long c, long kh, long kw, long sh, long sw, long pt, long pl, long oh, long ow,
              const float* x, float* y, int* argmax);
void max_pool_grad(long n, long in_per_image, long out_per_image, const float* dy, const int* argmax, float* dx);
}  // namespace loupe
