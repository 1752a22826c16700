/**
 * Optional fused kernels the model uses when the active backend provides them (the native addon
 * registers them for wasm: see src/backend/native-kernels.ts), falling back to tfjs ops otherwise.
 *   GELU:            x · Φ(x) of `x`
 *   GELU_GRAD:       `dy` · d/dx x · Φ(x)
 *   LAYER_NORM:      `x`, `weight`, `bias` (attr `eps`) → [x̂ · weight + bias, x̂, 1/σ] over the
 *                    last axis; 1/σ has a trailing axis of 1
 *   LAYER_NORM_GRAD: `dy`, `normalized` (x̂), `invStd` (1/σ), `weight` → [dx, dWeight, dBias]
 */
export const GELU = 'VitGelu';
export const GELU_GRAD = 'VitGeluGrad';
export const LAYER_NORM = 'VitLayerNorm';
export const LAYER_NORM_GRAD = 'VitLayerNormGrad';
