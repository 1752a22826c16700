// Native float32 kernels for tfjs-backend-wasm, run directly on the wasm heap (a plain
// ArrayBuffer), so no tensor is copied: matrix products with OpenBLAS's SGEMM; the exact GELU and
// its derivative, LayerNorm and its gradient, whole multi-head attention and its gradient, and
// im2col and max pooling's gradient (CCT's tokenizer) on all cores (wasm runs elementwise work on
// one thread, erf and exp one element at a time). OpenBLAS is loaded at run time with dlopen, so
// building needs no BLAS headers and a machine without OpenBLAS just reports `available: false` (the caller then keeps tfjs's own kernels).
#include <dlfcn.h>
#include <node_api.h>
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

enum { kRowMajor = 101, kNoTrans = 111, kTrans = 112 };
using Sgemm = void (*)(int order, int transA, int transB, int m, int n, int k, float alpha, const float* a, int lda,
                       const float* b, int ldb, float beta, float* c, int ldc);
Sgemm sgemm = nullptr;
// Optional (OpenBLAS exports both): the attention kernel runs one small product per thread and
// keeps OpenBLAS from starting its own threads inside them.
int (*getBlasThreads)() = nullptr;
void (*setBlasThreads)(int) = nullptr;
char* (*getBlasCore)() = nullptr;  // the kernel set OpenBLAS chose, e.g. "SkylakeX"
std::string loadError;

// OpenBLAS reads both settings below once, when it is loaded; a user's own values win.
// Kernels: it picks them from the CPU model; 0.3.21 (Debian 12) does not know recent ones (e.g.
// Sapphire Rapids) and falls back to its SSE3 "Prescott" kernels, 3x slower at SGEMM here, so
// name a kernel set from the CPU's features. Idle threads: after each product its worker threads
// spin (sched_yield) for 2^28 cycles, ~0.1 s, taking a core from the single-threaded wasm work
// between products and from our own kernels' threads; 2^12 cycles (~1 µs) makes them sleep soon.
// CCT-2/3x2 trains at ~350 img/s with 12 against ~250 with the default (vit bench, interleaved).
void configureOpenBlas() {
  setenv("OPENBLAS_THREAD_TIMEOUT", "12", 0);
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr) return;
  __builtin_cpu_init();
  const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
  if (avx512) setenv("OPENBLAS_CORETYPE", "SkylakeX", 0);
  else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) setenv("OPENBLAS_CORETYPE", "Haswell", 0);
}

void loadOpenBlas() {
  configureOpenBlas();
  // Only OpenBLAS: Debian's default libblas.so.3 may be the reference BLAS, slower than wasm.
  void* lib = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    loadError = dlerror();
    return;
  }
  sgemm = reinterpret_cast<Sgemm>(dlsym(lib, "cblas_sgemm"));
  if (sgemm == nullptr) loadError = "libopenblas.so.0 has no cblas_sgemm";
  getBlasThreads = reinterpret_cast<int (*)()>(dlsym(lib, "openblas_get_num_threads"));
  getBlasCore = reinterpret_cast<char* (*)()>(dlsym(lib, "openblas_get_corename"));
  setBlasThreads = reinterpret_cast<void (*)(int)>(dlsym(lib, "openblas_set_num_threads"));
}

double numberArg(napi_env env, napi_value value) {
  double x = 0;
  napi_get_value_double(env, value, &x);
  return x;
}

// f(slot, begin, end) over [0, n) cut into up to kChunksPerCore slices per core (slot = 0, 1, …
// numbers the slices, for per-slice scratch, in order), each of at least `minPerSlice` items.
// The threads take slices from a shared counter rather than one fixed half each: on a machine
// whose other core is busy, the calling thread does the slices a descheduled thread has not
// started, so a kernel is never much slower than on one thread. Threads are created per call
// (~20-50 µs each), hence the minimum slice. Returns the number of slices.
constexpr size_t kChunksPerCore = 4;
size_t cores() { return std::max(1u, std::thread::hardware_concurrency()); }

