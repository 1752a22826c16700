import type { SafeTensor } from '../checkpoint/safetensors.js';
import type { ModelConfig } from '../config/schema.js';
import { UserError } from '../errors.js';

/**
 * Our parameter names → the `state_dict` keys of the ViT in kentaroy47/vision-transformers-cifar10
 * (`models/vit.py`, after lucidrains/vit-pytorch): PreNorm wraps each sublayer as `.norm` + `.fn`,
 * `to_out` and `net` are nn.Sequential (index 3 of `net` is the second Linear, after GELU and
 * Dropout), and `mlp_head` is Sequential(LayerNorm, Linear). cls_token keeps its name.
 */
const PYTORCH_NAMES: [RegExp, string][] = [
  [/^patch_embed\./, 'to_patch_embedding.1.'],
  [/^pos_embed$/, 'pos_embedding'],
  [/^blocks\.(\d+)\.attn\.norm\./, 'transformer.layers.$1.0.norm.'],
  [/^blocks\.(\d+)\.attn\.qkv\./, 'transformer.layers.$1.0.fn.to_qkv.'],
  [/^blocks\.(\d+)\.attn\.out\./, 'transformer.layers.$1.0.fn.to_out.0.'],
  [/^blocks\.(\d+)\.mlp\.norm\./, 'transformer.layers.$1.1.norm.'],
  [/^blocks\.(\d+)\.mlp\.fc1\./, 'transformer.layers.$1.1.fn.net.0.'],
  [/^blocks\.(\d+)\.mlp\.fc2\./, 'transformer.layers.$1.1.fn.net.3.'],
  [/^head\.norm\./, 'mlp_head.0.'],
  [/^head\.linear\./, 'mlp_head.1.'],
];

export function pytorchName(name: string): string {
  for (const [pattern, replacement] of PYTORCH_NAMES) {
    if (pattern.test(name)) return name.replace(pattern, replacement);
  }
  return name;
}

/**
 * Our weights (names and shapes as paramShapes(cfg), float32) as the PyTorch model's state_dict.
 * Every 2-D parameter is a Linear weight: ours is [in, out], nn.Linear's is [out, in].
 */
export function toPytorchStateDict(weights: Record<string, SafeTensor>, cfg: ModelConfig): Record<string, SafeTensor> {
  if (cfg.heads === 1 && cfg.dim_head === cfg.dim) {
    // vit-pytorch then replaces to_out with nn.Identity, which has no weights to load ours into.
    throw new UserError(
      'model.heads = 1 with model.dim_head = model.dim cannot be exported: the PyTorch ViT has no output projection (to_out) for that shape',
    );
  }
  const stateDict: Record<string, SafeTensor> = {};
  for (const [name, tensor] of Object.entries(weights)) {
    stateDict[pytorchName(name)] = tensor.shape.length === 2 ? transposed(tensor) : tensor;
  }
  return stateDict;
}

function transposed(tensor: SafeTensor): SafeTensor {
  const [rows, cols] = tensor.shape;
  const data = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) data[c * rows + r] = tensor.data[r * cols + c];
  }
  return { dtype: 'F32', shape: [cols, rows], data };
}
