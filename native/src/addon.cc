// N-API surface of the kernel library. Every entry point takes Float32Arrays (tfjs cpu-backend
// storage, so nothing is copied) and an Int32Array of sizes, checks every length against the
// sizes before touching memory, and runs synchronously on the calling thread plus the pool.
#include <node_api.h>

#include <cstring>
#include <string>
#include <vector>

#include "augment_ops.h"
#include "conv.h"
#include "elementwise.h"
#include "gemm.h"
#include "label_model.h"
#include "sinkhorn.h"
#include "spread.h"
#include "thread_pool.h"
#include "umap.h"

namespace {

using namespace loupe;

struct Args {
  napi_env env;
  std::vector<napi_value> values;
  bool failed = false;

  Args(napi_env e, napi_callback_info info, size_t expected) : env(e), values(expected) {
    size_t argc = expected;
    napi_get_cb_info(env, info, &argc, values.data(), nullptr, nullptr);
    if (argc < expected) fail("expected " + std::to_string(expected) + " arguments");
  }

  void fail(const std::string& message) {
    if (!failed) napi_throw_error(env, "LOUPE_KERNEL_ARGS", message.c_str());
    failed = true;
  }

  template <typename T>
  T* typed(size_t index, napi_typedarray_type want, size_t length, const char* name) {
    if (failed) return nullptr;
    bool is_typed = false;
    napi_is_typedarray(env, values[index], &is_typed);
    if (!is_typed) return fail(std::string(name) + " must be a typed array"), nullptr;
    napi_typedarray_type type;
    size_t len;
    void* data;
    napi_get_typedarray_info(env, values[index], &type, &len, &data, nullptr, nullptr);
    if (type != want) return fail(std::string(name) + " has the wrong element type"), nullptr;
    if (len != length)
      return fail(std::string(name) + " has " + std::to_string(len) + " elements, expected " + std::to_string(length)),
             nullptr;
    return static_cast<T*>(data);
  }

  float* f32(size_t index, long length, const char* name) {
    return typed<float>(index, napi_float32_array, static_cast<size_t>(length), name);
  }

  double* f64(size_t index, long length, const char* name) {
    return typed<double>(index, napi_float64_array, static_cast<size_t>(length), name);
  }

  int32_t* i32(size_t index, long length, const char* name) {
    return typed<int32_t>(index, napi_int32_array, static_cast<size_t>(length), name);
  }

  std::vector<long> ints(size_t index, size_t count) {
    const int32_t* p = typed<int32_t>(index, napi_int32_array, count, "sizes");
    std::vector<long> out(count, 0);
    if (p)
      for (size_t i = 0; i < count; ++i) {
        if (p[i] < 0) fail("sizes must not be negative");
        out[i] = p[i];
      }
    return out;
  }

  double number(size_t index) {
    double v = 0;
    if (!failed && napi_get_value_double(env, values[index], &v) != napi_ok) fail("expected a number");
    return v;
  }

  bool boolean(size_t index) {
    bool v = false;
    if (!failed && napi_get_value_bool(env, values[index], &v) != napi_ok) fail("expected a boolean");
    return v;
  }
};

napi_value undefined(napi_env env) {
  napi_value v;
  napi_get_undefined(env, &v);
  return v;
}

ConvShape conv_shape(const std::vector<long>& p) {
  return ConvShape{p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11], p[12], p[13], p[14]};
}

bool valid(Args& args, const ConvShape& s) {
  if (args.failed) return false;
  if (s.sh < 1 || s.sw < 1 || s.dh < 1 || s.dw < 1 || s.kh < 1 || s.kw < 1) {
    args.fail("strides, dilations and filter sizes must be at least 1");
    return false;
  }
  return true;
}

// conv2d(x, filter, y, sizes[15])
napi_value Conv2d(napi_env env, napi_callback_info info) {
  Args args(env, info, 4);
  ConvShape s = conv_shape(args.ints(3, 15));
  if (!valid(args, s)) return nullptr;
  const float* x = args.f32(0, s.n * s.h * s.w * s.ci, "x");
  const float* f = args.f32(1, s.depth() * s.co, "filter");
  float* y = args.f32(2, s.rows() * s.co, "y");
  if (args.failed) return nullptr;
  conv2d_forward(s, x, f, y);
  return undefined(env);
}

