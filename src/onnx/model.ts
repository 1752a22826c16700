import { create, toBinary } from '@bufbuild/protobuf';
import { GraphProtoSchema, ModelProtoSchema, TensorProto_DataType, type ValueInfoProto, ValueInfoProtoSchema } from 'onnx-buf';
import type { SafeTensor } from '../checkpoint/safetensors.js';
import type { DataConfig } from '../config/schema.js';
import { CHANNELS, IMAGE_SIZE } from '../data/cifar10.js';
import { familyOf } from '../families/index.js';
import { type ModelConfig, modelName } from '../model/index.js';
import { VERSION } from '../version.js';
import { GraphBuilder } from './graph.js';

/** Opset 17 has LayerNormalization; ONNX 1.12 (IR version 8) introduced it, so its checker and every runtime since read the file. */
export const ONNX_OPSET = 17;
const IR_VERSION = 8;
export const INPUT_NAME = 'pixels';
export const OUTPUT_NAME = 'logits';
const BATCH = 'batch';

/**
 * A checkpoint's model as a self-contained ONNX file (weights inside): RGB pixel values 0–255,
 * float32 NCHW [batch, 3, s, s], in; logits [batch, num_classes] out; the normalisation `vit eval`
 * applies is the graph's first step. `metadata` goes into the model's metadata_props.
 */
export function onnxModel(weights: Record<string, SafeTensor>, cfg: ModelConfig, data: Pick<DataConfig, 'mean' | 'std' | 'resize'>, metadata: Record<string, string>): Uint8Array {
  const g = new GraphBuilder();
  const pixels = g.reserve(INPUT_NAME);
  const logits = familyOf(cfg).onnx(g, resizeImages(g, normalizePixels(g, pixels, data), data.resize), weights, cfg);
  if (g.op('Identity', [logits], {}, OUTPUT_NAME) !== OUTPUT_NAME) throw new Error(`onnx export: the output name ${OUTPUT_NAME} was taken`);
  // The input is the dataset's 32×32 images; data.resize happens inside the graph.
  const size = IMAGE_SIZE;
  const graph = create(GraphProtoSchema, {
    name: modelName(cfg),
    node: g.nodes,
    initializer: g.initializers,
    input: [tensorInfo(INPUT_NAME, [BATCH, CHANNELS, size, size], `RGB pixel values 0-255, float32, NCHW (channels first), ${size}x${size}`)],
    output: [tensorInfo(OUTPUT_NAME, [BATCH, cfg.num_classes], 'class logits (softmax gives probabilities); class names in metadata_props "classes"')],
  });
  const model = create(ModelProtoSchema, {
    irVersion: BigInt(IR_VERSION),
    opsetImport: [{ domain: '', version: BigInt(ONNX_OPSET) }],
    producerName: 'vit',
    producerVersion: VERSION,
    docString: `${modelName(cfg)} trained on CIFAR-10 with vit: ${INPUT_NAME} [${BATCH}, 3, ${size}, ${size}] (RGB 0-255) -> ${OUTPUT_NAME} [${BATCH}, ${cfg.num_classes}]`,
    graph,
    metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })),
  });
  return toBinary(ModelProtoSchema, model);
}

/**
 * (pixels / 255 − mean) / std per channel, the table evalBatches normalises with
 * (src/data/normalize.ts), as one multiply and one add per value on NCHW images.
 */
function normalizePixels(g: GraphBuilder, pixels: string, { mean, std }: Pick<DataConfig, 'mean' | 'std'>): string {
  const scale = Float32Array.from(std, (s) => 1 / (255 * s));
  const shift = Float32Array.from(mean, (m, c) => -m / std[c]);
  const scaled = g.op('Mul', [pixels, g.float('pixel_scale', [1, CHANNELS, 1, 1], scale)], {}, 'scaled');
  return g.op('Add', [scaled, g.float('pixel_shift', [1, CHANNELS, 1, 1], shift)], {}, 'normalized');
}

/**
 * data.resize: the normalised NCHW images resized to side × side as vit resizes them
 * (src/model/index.ts atModelSize: bilinear, half-pixel centres, PyTorch's align_corners=False;
 * resizing after the normalisation is the same as before it, the weights summing to 1). The scales
 * side / 32 are exact in float32, so ONNX's output side ⌊32 · scale⌋ is `side` and its sampling
 * positions are PyTorch's.
 */
function resizeImages(g: GraphBuilder, images: string, side: number | null | undefined): string {
  if (!side || side === IMAGE_SIZE) return images;
  const scale = side / IMAGE_SIZE;
  const scales = g.float('resize_scales', [4], Float32Array.from([1, 1, scale, scale]));
  const attributes = { mode: 'linear', coordinate_transformation_mode: 'half_pixel' };
  return g.op('Resize', [images, '', scales], attributes, 'resized');
}

/** A float32 tensor's name, shape (a string is a dimension known only at run time) and description. */
function tensorInfo(name: string, shape: (number | string)[], docString: string): ValueInfoProto {
  const dim = shape.map((d) => ({ value: typeof d === 'number' ? { case: 'dimValue' as const, value: BigInt(d) } : { case: 'dimParam' as const, value: d } }));
  return create(ValueInfoProtoSchema, { name, docString, type: { value: { case: 'tensorType', value: { elemType: TensorProto_DataType.FLOAT, shape: { dim } } } } });
}
