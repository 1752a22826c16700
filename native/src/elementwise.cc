#include "kernels.h"
#include "math.h"
#include "parallel.h"

namespace vit {
namespace {

constexpr size_t kElementsPerSlice = 32768;

VIT_VECTOR_CLONES void geluRange(const float* __restrict x, float* __restrict out, size_t begin, size_t end) {
  for (size_t i = begin; i < end; i++) out[i] = 0.5f * x[i] * (1.0f + erfApprox(x[i] * kInvSqrt2));
}

VIT_VECTOR_CLONES void geluGradRange(const float* __restrict x, const float* __restrict dy, float* __restrict out, size_t begin, size_t end) {
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

}  // namespace

void gelu(const float* x, float* out, size_t n) {
  parallelFor(n, kElementsPerSlice, [=](size_t begin, size_t end) { geluRange(x, out, begin, end); });
}

void geluGrad(const float* x, const float* dy, float* out, size_t n) {
  parallelFor(n, kElementsPerSlice, [=](size_t begin, size_t end) { geluGradRange(x, dy, out, begin, end); });
}

void add(const float* a, const float* b, float* out, size_t n) {
  parallelFor(n, kElementsPerSlice, [=](size_t begin, size_t end) { addRange(a, b, out, begin, end); });
}

}  // namespace vit