// conv2dBackpropInput(dy, filter, dx, sizes[15])
napi_value Conv2dBackpropInput(napi_env env, napi_callback_info info) {
  Args args(env, info, 4);
  ConvShape s = conv_shape(args.ints(3, 15));
  if (!valid(args, s)) return nullptr;
  const float* dy = args.f32(0, s.rows() * s.co, "dy");
  const float* f = args.f32(1, s.depth() * s.co, "filter");
  float* dx = args.f32(2, s.n * s.h * s.w * s.ci, "dx");
  if (args.failed) return nullptr;
  conv2d_backprop_input(s, dy, f, dx);
  return undefined(env);
}

// conv2dBackpropFilter(x, dy, dfilter, sizes[15])
napi_value Conv2dBackpropFilter(napi_env env, napi_callback_info info) {
  Args args(env, info, 4);
  ConvShape s = conv_shape(args.ints(3, 15));
  if (!valid(args, s)) return nullptr;
  const float* x = args.f32(0, s.n * s.h * s.w * s.ci, "x");
  const float* dy = args.f32(1, s.rows() * s.co, "dy");
  float* df = args.f32(2, s.depth() * s.co, "dfilter");
  if (args.failed) return nullptr;
  conv2d_backprop_filter(s, x, dy, df);
  return undefined(env);
}

// matmul(a, b, c, sizes[batchA, batchB, m, n, k, transposeA, transposeB]); c has max(batchA, batchB)
// matrices, and a batch of 1 broadcasts.
napi_value Matmul(napi_env env, napi_callback_info info) {
  Args args(env, info, 4);
  std::vector<long> p = args.ints(3, 7);
  const long batch_a = p[0], batch_b = p[1], m = p[2], n = p[3], k = p[4];
  const bool ta = p[5] != 0, tb = p[6] != 0;
  const long batch = std::max(batch_a, batch_b);
  if (!args.failed && batch_a != batch_b && batch_a != 1 && batch_b != 1) args.fail("batch sizes do not broadcast");
  const float* a = args.f32(0, batch_a * m * k, "a");
  const float* b = args.f32(1, batch_b * k * n, "b");
  float* c = args.f32(2, batch * m * n, "c");
  if (args.failed) return nullptr;
  constexpr long kRows = 48;
  const long row_blocks = (m + kRows - 1) / kRows;
  ThreadPool::instance().parallel_for(batch * row_blocks, [&](long t0, long t1, int) {
    for (long t = t0; t < t1; ++t) {
      const long bi = t / row_blocks, i0 = (t % row_blocks) * kRows, rows = std::min(kRows, m - i0);
      const float* ab = a + (batch_a == 1 ? 0 : bi) * m * k;
      const float* bb = b + (batch_b == 1 ? 0 : bi) * k * n;
      const float* a0 = ta ? ab + i0 : ab + i0 * k;
      gemm(rows, n, k, a0, ta ? 1 : k, ta ? m : 1, bb, tb ? k : n, tb, c + bi * m * n + i0 * n, n, false);
    }
  });
  return undefined(env);
}

// batchNorm(x, gamma, beta, y, mean, variance, sizes[rows, channels], eps, relu)
napi_value BatchNorm(napi_env env, napi_callback_info info) {
  Args args(env, info, 9);
  std::vector<long> p = args.ints(6, 2);
  const long rows = p[0], c = p[1];
  const float* x = args.f32(0, rows * c, "x");
  const float* gamma = args.f32(1, c, "gamma");
  const float* beta = args.f32(2, c, "beta");
  float* y = args.f32(3, rows * c, "y");
  float* mean = args.f32(4, c, "mean");
  float* var = args.f32(5, c, "variance");
  const double eps = args.number(7);
  const bool relu = args.boolean(8);
  if (args.failed) return nullptr;
  if (rows == 0) return args.fail("batch norm needs at least one row"), nullptr;
  batch_norm_forward(rows, c, x, gamma, beta, static_cast<float>(eps), relu, y, mean, var);
  return undefined(env);
}

// batchNormGrad(dy, x, y, gamma, mean, variance, dx, dgamma, dbeta, sizes[rows, channels], eps, relu)
napi_value BatchNormGrad(napi_env env, napi_callback_info info) {
  Args args(env, info, 12);
  std::vector<long> p = args.ints(9, 2);
  const long rows = p[0], c = p[1];
  const float* dy = args.f32(0, rows * c, "dy");
  const float* x = args.f32(1, rows * c, "x");
  const float* y = args.f32(2, rows * c, "y");
  const float* gamma = args.f32(3, c, "gamma");
  const float* mean = args.f32(4, c, "mean");
  const float* var = args.f32(5, c, "variance");
  float* dx = args.f32(6, rows * c, "dx");
  float* dgamma = args.f32(7, c, "dgamma");
  float* dbeta = args.f32(8, c, "dbeta");
  const double eps = args.number(10);
  const bool relu = args.boolean(11);
  if (args.failed) return nullptr;
  batch_norm_backward(rows, c, dy, x, y, gamma, mean, var, static_cast<float>(eps), relu, dx, dgamma, dbeta);
  return undefined(env);
}