template <typename F>
size_t parallelSlices(size_t n, size_t minPerSlice, F f) {
  const size_t slices = std::min(kChunksPerCore * cores(), std::max<size_t>(1, n / std::max<size_t>(1, minPerSlice)));
  const size_t length = (n + slices - 1) / std::max<size_t>(1, slices);
  std::atomic<size_t> next{0};
  auto work = [&]() {
    for (size_t slot = next++; slot < slices; slot = next++) f(slot, std::min(n, slot * length), std::min(n, (slot + 1) * length));
  };
  std::vector<std::thread> others;
  for (size_t t = 1; t < std::min(cores(), slices); t++) others.emplace_back(work);
  work();
  for (auto& t : others) t.join();
  return slices;
}

// f(begin, end) over [0, n), split as parallelSlices does.
template <typename F>
void parallelFor(size_t n, size_t minPerSlice, F f) {
  parallelSlices(n, minPerSlice, [&f](size_t, size_t begin, size_t end) { f(begin, end); });
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
  auto product = [=](size_t begin, size_t end) {
    for (size_t i = begin; i < end; i++) {
      sgemm(kRowMajor, transposeA ? kTrans : kNoTrans, transposeB ? kTrans : kNoTrans, m, n, k, 1.0f, a + i * strideA,
            lda, b + i * strideB, ldb, 0.0f, out + i * m * n, n);
    }
  };
  // OpenBLAS runs a product below 4·65536 multiply-adds on the calling thread alone (its
  // GEMM_MULTITHREAD_THRESHOLD): the attention's per-head products. Those run in parallel over
  // the batch instead, one OpenBLAS call per thread; larger ones use OpenBLAS's own threads.
  const bool small = static_cast<double>(m) * n * k < 4 * 65536.0;
  if (small && batch > 1) parallelFor(static_cast<size_t>(batch), 1, product);
  else product(0, static_cast<size_t>(batch));
  return nullptr;
}

float* floatsAt(napi_env env, napi_value heap, napi_value byteOffset) {
  void* base = nullptr;
  size_t bytes = 0;
  napi_get_arraybuffer_info(env, heap, &base, &bytes);
  return reinterpret_cast<float*>(static_cast<uint8_t*>(base) + static_cast<size_t>(numberArg(env, byteOffset)));
}

constexpr size_t kElementsPerSlice = 32768;
constexpr float kInvSqrt2 = 0.70710678118654752f;

// e^x as 2^n · e^r with n = round(x / ln 2), |r| ≤ ln2/2, e^r by its degree-6 Taylor polynomial
// (relative error < 2e-7), 2^n built in the exponent bits. Unlike std::exp (a libm call) the
// compiler vectorizes loops over it. Inputs below -87 give 0 (as float32's e^x underflows).
inline float expApprox(float x) {
  x = x > 88.0f ? 88.0f : x;
  x = x < -87.0f ? -87.0f : x;
  // Round to nearest by adding and subtracting 1.5·2^23 (vectorizes where nearbyint may not).
  const float n = (x * 1.44269504f + 12582912.0f) - 12582912.0f;
  const float r = (x - n * 0.693145751953125f) - n * 1.428606765330187e-06f;
  const float p = 1.0f + r * (1.0f + r * (0.5f + r * (1.0f / 6 + r * (1.0f / 24 + r * (1.0f / 120 + r * (1.0f / 720))))));
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}
constexpr float kInvSqrt2Pi = 0.39894228040143268f;

// erf by Abramowitz & Stegun 7.1.26: |error| ≤ 1.5e-7, float32's own resolution near 1, for one
// exp, a division and a polynomial: ~2.5x faster than glibc's erff (~10 ns a value).
// erfWithExp takes e^(−x²) computed by the caller (GELU's gradient needs that exponential too).
inline float erfWithExp(float x, float expMinusSquare) {
  const float t = 1.0f / (1.0f + 0.3275911f * std::fabs(x));
  const float poly = t * (0.254829592f + t * (-0.284496736f + t * (1.421413741f + t * (-1.453152027f + t * 1.061405429f))));
  return std::copysign(1.0f - poly * expMinusSquare, x);
}
inline float erfApprox(float x) { return erfWithExp(x, expApprox(-x * x)); }

