// 2-D convolution in NHWC with HWIO filters (tfjs's layouts), forward and both gradients, as
// blocked im2col + gemm: each thread builds an im2col block of a few hundred output pixels in its
// own buffer (it stays in L2), so memory never holds the full K×-larger im2col matrix.
#pragma once

namespace loupe {

struct ConvShape {
  long n, h, w, ci;       // input
  long kh, kw, co;        // filter
  long oh, ow;            // output
  long sh, sw, pt, pl;    // strides, top/left padding
  long dh, dw;            // dilations
  long rows() const { return n * oh * ow; }
  long depth() const { return kh * kw * ci; }
  bool is_pointwise() const { return kh == 1 && kw == 1 && sh == 1 && sw == 1 && pt == 0 && pl == 0; }
};

void conv2d_forward(const ConvShape& s, const float* x, const float* filter, float* y);
void conv2d_backprop_input(const ConvShape& s, const float* dy, const float* filter, float* dx);
void conv2d_backprop_filter(const ConvShape& s, const float* x, const float* dy, float* dfilter);

}  // namespace loupe
