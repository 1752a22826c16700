// Native float32 kernels for tfjs-backend-wasm, run directly on the wasm heap (a plain
// ArrayBuffer), so no tensor is copied: matrix products with OpenBLAS's SGEMM, and the exact GELU
// and its derivative on all cores (wasm evaluates erf and exp one element at a time). OpenBLAS is loaded at run time with
// dlopen, so building needs no BLAS headers and a machine without OpenBLAS just reports
// `available: false` (the caller then keeps tfjs's own kernels).
#include <dlfcn.h>
#include <node_api.h>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

namespace {

enum { kRowMajor = 101, kNoTrans = 111, kTrans = 112 };
using Sgemm = void (*)(int order, int transA, int transB, int m, int n, int k, float alpha, const float* a, int lda,
                       const float* b, int ldb, float beta, float* c, int ldc);
Sgemm sgemm = nullptr;
std::string loadError;

void loadOpenBlas() {
  // Only OpenBLAS: Debian's default libblas.so.3 may be the reference BLAS, slower than wasm.
  void* lib = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    loadError = dlerror();
    return;
  }
  sgemm = reinterpret_cast<Sgemm>(dlsym(lib, "cblas_sgemm"));
  if (sgemm == nullptr) loadError = "libopenblas.so.0 has no cblas_sgemm";
}

double numberArg(napi_env env, napi_value value) {
  double x = 0;
  napi_get_value_double(env, value, &x);
  return x;
}

// sgemmBatched(heap, aByteOffset, bByteOffset, outByteOffset, batch, m, n, k, transposeA,
//              transposeB, aBatchStride, bBatchStride): out[i] = op(a[i]) · op(b[i]) for each i,
// row-major, op(a[i]) m×k and op(b[i]) k×n; a batch stride of 0 repeats one matrix (broadcast).
napi_value SgemmBatched(napi_env env, napi_callback_info info) {
  size_t argc = 12;
  napi_value args[12];
  napi_get_cb_info(env, info, &argc, args, nullptr, nullptr);
  if (argc != 12 || sgemm == nullptr) {
    napi_throw_error(env, nullptr, "sgemmBatched: needs 12 arguments and OpenBLAS");
    return nullptr;
  }
  void* heap = nullptr;
  size_t heapBytes = 0;
  if (napi_get_arraybuffer_info(env, args[0], &heap, &heapBytes) != napi_ok) {
    napi_throw_type_error(env, nullptr, "sgemmBatched: the first argument must be an ArrayBuffer");
    return nullptr;
  }
  auto* base = static_cast<uint8_t*>(heap);
  const auto* a = reinterpret_cast<const float*>(base + static_cast<size_t>(numberArg(env, args[1])));
  const auto* b = reinterpret_cast<const float*>(base + static_cast<size_t>(numberArg(env, args[2])));
  auto* out = reinterpret_cast<float*>(base + static_cast<size_t>(numberArg(env, args[3])));
  const int batch = static_cast<int>(numberArg(env, args[4]));
  const int m = static_cast<int>(numberArg(env, args[5]));
  const int n = static_cast<int>(numberArg(env, args[6]));
  const int k = static_cast<int>(numberArg(env, args[7]));
  bool transposeA = false, transposeB = false;
  napi_get_value_bool(env, args[8], &transposeA);
  napi_get_value_bool(env, args[9], &transposeB);
  const auto strideA = static_cast<size_t>(numberArg(env, args[10]));
  const auto strideB = static_cast<size_t>(numberArg(env, args[11]));
  // Leading dimensions of the stored (untransposed) row-major matrices.
  const int lda = transposeA ? m : k;
  const int ldb = transposeB ? k : n;
  for (int i = 0; i < batch; i++) {
    sgemm(kRowMajor, transposeA ? kTrans : kNoTrans, transposeB ? kTrans : kNoTrans, m, n, k, 1.0f, a + i * strideA, lda,
          b + i * strideB, ldb, 0.0f, out + static_cast<size_t>(i) * m * n, n);
  }
  return nullptr;
}