// Element-wise ops on equal-length arrays: op(a, b, out).
template <void (*Op)(long, const float*, const float*, float*)>
napi_value Binary(napi_env env, napi_callback_info info) {
  Args args(env, info, 3);
  size_t len = 0;
  if (!args.failed) {
    bool ok = false;
    napi_is_typedarray(env, args.values[0], &ok);
    if (ok) napi_get_typedarray_info(env, args.values[0], nullptr, &len, nullptr, nullptr, nullptr);
  }
  const float* a = args.f32(0, len, "a");
  const float* b = args.f32(1, len, "b");
  float* out = args.f32(2, len, "out");
  if (args.failed) return nullptr;
  Op(static_cast<long>(len), a, b, out);
  return undefined(env);
}

// avgPool(x, y, sizes[n, hw, c]) and avgPoolGrad(dy, dx, sizes[n, hw, c])
napi_value AvgPool(napi_env env, napi_callback_info info) {
  Args args(env, info, 3);
  std::vector<long> p = args.ints(2, 3);
  const float* x = args.f32(0, p[0] * p[1] * p[2], "x");
  float* y = args.f32(1, p[0] * p[2], "y");
  if (args.failed) return nullptr;
  global_avg_pool(p[0], p[1], p[2], x, y);
  return undefined(env);
}

napi_value AvgPoolGrad(napi_env env, napi_callback_info info) {
  Args args(env, info, 3);
  std::vector<long> p = args.ints(2, 3);
  const float* dy = args.f32(0, p[0] * p[2], "dy");
  float* dx = args.f32(1, p[0] * p[1] * p[2], "dx");
  if (args.failed) return nullptr;
  global_avg_pool_grad(p[0], p[1], p[2], dy, dx);
  return undefined(env);
}

// maxPool(x, y, argmax, sizes[n, h, w, c, kh, kw, sh, sw, pt, pl, oh, ow])
napi_value MaxPool(napi_env env, napi_callback_info info) {
  Args args(env, info, 4);
  std::vector<long> p = args.ints(3, 12);
  const long n = p[0], h = p[1], w = p[2], c = p[3], oh = p[10], ow = p[11];
  const float* x = args.f32(0, n * h * w * c, "x");
  float* y = args.f32(1, n * oh * ow * c, "y");
  int32_t* arg = args.typed<int32_t>(2, napi_int32_array, static_cast<size_t>(n * oh * ow * c), "argmax");
  if (args.failed) return nullptr;
  if (p[4] < 1 || p[5] < 1 || p[6] < 1 || p[7] < 1) return args.fail("pool sizes and strides must be at least 1"), nullptr;
  max_pool(n, h, w, c, p[4], p[5], p[6], p[7], p[8], p[9], oh, ow, x, y, arg);
  return undefined(env);
}

// maxPoolGrad(dy, argmax, dx, sizes[n, inPerImage, outPerImage])
napi_value MaxPoolGrad(napi_env env, napi_callback_info info) {
  Args args(env, info, 4);
  std::vector<long> p = args.ints(3, 3);
  const float* dy = args.f32(0, p[0] * p[2], "dy");
  const int32_t* arg = args.typed<int32_t>(1, napi_int32_array, static_cast<size_t>(p[0] * p[2]), "argmax");
  float* dx = args.f32(2, p[0] * p[1], "dx");
  if (args.failed) return nullptr;
  for (long i = 0; i < p[0] * p[2]; ++i)
    if (arg[i] >= p[1]) return args.fail("argmax index out of range"), nullptr;
  max_pool_grad(p[0], p[1], p[2], dy, arg, dx);
  return undefined(env);
}

