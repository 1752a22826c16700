#include <cmath>
#include <vector>

#include "kernels.h"
#include "math.h"
#include "parallel.h"

namespace vit {
namespace {
constexpr size_t kElementsPerSlice = 32768;
size_t rowsPerSlice(size_t dim) { return std::max<size_t>(1, kElementsPerSlice / std::max<size_t>(1, dim)); }
}  // namespace

void layerNorm(const float* x, const float* weight, const float* bias, float* out, float* normalized, float* invStd, size_t rows, size_t dim,
               float eps) {
  parallelFor(rows, rowsPerSlice(dim), [=](size_t begin, size_t end) {
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
  });
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
    float* sumDy = sumDyX + dim;
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
