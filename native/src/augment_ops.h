// Per-image pixel operations of the augmentation pipeline, on NHWC float images. They have no
// gradients (they act on inputs) and exist because the same ops as broadcast tfjs kernels cost
// ~30 ns per pixel in the cpu backend's generic broadcasting path.
#pragma once

namespace loupe {

// tf.image.cropAndResize (bilinear, extrapolation 0) with one box [y1, x1, y2, x2] per image,
// box i reading image i; a box with x1 > x2 samples mirrored.
void crop_and_resize(long n, long h, long w, long c, const float* x, const float* boxes, long oh, long ow, float* out);
// out = clamp(A_i · px + t_i, lo, hi) per pixel of image i; A is c×c row-major per image, t has c.
void color_affine(long n, long hw, long c, const float* x, const float* a, const float* t, float lo, float hi,
                  float* out);
// Separable Gaussian blur with a per-image σ (σ ≤ 0 copies the image); edges mirror (tf.mirrorPad 'reflect').
void gaussian_blur(long n, long h, long w, long c, const float* x, const float* sigma, long radius, float* out);
// Per-image solarisation (v ≥ threshold → 1 − v, where flag_i ≠ 0), then (v − mean_c) / std_c.
void solarize_normalize(long n, long hw, long c, const float* x, const float* flags, float threshold,
                        const float* mean, const float* std, float* out);

}  // namespace loupe
