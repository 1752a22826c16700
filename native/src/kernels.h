// The kernels the addon exports, on plain float pointers (addon.cc turns tfjs's wasm heap and
// byte offsets into these). Each splits its work as parallel.h describes, so its result is the
// same in every process.
#pragma once
#include <cstddef>

namespace vit {

// out = op(a[i]) · op(b[i]) for i < batch; op(a[i]) is m × k, op(b[i]) k × n, all row-major; a
// batch stride of 0 repeats one matrix against the others.
void batchMatMul(const float* a, const float* b, float* out, size_t batch, size_t m, size_t n, size_t k, bool transposeA, bool transposeB,
                 size_t strideA, size_t strideB);
// out[m × n] = x[m × k] · w[k × n] + bias[n].
void affine(const float* x, const float* w, const float* bias, float* out, size_t m, size_t n, size_t k);

// out = x · Φ(x) and its gradient dy · (Φ(x) + x · φ(x)) (Φ, φ: the standard normal's CDF and density).
void gelu(const float* x, float* out, size_t n);
void geluGrad(const float* x, const float* dy, float* out, size_t n);
// out = x · σ(x) (SiLU) and its gradient dy · σ(x) · (1 + x · (1 − σ(x))).
void silu(const float* x, float* out, size_t n);
void siluGrad(const float* x, const float* dy, float* out, size_t n);
// out = a + b.
void add(const float* a, const float* b, float* out, size_t n);

// Per row of x [rows × dim]: x̂ = (x − mean) · invStd, invStd = 1/√(var + eps), out = x̂ · weight + bias.
void layerNorm(const float* x, const float* weight, const float* bias, float* out, float* normalized, float* invStd, size_t rows, size_t dim,
               float eps);
// With g = dy · weight: dx = (g − mean(g) − x̂ · mean(g · x̂)) · invStd; dWeight = Σ_rows dy · x̂, dBias = Σ_rows dy.
void layerNormGrad(const float* dy, const float* normalized, const float* invStd, const float* weight, float* dx, float* dWeight, float* dBias,
                   size_t rows, size_t dim);

// Multi-head self-attention on qkv [batch, n, 3 · heads · d] (q | k | v, each heads × d):
// probs = softmax(scale · q·kᵀ) [batch, heads, n, n], out = probs · v [batch, n, heads · d]. With
// maskDiagonal, no token attends to itself (probs' diagonal is 0: locality self-attention); the
// gradient needs no flag, as P's zero diagonal gives its logits a zero gradient.
struct AttentionShape {
  size_t batch, heads, n, d;
};
void attention(const float* qkv, float* out, float* probs, AttentionShape s, float scale, bool maskDiagonal);
void attentionGrad(const float* dOut, const float* qkv, const float* probs, float* dQkv, AttentionShape s, float scale);

// Swin's (shifted) window attention on qkv [batch, side², 3 · heads · d] (tokens row-major on a
// side × side grid): per head and window × window window of the grid rolled up and left by
// `shift`, probs = softmax(scale · q·kᵀ + bias[window mod biasWindows]) [batch, heads, windows,
// n, n] (n = window²), out [batch, side², heads · d] = probs · v at the tokens' own places.
// The gradient also gives each task's logit gradient dLogits (shaped as probs), which summed
// over samples and heads is the bias's.
struct WindowAttentionShape {
  size_t batch, heads, side, window, shift, d;
};
void windowAttention(const float* qkv, const float* bias, float* out, float* probs, WindowAttentionShape s, size_t biasWindows, float scale);
void windowAttentionGrad(const float* dOut, const float* qkv, const float* probs, float* dQkv, float* dLogits, WindowAttentionShape s, float scale);

// Convolution windows, NHWC: `batch` images height × width × channels; kh × kw windows every
// strideH rows and strideW columns of the image padded by padTop rows above and padLeft columns
// to the left; outH × outW windows.
struct WindowShape {
  size_t batch, height, width, channels, kh, kw, strideH, strideW, padTop, padLeft, outH, outW;
};
// out[b, oy, ox, (i j c)] = x[b, oy·strideH + i − padTop, ox·strideW + j − padLeft, c], 0 in the padding.
void im2col(const float* x, float* out, const WindowShape& s);
// dx = the sum of dy over every window entry that read each pixel (col2im).
void im2colGrad(const float* dy, float* dx, const WindowShape& s);
// y = the maximum of each window (padding is never the maximum).
void maxPool(const float* x, float* y, const WindowShape& s);
// Max pooling's gradient: each output's dy goes to the first position of its window, row-major,
// whose value equals the pooled output y.
void maxPoolGrad(const float* dy, const float* x, const float* y, float* dx, const WindowShape& s);

// Depthwise convolution, NHWC: `batch` images height × width × channels, a kernel × kernel
// filter per channel (w [kernel, kernel, channels]), zero padding on each side, the window moving
// `stride` pixels at a time (depthwise.cc).
struct DepthwiseShape {
  size_t batch, height, width, channels, kernel, padTop, padBottom, padLeft, padRight, stride = 1;
  size_t outHeight() const { return (height + padTop + padBottom - kernel) / stride + 1; }
  size_t outWidth() const { return (width + padLeft + padRight - kernel) / stride + 1; }
};
// y = bias + the depthwise convolution of x (bias may be null).
void depthwiseConv(const float* x, const float* weight, const float* bias, float* y, const DepthwiseShape& s);
// dx, dWeight and dBias of y's gradient dy.
void depthwiseConvGrad(const float* dy, const float* x, const float* weight, float* dx, float* dWeight, float* dBias, const DepthwiseShape& s);

// BatchNorm in training mode over rows x [n × c] (NHWC flattened), with the activation fused in
// (batch_norm.cc; src/layers/batch-norm.ts): a = GELU(x) before it, or x; mean and biased variance
// of a per channel; y = (a − mean) · invStd · weight + bias, then ReLU or SiLU after it where asked.
enum class BatchNormActivation { kNone = 0, kGeluBefore = 1, kReluAfter = 2, kSiluAfter = 3 };
void batchNorm(const float* x, const float* weight, const float* bias, float* y, float* mean, float* variance, float* invStd, size_t n, size_t c,
               float eps, BatchNormActivation act);
// Evaluation: y = act(x · scale + shift) per channel in one pass, the running statistics folded
// into scale = weight / √(running_var + eps) and shift = bias − running_mean · scale by the caller
// (the GELU before applies to x, ReLU or SiLU after to the sum).
void batchNormApply(const float* x, const float* scale, const float* shift, float* y, size_t n, size_t c, BatchNormActivation act);
// dx, dWeight, dBias from dy, recomputing the activation and x̂ from x and the statistics.
void batchNormGrad(const float* dy, const float* x, const float* mean, const float* invStd, const float* weight, const float* bias, float* dx,
                   float* dWeight, float* dBias, size_t n, size_t c, BatchNormActivation act);

// out = x[begin : begin + size] along every axis (rank ≤ 8), for elements of any byte size.
void sliceCopy(const void* x, void* out, size_t elementBytes, size_t rank, const size_t* shape, const size_t* begin, const size_t* size);
// out = x with its axes permuted, out's axis i being x's axis perm[i], rank ≤ 8, for elements of
// any byte size; the last axis must stay last (perm[rank − 1] = rank − 1).
void permuteCopy(const void* x, void* out, size_t elementBytes, size_t rank, const size_t* shape, const size_t* perm);

// One optimizer step over every parameter in one call, after clipping all gradients together by
// their global norm (clip = min(maxNorm / (norm + 1e-6), 1), or 1 without clipping), each by its
// rule (src/train/optimizer.ts has the same formulas in tfjs ops):
// Adam(W): g ← g · clip (+ l2 · p); m' = β1·m + (1 − β1)·g; v' = β2·v + (1 − β2)·g²;
//   p' = p · keep − stepSize · m' / (√v' · invSqrtBias2 + eps).
// Muon (a [rows × size/rows] matrix; m is its momentum buffer, v unused): buffer' =
//   μ·buffer + (1 − μ)·g·clip; the direction (Nesterov: (1 − μ)·g·clip + μ·buffer')
//   orthogonalized by nsSteps Newton–Schulz iterations; p' = p · keep − stepScale · that.
// SGD (m is its momentum buffer): g ← g · clip + l2 · p; buffer' = μ·buffer + g;
//   p' = p · keep − stepScale · (Nesterov: g + μ·buffer'; else buffer').
enum class OptimizerRule { kAdam = 0, kMuon = 1, kSgd = 2 };

// The fields of one parameter's row in optimizerStep's table, in order. addon.cc reads rows by
// these names and exports the list (optimizerTableLayout()), from which src/backend/native/kernels.ts
// writes each row: the two sides share one layout instead of a count of positional numbers.
#define VIT_OPTIMIZER_FIELDS(X) \
  X(param) X(grad) X(m) X(v) X(paramOut) X(mOut) X(vOut) X(size) X(keep) X(l2) X(rule) X(rows) X(stepScale)

struct OptimizerTensor {
  const float *param, *grad, *m, *v;
  float *paramOut, *mOut, *vOut;
  size_t size;
  float keep;  // 1 − lr · weight decay for decoupled decay, else 1
  float l2;    // weight decay added to the gradient (Adam's and SGD's L2 form), else 0
  OptimizerRule rule;
  size_t rows;      // Muon: the matrix's rows
  float stepScale;  // Muon: its learning rate × √max(1, columns / rows); SGD: the learning rate
};
struct OptimizerSettings {
  float beta1, beta2, stepSize, invSqrtBias2, eps;
  float maxNorm;  // clip to this global norm; 0: no clipping
  float momentum;  // Muon's or SGD's
  bool nesterov;
  int nsSteps;
};
// Returns the gradients' global norm before clipping.
float optimizerStep(const OptimizerTensor* tensors, size_t count, const OptimizerSettings& settings);

}  // namespace vit
