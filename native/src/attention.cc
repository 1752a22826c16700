#include <vector>

#include "gemm.h"
#include "kernels.h"
#include "math.h"
#include "parallel.h"

namespace vit {
namespace {

// Where head h of sample b starts: its q in qkv (k and v follow at + heads·d and + 2·heads·d),
// its slice of out (and of out's gradient), its probabilities.
struct Layout {
  AttentionShape s;
  size_t qkvRow() const { return 3 * s.heads * s.d; }
  size_t outRow() const { return s.heads * s.d; }
  size_t qkvAt(size_t b, size_t h) const { return b * s.n * qkvRow() + h * s.d; }
  size_t outAt(size_t b, size_t h) const { return b * s.n * outRow() + h * s.d; }
  size_t probsAt(size_t b, size_t h) const { return (b * s.heads + h) * s.n * s.n; }
};

// Each row of the n × n block p ← softmax(scale · row).
VIT_VECTOR_CLONES void scaledSoftmax(float* __restrict p, size_t n, float scale) {
  for (size_t i = 0; i < n; i++) {
    float* row = p + i * n;
    const float max = laneMax(n, [=](size_t j) { return scale * row[j]; });
    for (size_t j = 0; j < n; j++) row[j] = expApprox(scale * row[j] - max);
    const float inv = 1.0f / laneSum(n, [=](size_t j) { return row[j]; });
    for (size_t j = 0; j < n; j++) row[j] *= inv;
  }
}

// dS ← scale · P ⊙ (dP − rowsum(dP ⊙ P)), row by row, dP given in dS.
VIT_VECTOR_CLONES void softmaxGrad(float* __restrict dS, const float* __restrict p, size_t n, float scale) {
  for (size_t i = 0; i < n; i++) {
    const float* pr = p + i * n;
    float* row = dS + i * n;
    const float dot = laneSum(n, [=](size_t j) { return row[j] * pr[j]; });
    for (size_t j = 0; j < n; j++) row[j] = scale * pr[j] * (row[j] - dot);
  }
}

}  // namespace

// One task per (sample, head), each on one thread with its own small products; q, k and v are
// read in place from qkv and out written in place (strided operands), so nothing is split or
// transposed.
void attention(const float* qkv, float* out, float* probs, AttentionShape s, float scale) {
  const Layout at{s};
  const size_t n = s.n, d = s.d;
  forEachTask(s.batch * s.heads, [&](size_t task) {
    const size_t b = task / s.heads, h = task % s.heads;
    const float* q = qkv + at.qkvAt(b, h);
    const float* k = q + at.outRow();
    const float* v = k + at.outRow();
    float* p = probs + at.probsAt(b, h);
    gemmSerial(n, n, d, Operand{q, at.qkvRow(), false}, Operand{k, at.qkvRow(), true}, p, n);
    scaledSoftmax(p, n, scale);
    gemmSerial(n, d, n, Operand{p, n, false}, Operand{v, at.qkvRow(), false}, out + at.outAt(b, h), at.outRow());
  });
}

// Per (sample, head), with P = probs and dO the head's slice of dOut:
//   dV = Pᵀ·dO,  dP = dO·Vᵀ,  dS = scale · P ⊙ (dP − rowsum(dP ⊙ P))  (softmax's Jacobian),
//   dQ = dS·K,  dK = dSᵀ·Q, all written in place into dQkv.
void attentionGrad(const float* dOut, const float* qkv, const float* probs, float* dQkv, AttentionShape s, float scale) {
  const Layout at{s};
  const size_t n = s.n, d = s.d, ld = at.qkvRow();
  forEachTask(s.batch * s.heads, [&](size_t task) {
    thread_local std::vector<float> dS;
    dS.resize(n * n);
    const size_t b = task / s.heads, h = task % s.heads;
    const float* q = qkv + at.qkvAt(b, h);
    const float* k = q + at.outRow();
    const float* v = k + at.outRow();
    float* dq = dQkv + at.qkvAt(b, h);
    float* dk = dq + at.outRow();
    float* dv = dk + at.outRow();
    const float* p = probs + at.probsAt(b, h);
    const float* dO = dOut + at.outAt(b, h);
    gemmSerial(n, d, n, Operand{p, n, true}, Operand{dO, at.outRow(), false}, dv, ld);
    gemmSerial(n, n, d, Operand{dO, at.outRow(), false}, Operand{v, ld, true}, dS.data(), n);
    softmaxGrad(dS.data(), p, n, scale);
    gemmSerial(n, d, n, Operand{dS.data(), n, false}, Operand{k, ld, false}, dq, ld);
    gemmSerial(n, d, n, Operand{dS.data(), n, true}, Operand{q, ld, false}, dk, ld);
  });
}

}  // namespace vit
