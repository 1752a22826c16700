/**
 * A tiny model config of every registered family, small enough for a test to build, run and
 * compare with PyTorch in seconds, yet with every kind of layer the family has (test/families.test.ts,
 * test/family-memory.test.ts).
 */
export const CASES: Record<string, Record<string, unknown>> = {
  vit: { name: 'vit', dim: 16, depth: 2, heads: 2, dim_head: 8, mlp_dim: 32, patch_size: 8, pool: 'mean' },
  cct: { name: 'cct', dim: 16, depth: 1, heads: 2, mlp_ratio: 2, conv_layers: 2, conv_channels: 64, positional_embedding: 'sine' },
  convmixer: { name: 'convmixer', dim: 16, depth: 2, kernel_size: 6, patch_size: 4 },
  resnet: { name: 'resnet', num_blocks: [1, 1, 1, 1] },
  swin: { name: 'swin', hidden_dim: 4, layers: [2, 2, 2, 2], heads: [1, 1, 2, 2], head_dim: 4, window_size: 2, downscaling_factors: [4, 2, 1, 1], relative_pos_embedding: false },
  mlpmixer: { name: 'mlpmixer', dim: 16, depth: 2, patch_size: 8, expansion_factor: 2, expansion_factor_token: 0.5 },
  simplevit: { name: 'simplevit', dim: 16, depth: 2, heads: 2, dim_head: 8, mlp_dim: 32, patch_size: 8 },
  vit_small: { name: 'vit_small', dim: 16, depth: 2, heads: 2, dim_head: 8, mlp_dim: 32, patch_size: 4 },
  cait: { name: 'cait', dim: 16, depth: 2, cls_depth: 2, heads: 3, dim_head: 8, mlp_dim: 32, patch_size: 8 },
  // At 64: the 32×32 images resized (data.resize), so every comparison below includes the resize.
  mobilevit: { name: 'mobilevit', image_size: 64, dims: [8, 12, 16], channels: [4, 4, 8, 8, 8, 8, 12, 12, 16, 16, 24], expansion: 2, patch_size: 2 },
};
