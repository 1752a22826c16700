#include <algorithm>
#include <limits>
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

// Each row i of p ← softmax(scale · row) over the columns j ≠ i, with p[i][i] = 0: PyTorch's
// masked_fill of the diagonal with −max before the softmax (locality self-attention), for n ≥ 2
// (scale > 0).
VIT_VECTOR_CLONES void scaledSoftmaxOffDiagonal(float* __restrict p, size_t n, float scale) {
  for (size_t i = 0; i < n; i++) {
    float* row = p + i * n;
    row[i] = -std::numeric_limits<float>::infinity();  // never the maximum (n ≥ 2); its exp is set to 0 below
    const float max = laneMax(n, [=](size_t j) { return scale * row[j]; });
    for (size_t j = 0; j < n; j++) row[j] = expApprox(scale * row[j] - max);
    row[i] = 0.0f;
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

// Each row i of the n × n block p ← softmax(scale · row + bias row i), bias [n × n].
VIT_VECTOR_CLONES void biasedSoftmax(float* __restrict p, const float* __restrict bias, size_t n, float scale) {
  for (size_t i = 0; i < n; i++) {
    float* row = p + i * n;
    const float* b = bias + i * n;
    for (size_t j = 0; j < n; j++) row[j] = scale * row[j] + b[j];
    const float max = laneMax(n, [=](size_t j) { return row[j]; });
    for (size_t j = 0; j < n; j++) row[j] = expApprox(row[j] - max);
    const float inv = 1.0f / laneSum(n, [=](size_t j) { return row[j]; });
    for (size_t j = 0; j < n; j++) row[j] *= inv;
  }
}

// Where a window attention task's rows lie: token i of window w of sample b, head h.
struct WindowLayout {
  WindowAttentionShape s;
  size_t n() const { return s.window * s.window; }
  size_t perSide() const { return s.side / s.window; }
  size_t windows() const { return perSide() * perSide(); }
  size_t tokens() const { return s.side * s.side; }
  // The window sees the grid rolled up and left by `shift` (torch.roll(x, -shift)): its token
  // (r, c) is the grid's ((row + r + shift) mod side, (col + c + shift) mod side).
  size_t token(size_t w, size_t i) const {
    const size_t row = ((w / perSide()) * s.window + i / s.window + s.shift) % s.side;
    const size_t col = ((w % perSide()) * s.window + i % s.window + s.shift) % s.side;
    return row * s.side + col;
  }
  size_t qkvAt(size_t b, size_t w, size_t i, size_t h) const { return ((b * tokens() + token(w, i)) * 3 * s.heads + h) * s.d; }
  size_t outAt(size_t b, size_t w, size_t i, size_t h) const { return ((b * tokens() + token(w, i)) * s.heads + h) * s.d; }
  // Tasks run (sample, head, window) in that order; probabilities and logit gradients are stored so.
  size_t probsAt(size_t task) const { return task * n() * n(); }
};

// The window's q, k, v rows (row-major, d floats each) gathered from qkv into `qkvRows` [3 × n × d].
void gatherWindow(const WindowLayout& at, const float* qkv, float* qkvRows, size_t b, size_t w, size_t h) {
  const size_t n = at.n(), d = at.s.d, hd = at.s.heads * d;
  for (size_t i = 0; i < n; i++) {
    const float* src = qkv + at.qkvAt(b, w, i, h);
    for (size_t part = 0; part < 3; part++) std::copy(src + part * hd, src + part * hd + d, qkvRows + (part * n + i) * d);
  }
}

}  // namespace

// One task per (sample, head, window): the window's rows gathered (the cyclic shift is only
// which rows), its n × n logits scale · q·kᵀ + bias, softmax, · v, the rows scattered back.
void windowAttention(const float* qkv, const float* bias, float* out, float* probs, WindowAttentionShape s, size_t biasWindows, float scale) {
  const WindowLayout at{s};
  const size_t n = at.n(), d = s.d, windows = at.windows();
  parallelFor(s.batch * s.heads * windows, 8, [&](size_t begin, size_t end) {
    thread_local std::vector<float> rows;
    rows.resize(4 * n * d);
    for (size_t task = begin; task < end; task++) {
      const size_t b = task / (s.heads * windows), h = task / windows % s.heads, w = task % windows;
      gatherWindow(at, qkv, rows.data(), b, w, h);
      const float *q = rows.data(), *k = q + n * d, *v = k + n * d;
      float* o = rows.data() + 3 * n * d;
      float* p = probs + at.probsAt(task);
      gemmSerial(n, n, d, Operand{q, d, false}, Operand{k, d, true}, p, n);
      biasedSoftmax(p, bias + (w % biasWindows) * n * n, n, scale);
      gemmSerial(n, d, n, Operand{p, n, false}, Operand{v, d, false}, o, d);
      for (size_t i = 0; i < n; i++) std::copy(o + i * d, o + (i + 1) * d, out + at.outAt(b, w, i, h));
    }
  });
}

// Per task, with P its probabilities and dO its rows of dOut: dV = Pᵀ·dO, dP = dO·Vᵀ,
// dL = P ⊙ (dP − rowsum(dP ⊙ P)) (the logits' gradient, also the bias's share: dLogits),
// dQ = scale · dL·K, dK = scale · dLᵀ·Q. Every token is in one window, so each slot of dQkv is
// written by one task and nothing is summed across threads.
void windowAttentionGrad(const float* dOut, const float* qkv, const float* probs, float* dQkv, float* dLogits, WindowAttentionShape s, float scale) {
  const WindowLayout at{s};
  const size_t n = at.n(), d = s.d, windows = at.windows(), hd = s.heads * d;
  parallelFor(s.batch * s.heads * windows, 8, [&](size_t begin, size_t end) {
    thread_local std::vector<float> rows;
    rows.resize(5 * n * d);
    for (size_t task = begin; task < end; task++) {
      const size_t b = task / (s.heads * windows), h = task / windows % s.heads, w = task % windows;
      gatherWindow(at, qkv, rows.data(), b, w, h);
      const float *q = rows.data(), *k = q + n * d, *v = k + n * d;
      float* dO = rows.data() + 3 * n * d;
      float* grad = dO + n * d;
      for (size_t i = 0; i < n; i++) {
        const float* src = dOut + at.outAt(b, w, i, h);
        std::copy(src, src + d, dO + i * d);
      }
      const float* p = probs + at.probsAt(task);
      float* dL = dLogits + at.probsAt(task);
      // dV, scattered into v's slots.
      gemmSerial(n, d, n, Operand{p, n, true}, Operand{dO, d, false}, grad, d);
      for (size_t i = 0; i < n; i++) std::copy(grad + i * d, grad + (i + 1) * d, dQkv + at.qkvAt(b, w, i, h) + 2 * hd);
      gemmSerial(n, n, d, Operand{dO, d, false}, Operand{v, d, true}, dL, n);
      softmaxGrad(dL, p, n, 1.0f);
      // dQ and dK, scaled as they are scattered.
      const auto scatter = [&](size_t part) {
        for (size_t i = 0; i < n; i++) {
          float* dst = dQkv + at.qkvAt(b, w, i, h) + part * hd;
          for (size_t j = 0; j < d; j++) dst[j] = scale * grad[i * d + j];
        }
      };
      gemmSerial(n, d, n, Operand{dL, n, false}, Operand{k, d, false}, grad, d);
      scatter(0);
      gemmSerial(n, d, n, Operand{dL, n, true}, Operand{q, d, false}, grad, d);
      scatter(1);
    }
  });
}

// One task per (sample, head), each on one thread with its own small products; q, k and v are
// read in place from qkv and out written in place (strided operands), so nothing is split or
// transposed.
void attention(const float* qkv, float* out, float* probs, AttentionShape s, float scale, bool maskDiagonal) {
  const Layout at{s};
  const size_t n = s.n, d = s.d;
  forEachTask(s.batch * s.heads, [&](size_t task) {
    const size_t b = task / s.heads, h = task % s.heads;
    const float* q = qkv + at.qkvAt(b, h);
    const float* k = q + at.outRow();
    const float* v = k + at.outRow();
    float* p = probs + at.probsAt(b, h);
    gemmSerial(n, n, d, Operand{q, at.qkvRow(), false}, Operand{k, at.qkvRow(), true}, p, n);
    // One token alone: masked_fill's −max is then the row's maximum, and PyTorch's softmax gives it 1.
    if (maskDiagonal && n > 1) {
      scaledSoftmaxOffDiagonal(p, n, scale);
    } else {
      scaledSoftmax(p, n, scale);
    }
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