// adam(w, g, m, v, wOut, mOut, vOut, [beta1, beta2, stepSize, epsHat, l2, decoupled])
napi_value Adam(napi_env env, napi_callback_info info) {
  Args args(env, info, 8);
  size_t len = 0;
  if (!args.failed) {
    bool ok = false;
    napi_is_typedarray(env, args.values[0], &ok);
    if (ok) napi_get_typedarray_info(env, args.values[0], nullptr, &len, nullptr, nullptr, nullptr);
  }
  const long n = static_cast<long>(len);
  const float* w = args.f32(0, n, "w");
  const float* g = args.f32(1, n, "g");
  const float* m = args.f32(2, n, "m");
  const float* v = args.f32(3, n, "v");
  float* wo = args.f32(4, n, "wOut");
  float* mo = args.f32(5, n, "mOut");
  float* vo = args.f32(6, n, "vOut");
  const float* h = args.f32(7, 6, "hyperparameters");
  if (args.failed) return nullptr;
  adam_update(n, w, g, m, v, h[0], h[1], h[2], h[3], h[4], h[5], wo, mo, vo);
  return undefined(env);
}

// sinkhornPrepare(a, shift, sizes[rows, k], lambda)
napi_value SinkhornPrepare(napi_env env, napi_callback_info info) {
  Args args(env, info, 4);
  std::vector<long> p = args.ints(2, 2);
  float* a = args.f32(0, p[0] * p[1], "a");
  double* shift = args.f64(1, p[0], "shift");
  const double lambda = args.number(3);
  if (args.failed) return nullptr;
  sinkhorn_prepare(p[0], p[1], static_cast<float>(lambda), a, shift);
  return undefined(env);
}

// sinkhornPass(a, c, rowMass, r, cAcc, sizes[rows, k, uniformRows])
napi_value SinkhornPass(napi_env env, napi_callback_info info) {
  Args args(env, info, 6);
  std::vector<long> p = args.ints(5, 3);
  const long rows = p[0], k = p[1];
  const bool uniform = p[2] != 0;
  const float* a = args.f32(0, rows * k, "a");
  const double* c = args.f64(1, k, "c");
  const double* mass = args.f64(2, uniform ? 1 : rows, "rowMass");
  double* r = args.f64(3, rows, "r");
  double* acc = args.f64(4, k, "cAcc");
  if (args.failed) return nullptr;
  sinkhorn_pass(rows, k, a, c, mass, uniform, r, acc);
  return undefined(env);
}

// sinkhornAssign(a, c, labels, confidence, sizes[rows, k])
napi_value SinkhornAssign(napi_env env, napi_callback_info info) {
  Args args(env, info, 5);
  std::vector<long> p = args.ints(4, 2);
  const float* a = args.f32(0, p[0] * p[1], "a");
  const double* c = args.f64(1, p[1], "c");
  int32_t* labels = args.i32(2, p[0], "labels");
  float* conf = args.f32(3, p[0], "confidence");
  if (args.failed) return nullptr;
  sinkhorn_assign(p[0], p[1], a, c, labels, conf);
  return undefined(env);
}

// sinkhornSparsify(logits, slotVals, slotCols, count, dropped, sizes[rows, k, cap], lambda, cutoff) → entries kept
napi_value SinkhornSparsify(napi_env env, napi_callback_info info) {
  Args args(env, info, 8);
  std::vector<long> p = args.ints(5, 3);
  const long rows = p[0], k = p[1], cap = p[2];
  const float* logits = args.f32(0, rows * k, "logits");
  float* vals = args.f32(1, rows * cap, "slotVals");
  int32_t* cols = args.i32(2, rows * cap, "slotCols");
  int32_t* count = args.i32(3, rows, "count");
  float* dropped = args.f32(4, rows, "dropped");
  const double lambda = args.number(6), cutoff = args.number(7);
  if (args.failed) return nullptr;
  const long kept = sinkhorn_sparsify(rows, k, static_cast<float>(lambda), static_cast<float>(cutoff), cap, logits, vals, cols, count, dropped);
  napi_value out;
  napi_create_double(env, static_cast<double>(kept), &out);
  return out;
}

// sinkhornCompact(slotVals, slotCols, count, vals, cols, rowPtr, sizes[rows, cap, nnz])
napi_value SinkhornCompact(napi_env env, napi_callback_info info) {
  Args args(env, info, 7);
  std::vector<long> p = args.ints(6, 3);
  const long rows = p[0], cap = p[1], nnz = p[2];
  const float* slot_vals = args.f32(0, rows * cap, "slotVals");
  const int32_t* slot_cols = args.i32(1, rows * cap, "slotCols");
  const int32_t* count = args.i32(2, rows, "count");
  float* vals = args.f32(3, nnz, "vals");
  int32_t* cols = args.i32(4, nnz, "cols");
  int32_t* row_ptr = args.i32(5, rows + 1, "rowPtr");
  if (args.failed) return nullptr;
  long total = 0;
  for (long i = 0; i < rows; ++i) total += count[i];
  if (total != nnz) {
    napi_throw_range_error(env, nullptr, "sinkhornCompact: nnz does not match the counts");
    return nullptr;
  }
  sinkhorn_compact(rows, cap, slot_vals, slot_cols, count, vals, cols, row_ptr);
  return undefined(env);
}

