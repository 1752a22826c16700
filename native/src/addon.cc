// The Node-API face of the native kernels: each function takes tfjs-backend-wasm's heap (an
// ArrayBuffer) and byte offsets into it, so tensors are used where they lie, never copied.
#include <node_api.h>

#include <string>
#include <vector>

#include "blas.h"
#include "gemm.h"
#include "gemm_kernels.h"
#include "kernels.h"
#include "parallel.h"

namespace vit {
namespace {

// Bumped whenever an exported function's arguments change: the TypeScript side refuses an addon
// built from other sources (a checkout updated without rebuilding) instead of misreading it.
constexpr int kAbi = 12;

// The call's arguments: heap first, then byte offsets and sizes.
class Args {
 public:
  Args(napi_env env, napi_callback_info info) : env_(env) {
    size_t argc = kMax;
    napi_get_cb_info(env, info, &argc, values_, nullptr, nullptr);
    count_ = argc;
    if (argc > 0) napi_get_arraybuffer_info(env, values_[0], &heap_, &heapBytes_);
  }
  bool ok(size_t expected, const char* name) const {
    if (count_ == expected && heap_ != nullptr) return true;
    const std::string message = std::string(name) + ": expected the wasm heap and " + std::to_string(expected - 1) + " numbers";
    napi_throw_type_error(env_, nullptr, message.c_str());
    return false;
  }
  double number(size_t i) const {
    double x = 0;
    napi_get_value_double(env_, values_[i], &x);
    return x;
  }
  size_t size(size_t i) const { return static_cast<size_t>(number(i)); }
  bool flag(size_t i) const {
    bool b = false;
    napi_get_value_bool(env_, values_[i], &b);
    return b;
  }
  float* floats(size_t i) const { return reinterpret_cast<float*>(static_cast<uint8_t*>(heap_) + size(i)); }
  uint8_t* heap() const { return static_cast<uint8_t*>(heap_); }
  // A Float64Array argument's values.
  std::vector<double> doubles(size_t i) const {
    napi_typedarray_type type;
    size_t length = 0;
    void* data = nullptr;
    if (napi_get_typedarray_info(env_, values_[i], &type, &length, &data, nullptr, nullptr) != napi_ok || type != napi_float64_array) return {};
    const double* values = static_cast<const double*>(data);
    return std::vector<double>(values, values + length);
  }
  WindowShape window(size_t first) const {
    size_t v[12];
    for (size_t i = 0; i < 12; i++) v[i] = size(first + i);
    return {v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11]};
  }
  AttentionShape attention(size_t first) const { return {size(first), size(first + 1), size(first + 2), size(first + 3)}; }
  WindowAttentionShape windowAttention(size_t first) const {
    return {size(first), size(first + 1), size(first + 2), size(first + 3), size(first + 4), size(first + 5)};
  }
  DepthwiseShape depthwise(size_t first) const {
    return {size(first),     size(first + 1), size(first + 2), size(first + 3), size(first + 4),
            size(first + 5), size(first + 6), size(first + 7), size(first + 8), size(first + 9)};
  }