// Reductions marked `omp simd` may add in any order (-fopenmp-simd: vector code only, no OpenMP
// runtime), so they vectorize as well.
// The elementwise loops, compiled for AVX-512 (Skylake-X and later), for AVX2 with FMA (Haswell
// and later) and for the baseline, chosen at load time (the compiler vectorizes them: 16, 8 or 4
// values at a time). Other architectures get the baseline only.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define VIT_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define VIT_VECTOR_CLONES
#endif

VIT_VECTOR_CLONES void geluRange(const float* __restrict x, float* __restrict out, size_t begin, size_t end) {
  for (size_t i = begin; i < end; i++) out[i] = 0.5f * x[i] * (1.0f + erfApprox(x[i] * kInvSqrt2));
}

VIT_VECTOR_CLONES void geluGradRange(const float* __restrict x, const float* __restrict dy, float* __restrict out, size_t begin,
                                     size_t end) {
  for (size_t i = begin; i < end; i++) {
    // One exponential serves both: e^(−(x/√2)²) = e^(−x²/2).
    const float e = expApprox(-0.5f * x[i] * x[i]);
    const float cdf = 0.5f * (1.0f + erfWithExp(x[i] * kInvSqrt2, e));
    const float density = kInvSqrt2Pi * e;
    out[i] = dy[i] * (cdf + x[i] * density);
  }
}

VIT_VECTOR_CLONES void addRange(const float* __restrict a, const float* __restrict b, float* __restrict out, size_t begin, size_t end) {
  for (size_t i = begin; i < end; i++) out[i] = a[i] + b[i];
}

// (heap, aOffset, bOffset, outOffset, n): out[i] = f(a[i], b[i]) over n values by `range`, split
// over cores. Serves add and geluGrad, which differ only in f.
using BinaryRange = void (*)(const float*, const float*, float*, size_t, size_t);
napi_value binaryElementwise(napi_env env, napi_callback_info info, BinaryRange range) {
  size_t argc = 5;
  napi_value args[5];
  napi_get_cb_info(env, info, &argc, args, nullptr, nullptr);
  const float* a = floatsAt(env, args[0], args[1]);
  const float* b = floatsAt(env, args[0], args[2]);
  float* out = floatsAt(env, args[0], args[3]);
  parallelFor(static_cast<size_t>(numberArg(env, args[4])), kElementsPerSlice,
              [=](size_t begin, size_t end) { range(a, b, out, begin, end); });
  return nullptr;
}

// add(heap, aOffset, bOffset, outOffset, n): out = a + b, for the residual stream's adds and
// tfjs's gradient accumulation, which wasm runs on one thread.
napi_value Add(napi_env env, napi_callback_info info) { return binaryElementwise(env, info, addRange); }

// gelu(heap, xOffset, outOffset, n): out = x · Φ(x), Φ(x) = (1 + erf(x/√2)) / 2.
napi_value Gelu(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value args[4];
  napi_get_cb_info(env, info, &argc, args, nullptr, nullptr);
  const float* x = floatsAt(env, args[0], args[1]);
  float* out = floatsAt(env, args[0], args[2]);
  parallelFor(static_cast<size_t>(numberArg(env, args[3])), kElementsPerSlice,
              [=](size_t begin, size_t end) { geluRange(x, out, begin, end); });
  return nullptr;
}

// geluGrad(heap, xOffset, dyOffset, outOffset, n): out = dy · (Φ(x) + x · φ(x)).
napi_value GeluGrad(napi_env env, napi_callback_info info) { return binaryElementwise(env, info, geluGradRange); }

