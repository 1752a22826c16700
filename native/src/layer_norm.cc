#include <cmath>
#include <vector>

#include "kernels.h"
#include "math.h"
#include "parallel.h"

namespace vit {
namespace {

constexpr size_t kElementsPerSlice = 32768;
size_t rowsPerSlice(size_t dim) { return std::max<size_t>(1, kElementsPerSlice / std::max<size_t>(1, dim)); }

VIT_VECTOR_CLONES void normalizeRows(const float* __restrict x, const float* __restrict weight, const float* __restrict bias, float* __restrict out,
                                     float* __restrict normalized, float* __restrict invStd, size_t begin, size_t end, size_t dim, float eps) {
  for (size_t r = begin; r < end; r++) {
    const float* xr = x + r * dim;
    float* nr = normalized + r * dim;
    float* yr = out + r * dim;
    const float mean = laneSum(dim, [=](size_t j) { return xr[j]; }) / dim;
    const float variance = laneSum(dim, [=](size_t j) { return (xr[j] - mean) * (xr[j] - mean); }) / dim;
    const float inv = 1.0f / std::sqrt(variance + eps);
    invStd[r] = inv;
    for (size_t j = 0; j < dim; j++) {
      nr[j] = (xr[j] - mean) * inv;
      yr[j] = nr[j] * weight[j] + bias[j];
    }
  }
}

// dx for rows [begin, end), and their contributions to dWeight (sumDyX) and dBias (sumDy).
VIT_VECTOR_CLONES void gradRows(const float* __restrict dy, const float* __restrict normalized, const float* __restrict invStd,
                                const float* __restrict weight, float* __restrict dx, float* __restrict sumDyX, float* __restrict sumDy, size_t begin,
                                size_t end, size_t dim) {
  for (size_t r = begin; r < end; r++) {
    const float* dyr = dy + r * dim;
    const float* nr = normalized + r * dim;
    float* dxr = dx + r * dim;
    const float meanG = laneSum(dim, [=](size_t j) { return dyr[j] * weight[j]; }) / dim;
    const float meanGX = laneSum(dim, [=](size_t j) { return dyr[j] * weight[j] * nr[j]; }) / dim;
    for (size_t j = 0; j < dim; j++) {
      dxr[j] = (dyr[j] * weight[j] - meanG - nr[j] * meanGX) * invStd[r];
      sumDyX[j] += dyr[j] * nr[j];
      sumDy[j] += dyr[j];
    }
  }
}

}  // namespace

void layerNorm(const float* x, const float* weight, const float* bias, float* out, float* normalized, float* invStd, size_t rows, size_t dim,
               float eps) {
  parallelFor(rows, rowsPerSlice(dim), [=](size_t begin, size_t end) { normalizeRows(x, weight, bias, out, normalized, invStd, begin, end, dim, eps); });
}

// Each slice of rows sums its own dWeight and dBias contributions; the slices' sums are then added
// in slice order (the slices depend on rows and dim only).
void layerNormGrad(const float* dy, const float* normalized, const float* invStd, const float* weight, float* dx, float* dWeight, float* dBias,
                   size_t rows, size_t dim) {
  const size_t slices = sliceCount(rows, rowsPerSlice(dim));
  std::vector<float> partial(2 * dim * slices, 0.0f);
  float* partialBase = partial.data();
  parallelSlices(rows, rowsPerSlice(dim), [=](size_t slice, size_t begin, size_t end) {
    float* sumDyX = partialBase + 2 * dim * slice;
    gradRows(dy, normalized, invStd, weight, dx, sumDyX, sumDyX + dim, begin, end, dim);
  });
  for (size_t j = 0; j < dim; j++) {
    float w = 0, b = 0;
    for (size_t slice = 0; slice < slices; slice++) {
      w += partial[2 * dim * slice + j];
      b += partial[2 * dim * slice + dim + j];
    }
    dWeight[j] = w;
    dBias[j] = b;
  }
}

}  // namespace vit
