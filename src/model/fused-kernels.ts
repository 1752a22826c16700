/**
 * Optional fused kernels the model uses when the active backend provides them (the native addon
 * registers them for wasm: see src/backend/native-kernels.ts), falling back to tfjs ops otherwise.
 *   GELU:      x · Φ(x) of `x`
 *   GELU_GRAD: `dy` · d/dx x · Φ(x)
 */
export const GELU = 'VitGelu';
export const GELU_GRAD = 'VitGeluGrad';