// layerNorm(heap, xOffset, weightOffset, biasOffset, outOffset, normalizedOffset, invStdOffset,
//           rows, dim, eps): per row of x [rows, dim], x̂ = (x − mean) · invStd with
// invStd = 1/√(var + eps), out = x̂ · weight + bias; x̂ and invStd are kept for the gradient.
napi_value LayerNorm(napi_env env, napi_callback_info info) {
  size_t argc = 10;
  napi_value args[10];
  napi_get_cb_info(env, info, &argc, args, nullptr, nullptr);
  const float* x = floatsAt(env, args[0], args[1]);
  const float* weight = floatsAt(env, args[0], args[2]);
  const float* bias = floatsAt(env, args[0], args[3]);
  float* out = floatsAt(env, args[0], args[4]);
  float* normalized = floatsAt(env, args[0], args[5]);
  float* invStd = floatsAt(env, args[0], args[6]);
  const auto rows = static_cast<size_t>(numberArg(env, args[7]));
  const auto dim = static_cast<size_t>(numberArg(env, args[8]));
  const auto eps = static_cast<float>(numberArg(env, args[9]));
  parallelFor(rows, kElementsPerSlice / std::max<size_t>(1, dim), [=](size_t begin, size_t end) {
    for (size_t r = begin; r < end; r++) {
      const float* xr = x + r * dim;
      float* nr = normalized + r * dim;
      float* yr = out + r * dim;
      float sum = 0;
#pragma omp simd reduction(+ : sum)
      for (size_t j = 0; j < dim; j++) sum += xr[j];
      const float mean = sum / dim;
      float squares = 0;
#pragma omp simd reduction(+ : squares)
      for (size_t j = 0; j < dim; j++) squares += (xr[j] - mean) * (xr[j] - mean);
      const float inv = 1.0f / std::sqrt(squares / dim + eps);
      invStd[r] = inv;
      for (size_t j = 0; j < dim; j++) {
        nr[j] = (xr[j] - mean) * inv;
        yr[j] = nr[j] * weight[j] + bias[j];
      }
    }
  });
  return nullptr;
}

// layerNormGrad(heap, dyOffset, normalizedOffset, invStdOffset, weightOffset, dxOffset,
//               dWeightOffset, dBiasOffset, rows, dim): with g = dy · weight per row,
// dx = (g − mean(g) − x̂ · mean(g · x̂)) · invStd; dWeight = Σ_rows dy · x̂, dBias = Σ_rows dy
// (each thread sums its own rows, then the threads' sums are added).
napi_value LayerNormGrad(napi_env env, napi_callback_info info) {
  size_t argc = 10;
  napi_value args[10];
  napi_get_cb_info(env, info, &argc, args, nullptr, nullptr);
  const float* dy = floatsAt(env, args[0], args[1]);
  const float* normalized = floatsAt(env, args[0], args[2]);
  const float* invStd = floatsAt(env, args[0], args[3]);
  const float* weight = floatsAt(env, args[0], args[4]);
  float* dx = floatsAt(env, args[0], args[5]);
  float* dWeight = floatsAt(env, args[0], args[6]);
  float* dBias = floatsAt(env, args[0], args[7]);
  const auto rows = static_cast<size_t>(numberArg(env, args[8]));
  const auto dim = static_cast<size_t>(numberArg(env, args[9]));
  // Per slice: dim sums for dWeight, dim for dBias, dim floats of g.
  std::vector<float> scratch(3 * dim * kChunksPerCore * cores(), 0.0f);
  float* scratchBase = scratch.data();
  const size_t slices = parallelSlices(rows, kElementsPerSlice / std::max<size_t>(1, dim), [=](size_t slot, size_t begin, size_t end) {
    float* sumDyX = scratchBase + 3 * dim * slot;
    float* sumDy = sumDyX + dim;
    float* g = sumDy + dim;
    for (size_t r = begin; r < end; r++) {
      const float* dyr = dy + r * dim;
      const float* nr = normalized + r * dim;
      float* dxr = dx + r * dim;
      float meanG = 0, meanGX = 0;
#pragma omp simd reduction(+ : meanG, meanGX)
      for (size_t j = 0; j < dim; j++) {
        g[j] = dyr[j] * weight[j];
        meanG += g[j];
        meanGX += g[j] * nr[j];
        sumDyX[j] += dyr[j] * nr[j];
        sumDy[j] += dyr[j];
      }
      meanG /= dim;
      meanGX /= dim;
      for (size_t j = 0; j < dim; j++) dxr[j] = (g[j] - meanG - nr[j] * meanGX) * invStd[r];
    }
  });
  for (size_t j = 0; j < dim; j++) {
    float w = 0, b = 0;
    for (size_t slot = 0; slot < slices; slot++) {
      w += scratch[3 * dim * slot + j];
      b += scratch[3 * dim * slot + dim + j];
    }
    dWeight[j] = w;
    dBias[j] = b;
  }
  return nullptr;
}

