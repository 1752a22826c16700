/**
 * Optional fused kernels the model uses when the active backend provides them (the native addon
 * registers them for wasm: see src/backend/native/kernels.ts), falling back to tfjs ops otherwise.
 *   GELU:            x · Φ(x) of `x`
 *   GELU_GRAD:       `dy` · d/dx x · Φ(x)
 *   SILU, SILU_GRAD: x · σ(x) of `x`; `dy` · σ(x) · (1 + x · (1 − σ(x))) (src/layers/silu.ts)
 *   LAYER_NORM:      `x`, `weight`, `bias` (attr `eps`) → [x̂ · weight + bias, x̂, 1/σ] over the
 *                    last axis; 1/σ has a trailing axis of 1
 *   LAYER_NORM_GRAD: `dy`, `normalized` (x̂), `invStd` (1/σ), `weight` → [dx, dWeight, dBias]
 *   ATTENTION:       `qkv` [b, n, 3·h·d] (q | k | v, each `(h d)`), attrs `heads`, `scale`,
 *                    `maskDiagonal` (optional: no token attends to itself) →
 *                    [out [b, n, h·d] = softmax(scale · q·kᵀ)·v per head, probs [b, h, n, n]]
 *   ATTENTION_GRAD:  `dy` [b, n, h·d], `qkv`, `probs`, attrs `heads`, `scale` → dqkv [b, n, 3·h·d]
 *   WINDOW_ATTENTION: `qkv` [b, s, s, 3·h·d], `bias` [1 or windows, n, n], attrs `heads`,
 *                    `window`, `shift`, `scale` → [out [b, s, s, h·d], probs [b, h, windows, n, n]]:
 *                    Swin's attention within each window × window window (n = window²) of the
 *                    grid rolled up and left by `shift`, softmax(scale · q·kᵀ + bias) · v, out at
 *                    the tokens' own places (src/families/swin/model.ts)
 *   WINDOW_ATTENTION_GRAD: `dy`, `qkv`, `probs`, attrs as WINDOW_ATTENTION → [dqkv, dLogits
 *                    (shaped as probs: the logits' gradient, summed over b and h the bias's)]
 *   IM2COL:          `x` [b, h, w, c], attrs `kernel`, `stride`, `padding` (zeros) → the windows
 *                    [b, outH, outW, (kernel kernel c)] (see src/model/conv.ts)
 *   IM2COL_GRAD:     `dy` (the windows' gradient), attrs as IM2COL plus `height`, `width` → dx
 *   AFFINE:          `x` [m, k], `weight` [k, n], `bias` [n] → x · weight + bias [m, n]
 *   DEPTHWISE_CONV:  `x` [b, h, w, c], `weight` [k, k, 1, c], `bias` [c], attrs `kernel`,
 *                    `padTop`, `padBottom`, `padLeft`, `padRight` (zeros), `stride` → y
 *                    (src/layers/conv.ts)
 *   DEPTHWISE_CONV_GRAD: `dy`, `x`, `weight`, attrs as DEPTHWISE_CONV → [dx, dWeight, dBias]
 *   BATCH_NORM:      `x` [n, c], `weight`, `bias` [c], attrs `eps`, `activation` ('none',
 *                    'gelu_before', 'relu_after', 'silu_after') → [y, mean, biased variance, 1/√(variance +
 *                    eps)], the statistics per channel over the rows (src/layers/batch-norm.ts)
 *   BATCH_NORM_GRAD: `dy`, `x`, `mean`, `invStd`, `weight`, `bias`, attrs as BATCH_NORM →
 *                    [dx, dWeight, dBias]
 *   BATCH_NORM_APPLY: `x` [n, c], `scale`, `shift` [c], attr `activation` → act(x · scale +
 *                    shift), evaluation's BatchNorm with the running statistics folded in
 *   OPTIMIZER_STEP:  `p0`, `g0`, `m0`, `v0`, `p1`, … (parameters, gradients, Adam's moments or
 *                    Muon's or SGD's buffer as m and no v), attrs `beta1`, `beta2`, `stepSize`,
 *                    `invSqrtBias2`, `eps`, `maxNorm` (0: no clipping), `momentum`,
 *                    `nesterov`, `nsSteps` and `parameters`, one OptimizerParameter each →
 *                    [global norm, p′…, m′…, v′ of the Adam parameters…]
 *                    (src/train/optimizer.ts and muon.ts have the formulas)
 */
export const GELU = 'VitGelu';
export const GELU_GRAD = 'VitGeluGrad';
export const SILU = 'VitSilu';
export const SILU_GRAD = 'VitSiluGrad';
export const LAYER_NORM = 'VitLayerNorm';
export const LAYER_NORM_GRAD = 'VitLayerNormGrad';
export const ATTENTION = 'VitAttention';
export const ATTENTION_GRAD = 'VitAttentionGrad';
export const WINDOW_ATTENTION = 'VitWindowAttention';
export const WINDOW_ATTENTION_GRAD = 'VitWindowAttentionGrad';
export const IM2COL = 'VitIm2col';
export const IM2COL_GRAD = 'VitIm2colGrad';
export const AFFINE = 'VitAffine';
export const OPTIMIZER_STEP = 'VitOptimizerStep';
export const DEPTHWISE_CONV = 'VitDepthwiseConv';
export const DEPTHWISE_CONV_GRAD = 'VitDepthwiseConvGrad';
export const BATCH_NORM = 'VitBatchNorm';
export const BATCH_NORM_GRAD = 'VitBatchNormGrad';
export const BATCH_NORM_APPLY = 'VitBatchNormApply';

/** How OPTIMIZER_STEP updates a parameter: Adam(W), Muon or SGD (src/train/optimizer.ts). */
export type OptimizerRule = 'adam' | 'muon' | 'sgd';

/** One parameter's settings for OPTIMIZER_STEP (native/src/kernels.h's OptimizerTensor holds the same). */
export interface OptimizerParameter {
  rule: OptimizerRule;
  /** p ← p · keep before the step: 1 − lr · weight decay for decoupled decay, else 1. */
  keep: number;
  /** Weight decay added to the gradient (Adam's and SGD's L2 form), else 0. */
  l2: number;
  /** Muon: the rows of the matrix it orthogonalizes (muon.ts's muonMatrix). */
  rows: number;
  /** Muon: its learning rate × √max(1, columns / rows); SGD: the learning rate. */
  stepScale: number;
}
