#include <cmath>
#include <vector>

#include "kernels.h"
#include "math.h"
#include "parallel.h"

namespace vit {
namespace {

constexpr size_t kElementsPerChunk = 16384;

// A piece of one parameter's values: the unit of parallel work.
struct Chunk {
  size_t tensor, begin, end;
};

std::vector<Chunk> chunksOf(const AdamTensor* tensors, size_t count) {
  std::vector<Chunk> chunks;
  for (size_t t = 0; t < count; t++) {
    for (size_t begin = 0; begin < tensors[t].size; begin += kElementsPerChunk) {
      chunks.push_back({t, begin, std::min(tensors[t].size, begin + kElementsPerChunk)});
    }
  }
  return chunks;
}

VIT_VECTOR_CLONES void adamRange(const AdamTensor& t, const AdamSettings& s, float scale, size_t begin, size_t end) {
  const float* __restrict param = t.param;
  const float* __restrict grad = t.grad;
  const float* __restrict m0 = t.m;
  const float* __restrict v0 = t.v;
  float* __restrict paramOut = t.paramOut;
  float* __restrict mOut = t.mOut;
  float* __restrict vOut = t.vOut;
  const float oneMinusBeta1 = 1.0f - s.beta1, oneMinusBeta2 = 1.0f - s.beta2;
  for (size_t j = begin; j < end; j++) {
    const float g = grad[j] * scale + param[j] * t.l2;
    const float m = m0[j] * s.beta1 + g * oneMinusBeta1;
    const float v = v0[j] * s.beta2 + g * g * oneMinusBeta2;
    paramOut[j] = param[j] * t.keep - m * s.stepSize / (std::sqrt(v) * s.invSqrtBias2 + s.eps);
    mOut[j] = m;
    vOut[j] = v;
  }
}

}  // namespace

// The global norm's square is a sum of per-chunk sums of squares (each in fixed lanes) added in
// chunk order, so it depends on the shapes alone, not on the threads. The update then follows
// tfjs's formulation term for term (src/train/optimizer.ts).
float adamw(const AdamTensor* tensors, size_t count, const AdamSettings& s) {
  const std::vector<Chunk> chunks = chunksOf(tensors, count);
  std::vector<float> squares(chunks.size());
  forEachTask(chunks.size(), [&](size_t i) {
    const Chunk& c = chunks[i];
    const float* g = tensors[c.tensor].grad + c.begin;
    squares[i] = laneSum(c.end - c.begin, [=](size_t j) { return g[j] * g[j]; });
  });
  float total = 0;
  for (const float x : squares) total += x;
  const float norm = std::sqrt(total);
  const float scale = s.maxNorm > 0 ? std::min(s.maxNorm / (norm + 1e-6f), 1.0f) : 1.0f;
  forEachTask(chunks.size(), [&](size_t i) { adamRange(tensors[chunks[i].tensor], s, scale, chunks[i].begin, chunks[i].end); });
  return norm;
}

}  // namespace vit
