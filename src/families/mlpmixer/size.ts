import { type MlpMixerConfig, hiddenWidths, numPatches, patchDim } from './config.js';

/** The number of trained values in closed form (a test checks it against paramShapes and PyTorch's). */
export function countParams(cfg: MlpMixerConfig): number {
  const { dim, depth, num_classes } = cfg;
  const n = numPatches(cfg);
  const hidden = hiddenWidths(cfg);
  const norm = 2 * dim;
  const tokenMixing = norm + (n + 1) * hidden.token + (hidden.token + 1) * n;
  const channelMixing = norm + (dim + 1) * hidden.channel + (hidden.channel + 1) * dim;
  return (patchDim(cfg) + 1) * dim + depth * (tokenMixing + channelMixing) + norm + (dim + 1) * num_classes;
}

/**
 * Forward FLOPs per image, 2 · multiply-accumulates of the products (LayerNorm, GELU and the mean
 * are left out, as for every family): the patch embedding n·(p²·3)·dim; per block the token
 * mixing, for each of the dim channels an MLP n → n·expansion_factor → n, and the channel
 * mixing, for each of the n tokens an MLP dim → dim·expansion_factor_token → dim; the head.
 */
export function forwardFlops(cfg: MlpMixerConfig): number {
  const { dim, depth, num_classes } = cfg;
  const n = numPatches(cfg);
  const hidden = hiddenWidths(cfg);
  const tokenMixing = dim * 2 * n * hidden.token;
  const channelMixing = n * 2 * dim * hidden.channel;
  return 2 * (n * patchDim(cfg) * dim + depth * (tokenMixing + channelMixing) + dim * num_classes);
}