// sinkhornSparsePass(vals, cols, rowPtr, c, rowMass, r, cAcc, sizes[rows, k, nnz, uniformRows])
napi_value SinkhornSparsePass(napi_env env, napi_callback_info info) {
  Args args(env, info, 8);
  std::vector<long> p = args.ints(7, 4);
  const long rows = p[0], k = p[1], nnz = p[2];
  const bool uniform = p[3] != 0;
  const float* vals = args.f32(0, nnz, "vals");
  const int32_t* cols = args.i32(1, nnz, "cols");
  const int32_t* row_ptr = args.i32(2, rows + 1, "rowPtr");
  const double* c = args.f64(3, k, "c");
  const double* mass = args.f64(4, uniform ? 1 : rows, "rowMass");
  double* r = args.f64(5, rows, "r");
  double* acc = args.f64(6, k, "cAcc");
  if (args.failed) return nullptr;
  sinkhorn_sparse_pass(rows, k, vals, cols, row_ptr, c, mass, uniform, r, acc);
  return undefined(env);
}

// sinkhornSparseAssign(vals, cols, rowPtr, dropped, c, labels, confidence, sizes[rows, k, nnz]) → truncation bound
napi_value SinkhornSparseAssign(napi_env env, napi_callback_info info) {
  Args args(env, info, 8);
  std::vector<long> p = args.ints(7, 3);
  const long rows = p[0], k = p[1], nnz = p[2];
  const float* vals = args.f32(0, nnz, "vals");
  const int32_t* cols = args.i32(1, nnz, "cols");
  const int32_t* row_ptr = args.i32(2, rows + 1, "rowPtr");
  const float* dropped = args.f32(3, rows, "dropped");
  const double* c = args.f64(4, k, "c");
  int32_t* labels = args.i32(5, rows, "labels");
  float* conf = args.f32(6, rows, "confidence");
  if (args.failed) return nullptr;
  const double bound = sinkhorn_sparse_assign(rows, k, vals, cols, row_ptr, dropped, c, labels, conf);
  napi_value out;
  napi_create_double(env, bound, &out);
  return out;
}

// knnExact(x, idx, vals, sizes[qBegin, qEnd, n, dim, k])
napi_value KnnExact(napi_env env, napi_callback_info info) {
  Args args(env, info, 4);
  std::vector<long> p = args.ints(3, 5);
  const long q0 = p[0], q1 = p[1], n = p[2], dim = p[3], k = p[4];
  if (!args.failed && (q0 < 0 || q1 < q0 || q1 > n || k < 1 || k > n || dim < 1)) {
    napi_throw_range_error(env, nullptr, "knnExact: need 0 <= qBegin <= qEnd <= n, 1 <= k <= n, dim >= 1");
    return nullptr;
  }
  const float* x = args.f32(0, n * dim, "x");
  int32_t* idx = args.i32(1, (q1 - q0) * k, "idx");
  float* vals = args.f32(2, (q1 - q0) * k, "vals");
  if (args.failed) return nullptr;
  knn_exact(q0, q1, n, dim, k, x, idx, vals);
  return undefined(env);
}

// umapEpochs(head, tail, epochsPerSample, nextSample, nextNegative, y, rngState, sizes[nVertices, edges, from, to, nEpochs], params[a, b, gamma, negativeRate, learningRate])
napi_value UmapEpochs(napi_env env, napi_callback_info info) {
  Args args(env, info, 9);
  std::vector<long> p = args.ints(7, 5);
  const long nv = p[0], edges = p[1];
  const int32_t* head = args.i32(0, edges, "head");
  const int32_t* tail = args.i32(1, edges, "tail");
  const float* eps = args.f32(2, edges, "epochsPerSample");
  float* next_sample = args.f32(3, edges, "nextSample");
  float* next_negative = args.f32(4, edges, "nextNegative");
  float* y = args.f32(5, nv * 2, "y");
  int32_t* rng = args.i32(6, 2, "rngState");
  const float* h = args.f32(8, 5, "params");
  if (args.failed) return nullptr;
  for (long e = 0; e < edges; ++e)
    if (head[e] < 0 || head[e] >= nv || tail[e] < 0 || tail[e] >= nv) {
      napi_throw_range_error(env, nullptr, "umapEpochs: an edge points outside the vertices");
      return nullptr;
    }
  umap_epochs(nv, edges, head, tail, eps, next_sample, next_negative, y, static_cast<int>(p[2]), static_cast<int>(p[3]),
              static_cast<int>(p[4]), h[0], h[1], h[2], h[3], h[4], reinterpret_cast<uint32_t*>(rng));
  return undefined(env);
}

