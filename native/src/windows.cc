#include <algorithm>
#include <cstring>
#include <limits>
#include <vector>

#include "kernels.h"
#include "math.h"
#include "parallel.h"

namespace vit {
namespace {

// The image row (column) under window row oy (column ox) at kernel offset i (j); may be outside.
long rowOf(const WindowShape& s, size_t oy, size_t i) { return static_cast<long>(oy * s.strideH + i) - static_cast<long>(s.padTop); }
long colOf(const WindowShape& s, size_t ox, size_t j) { return static_cast<long>(ox * s.strideW + j) - static_cast<long>(s.padLeft); }
bool inside(const WindowShape& s, long y, long x) { return y >= 0 && x >= 0 && y < static_cast<long>(s.height) && x < static_cast<long>(s.width); }
size_t pixel(const WindowShape& s, size_t b, long y, long x) { return ((b * s.height + y) * s.width + x) * s.channels; }
size_t imageSize(const WindowShape& s) { return s.height * s.width * s.channels; }

}  // namespace

// Each window's k·k·c values become one row, so a convolution is one GEMM; in tfjs ops this is
// k·k slices and a concat, whose gradient (SplitV) was most of CCT's step.
void im2col(const float* x, float* out, const WindowShape& s) {
  const size_t c = s.channels;
  parallelFor(s.batch * s.outH, 4, [&](size_t begin, size_t end) {
    for (size_t r = begin; r < end; r++) {
      const size_t b = r / s.outH, oy = r % s.outH;
      float* dst = out + r * s.outW * s.kh * s.kw * c;
      for (size_t ox = 0; ox < s.outW; ox++) {
        for (size_t i = 0; i < s.kh; i++) {
          for (size_t j = 0; j < s.kw; j++, dst += c) {
            const long y = rowOf(s, oy, i), xx = colOf(s, ox, j);
            if (inside(s, y, xx)) std::memcpy(dst, x + pixel(s, b, y, xx), c * sizeof(float));
            else std::memset(dst, 0, c * sizeof(float));
          }
        }
      }
    }
  });
}

// Images are independent, so each slice accumulates whole images, in window order.
static VIT_VECTOR_CLONES void im2colGradImages(const float* dy, float* dx, const WindowShape& s, size_t begin, size_t end) {
  const size_t c = s.channels;
  for (size_t b = begin; b < end; b++) {
    std::memset(dx + b * imageSize(s), 0, imageSize(s) * sizeof(float));
    const float* src = dy + b * s.outH * s.outW * s.kh * s.kw * c;
    for (size_t oy = 0; oy < s.outH; oy++) {
      for (size_t ox = 0; ox < s.outW; ox++) {
        for (size_t i = 0; i < s.kh; i++) {
          for (size_t j = 0; j < s.kw; j++, src += c) {
            const long y = rowOf(s, oy, i), xx = colOf(s, ox, j);
            if (!inside(s, y, xx)) continue;
            float* dst = dx + pixel(s, b, y, xx);
#pragma omp simd
            for (size_t ch = 0; ch < c; ch++) dst[ch] += src[ch];
          }
        }
      }
    }
  }
}

void im2colGrad(const float* dy, float* dx, const WindowShape& s) {
  parallelFor(s.batch, 1, [&](size_t begin, size_t end) { im2colGradImages(dy, dx, s, begin, end); });
}

// y = the maximum of each window (padding never is), per image on all threads.
static VIT_VECTOR_CLONES void maxPoolRows(const float* x, float* y, const WindowShape& s, size_t begin, size_t end) {
  const size_t c = s.channels;
  for (size_t r = begin; r < end; r++) {
    const size_t b = r / s.outH, oy = r % s.outH;
    for (size_t ox = 0; ox < s.outW; ox++) {
      float* out = y + (r * s.outW + ox) * c;
      bool first = true;
      for (size_t i = 0; i < s.kh; i++) {
        for (size_t j = 0; j < s.kw; j++) {
          const long yy = rowOf(s, oy, i), xx = colOf(s, ox, j);
          if (!inside(s, yy, xx)) continue;
          const float* v = x + pixel(s, b, yy, xx);
          if (first) std::memcpy(out, v, c * sizeof(float));
          else {
#pragma omp simd
            for (size_t ch = 0; ch < c; ch++) out[ch] = v[ch] > out[ch] ? v[ch] : out[ch];
          }
          first = false;
        }
      }
      if (first) std::fill(out, out + c, -std::numeric_limits<float>::infinity());  // a window of padding only
    }
  }
}

void maxPool(const float* x, float* y, const WindowShape& s) {
  parallelFor(s.batch * s.outH, 4, [&](size_t begin, size_t end) { maxPoolRows(x, y, s, begin, end); });
}

// (`omp simd` marks loops over channels whose iterations are independent, no reductions: their
// results cannot depend on how they are vectorized.)
// tfjs's cpu kernel and PyTorch pick the same position, and after a ReLU all-zero windows make
// the tie rule matter. Comparing with y instead of tracking an argmax keeps every loop over
// channels branch-free and vectorized: `rest` holds the gradient not yet given, zeroed once
// given. Padding is never the maximum.
static VIT_VECTOR_CLONES void maxPoolGradImages(const float* dy, const float* x, const float* y, float* dx, const WindowShape& s, size_t begin, size_t end) {
  const size_t c = s.channels;
  std::vector<float> restBuffer(c);
  float* rest = restBuffer.data();
  for (size_t b = begin; b < end; b++) {
    float* dxImage = dx + b * imageSize(s);
    const float* xImage = x + b * imageSize(s);
    std::memset(dxImage, 0, imageSize(s) * sizeof(float));
    for (size_t oy = 0; oy < s.outH; oy++) {
      for (size_t ox = 0; ox < s.outW; ox++) {
        const size_t o = ((b * s.outH + oy) * s.outW + ox) * c;
        const float* top = y + o;
        std::memcpy(rest, dy + o, c * sizeof(float));
        for (size_t i = 0; i < s.kh; i++) {
          for (size_t j = 0; j < s.kw; j++) {
            const long yy = rowOf(s, oy, i), xx = colOf(s, ox, j);
            if (!inside(s, yy, xx)) continue;
            const float* v = xImage + pixel(s, 0, yy, xx);
            float* d = dxImage + pixel(s, 0, yy, xx);
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
}

void maxPoolGrad(const float* dy, const float* x, const float* y, float* dx, const WindowShape& s) {
  parallelFor(s.batch, 1, [&](size_t begin, size_t end) { maxPoolGradImages(dy, x, y, dx, s, begin, end); });
}

}  // namespace vit