// While alive, OpenBLAS runs each product on its calling thread (ours run several at once).
struct SingleThreadedBlas {
  int saved = 0;
  SingleThreadedBlas() {
    if (getBlasThreads != nullptr && setBlasThreads != nullptr) {
      saved = getBlasThreads();
      setBlasThreads(1);
    }
  }
  ~SingleThreadedBlas() {
    if (saved > 0) setBlasThreads(saved);
  }
};

// The shapes of one attention call: qkv [batch, n, 3·heads·d] holds q | k | v, each (heads d);
// out and its gradient are [batch, n, heads·d]; probs [batch, heads, n, n].
struct AttentionShape {
  size_t batch, heads, n, d;
  size_t qkvRow() const { return 3 * heads * d; }
  size_t outRow() const { return heads * d; }
  // Offsets of head h of sample b's q (k and v follow at + heads·d and + 2·heads·d), out, probs.
  size_t qkvAt(size_t b, size_t h) const { return b * n * qkvRow() + h * d; }
  size_t outAt(size_t b, size_t h) const { return b * n * outRow() + h * d; }
  size_t probsAt(size_t b, size_t h) const { return (b * heads + h) * n * n; }
};

AttentionShape attentionShape(napi_env env, napi_value* args) {
  return {static_cast<size_t>(numberArg(env, args[0])), static_cast<size_t>(numberArg(env, args[1])),
          static_cast<size_t>(numberArg(env, args[2])), static_cast<size_t>(numberArg(env, args[3]))};
}

// attention(heap, qkvOffset, outOffset, probsOffset, batch, heads, n, d, scale): per (sample, head),
// in parallel, probs = softmax(scale · q·kᵀ) over each row, out = probs · v. q, k, v are read in
// place from qkv and out written in place (strided products), so nothing is split or transposed.
napi_value Attention(napi_env env, napi_callback_info info) {
  size_t argc = 9;
  napi_value args[9];
  napi_get_cb_info(env, info, &argc, args, nullptr, nullptr);
  const float* qkv = floatsAt(env, args[0], args[1]);
  float* out = floatsAt(env, args[0], args[2]);
  float* probs = floatsAt(env, args[0], args[3]);
  const AttentionShape s = attentionShape(env, args + 4);
  const auto scale = static_cast<float>(numberArg(env, args[8]));
  const int n = static_cast<int>(s.n), d = static_cast<int>(s.d);
  const int ld = static_cast<int>(s.qkvRow()), ldOut = static_cast<int>(s.outRow());
  SingleThreadedBlas single;
  parallelFor(s.batch * s.heads, 1, [&](size_t begin, size_t end) {
    for (size_t task = begin; task < end; task++) {
      const size_t b = task / s.heads, h = task % s.heads;
      const float* q = qkv + s.qkvAt(b, h);
      const float* k = q + s.outRow();
      const float* v = k + s.outRow();
      float* p = probs + s.probsAt(b, h);
      sgemm(kRowMajor, kNoTrans, kTrans, n, n, d, scale, q, ld, k, ld, 0.0f, p, n);
      for (int i = 0; i < n; i++) {
        float* row = p + static_cast<size_t>(i) * n;
        float max = row[0];
        for (int j = 1; j < n; j++) max = row[j] > max ? row[j] : max;
        for (int j = 0; j < n; j++) row[j] = expApprox(row[j] - max);
        float sum = 0;
#pragma omp simd reduction(+ : sum)
        for (int j = 0; j < n; j++) sum += row[j];
        const float inv = 1.0f / sum;
        for (int j = 0; j < n; j++) row[j] *= inv;
      }
      sgemm(kRowMajor, kNoTrans, kNoTrans, n, d, n, 1.0f, p, n, v, ld, 0.0f, out + s.outAt(b, h), ldOut);
    }
  });
  return nullptr;
}