// cropAndResize(x, boxes, out, sizes[n, h, w, c, oh, ow])
napi_value CropAndResize(napi_env env, napi_callback_info info) {
  Args args(env, info, 4);
  std::vector<long> p = args.ints(3, 6);
  const long n = p[0], h = p[1], w = p[2], c = p[3], oh = p[4], ow = p[5];
  const float* x = args.f32(0, n * h * w * c, "x");
  const float* boxes = args.f32(1, n * 4, "boxes");
  float* out = args.f32(2, n * oh * ow * c, "out");
  if (args.failed) return nullptr;
  if (h < 1 || w < 1) return args.fail("images must not be empty"), nullptr;
  crop_and_resize(n, h, w, c, x, boxes, oh, ow, out);
  return undefined(env);
}

// colorAffine(x, a, t, out, sizes[n, hw, c], lo, hi)
napi_value ColorAffine(napi_env env, napi_callback_info info) {
  Args args(env, info, 7);
  std::vector<long> p = args.ints(4, 3);
  const long n = p[0], hw = p[1], c = p[2];
  const float* x = args.f32(0, n * hw * c, "x");
  const float* a = args.f32(1, n * c * c, "matrices");
  const float* t = args.f32(2, n * c, "offsets");
  float* out = args.f32(3, n * hw * c, "out");
  const double lo = args.number(5), hi = args.number(6);
  if (args.failed) return nullptr;
  color_affine(n, hw, c, x, a, t, static_cast<float>(lo), static_cast<float>(hi), out);
  return undefined(env);
}

// gaussianBlur(x, sigma, out, sizes[n, h, w, c, radius])
napi_value GaussianBlur(napi_env env, napi_callback_info info) {
  Args args(env, info, 4);
  std::vector<long> p = args.ints(3, 5);
  const long n = p[0], h = p[1], w = p[2], c = p[3], radius = p[4];
  const float* x = args.f32(0, n * h * w * c, "x");
  const float* sigma = args.f32(1, n, "sigma");
  float* out = args.f32(2, n * h * w * c, "out");
  if (args.failed) return nullptr;
  gaussian_blur(n, h, w, c, x, sigma, radius, out);
  return undefined(env);
}

// solarizeNormalize(x, flags, mean, std, out, sizes[n, hw, c], threshold)
napi_value SolarizeNormalize(napi_env env, napi_callback_info info) {
  Args args(env, info, 7);
  std::vector<long> p = args.ints(5, 3);
  const long n = p[0], hw = p[1], c = p[2];
  const float* x = args.f32(0, n * hw * c, "x");
  const float* flags = args.f32(1, n, "flags");
  const float* mean = args.f32(2, c, "mean");
  const float* sd = args.f32(3, c, "std");
  float* out = args.f32(4, n * hw * c, "out");
  const double threshold = args.number(6);
  if (args.failed) return nullptr;
  solarize_normalize(n, hw, c, x, flags, static_cast<float>(threshold), mean, sd, out);
  return undefined(env);
}

// The label model's sparse rows, checked once per call so the kernels can index freely:
// used[u] ∈ [0, rows), row_start non-decreasing within [0, entries], entry classes ∈ [0, k) and
// cells ∈ [0, cells). Returns false (with a RangeError thrown) otherwise.
bool valid_label_model(napi_env env, const LabelModelShape& s, const int32_t* used, const int32_t* row_start,
                       const int32_t* entry_class, const int32_t* entry_cell) {
  const char* problem = nullptr;
  for (long u = 0; u < s.used && !problem; ++u)
    if (used[u] < 0 || used[u] >= s.rows) problem = "a used row is outside the rows";
  for (long i = 0; i < s.rows && !problem; ++i)
    if (row_start[i] < 0 || row_start[i] > row_start[i + 1] || row_start[i + 1] > s.entries)
      problem = "rowStart must rise from 0 to at most the entries";
  for (long t = 0; t < s.entries && !problem; ++t)
    if (entry_class[t] < 0 || entry_class[t] >= s.classes || entry_cell[t] < 0 || entry_cell[t] >= s.cells)
      problem = "an entry's class or cell is out of range";
  if (problem) napi_throw_range_error(env, nullptr, (std::string("label model: ") + problem).c_str());
  return !problem;
}

