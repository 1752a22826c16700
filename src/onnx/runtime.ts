import { fromBinary } from '@bufbuild/protobuf';
import { type ModelProto, ModelProtoSchema, type ValueInfoProto } from 'onnx-buf';
import { readFile } from 'node:fs/promises';
import type * as Ort from 'onnxruntime-node';
import { CHANNELS, IMAGE_SIZE, classNames } from '../data/cifar10.js';
import { UserError } from '../errors.js';

/** A model file written by `vit export --format onnx`, run by ONNX Runtime on the CPU. */
export interface OnnxClassifier {
  classes: string[];
  /** Logits [images][classes] of 32×32 RGB images (HWC bytes, as readImageRgb gives them). */
  logits(images: Uint8Array[], batchSize?: number): Promise<number[][]>;
  dispose(): Promise<void>;
}

/**
 * Loads `path` for inference. ONNX Runtime (onnxruntime-node, a devDependency) is imported only
 * here, so that everything else works without it; a bad file is a UserError naming it.
 */
export async function loadOnnxClassifier(path: string): Promise<OnnxClassifier> {
  const bytes = await readModelFile(path);
  const classes = checkedClasses(parseModel(bytes, path), path);
  const ort = await importOnnxRuntime();
  let session: Ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes);
  } catch (err) {
    throw new UserError(`${path}: ONNX Runtime cannot load it (${firstLine(err)})`);
  }
  const [input] = session.inputNames;
  const [output] = session.outputNames;
  return {
    classes,
    async logits(images, batchSize = 100) {
      const rows: number[][] = [];
      for (let start = 0; start < images.length; start += batchSize) {
        const batch = images.slice(start, start + batchSize);
        const pixels = new ort.Tensor('float32', nchwPixels(batch), [batch.length, CHANNELS, IMAGE_SIZE, IMAGE_SIZE]);
        const result = (await session.run({ [input]: pixels }))[output];
        const values = result.data as Float32Array;
        for (let i = 0; i < batch.length; i++) rows.push(Array.from(values.subarray(i * classes.length, (i + 1) * classes.length)));
      }
      return rows;
    },
    dispose: () => session.release(),
  };
}

/** HWC RGB bytes of each image → one float32 NCHW batch of pixel values 0–255, the graph's input. */
export function nchwPixels(images: Uint8Array[]): Float32Array {
  const plane = IMAGE_SIZE * IMAGE_SIZE;
  const out = new Float32Array(images.length * CHANNELS * plane);
  images.forEach((hwc, n) => {
    for (let p = 0; p < plane; p++) {
      for (let c = 0; c < CHANNELS; c++) out[(n * CHANNELS + c) * plane + p] = hwc[p * CHANNELS + c];
    }
  });
  return out;
}

async function readModelFile(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new UserError(`${path}: not found (--model must be an .onnx file written by vit export)`);
    throw err;
  }
}

function parseModel(bytes: Uint8Array, path: string): ModelProto {
  try {
    return fromBinary(ModelProtoSchema, bytes);
  } catch (err) {
    throw new UserError(`${path}: not an ONNX model (${firstLine(err)})`);
  }
}

/**
 * The class names from metadata_props "classes" (or `class i` for each logit), after checking
 * that the graph is one `vit predict` can feed: pixels [batch, 3, 32, 32] in, [batch, classes] out.
 */
function checkedClasses(model: ModelProto, path: string): string[] {
  const [input] = model.graph?.input ?? [];
  const [output] = model.graph?.output ?? [];
  const inputDims = input ? knownDims(input) : [];
  if (!input || !output || inputDims.length !== 4 || inputDims.slice(1).join() !== [CHANNELS, IMAGE_SIZE, IMAGE_SIZE].join()) {
    throw new UserError(`${path}: expected an ONNX classifier of RGB images [batch, 3, ${IMAGE_SIZE}, ${IMAGE_SIZE}] (one written by vit export)`);
  }
  const outputDims = knownDims(output);
  const count = outputDims.length === 2 ? outputDims[1] : null;
  if (count === null) throw new UserError(`${path}: expected logits [batch, classes] as its output`);
  const listed = listedClasses(model);
  return listed?.length === count ? listed : classNames(count);
}

/** A tensor's dimensions, null where only known at run time (the batch). */
function knownDims(info: ValueInfoProto): (number | null)[] {
  if (info.type?.value.case !== 'tensorType') return [];
  return (info.type.value.value.shape?.dim ?? []).map((d) => (d.value.case === 'dimValue' ? Number(d.value.value) : null));
}

/** metadata_props "classes", a JSON array of names, if the file has it. */
function listedClasses(model: ModelProto): string[] | null {
  const listed = model.metadataProps.find((p) => p.key === 'classes')?.value;
  try {
    const classes: unknown = JSON.parse(listed ?? 'null');
    return Array.isArray(classes) && classes.every((c) => typeof c === 'string') ? classes : null;
  } catch {
    return null;
  }
}

/** onnxruntime-node, or a one-line error saying how to install it. */
async function importOnnxRuntime(): Promise<typeof Ort> {
  try {
    const module = (await import('onnxruntime-node')) as typeof Ort & { default?: typeof Ort };
    return module.default ?? module;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new UserError('vit predict --model needs ONNX Runtime: install it with `npm install onnxruntime-node`');
    }
    throw new UserError(`onnxruntime-node cannot be loaded (${firstLine(err)})`);
  }
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0];
}