// f(begin, end) over [0, n) in one contiguous slice per core.
template <typename F>
void parallelFor(size_t n, F f) {
  const size_t cores = std::max(1u, std::thread::hardware_concurrency());
  if (n < 65536 || cores == 1) return f(0, n);
  std::vector<std::thread> others;
  const size_t slice = (n + cores - 1) / cores;
  for (size_t begin = slice; begin < n; begin += slice) others.emplace_back(f, begin, std::min(n, begin + slice));
  f(0, slice);
  for (auto& t : others) t.join();
}

float* floatsAt(napi_env env, napi_value heap, napi_value byteOffset) {
  void* base = nullptr;
  size_t bytes = 0;
  napi_get_arraybuffer_info(env, heap, &base, &bytes);
  return reinterpret_cast<float*>(static_cast<uint8_t*>(base) + static_cast<size_t>(numberArg(env, byteOffset)));
}

constexpr float kInvSqrt2 = 0.70710678118654752f;
constexpr float kInvSqrt2Pi = 0.39894228040143268f;

// erf by Abramowitz & Stegun 7.1.26: |error| ≤ 1.5e-7, float32's own resolution near 1, for one
// exp, a division and a polynomial: ~2.5x faster than glibc's erff (~10 ns a value).
inline float erfApprox(float x) {
  const float ax = std::fabs(x);
  const float t = 1.0f / (1.0f + 0.3275911f * ax);
  const float poly = t * (0.254829592f + t * (-0.284496736f + t * (1.421413741f + t * (-1.453152027f + t * 1.061405429f))));
  return std::copysign(1.0f - poly * std::exp(-ax * ax), x);
}

// gelu(heap, xOffset, outOffset, n): out = x · Φ(x), Φ(x) = (1 + erf(x/√2)) / 2.
napi_value Gelu(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value args[4];
  napi_get_cb_info(env, info, &argc, args, nullptr, nullptr);
  const float* x = floatsAt(env, args[0], args[1]);
  float* out = floatsAt(env, args[0], args[2]);
  parallelFor(static_cast<size_t>(numberArg(env, args[3])), [=](size_t begin, size_t end) {
    for (size_t i = begin; i < end; i++) out[i] = 0.5f * x[i] * (1.0f + erfApprox(x[i] * kInvSqrt2));
  });
  return nullptr;
}

// geluGrad(heap, xOffset, dyOffset, outOffset, n): out = dy · (Φ(x) + x · φ(x)).
napi_value GeluGrad(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value args[5];
  napi_get_cb_info(env, info, &argc, args, nullptr, nullptr);
  const float* x = floatsAt(env, args[0], args[1]);
  const float* dy = floatsAt(env, args[0], args[2]);
  float* out = floatsAt(env, args[0], args[3]);
  parallelFor(static_cast<size_t>(numberArg(env, args[4])), [=](size_t begin, size_t end) {
    for (size_t i = begin; i < end; i++) {
      const float cdf = 0.5f * (1.0f + erfApprox(x[i] * kInvSqrt2));
      const float density = kInvSqrt2Pi * std::exp(-0.5f * x[i] * x[i]);
      out[i] = dy[i] * (cdf + x[i] * density);
    }
  });
  return nullptr;
}

void exportFunction(napi_env env, napi_value exports, const char* name, napi_callback fn) {
  napi_value value;
  napi_create_function(env, name, NAPI_AUTO_LENGTH, fn, nullptr, &value);
  napi_set_named_property(env, exports, name, value);
}

napi_value Init(napi_env env, napi_value exports) {
  loadOpenBlas();
  napi_value available, reason;
  napi_get_boolean(env, sgemm != nullptr, &available);
  napi_create_string_utf8(env, loadError.c_str(), loadError.size(), &reason);
  napi_set_named_property(env, exports, "available", available);
  napi_set_named_property(env, exports, "unavailableReason", reason);
  exportFunction(env, exports, "sgemmBatched", SgemmBatched);
  exportFunction(env, exports, "gelu", Gelu);
  exportFunction(env, exports, "geluGrad", GeluGrad);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