// attentionGrad(heap, dOutOffset, qkvOffset, probsOffset, dQkvOffset, batch, heads, n, d, scale):
// per (sample, head), in parallel, with P = probs and dO the head's slice of dOut:
//   dV = Pᵀ·dO,  dP = dO·Vᵀ,  dS = scale · P ⊙ (dP − rowsum(dP ⊙ P))  (softmax's Jacobian),
//   dQ = dS·K,  dK = dSᵀ·Q, all written in place into dQkv [batch, n, 3·heads·d].
napi_value AttentionGrad(napi_env env, napi_callback_info info) {
  size_t argc = 10;
  napi_value args[10];
  napi_get_cb_info(env, info, &argc, args, nullptr, nullptr);
  const float* dOut = floatsAt(env, args[0], args[1]);
  const float* qkv = floatsAt(env, args[0], args[2]);
  const float* probs = floatsAt(env, args[0], args[3]);
  float* dQkv = floatsAt(env, args[0], args[4]);
  const AttentionShape s = attentionShape(env, args + 5);
  const auto scale = static_cast<float>(numberArg(env, args[9]));
  const int n = static_cast<int>(s.n), d = static_cast<int>(s.d);
  const int ld = static_cast<int>(s.qkvRow()), ldOut = static_cast<int>(s.outRow());
  SingleThreadedBlas single;
  parallelFor(s.batch * s.heads, 1, [&](size_t begin, size_t end) {
    std::vector<float> dS(s.n * s.n);
    for (size_t task = begin; task < end; task++) {
      const size_t b = task / s.heads, h = task % s.heads;
      const float* q = qkv + s.qkvAt(b, h);
      const float* k = q + s.outRow();
      const float* v = k + s.outRow();
      float* dq = dQkv + s.qkvAt(b, h);
      float* dk = dq + s.outRow();
      float* dv = dk + s.outRow();
      const float* p = probs + s.probsAt(b, h);
      const float* dO = dOut + s.outAt(b, h);
      sgemm(kRowMajor, kTrans, kNoTrans, n, d, n, 1.0f, p, n, dO, ldOut, 0.0f, dv, ld);
      sgemm(kRowMajor, kNoTrans, kTrans, n, n, d, 1.0f, dO, ldOut, v, ld, 0.0f, dS.data(), n);
      for (int i = 0; i < n; i++) {
        const float* pr = p + static_cast<size_t>(i) * n;
        float* row = dS.data() + static_cast<size_t>(i) * n;
        float dot = 0;
#pragma omp simd reduction(+ : dot)
        for (int j = 0; j < n; j++) dot += row[j] * pr[j];
        for (int j = 0; j < n; j++) row[j] = scale * pr[j] * (row[j] - dot);
      }
      sgemm(kRowMajor, kNoTrans, kNoTrans, n, d, n, 1.0f, dS.data(), n, k, ld, 0.0f, dq, ld);
      sgemm(kRowMajor, kTrans, kNoTrans, n, d, n, 1.0f, dS.data(), n, q, ld, 0.0f, dk, ld);
    }
  });
  return nullptr;
}

// affine(heap, x, w, b, out, m, n, k): out[m, n] = x[m, k] · w[k, n] + b[n], the bias written
// first into every row and the product added onto it by the GEMM itself (beta = 1), which saves
// wasm's single-threaded broadcast Add over the whole output (~10% of a small ViT's inference).
napi_value Affine(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value args[8];
  napi_get_cb_info(env, info, &argc, args, nullptr, nullptr);
  const float* x = floatsAt(env, args[0], args[1]);
  const float* w = floatsAt(env, args[0], args[2]);
  const float* b = floatsAt(env, args[0], args[3]);
  float* out = floatsAt(env, args[0], args[4]);
  const int m = static_cast<int>(numberArg(env, args[5]));
  const int n = static_cast<int>(numberArg(env, args[6]));
  const int k = static_cast<int>(numberArg(env, args[7]));
  for (int i = 0; i < m; i++) std::memcpy(out + static_cast<size_t>(i) * n, b, n * sizeof(float));
  if (k > 0) sgemm(kRowMajor, kNoTrans, kNoTrans, m, n, k, 1.0f, x, k, w, n, 1.0f, out, n);  // k = 0: just b
  return nullptr;
}

