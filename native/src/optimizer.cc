#include <cmath>
#include <vector>

#include "gemm.h"
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

std::vector<Chunk> chunksOf(const OptimizerTensor* tensors, size_t count) {
  std::vector<Chunk> chunks;
  for (size_t t = 0; t < count; t++) {
    for (size_t begin = 0; begin < tensors[t].size; begin += kElementsPerChunk) {
      chunks.push_back({t, begin, std::min(tensors[t].size, begin + kElementsPerChunk)});
    }
  }
  return chunks;
}

VIT_VECTOR_CLONES void adamRange(const OptimizerTensor& t, const OptimizerSettings& s, float scale, size_t begin, size_t end) {
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

// SGD with momentum (torch.optim.SGD, dampening 0) over [begin, end) of one parameter.
VIT_VECTOR_CLONES void sgdRange(const OptimizerTensor& t, const OptimizerSettings& s, float scale, size_t begin, size_t end) {
  const float* __restrict param = t.param;
  const float* __restrict grad = t.grad;
  const float* __restrict buffer = t.m;
  float* __restrict paramOut = t.paramOut;
  float* __restrict next = t.mOut;
  for (size_t j = begin; j < end; j++) {
    const float g = grad[j] * scale + param[j] * t.l2;
    next[j] = buffer[j] * s.momentum + g;
    const float direction = s.nesterov ? g + next[j] * s.momentum : next[j];
    paramOut[j] = param[j] * t.keep - direction * t.stepScale;
  }
}

// Muon's momentum, into mOut (the buffer), and the direction to orthogonalize, into `direction`.
VIT_VECTOR_CLONES void muonMomentum(const OptimizerTensor& t, const OptimizerSettings& s, float scale, float* __restrict direction) {
  const float* __restrict grad = t.grad;
  const float* __restrict buffer = t.m;
  float* __restrict next = t.mOut;
  const float keepOld = s.momentum, takeNew = 1.0f - s.momentum;
  for (size_t j = 0; j < t.size; j++) {
    const float g = grad[j] * scale;
    next[j] = buffer[j] * keepOld + g * takeNew;
    direction[j] = s.nesterov ? g * takeNew + next[j] * keepOld : next[j];
  }
}

// The quintic Newton–Schulz iteration of src/train/muon.ts (its coefficients and reasoning), on
// x [rows × cols], rows ≤ cols, in place: X ← aX + (bA + cA²)X with A = XXᵀ, after X ← X / ‖X‖.
void orthogonalize(float* x, size_t rows, size_t cols, int steps) {
  constexpr float kA = 3.4445f, kB = -4.7750f, kC = 2.0315f;
  std::vector<float> a(rows * rows), aa(rows * rows), bx(rows * cols);
  const float norm = std::sqrt(laneSum(rows * cols, [=](size_t j) { return x[j] * x[j]; }));
  const float inv = 1.0f / (norm + 1e-7f);
  for (size_t j = 0; j < rows * cols; j++) x[j] *= inv;
  for (int step = 0; step < steps; step++) {
    gemm(rows, rows, cols, Operand{x, cols, false}, Operand{x, cols, true}, a.data(), rows);
    gemm(rows, rows, rows, Operand{a.data(), rows, false}, Operand{a.data(), rows, false}, aa.data(), rows);
    for (size_t j = 0; j < rows * rows; j++) a[j] = a[j] * kB + aa[j] * kC;
    gemm(rows, cols, rows, Operand{a.data(), rows, false}, Operand{x, cols, false}, bx.data(), cols);
    for (size_t j = 0; j < rows * cols; j++) x[j] = x[j] * kA + bx[j];
  }
}

// One Muon parameter: momentum, the orthogonalized direction (on the wide orientation, as the
// reference: its transpose when it has more rows than columns), p ← p·keep − stepScale·update.
void muonStep(const OptimizerTensor& t, const OptimizerSettings& s, float scale) {
  const size_t rows = t.rows, cols = t.size / t.rows;
  std::vector<float> direction(t.size), wide(t.size);
  muonMomentum(t, s, scale, direction.data());
  const bool tall = rows > cols;
  if (tall) {
    for (size_t i = 0; i < rows; i++)
      for (size_t j = 0; j < cols; j++) wide[j * rows + i] = direction[i * cols + j];
  } else {
    wide = direction;
  }
  orthogonalize(wide.data(), tall ? cols : rows, tall ? rows : cols, s.nsSteps);
  for (size_t i = 0; i < rows; i++) {
    for (size_t j = 0; j < cols; j++) {
      const float update = tall ? wide[j * rows + i] : wide[i * cols + j];
      t.paramOut[i * cols + j] = t.param[i * cols + j] * t.keep - update * t.stepScale;
    }
  }
}

}  // namespace

// The global norm's square is a sum of per-chunk sums of squares (each in fixed lanes) added in
// chunk order, so it depends on the shapes alone, not on the threads. The updates then follow
// the tfjs formulation term for term (src/train/optimizer.ts, muon.ts).
float optimizerStep(const OptimizerTensor* tensors, size_t count, const OptimizerSettings& s) {
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
  forEachTask(chunks.size(), [&](size_t i) {
    const OptimizerTensor& t = tensors[chunks[i].tensor];
    if (t.rule == OptimizerRule::kAdam) adamRange(t, s, scale, chunks[i].begin, chunks[i].end);
    if (t.rule == OptimizerRule::kSgd) sgdRange(t, s, scale, chunks[i].begin, chunks[i].end);
  });
  // Muon's products run on all threads themselves: one parameter after the other.
  for (size_t t = 0; t < count; t++) {
    if (tensors[t].rule == OptimizerRule::kMuon) muonStep(tensors[t], s, scale);
  }
  return norm;
}

}  // namespace vit