 private:
  static constexpr size_t kMax = 20;
  napi_env env_;
  napi_value values_[kMax];
  size_t count_ = 0;
  void* heap_ = nullptr;
  size_t heapBytes_ = 0;
};

napi_value String(napi_env env, const std::string& s);

// matMul(heap, a, b, out, batch, m, n, k, transposeA, transposeB, aBatchStride, bBatchStride)
napi_value MatMul(napi_env env, napi_callback_info info) {
  Args a(env, info);
  if (a.ok(12, "matMul")) batchMatMul(a.floats(1), a.floats(2), a.floats(3), a.size(4), a.size(5), a.size(6), a.size(7), a.flag(8), a.flag(9), a.size(10), a.size(11));
  return nullptr;
}
// affine(heap, x, w, bias, out, m, n, k)
napi_value Affine(napi_env env, napi_callback_info info) {
  Args a(env, info);
  if (a.ok(8, "affine")) affine(a.floats(1), a.floats(2), a.floats(3), a.floats(4), a.size(5), a.size(6), a.size(7));
  return nullptr;
}
// gelu(heap, x, out, n)
napi_value Gelu(napi_env env, napi_callback_info info) {
  Args a(env, info);
  if (a.ok(4, "gelu")) gelu(a.floats(1), a.floats(2), a.size(3));
  return nullptr;
}
// geluGrad(heap, x, dy, out, n)
napi_value GeluGrad(napi_env env, napi_callback_info info) {
  Args a(env, info);
  if (a.ok(5, "geluGrad")) geluGrad(a.floats(1), a.floats(2), a.floats(3), a.size(4));
  return nullptr;
}
// silu(heap, x, out, n)
napi_value Silu(napi_env env, napi_callback_info info) {
  Args a(env, info);
  if (a.ok(4, "silu")) silu(a.floats(1), a.floats(2), a.size(3));
  return nullptr;
}
// siluGrad(heap, x, dy, out, n)
napi_value SiluGrad(napi_env env, napi_callback_info info) {
  Args a(env, info);
  if (a.ok(5, "siluGrad")) siluGrad(a.floats(1), a.floats(2), a.floats(3), a.size(4));
  return nullptr;
}
// add(heap, a, b, out, n)
napi_value Add(napi_env env, napi_callback_info info) {
  Args a(env, info);
  if (a.ok(5, "add")) add(a.floats(1), a.floats(2), a.floats(3), a.size(4));
  return nullptr;
}
// layerNorm(heap, x, weight, bias, out, normalized, invStd, rows, dim, eps)
napi_value LayerNorm(napi_env env, napi_callback_info info) {
  Args a(env, info);
  if (a.ok(10, "layerNorm")) layerNorm(a.floats(1), a.floats(2), a.floats(3), a.floats(4), a.floats(5), a.floats(6), a.size(7), a.size(8), static_cast<float>(a.number(9)));
  return nullptr;
}
// layerNormGrad(heap, dy, normalized, invStd, weight, dx, dWeight, dBias, rows, dim)
napi_value LayerNormGrad(napi_env env, napi_callback_info info) {
  Args a(env, info);
  if (a.ok(10, "layerNormGrad")) layerNormGrad(a.floats(1), a.floats(2), a.floats(3), a.floats(4), a.floats(5), a.floats(6), a.floats(7), a.size(8), a.size(9));
  return nullptr;
}
// attention(heap, qkv, out, probs, batch, heads, n, d, scale, maskDiagonal)
napi_value Attention(napi_env env, napi_callback_info info) {
  Args a(env, info);
  if (a.ok(10, "attention")) attention(a.floats(1), a.floats(2), a.floats(3), a.attention(4), static_cast<float>(a.number(8)), a.flag(9));
  return nullptr;
}
// attentionGrad(heap, dOut, qkv, probs, dQkv, batch, heads, n, d, scale)
napi_value AttentionGrad(napi_env env, napi_callback_info info) {
  Args a(env, info);
  if (a.ok(10, "attentionGrad")) attentionGrad(a.floats(1), a.floats(2), a.floats(3), a.floats(4), a.attention(5), static_cast<float>(a.number(9)));
  return nullptr;
}
// windowAttention(heap, qkv, bias, out, probs, batch, heads, side, window, shift, d, biasWindows, scale)
napi_value WindowAttention(napi_env env, napi_callback_info info) {
  Args a(env, info);
  if (a.ok(13, "windowAttention")) windowAttention(a.floats(1), a.floats(2), a.floats(3), a.floats(4), a.windowAttention(5), a.size(11), static_cast<float>(a.number(12)));
  return nullptr;
}
// windowAttentionGrad(heap, dOut, qkv, probs, dQkv, dLogits, batch, heads, side, window, shift, d, scale)
napi_value WindowAttentionGrad(napi_env env, napi_callback_info info) {
  Args a(env, info);
  if (a.ok(13, "windowAttentionGrad"))
    windowAttentionGrad(a.floats(1), a.floats(2), a.floats(3), a.floats(4), a.floats(5), a.windowAttention(6), static_cast<float>(a.number(12)));
  return nullptr;
}
// depthwiseConv(heap, x, weight, bias, y, batch, height, width, channels, kernel, padTop, padBottom, padLeft, padRight, stride)
napi_value DepthwiseConv(napi_env env, napi_callback_info info) {
  Args a(env, info);
  if (a.ok(15, "depthwiseConv")) depthwiseConv(a.floats(1), a.floats(2), a.floats(3), a.floats(4), a.depthwise(5));
  return nullptr;
}
// depthwiseConvGrad(heap, dy, x, weight, dx, dWeight, dBias, …shape as depthwiseConv)
napi_value DepthwiseConvGrad(napi_env env, napi_callback_info info) {
  Args a(env, info);
  if (a.ok(17, "depthwiseConvGrad")) depthwiseConvGrad(a.floats(1), a.floats(2), a.floats(3), a.floats(4), a.floats(5), a.floats(6), a.depthwise(7));
  return nullptr;
}
// batchNorm(heap, x, weight, bias, y, mean, variance, invStd, n, c, eps, activation)
napi_value BatchNorm(napi_env env, napi_callback_info info) {
  Args a(env, info);
  if (a.ok(12, "batchNorm"))
    batchNorm(a.floats(1), a.floats(2), a.floats(3), a.floats(4), a.floats(5), a.floats(6), a.floats(7), a.size(8), a.size(9),
              static_cast<float>(a.number(10)), static_cast<BatchNormActivation>(a.size(11)));
  return nullptr;
}
// batchNormApply(heap, x, scale, shift, y, n, c, activation)
napi_value BatchNormApply(napi_env env, napi_callback_info info) {
  Args a(env, info);
  if (a.ok(8, "batchNormApply")) batchNormApply(a.floats(1), a.floats(2), a.floats(3), a.floats(4), a.size(5), a.size(6), static_cast<BatchNormActivation>(a.size(7)));
  return nullptr;
}
// batchNormGrad(heap, dy, x, mean, invStd, weight, bias, dx, dWeight, dBias, n, c, activation)
napi_value BatchNormGrad(napi_env env, napi_callback_info info) {
  Args a(env, info);
  if (a.ok(13, "batchNormGrad"))
    batchNormGrad(a.floats(1), a.floats(2), a.floats(3), a.floats(4), a.floats(5), a.floats(6), a.floats(7), a.floats(8), a.floats(9), a.size(10),
                  a.size(11), static_cast<BatchNormActivation>(a.size(12)));
  return nullptr;
}
// im2col(heap, x, out, …window)
napi_value Im2col(napi_env env, napi_callback_info info) {
  Args a(env, info);
  if (a.ok(15, "im2col")) im2col(a.floats(1), a.floats(2), a.window(3));
  return nullptr;
}
// im2colGrad(heap, dy, dx, …window)
napi_value Im2colGrad(napi_env env, napi_callback_info info) {
  Args a(env, info);
  if (a.ok(15, "im2colGrad")) im2colGrad(a.floats(1), a.floats(2), a.window(3));
  return nullptr;
}
// maxPool(heap, x, y, …window)
napi_value MaxPool(napi_env env, napi_callback_info info) {
  Args a(env, info);
  if (a.ok(15, "maxPool")) maxPool(a.floats(1), a.floats(2), a.window(3));
  return nullptr;
}
// maxPoolGrad(heap, dy, x, y, dx, …window)
napi_value MaxPoolGrad(napi_env env, napi_callback_info info) {
  Args a(env, info);
  if (a.ok(17, "maxPoolGrad")) maxPoolGrad(a.floats(1), a.floats(2), a.floats(3), a.floats(4), a.window(5));
  return nullptr;
}

// The names of a row's fields in optimizerStep's table, in order (kernels.h's VIT_OPTIMIZER_FIELDS).
#define VIT_FIELD_NAME(name) #name,
constexpr const char* kOptimizerFields[] = {VIT_OPTIMIZER_FIELDS(VIT_FIELD_NAME)};
#undef VIT_FIELD_NAME
constexpr size_t kOptimizerRow = sizeof(kOptimizerFields) / sizeof(kOptimizerFields[0]);

// The index of each field within a row.
struct OptimizerField {
  enum : size_t {
#define VIT_FIELD_INDEX(name) name,
    VIT_OPTIMIZER_FIELDS(VIT_FIELD_INDEX)
#undef VIT_FIELD_INDEX
  };
};

// optimizerStep(heap, table, beta1, beta2, stepSize, invSqrtBias2, eps, maxNorm, momentum,
// nesterov, nsSteps, normOut): `table` is a Float64Array of one row per parameter, its fields in
// the order optimizerTableLayout() gives (byte offsets for the tensors). Writes the global norm
// (float32) at normOut.
napi_value OptimizerStep(napi_env env, napi_callback_info info) {
  Args a(env, info);
  if (!a.ok(12, "optimizerStep")) return nullptr;
  const std::vector<double> table = a.doubles(1);
  std::vector<OptimizerTensor> tensors(table.size() / kOptimizerRow);
  uint8_t* heap = a.heap();
  auto at = [&](double offset) { return reinterpret_cast<float*>(heap + static_cast<size_t>(offset)); };
  for (size_t i = 0; i < tensors.size(); i++) {
    const double* row = table.data() + kOptimizerRow * i;
    using F = OptimizerField;
    tensors[i] = {at(row[F::param]), at(row[F::grad]), at(row[F::m]), at(row[F::v]), at(row[F::paramOut]), at(row[F::mOut]), at(row[F::vOut]),
                  static_cast<size_t>(row[F::size]), static_cast<float>(row[F::keep]), static_cast<float>(row[F::l2]),
                  static_cast<OptimizerRule>(static_cast<int>(row[F::rule])), static_cast<size_t>(row[F::rows]), static_cast<float>(row[F::stepScale])};
  }
  const OptimizerSettings settings{static_cast<float>(a.number(2)), static_cast<float>(a.number(3)), static_cast<float>(a.number(4)),
                                   static_cast<float>(a.number(5)), static_cast<float>(a.number(6)), static_cast<float>(a.number(7)),
                                   static_cast<float>(a.number(8)), a.flag(9), static_cast<int>(a.number(10))};
  *a.floats(11) = optimizerStep(tensors.data(), tensors.size(), settings);
  return nullptr;
}

// optimizerTableLayout(): the field names of one row of optimizerStep's table, in order.
napi_value OptimizerTableLayout(napi_env env, napi_callback_info) {
  napi_value list;
  napi_create_array_with_length(env, kOptimizerRow, &list);
  for (size_t i = 0; i < kOptimizerRow; i++) napi_set_element(env, list, static_cast<uint32_t>(i), String(env, kOptimizerFields[i]));
  return list;
}

// slice(heap, x, out, elementBytes, geometry): geometry is a Float64Array [rank, shape…, begin…, size…].
napi_value Slice(napi_env env, napi_callback_info info) {
  Args a(env, info);
  if (!a.ok(5, "slice")) return nullptr;
  const std::vector<double> g = a.doubles(4);
  const size_t rank = g.empty() ? 0 : static_cast<size_t>(g[0]);
  if (rank == 0 || rank > 8 || g.size() != 1 + 3 * rank) {
    napi_throw_range_error(env, nullptr, "slice: expected [rank ≤ 8, shape, begin, size]");
    return nullptr;
  }
  size_t dims[24];
  for (size_t i = 0; i < 3 * rank; i++) dims[i] = static_cast<size_t>(g[1 + i]);
  sliceCopy(a.floats(1), a.floats(2), a.size(3), rank, dims, dims + rank, dims + 2 * rank);
  return nullptr;
}

// permute(heap, x, out, elementBytes, geometry): geometry is a Float64Array [rank, shape…, perm…],
// perm's last entry rank − 1.
napi_value Permute(napi_env env, napi_callback_info info) {
  Args a(env, info);
  if (!a.ok(5, "permute")) return nullptr;
  const std::vector<double> g = a.doubles(4);
  const size_t rank = g.empty() ? 0 : static_cast<size_t>(g[0]);
  if (rank == 0 || rank > 8 || g.size() != 1 + 2 * rank || static_cast<size_t>(g[2 * rank]) != rank - 1) {
    napi_throw_range_error(env, nullptr, "permute: expected [rank ≤ 8, shape, perm] with the last axis kept last");
    return nullptr;
  }
  size_t dims[16];
  for (size_t i = 0; i < 2 * rank; i++) dims[i] = static_cast<size_t>(g[1 + i]);
  permuteCopy(a.floats(1), a.floats(2), a.size(3), rank, dims, dims + rank);
  return nullptr;
}

napi_value String(napi_env env, const std::string& s) {
  napi_value value;
  napi_create_string_utf8(env, s.c_str(), s.size(), &value);
  return value;
}

// info(): { abi, gemm, gemmFallback, threads }: what computes here (decided on first call).
napi_value Info(napi_env env, napi_callback_info) {
  napi_value result, abi, threads;
  napi_create_object(env, &result);
  napi_create_int32(env, kAbi, &abi);
  napi_create_int32(env, poolThreads(), &threads);
  napi_set_named_property(env, result, "abi", abi);
  napi_set_named_property(env, result, "gemm", String(env, gemmDescription()));
  napi_set_named_property(env, result, "gemmFallback", String(env, gemmFallbackReason()));
  napi_set_named_property(env, result, "threads", threads);
  return result;
}

// systemBlases(): a description of every system BLAS found, in use or not.
napi_value SystemBlases(napi_env env, napi_callback_info) {
  const std::vector<std::string> found = systemBlasesFound();
  napi_value list;
  napi_create_array_with_length(env, found.size(), &list);
  for (size_t i = 0; i < found.size(); i++) napi_set_element(env, list, static_cast<uint32_t>(i), String(env, found[i]));
  return list;
}

void exportFunction(napi_env env, napi_value exports, const char* name, napi_callback fn) {
  napi_value value;
  napi_create_function(env, name, NAPI_AUTO_LENGTH, fn, nullptr, &value);
  napi_set_named_property(env, exports, name, value);
}

napi_value Init(napi_env env, napi_value exports) {
  exportFunction(env, exports, "info", Info);
  exportFunction(env, exports, "systemBlases", SystemBlases);
  exportFunction(env, exports, "matMul", MatMul);
  exportFunction(env, exports, "affine", Affine);
  exportFunction(env, exports, "gelu", Gelu);
  exportFunction(env, exports, "geluGrad", GeluGrad);
  exportFunction(env, exports, "add", Add);
  exportFunction(env, exports, "layerNorm", LayerNorm);
  exportFunction(env, exports, "layerNormGrad", LayerNormGrad);
  exportFunction(env, exports, "attention", Attention);
  exportFunction(env, exports, "attentionGrad", AttentionGrad);
  exportFunction(env, exports, "windowAttention", WindowAttention);
  exportFunction(env, exports, "windowAttentionGrad", WindowAttentionGrad);
  exportFunction(env, exports, "depthwiseConv", DepthwiseConv);
  exportFunction(env, exports, "depthwiseConvGrad", DepthwiseConvGrad);
  exportFunction(env, exports, "batchNorm", BatchNorm);
  exportFunction(env, exports, "batchNormGrad", BatchNormGrad);
  exportFunction(env, exports, "batchNormApply", BatchNormApply);
  exportFunction(env, exports, "im2col", Im2col);
  exportFunction(env, exports, "im2colGrad", Im2colGrad);
  exportFunction(env, exports, "maxPool", MaxPool);
  exportFunction(env, exports, "maxPoolGrad", MaxPoolGrad);
  exportFunction(env, exports, "optimizerStep", OptimizerStep);
  exportFunction(env, exports, "optimizerTableLayout", OptimizerTableLayout);
  exportFunction(env, exports, "silu", Silu);
  exportFunction(env, exports, "siluGrad", SiluGrad);
  exportFunction(env, exports, "slice", Slice);
  exportFunction(env, exports, "permute", Permute);
  return exports;
}

}  // namespace
}  // namespace vit

NAPI_MODULE(NODE_GYP_MODULE_NAME, vit::Init)
