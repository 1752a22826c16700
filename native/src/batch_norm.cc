// BatchNorm over the channels of NHWC rows [n × c], with the activation its graph fuses in
// (src/layers/batch-norm.ts has the same formulas in tfjs ops).
#include <cmath>
#include <vector>

#include "kernels.h"
#include "math.h"
#include "parallel.h"

namespace vit {
namespace {

constexpr size_t kElementsPerSlice = 16384;
size_t rowsPerSlice(size_t c) { return std::max<size_t>(1, kElementsPerSlice / std::max<size_t>(1, c)); }

// Per-channel Σ a and Σ a² over rows [begin, end), in row order, as doubles, into sum[0, c) and
// sum[c, 2c), with a = GELU(x) (also written to `a`) when the GELU comes first, else a = x: the
// statistics in one read of the input. In doubles, E[a²] − E[a]² loses nothing a float32 mean
// and variance keep. Each channel is its own lane, so vectorizing over the channels does not
// reorder any sum.
template <BatchNormActivation Act>
VIT_VECTOR_CLONES void momentRows(const float* __restrict x, float* __restrict a, size_t begin, size_t end, size_t c, double* __restrict sum) {
  double* __restrict squares = sum + c;
  for (size_t r = begin; r < end; r++) {
    for (size_t j = 0; j < c; j++) {
      const size_t i = r * c + j;
      float v = x[i];
      if (Act == BatchNormActivation::kGeluBefore) a[i] = v = geluValue(v);
      sum[j] += v;
      squares[j] += static_cast<double>(v) * v;
    }
  }
}

// Each slice of rows (fixed by n and c alone) sums into its own partials, `width` per channel;
// the slices' partials are then added in slice order: the result does not depend on the threads.
template <typename SumSlice>
std::vector<double> sliceSums(size_t n, size_t c, size_t width, SumSlice sumSlice) {
  const size_t slices = sliceCount(n, rowsPerSlice(c));
  std::vector<double> partial(slices * width * c, 0.0);
  double* base = partial.data();
  parallelSlices(n, rowsPerSlice(c), [=](size_t slice, size_t begin, size_t end) { sumSlice(begin, end, base + slice * width * c); });
  std::vector<double> total(width * c, 0.0);
  for (size_t slice = 0; slice < slices; slice++) {
    for (size_t j = 0; j < width * c; j++) total[j] += partial[slice * width * c + j];
  }
  return total;
}

// y = act(a · scale + shift): the activation after the normalisation (ReLU, SiLU) or none; with
// the GELU before it, a = GELU(the input) is computed here (evaluation; training passes it done).
template <BatchNormActivation Act>
VIT_VECTOR_CLONES void normalizeRows(const float* __restrict a, float* __restrict y, const float* __restrict scale, const float* __restrict shift,
                                     size_t begin, size_t end, size_t c) {
  for (size_t r = begin; r < end; r++) {
    for (size_t j = 0; j < c; j++) {
      const float in = Act == BatchNormActivation::kGeluBefore ? geluValue(a[r * c + j]) : a[r * c + j];
      const float v = in * scale[j] + shift[j];
      if (Act == BatchNormActivation::kReluAfter) {
        y[r * c + j] = v < 0.0f ? 0.0f : v;
      } else if (Act == BatchNormActivation::kSiluAfter) {
        y[r * c + j] = siluValue(v);
      } else {
        y[r * c + j] = v;
      }
    }
  }
}

// What the backward pass recomputes per element: x̂ = (act(x) − mean) · invStd, and dy' (dy where
// the ReLU after passed the value, as PyTorch's ReLU'(0) = 0; else dy). The activation is a
// template argument, so each loop is branch-free and vectorizes.
template <BatchNormActivation Act>
inline float normalizedOf(float x, float mean, float invStd) {
  return ((Act == BatchNormActivation::kGeluBefore ? geluValue(x) : x) - mean) * invStd;
}
template <BatchNormActivation Act>
inline float passedOf(float dy, float normalized, float weight, float bias) {
  return Act == BatchNormActivation::kReluAfter && normalized * weight + bias <= 0.0f ? 0.0f : dy;
}

// Σ dy' and Σ dy' · x̂ per channel over rows [begin, end), in row order, as doubles. With the SiLU
// after, dy' = dy · SiLU'(x̂ · weight + bias) is also written to `passed`, for the second pass to
// read instead of computing the exponential again.
template <BatchNormActivation Act>
VIT_VECTOR_CLONES void gradSums(const float* __restrict dy, const float* __restrict x, const float* __restrict mean, const float* __restrict invStd,
                                const float* __restrict weight, const float* __restrict bias, float* __restrict passed, size_t begin, size_t end,
                                size_t c, double* __restrict sumDy, double* __restrict sumDyX) {
  for (size_t r = begin; r < end; r++) {
    for (size_t j = 0; j < c; j++) {
      const size_t i = r * c + j;
      const float normalized = normalizedOf<Act>(x[i], mean[j], invStd[j]);
      float g = passedOf<Act>(dy[i], normalized, weight[j], bias[j]);
      if (Act == BatchNormActivation::kSiluAfter) passed[i] = g = dy[i] * siluDerivative(normalized * weight[j] + bias[j]);
      sumDy[j] += g;
      sumDyX[j] += static_cast<double>(g) * normalized;
    }
  }
}

// dx = weight · invStd · (dy' − mean(dy') − x̂ · mean(dy' · x̂)), times GELU'(x) when the GELU comes
// first. dx may be dy (each element is read before it is written).
template <BatchNormActivation Act>
VIT_VECTOR_CLONES void gradRows(const float* dy, const float* __restrict x, const float* __restrict mean, const float* __restrict invStd,
                                const float* __restrict weight, const float* __restrict bias, const float* __restrict meanDy,
                                const float* __restrict meanDyX, float* dx, size_t begin, size_t end, size_t c) {
  for (size_t r = begin; r < end; r++) {
    for (size_t j = 0; j < c; j++) {
      const size_t i = r * c + j;
      const float normalized = normalizedOf<Act>(x[i], mean[j], invStd[j]);
      const float g = passedOf<Act>(dy[i], normalized, weight[j], bias[j]);
      const float da = weight[j] * invStd[j] * (g - meanDy[j] - normalized * meanDyX[j]);
      dx[i] = Act == BatchNormActivation::kGeluBefore ? da * geluDerivative(x[i]) : da;
    }
  }
}

template <BatchNormActivation Act>
void batchNormGradOf(const float* dy, const float* x, const float* mean, const float* invStd, const float* weight, const float* bias, float* dx,
                     float* dWeight, float* dBias, size_t n, size_t c) {
  // With the SiLU after, the first pass leaves dy' in dx and the second is the plain
  // normalisation's gradient of it, in place (one exponential per element in all).
  const std::vector<double> sums = sliceSums(n, c, 2, [=](size_t begin, size_t end, double* sum) {
    gradSums<Act>(dy, x, mean, invStd, weight, bias, dx, begin, end, c, sum, sum + c);
  });
  std::vector<float> meanDy(c), meanDyX(c);
  for (size_t j = 0; j < c; j++) {
    dBias[j] = static_cast<float>(sums[j]);
    dWeight[j] = static_cast<float>(sums[c + j]);
    meanDy[j] = static_cast<float>(sums[j] / n);
    meanDyX[j] = static_cast<float>(sums[c + j] / n);
  }
  const float* md = meanDy.data();
  const float* mdx = meanDyX.data();
  constexpr BatchNormActivation kSecond = Act == BatchNormActivation::kSiluAfter ? BatchNormActivation::kNone : Act;
  const float* dyOrPassed = Act == BatchNormActivation::kSiluAfter ? dx : dy;
  parallelFor(n, rowsPerSlice(c), [=](size_t begin, size_t end) { gradRows<kSecond>(dyOrPassed, x, mean, invStd, weight, bias, md, mdx, dx, begin, end, c); });
}

}  // namespace

void batchNorm(const float* x, const float* weight, const float* bias, float* y, float* mean, float* variance, float* invStd, size_t n, size_t c,
               float eps, BatchNormActivation act) {
  // a = GELU(x) (into y) or x, and its per-channel Σ a, Σ a² in the same pass; then y = a · scale + shift.
  const bool gelu = act == BatchNormActivation::kGeluBefore;
  const std::vector<double> moments = sliceSums(n, c, 2, [=](size_t begin, size_t end, double* sum) {
    if (gelu) return momentRows<BatchNormActivation::kGeluBefore>(x, y, begin, end, c, sum);
    momentRows<BatchNormActivation::kNone>(x, nullptr, begin, end, c, sum);
  });
  const float* a = gelu ? y : x;
  std::vector<float> scale(c), shift(c);
  for (size_t j = 0; j < c; j++) {
    const double m = moments[j] / n;
    mean[j] = static_cast<float>(m);
    variance[j] = static_cast<float>(std::max(0.0, moments[c + j] / n - m * m));
    invStd[j] = 1.0f / std::sqrt(variance[j] + eps);
    scale[j] = invStd[j] * weight[j];
    shift[j] = bias[j] - mean[j] * scale[j];
  }
  const float* scaleData = scale.data();
  const float* shiftData = shift.data();
  parallelFor(n, rowsPerSlice(c), [=](size_t begin, size_t end) {
    switch (act) {
      case BatchNormActivation::kReluAfter: return normalizeRows<BatchNormActivation::kReluAfter>(a, y, scaleData, shiftData, begin, end, c);
      case BatchNormActivation::kSiluAfter: return normalizeRows<BatchNormActivation::kSiluAfter>(a, y, scaleData, shiftData, begin, end, c);
      default: return normalizeRows<BatchNormActivation::kNone>(a, y, scaleData, shiftData, begin, end, c);
    }
  });
}

void batchNormApply(const float* x, const float* scale, const float* shift, float* y, size_t n, size_t c, BatchNormActivation act) {
  parallelFor(n, rowsPerSlice(c), [=](size_t begin, size_t end) {
    switch (act) {
      case BatchNormActivation::kNone: return normalizeRows<BatchNormActivation::kNone>(x, y, scale, shift, begin, end, c);
      case BatchNormActivation::kGeluBefore: return normalizeRows<BatchNormActivation::kGeluBefore>(x, y, scale, shift, begin, end, c);
      case BatchNormActivation::kReluAfter: return normalizeRows<BatchNormActivation::kReluAfter>(x, y, scale, shift, begin, end, c);
      case BatchNormActivation::kSiluAfter: return normalizeRows<BatchNormActivation::kSiluAfter>(x, y, scale, shift, begin, end, c);
    }
  });
}

void batchNormGrad(const float* dy, const float* x, const float* mean, const float* invStd, const float* weight, const float* bias, float* dx,
                   float* dWeight, float* dBias, size_t n, size_t c, BatchNormActivation act) {
  switch (act) {
    case BatchNormActivation::kNone: return batchNormGradOf<BatchNormActivation::kNone>(dy, x, mean, invStd, weight, bias, dx, dWeight, dBias, n, c);
    case BatchNormActivation::kGeluBefore:
      return batchNormGradOf<BatchNormActivation::kGeluBefore>(dy, x, mean, invStd, weight, bias, dx, dWeight, dBias, n, c);
    case BatchNormActivation::kReluAfter:
      return batchNormGradOf<BatchNormActivation::kReluAfter>(dy, x, mean, invStd, weight, bias, dx, dWeight, dBias, n, c);
    case BatchNormActivation::kSiluAfter:
      return batchNormGradOf<BatchNormActivation::kSiluAfter>(dy, x, mean, invStd, weight, bias, dx, dWeight, dBias, n, c);
  }
}

}  // namespace vit
