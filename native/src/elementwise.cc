#include "kernels.h"
#include "math.h"
#include "parallel.h"

namespace vit {
namespace {

constexpr size_t kElementsPerSlice = 32768;

VIT_VECTOR_CLONES void geluRange(const float* __restrict x, float* __restrict out, size_t begin, size_t end) {
  for (size_t i = begin; i < end; i++) out[i] = geluValue(x[i]);
}

VIT_VECTOR_CLONES void geluGradRange(const float* __restrict x, const float* __restrict dy, float* __restrict out, size_t begin, size_t end) {
  for (size_t i = begin; i < end; i++) out[i] = dy[i] * geluDerivative(x[i]);
}

VIT_VECTOR_CLONES void siluRange(const float* __restrict x, float* __restrict out, size_t begin, size_t end) {
  for (size_t i = begin; i < end; i++) out[i] = siluValue(x[i]);
}

VIT_VECTOR_CLONES void siluGradRange(const float* __restrict x, const float* __restrict dy, float* __restrict out, size_t begin, size_t end) {
  for (size_t i = begin; i < end; i++) out[i] = dy[i] * siluDerivative(x[i]);
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

void silu(const float* x, float* out, size_t n) {
  parallelFor(n, kElementsPerSlice, [=](size_t begin, size_t end) { siluRange(x, out, begin, end); });
}

void siluGrad(const float* x, const float* dy, float* out, size_t n) {
  parallelFor(n, kElementsPerSlice, [=](size_t begin, size_t end) { siluGradRange(x, dy, out, begin, end); });
}

void add(const float* a, const float* b, float* out, size_t n) {
  parallelFor(n, kElementsPerSlice, [=](size_t begin, size_t end) { addRange(a, b, out, begin, end); });
}

}  // namespace vit
