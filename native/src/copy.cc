#include <algorithm>
#include <cstring>

#include "kernels.h"
#include "parallel.h"

namespace vit {

// The innermost axes that are whole in both x and the slice are copied as one run; the outer
// axes are walked as an odometer, runs split over threads.
void sliceCopy(const void* x, void* out, size_t elementBytes, size_t rank, const size_t* shape, const size_t* begin, const size_t* size) {
  // Merge trailing axes taken whole into one contiguous run.
  size_t run = 1, axis = rank;
  while (axis > 0 && begin[axis - 1] == 0 && size[axis - 1] == shape[axis - 1]) run *= shape[--axis];
  if (axis > 0) run *= size[--axis];  // the innermost partial axis is contiguous too
  // Strides of x, in elements.
  size_t stride[8] = {};
  for (size_t i = rank, s = 1; i-- > 0;) {
    stride[i] = s;
    s *= shape[i];
  }
  size_t runs = 1;
  for (size_t i = 0; i < axis; i++) runs *= size[i];
  const size_t innerOffset = axis < rank ? begin[axis] * stride[axis] : 0;
  const auto* src = static_cast<const unsigned char*>(x);
  auto* dst = static_cast<unsigned char*>(out);
  parallelFor(runs, std::max<size_t>(1, 65536 / std::max<size_t>(1, run)), [&](size_t first, size_t last) {
    for (size_t r = first; r < last; r++) {
      size_t offset = innerOffset, rest = r;
      for (size_t i = axis; i-- > 0;) {
        offset += (begin[i] + rest % size[i]) * stride[i];
        rest /= size[i];
      }
      std::memcpy(dst + r * run * elementBytes, src + offset * elementBytes, run * elementBytes);
    }
  });
}

// Out's axis i is x's axis perm[i], the last axis kept last (the caller checks): each run of
// shape[rank − 1] elements is one memcpy, out's runs in order split over threads, each run's
// source found by walking out's other axes as an odometer over x's strides.
void permuteCopy(const void* x, void* out, size_t elementBytes, size_t rank, const size_t* shape, const size_t* perm) {
  size_t stride[8] = {};
  for (size_t i = rank, s = 1; i-- > 0;) {
    stride[i] = s;
    s *= shape[i];
  }
  const size_t run = shape[rank - 1];
  size_t runs = 1;
  for (size_t i = 0; i + 1 < rank; i++) runs *= shape[perm[i]];
  const auto* src = static_cast<const unsigned char*>(x);
  auto* dst = static_cast<unsigned char*>(out);
  parallelFor(runs, std::max<size_t>(1, 65536 / std::max<size_t>(1, run)), [&](size_t first, size_t last) {
    for (size_t r = first; r < last; r++) {
      size_t offset = 0, rest = r;
      for (size_t i = rank - 1; i-- > 0;) {
        offset += (rest % shape[perm[i]]) * stride[perm[i]];
        rest /= shape[perm[i]];
      }
      std::memcpy(dst + r * run * elementBytes, src + offset * elementBytes, run * elementBytes);
    }
  });
}

}  // namespace vit