LabelModelShape label_model_shape(const std::vector<long>& p) { return LabelModelShape{p[0], p[1], p[2], p[3], p[4]}; }

// The sparse rows both label-model entry points take at arguments 0 (used), 2 (rowStart),
// 3 (entryClass) and 4 (entryCell); args.failed (an exception pending) when missing or invalid.
struct LabelModelRows {
  const int32_t* used = nullptr;
  const int32_t* row_start = nullptr;
  const int32_t* entry_class = nullptr;
  const int32_t* entry_cell = nullptr;
};

LabelModelRows label_model_rows(Args& args, const LabelModelShape& s) {
  LabelModelRows r;
  r.used = args.i32(0, s.used, "used");
  r.row_start = args.i32(2, s.rows + 1, "rowStart");
  r.entry_class = args.i32(3, s.entries, "entryClass");
  r.entry_cell = args.i32(4, s.entries, "entryCell");
  if (!args.failed && !valid_label_model(args.env, s, r.used, r.row_start, r.entry_class, r.entry_cell)) args.failed = true;
  return r;
}

// labelModelSums(used, q, rowStart, entryClass, entryCell, massIn, massOut, classTotal, noneIn, noneOut,
//   sizes[used, rows, classes, cells, entries, abstainPerClass])
napi_value LabelModelSums(napi_env env, napi_callback_info info) {
  Args args(env, info, 11);
  std::vector<long> p = args.ints(10, 6);
  if (args.failed) return nullptr;
  const LabelModelShape s = label_model_shape(p);
  const bool per_class = p[5] != 0;
  const LabelModelRows r = label_model_rows(args, s);
  const float* q = args.f32(1, s.rows * s.classes, "q");
  double* mass_in = args.f64(5, s.cells, "massIn");
  double* mass_out = args.f64(6, s.cells, "massOut");
  double* class_total = args.f64(7, s.classes, "classTotal");
  double* none_in = args.f64(8, s.classes, "noneIn");
  double* none_out = args.f64(9, s.classes, "noneOut");
  if (args.failed) return nullptr;
  label_model_sums(s, r.used, q, r.row_start, r.entry_class, r.entry_cell, per_class, mass_in, mass_out, class_total,
                   none_in, none_out);
  return undefined(env);
}

// labelModelPosteriors(used, known, rowStart, entryClass, entryCell, base, term, abstain, q,
//   sizes[used, rows, classes, cells, entries, abstainPerClass]); known has rows elements, or 0 for none.
napi_value LabelModelPosteriors(napi_env env, napi_callback_info info) {
  Args args(env, info, 10);
  std::vector<long> p = args.ints(9, 6);
  if (args.failed) return nullptr;
  const LabelModelShape s = label_model_shape(p);
  const bool per_class = p[5] != 0;
  const LabelModelRows r = label_model_rows(args, s);
  if (args.failed) return nullptr;
  size_t known_length = 0;
  if (napi_get_typedarray_info(env, args.values[1], nullptr, &known_length, nullptr, nullptr, nullptr) != napi_ok)
    return args.fail("known must be a typed array"), nullptr;
  const int32_t* known = known_length ? args.i32(1, s.rows, "known") : nullptr;
  const double* base = args.f64(5, s.classes, "base");
  const double* term = args.f64(6, s.cells, "term");
  const double* abstain = args.f64(7, s.classes, "abstain");
  float* q = args.f32(8, s.rows * s.classes, "q");
  if (args.failed) return nullptr;
  label_model_posteriors(s, r.used, known, r.row_start, r.entry_class, r.entry_cell, base, term, abstain, per_class, q);
  return undefined(env);
}

