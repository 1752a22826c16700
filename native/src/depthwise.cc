// Depthwise convolution, NHWC: channel ch of y is channel ch of the zero-padded x convolved with
// its own k×k filter at stride s, y[oy, ox, ch] = bias[ch] + Σ_{i,j} x[s·oy+i−top, s·ox+j−left, ch]
// · w[i, j, ch] (src/layers/conv.ts). The loops run over 16 channels at a time in vectors, a few
// output columns per vector register, so each multiply-add loads one input vector.
#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels.h"
#include "math.h"
#include "parallel.h"

namespace vit {
namespace {

constexpr size_t kLanes16 = 16;
typedef float Vec __attribute__((vector_size(kLanes16 * sizeof(float))));

inline Vec load(const float* p) {
  Vec v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store(float* p, Vec v) { std::memcpy(p, &v, sizeof v); }
inline Vec broadcast(float x) { return Vec{} + x; }

// Output columns per register block of the forward loop.
constexpr size_t kColumns = 8;

// The rows of one image an output-row block [oy0, oy1) reads, zero-padded: (oy1 − oy0 − 1) · s + k
// rows of (width + left + right) pixels.
std::vector<float> paddedRows(const float* image, const DepthwiseShape& s, size_t oy0, size_t oy1) {
  const size_t pw = s.width + s.padLeft + s.padRight;
  const size_t rows = (oy1 - oy0 - 1) * s.stride + s.kernel;
  std::vector<float> padded(rows * pw * s.channels, 0.0f);
  for (size_t r = 0; r < rows; r++) {
    const long iy = static_cast<long>(oy0 * s.stride + r) - static_cast<long>(s.padTop);
    if (iy < 0 || iy >= static_cast<long>(s.height)) continue;
    std::memcpy(padded.data() + (r * pw + s.padLeft) * s.channels, image + iy * s.width * s.channels, s.width * s.channels * sizeof(float));
  }
  return padded;
}

// y rows [oy0, oy1) of one image from its padded rows: `columns` output columns from ox0, the
// channels [cb, cb + 16) (vectors; the caller handles the last channels that fill no vector).
template <size_t Columns>
VIT_VECTOR_CLONES void forwardBlock(const float* __restrict padded, const float* __restrict w, const float* bias, float* __restrict y,
                                    const DepthwiseShape& s, size_t pw, size_t ow, size_t rowInBlock, size_t ox0, size_t cb) {
  const size_t c = s.channels, k = s.kernel, stride = s.stride;
  Vec acc[Columns];
  const Vec b = bias ? load(bias + cb) : Vec{};
  for (size_t t = 0; t < Columns; t++) acc[t] = b;
  for (size_t i = 0; i < k; i++) {
    const float* row = padded + ((rowInBlock * stride + i) * pw + ox0 * stride) * c + cb;
    for (size_t j = 0; j < k; j++) {
      const Vec wv = load(w + (i * k + j) * c + cb);
      for (size_t t = 0; t < Columns; t++) acc[t] += load(row + (t * stride + j) * c) * wv;
    }
  }
  for (size_t t = 0; t < Columns; t++) store(y + (rowInBlock * ow + ox0 + t) * c + cb, acc[t]);
}

// The same for the channels past the last whole vector, one at a time.
void forwardTail(const float* padded, const float* w, const float* bias, float* y, const DepthwiseShape& s, size_t pw, size_t ow, size_t rowInBlock,
                 size_t ch) {
  const size_t c = s.channels, k = s.kernel, stride = s.stride;
  for (size_t ox = 0; ox < ow; ox++) {
    float acc = bias ? bias[ch] : 0.0f;
    for (size_t i = 0; i < k; i++)
      for (size_t j = 0; j < k; j++) acc += padded[((rowInBlock * stride + i) * pw + ox * stride + j) * c + ch] * w[(i * k + j) * c + ch];
    y[(rowInBlock * ow + ox) * c + ch] = acc;
  }
}

// Output rows per task of the forward pass.
constexpr size_t kRowsPerTask = 8;

// y = depthwise(x) with `w` [k, k, c] and `bias` (may be null), over the whole batch.
void forward(const float* x, const float* w, const float* bias, float* y, const DepthwiseShape& s) {
  const size_t oh = s.outHeight(), ow = s.outWidth(), c = s.channels, pw = s.width + s.padLeft + s.padRight;
  const size_t blocksPerImage = (oh + kRowsPerTask - 1) / kRowsPerTask;
  forEachTask(s.batch * blocksPerImage, [&](size_t task) {
    const size_t b = task / blocksPerImage, oy0 = (task % blocksPerImage) * kRowsPerTask, oy1 = std::min(oh, oy0 + kRowsPerTask);
    const std::vector<float> padded = paddedRows(x + b * s.height * s.width * c, s, oy0, oy1);
    float* out = y + (b * oh + oy0) * ow * c;
    const size_t vectorChannels = c - c % kLanes16;
    for (size_t r = 0; r < oy1 - oy0; r++) {
      for (size_t cb = 0; cb < vectorChannels; cb += kLanes16) {
        size_t ox = 0;
        for (; ox + kColumns <= ow; ox += kColumns) forwardBlock<kColumns>(padded.data(), w, bias, out, s, pw, ow, r, ox, cb);
        for (; ox < ow; ox++) forwardBlock<1>(padded.data(), w, bias, out, s, pw, ow, r, ox, cb);
      }
      for (size_t ch = vectorChannels; ch < c; ch++) forwardTail(padded.data(), w, bias, out, s, pw, ow, r, ch);
    }
  });
}

// One image's contribution to dW [k, k, c], added into it: dW[i, j] = Σ over output positions of
// dy · x padded and shifted by (i, j), in row-major position order. For each kernel row i and
// vector of channels, the K sums of its row stay in registers while the positions stream by.
template <size_t K>
VIT_VECTOR_CLONES void weightGradRows(const float* __restrict dy, const float* __restrict padded, float* __restrict dW, const DepthwiseShape& s,
                                      size_t cb) {
  const size_t oh = s.outHeight(), ow = s.outWidth(), c = s.channels, pw = s.width + s.padLeft + s.padRight, stride = s.stride;
  for (size_t i = 0; i < K; i++) {
    Vec acc[K];
    for (size_t j = 0; j < K; j++) acc[j] = Vec{};
    for (size_t oy = 0; oy < oh; oy++) {
      const float* g = dy + oy * ow * c + cb;
      const float* in = padded + (oy * stride + i) * pw * c + cb;
      for (size_t ox = 0; ox < ow; ox++) {
        const Vec gv = load(g + ox * c);
        for (size_t j = 0; j < K; j++) acc[j] += gv * load(in + (ox * stride + j) * c);
      }
    }
    for (size_t j = 0; j < K; j++) store(dW + (i * K + j) * c + cb, load(dW + (i * K + j) * c + cb) + acc[j]);
  }
}

// The same for any kernel size and for the channels past the last whole vector, one at a time.
void weightGradScalar(const float* dy, const float* padded, float* dW, const DepthwiseShape& s, size_t ch) {
  const size_t oh = s.outHeight(), ow = s.outWidth(), c = s.channels, k = s.kernel, pw = s.width + s.padLeft + s.padRight, stride = s.stride;
  for (size_t i = 0; i < k; i++) {
    for (size_t j = 0; j < k; j++) {
      float acc = 0.0f;
      for (size_t oy = 0; oy < oh; oy++)
        for (size_t ox = 0; ox < ow; ox++) acc += dy[(oy * ow + ox) * c + ch] * padded[((oy * stride + i) * pw + ox * stride + j) * c + ch];
      dW[(i * k + j) * c + ch] += acc;
    }
  }
}

// One image's contribution to dW and dBias [c].
void weightGradImage(const float* dy, const float* padded, float* dW, float* dBias, const DepthwiseShape& s) {
  const size_t c = s.channels, positions = s.outHeight() * s.outWidth();
  for (size_t p = 0; p < positions; p++) {
    for (size_t ch = 0; ch < c; ch++) dBias[ch] += dy[p * c + ch];
  }
  const size_t vectorChannels = c - c % kLanes16;
  for (size_t cb = 0; cb < vectorChannels; cb += kLanes16) {
    switch (s.kernel) {
#define VIT_KERNEL_SIZE(K) \
  case K:                  \
    weightGradRows<K>(dy, padded, dW, s, cb); \
    break;
      VIT_KERNEL_SIZE(1) VIT_KERNEL_SIZE(2) VIT_KERNEL_SIZE(3) VIT_KERNEL_SIZE(4) VIT_KERNEL_SIZE(5) VIT_KERNEL_SIZE(6) VIT_KERNEL_SIZE(7)
      VIT_KERNEL_SIZE(8) VIT_KERNEL_SIZE(9)
#undef VIT_KERNEL_SIZE
      default:
        for (size_t ch = cb; ch < cb + kLanes16; ch++) weightGradScalar(dy, padded, dW, s, ch);
    }
  }
  for (size_t ch = vectorChannels; ch < c; ch++) weightGradScalar(dy, padded, dW, s, ch);
}

// dx of a strided convolution, by gathering: dx[iy, ix] = Σ over the taps (i, j) whose window
// position (iy + top − i, ix + left − j) is a multiple of s inside y, of dy there · w[i, j], the
// taps in row-major order. One task per (image, input row); 16 channels at a time, then the rest.
void stridedInputGrad(const float* dy, const float* w, float* dx, const DepthwiseShape& s) {
  const size_t oh = s.outHeight(), ow = s.outWidth(), c = s.channels, k = s.kernel, stride = s.stride;
  const size_t vectorChannels = c - c % kLanes16;
  // The output index a tap reads for input index `at` (padded by `pad`), or −1 where none does.
  const auto sourceOf = [stride](size_t at, size_t pad, size_t tap, size_t size) -> long {
    const long t = static_cast<long>(at + pad) - static_cast<long>(tap);
    if (t < 0 || t % static_cast<long>(stride) != 0 || t / static_cast<long>(stride) >= static_cast<long>(size)) return -1;
    return t / static_cast<long>(stride);
  };
  forEachTask(s.batch * s.height, [&](size_t task) {
    const size_t b = task / s.height, iy = task % s.height;
    const float* image = dy + b * oh * ow * c;
    float* out = dx + (b * s.height + iy) * s.width * c;
    for (size_t ix = 0; ix < s.width; ix++) {
      float* pixel = out + ix * c;
      for (size_t cb = 0; cb < vectorChannels; cb += kLanes16) store(pixel + cb, Vec{});
      for (size_t ch = vectorChannels; ch < c; ch++) pixel[ch] = 0.0f;
      for (size_t i = 0; i < k; i++) {
        const long oy = sourceOf(iy, s.padTop, i, oh);
        if (oy < 0) continue;
        for (size_t j = 0; j < k; j++) {
          const long ox = sourceOf(ix, s.padLeft, j, ow);
          if (ox < 0) continue;
          const float* g = image + (oy * ow + ox) * c;
          const float* tap = w + (i * k + j) * c;
          for (size_t cb = 0; cb < vectorChannels; cb += kLanes16) store(pixel + cb, load(pixel + cb) + load(g + cb) * load(tap + cb));
          for (size_t ch = vectorChannels; ch < c; ch++) pixel[ch] += g[ch] * tap[ch];
        }
      }
    }
  });
}

}  // namespace

void depthwiseConv(const float* x, const float* weight, const float* bias, float* y, const DepthwiseShape& s) { forward(x, weight, bias, y, s); }

// At stride 1, dx is the forward convolution of dy with the filter flipped in both axes, padded by
// k − 1 − top (and so on) instead of top, which makes it x's size: dx[iy] = Σ_i dy[iy − i + top] ·
// w[i]; at larger strides it is gathered (stridedInputGrad). dW and dBias: each slice of images
// (fixed by the batch size) sums its images in order, and the slices' sums are added in slice order.
void depthwiseConvGrad(const float* dy, const float* x, const float* weight, float* dx, float* dWeight, float* dBias, const DepthwiseShape& s) {
  const size_t k = s.kernel, c = s.channels;
  if (s.stride == 1) {
    std::vector<float> flipped(k * k * c);
    for (size_t i = 0; i < k; i++)
      for (size_t j = 0; j < k; j++) std::memcpy(flipped.data() + (i * k + j) * c, weight + ((k - 1 - i) * k + (k - 1 - j)) * c, c * sizeof(float));
    const DepthwiseShape back{s.batch, s.outHeight(), s.outWidth(), c, k, k - 1 - s.padTop, k - 1 - s.padBottom, k - 1 - s.padLeft, k - 1 - s.padRight};
    forward(dy, flipped.data(), nullptr, dx, back);
  } else {
    stridedInputGrad(dy, weight, dx, s);
  }

  const size_t slices = sliceCount(s.batch, 1);
  std::vector<float> partial(slices * (k * k + 1) * c, 0.0f);
  float* base = partial.data();
  const size_t imageIn = s.height * s.width * c, imageOut = s.outHeight() * s.outWidth() * c;
  parallelSlices(s.batch, 1, [&](size_t slice, size_t begin, size_t end) {
    float* dW = base + slice * (k * k + 1) * c;
    for (size_t b = begin; b < end; b++) {
      const std::vector<float> padded = paddedRows(x + b * imageIn, s, 0, s.outHeight());
      weightGradImage(dy + b * imageOut, padded.data(), dW, dW + k * k * c, s);
    }
  });
  std::fill(dWeight, dWeight + k * k * c, 0.0f);
  std::fill(dBias, dBias + c, 0.0f);
  for (size_t slice = 0; slice < slices; slice++) {
    const float* part = base + slice * (k * k + 1) * c;
    for (size_t j = 0; j < k * k * c; j++) dWeight[j] += part[j];
    for (size_t j = 0; j < c; j++) dBias[j] += part[k * k * c + j];
  }
}

}  // namespace vit