// The window geometry shared by im2col and max pooling, NHWC: `batch` images of height×width×
// channels; windows of kh×kw taken every strideH rows and strideW columns of the image padded by
// padTop rows above and padLeft columns to the left; outH×outW windows in all.
struct WindowShape {
  size_t batch, height, width, channels, kh, kw, strideH, strideW, padTop, padLeft, outH, outW;
  // The image row (column) under window row oy (column ox) at kernel offset i (j); may be outside.
  long row(size_t oy, size_t i) const { return static_cast<long>(oy * strideH + i) - static_cast<long>(padTop); }
  long col(size_t ox, size_t j) const { return static_cast<long>(ox * strideW + j) - static_cast<long>(padLeft); }
  bool inside(long y, long x) const { return y >= 0 && x >= 0 && y < static_cast<long>(height) && x < static_cast<long>(width); }
  size_t pixel(size_t b, long y, long x) const { return ((b * height + y) * width + x) * channels; }
  size_t image() const { return height * width * channels; }
};

WindowShape windowShape(napi_env env, const napi_value* args) {
  size_t v[12];
  for (int i = 0; i < 12; i++) v[i] = static_cast<size_t>(numberArg(env, args[i]));
  return {v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11]};
}

// im2col(heap, x, out, …WindowShape): out[b, oy, ox, (i j c)] = x[b, row(oy, i), col(ox, j), c],
// 0 where that is padding. Each window's k·k·c values become one row, so a convolution is one
// GEMM; in tfjs ops this is k·k slices and a concat, whose gradient (SplitV) was most of CCT's step.
napi_value Im2col(napi_env env, napi_callback_info info) {
  size_t argc = 15;
  napi_value args[15];
  napi_get_cb_info(env, info, &argc, args, nullptr, nullptr);
  const float* x = floatsAt(env, args[0], args[1]);
  float* out = floatsAt(env, args[0], args[2]);
  const WindowShape s = windowShape(env, args + 3);
  const size_t c = s.channels;
  parallelFor(s.batch * s.outH, 4, [&](size_t begin, size_t end) {
    for (size_t r = begin; r < end; r++) {
      const size_t b = r / s.outH, oy = r % s.outH;
      float* dst = out + r * s.outW * s.kh * s.kw * c;
      for (size_t ox = 0; ox < s.outW; ox++) {
        for (size_t i = 0; i < s.kh; i++) {
          for (size_t j = 0; j < s.kw; j++, dst += c) {
            const long y = s.row(oy, i), xx = s.col(ox, j);
            if (s.inside(y, xx)) std::memcpy(dst, x + s.pixel(b, y, xx), c * sizeof(float));
            else std::memset(dst, 0, c * sizeof(float));
          }
        }
      }
    }
  });
  return nullptr;
}

// im2colGrad(heap, dy, dx, …WindowShape): dx[b, y, x, c] = Σ of dy over the window entries that
// read x[b, y, x, c] (col2im). Images are independent, so each thread accumulates whole images.
napi_value Im2colGrad(napi_env env, napi_callback_info info) {
  size_t argc = 15;
  napi_value args[15];
  napi_get_cb_info(env, info, &argc, args, nullptr, nullptr);
  const float* dy = floatsAt(env, args[0], args[1]);
  float* dx = floatsAt(env, args[0], args[2]);
  const WindowShape s = windowShape(env, args + 3);
  const size_t c = s.channels;
  parallelFor(s.batch, 1, [&](size_t begin, size_t end) {
    for (size_t b = begin; b < end; b++) {
      std::memset(dx + b * s.image(), 0, s.image() * sizeof(float));
      const float* src = dy + b * s.outH * s.outW * s.kh * s.kw * c;
      for (size_t oy = 0; oy < s.outH; oy++) {
        for (size_t ox = 0; ox < s.outW; ox++) {
          for (size_t i = 0; i < s.kh; i++) {
            for (size_t j = 0; j < s.kw; j++, src += c) {
              const long y = s.row(oy, i), xx = s.col(ox, j);
              if (!s.inside(y, xx)) continue;
              float* dst = dx + s.pixel(b, y, xx);
#pragma omp simd
              for (size_t ch = 0; ch < c; ch++) dst[ch] += src[ch];
            }
          }
        }
      }
    }
  });
  return nullptr;
}