// spreadDiffuse(rowStart, col, s, y, f, scratch, sizes[n, edges, cols, steps], keep): see spread.h.
napi_value SpreadDiffuse(napi_env env, napi_callback_info info) {
  Args args(env, info, 8);
  std::vector<long> p = args.ints(6, 4);
  const long n = p[0], edges = p[1], cols = p[2], steps = p[3];
  const int32_t* row_start = args.i32(0, n + 1, "rowStart");
  const int32_t* col = args.i32(1, edges, "col");
  const double* s = args.f64(2, edges, "s");
  const double* y = args.f64(3, n * cols, "y");
  double* f = args.f64(4, n * cols, "f");
  double* scratch = args.f64(5, n * cols, "scratch");
  const double keep = args.number(7);
  if (args.failed) return nullptr;
  // Checked once so the kernel can index freely.
  const char* problem = nullptr;
  if (row_start[0] != 0 || row_start[n] != edges) problem = "rowStart must run from 0 to the edges";
  for (long i = 0; i < n && !problem; ++i)
    if (row_start[i] > row_start[i + 1]) problem = "rowStart must not fall";
  for (long t = 0; t < edges && !problem; ++t)
    if (col[t] < 0 || col[t] >= n) problem = "an edge's column is outside the rows";
  if (problem) {
    napi_throw_range_error(env, nullptr, (std::string("spreadDiffuse: ") + problem).c_str());
    return nullptr;
  }
  spread_diffuse(n, cols, steps, row_start, col, s, y, keep, f, scratch);
  return undefined(env);
}

napi_value Info(napi_env env, napi_callback_info) {
  napi_value out, isa, threads;
  napi_create_object(env, &out);
  napi_create_string_utf8(env, isa_name(detected_isa()), NAPI_AUTO_LENGTH, &isa);
  napi_create_int32(env, ThreadPool::instance().threads(), &threads);
  napi_set_named_property(env, out, "isa", isa);
  napi_set_named_property(env, out, "threads", threads);
  return out;
}

// configure(threads, isa): 0 threads keeps the current count; isa "" keeps the current one.
napi_value Configure(napi_env env, napi_callback_info info) {
  Args args(env, info, 2);
  const double threads = args.number(0);
  char isa[16] = {0};
  size_t len = 0;
  if (!args.failed && napi_get_value_string_utf8(env, args.values[1], isa, sizeof isa, &len) != napi_ok)
    args.fail("isa must be a string");
  if (args.failed) return nullptr;
  if (threads >= 1) ThreadPool::instance().set_threads(static_cast<int>(threads));
  if (!std::strcmp(isa, "generic")) force_isa(Isa::Generic);
  if (!std::strcmp(isa, "avx2")) force_isa(Isa::Avx2);
  if (!std::strcmp(isa, "avx512")) force_isa(Isa::Avx512);
  return Info(env, info);
}

napi_value Init(napi_env env, napi_value exports) {
  const napi_property_descriptor props[] = {
      {"conv2d", nullptr, Conv2d, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"conv2dBackpropInput", nullptr, Conv2dBackpropInput, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"conv2dBackpropFilter", nullptr, Conv2dBackpropFilter, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"matmul", nullptr, Matmul, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"batchNorm", nullptr, BatchNorm, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"batchNormGrad", nullptr, BatchNormGrad, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"add", nullptr, Binary<add>, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"addRelu", nullptr, Binary<add_relu>, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"reluGrad", nullptr, Binary<relu_grad>, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"avgPool", nullptr, AvgPool, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"avgPoolGrad", nullptr, AvgPoolGrad, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"cropAndResize", nullptr, CropAndResize, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"colorAffine", nullptr, ColorAffine, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"gaussianBlur", nullptr, GaussianBlur, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"solarizeNormalize", nullptr, SolarizeNormalize, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"maxPool", nullptr, MaxPool, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"maxPoolGrad", nullptr, MaxPoolGrad, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"adam", nullptr, Adam, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"sinkhornPrepare", nullptr, SinkhornPrepare, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"sinkhornPass", nullptr, SinkhornPass, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"sinkhornAssign", nullptr, SinkhornAssign, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"sinkhornSparsify", nullptr, SinkhornSparsify, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"knnExact", nullptr, KnnExact, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"spreadDiffuse", nullptr, SpreadDiffuse, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"umapEpochs", nullptr, UmapEpochs, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"sinkhornCompact", nullptr, SinkhornCompact, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"sinkhornSparsePass", nullptr, SinkhornSparsePass, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"sinkhornSparseAssign", nullptr, SinkhornSparseAssign, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"labelModelSums", nullptr, LabelModelSums, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"labelModelPosteriors", nullptr, LabelModelPosteriors, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"info", nullptr, Info, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"configure", nullptr, Configure, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