// maxPoolGradByOutput(heap, dy, x, y, dx, …WindowShape): each output's gradient goes to the first position
// of its window, in row-major order, whose value equals the output y (the window's maximum):
// tfjs's cpu kernel and PyTorch pick the same one, and after a ReLU all-zero windows make the tie
// rule matter. Comparing with y instead of tracking an argmax keeps every loop over channels
// branch-free and vectorized: `rest` holds the gradient not yet given, zeroed once given.
// Padding is never the maximum.
napi_value MaxPoolGrad(napi_env env, napi_callback_info info) {
  size_t argc = 17;
  napi_value args[17];
  napi_get_cb_info(env, info, &argc, args, nullptr, nullptr);
  const float* dy = floatsAt(env, args[0], args[1]);
  const float* x = floatsAt(env, args[0], args[2]);
  const float* y = floatsAt(env, args[0], args[3]);
  float* dx = floatsAt(env, args[0], args[4]);
  const WindowShape s = windowShape(env, args + 5);
  const size_t c = s.channels;
  parallelFor(s.batch, 1, [&](size_t begin, size_t end) {
    std::vector<float> restBuffer(c);
    float* rest = restBuffer.data();
    for (size_t b = begin; b < end; b++) {
      float* dxImage = dx + b * s.image();
      const float* xImage = x + b * s.image();
      std::memset(dxImage, 0, s.image() * sizeof(float));
      for (size_t oy = 0; oy < s.outH; oy++) {
        for (size_t ox = 0; ox < s.outW; ox++) {
          const size_t o = ((b * s.outH + oy) * s.outW + ox) * c;
          const float* top = y + o;
          std::memcpy(rest, dy + o, c * sizeof(float));
          for (size_t i = 0; i < s.kh; i++) {
            for (size_t j = 0; j < s.kw; j++) {
              const long yy = s.row(oy, i), xx = s.col(ox, j);
              if (!s.inside(yy, xx)) continue;
              const float* v = xImage + s.pixel(0, yy, xx);
              float* d = dxImage + s.pixel(0, yy, xx);
#pragma omp simd
              for (size_t ch = 0; ch < c; ch++) {
                const bool hit = v[ch] == top[ch];
                d[ch] += hit ? rest[ch] : 0.0f;
                rest[ch] = hit ? 0.0f : rest[ch];
              }
            }
          }
        }
      }
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
  const std::string core = getBlasCore != nullptr ? getBlasCore() : "";
  napi_value blasCore;
  napi_create_string_utf8(env, core.c_str(), core.size(), &blasCore);
  napi_set_named_property(env, exports, "blasCore", blasCore);
  exportFunction(env, exports, "sgemmBatched", SgemmBatched);
  exportFunction(env, exports, "gelu", Gelu);
  exportFunction(env, exports, "geluGrad", GeluGrad);
  exportFunction(env, exports, "layerNorm", LayerNorm);
  exportFunction(env, exports, "layerNormGrad", LayerNormGrad);
  exportFunction(env, exports, "attention", Attention);
  exportFunction(env, exports, "attentionGrad", AttentionGrad);
  exportFunction(env, exports, "im2col", Im2col);
  exportFunction(env, exports, "im2colGrad", Im2colGrad);
  // A new name for a new argument list: an addon built before it lacks the name (rather than
  // misreading the arguments), so its windows kernels stay unregistered until it is rebuilt.
  exportFunction(env, exports, "maxPoolGradByOutput", MaxPoolGrad);
  exportFunction(env, exports, "affine", Affine);
  exportFunction(env, exports, "add", Add);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
