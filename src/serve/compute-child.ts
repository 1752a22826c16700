/**
 * The compute process of `vit serve`: runs models (a checkpoint over the test set, an uploaded
 * image) for the server, one job at a time, so that the server itself never blocks on tfjs and a
 * backend's own console output never reaches the user's terminal. Jobs come and go as IPC
 * messages (compute-protocol.ts).
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { IMAGE_BYTES, IMAGE_SIZE, type Split, loadDataset } from '../data/cifar10.js';
import { DATASETS, type DatasetChoice } from '../data/datasets.js';
import { takeFirst } from '../data/splits.js';
import { UserError } from '../errors.js';
import { confusionMatrix, perClassAccuracy } from '../train/confusion.js';
import { encodePng } from '../viz/image-io.js';
import { type AnalysisResult, type ComputeReply, type ComputeRequest, MOST_WRONG, type PredictResult, type WrongImage } from './compute-protocol.js';
import { type InferenceModel, attentionMaps, describeModel, imagesAsSplit, loadModel, probabilities, readImages, topK } from './model-access.js';

let loaded: { key: string; model: InferenceModel } | null = null;
let testSet: { key: string; split: Split } | null = null;

/** The checkpoint's model, kept loaded while jobs ask for the same checkpoint (and it has not been rewritten). */
async function modelFor(checkpoint: string): Promise<InferenceModel> {
  const key = `${checkpoint}@${(await stat(join(checkpoint, 'weights.safetensors')).catch(() => null))?.mtimeMs ?? 0}`;
  if (loaded?.key === key) return loaded.model;
  loaded?.model.dispose();
  loaded = null;
  loaded = { key, model: await loadModel(checkpoint) };
  return loaded.model;
}

/** The test set of the dataset a model was trained on (data.dataset, data.labels), kept while jobs ask for the same. */
async function testSplit(dataDir: string, choice: DatasetChoice): Promise<Split> {
  const key = `${dataDir}|${choice.dataset}|${choice.labels}`;
  if (testSet?.key === key) return testSet.split;
  const spec = DATASETS[choice.dataset];
  const dir = join(dataDir, spec.dir);
  if (!(await stat(join(dir, spec.testFile)).catch(() => null))) {
    const command = spec.name === 'cifar10' ? 'npx vit data download' : `npx vit data download --dataset ${spec.name}`;
    throw new UserError(`${spec.title} is not in ${dataDir}/ (the test set this needs): download it with ${command}, or give vit serve --data-dir`);
  }
  testSet = { key, split: (await loadDataset(dir, choice)).test };
  return testSet.split;
}

async function analyze(job: Extract<ComputeRequest, { kind: 'analyze' }>, progress: (done: number, total: number) => void): Promise<AnalysisResult> {
  const model = await modelFor(job.checkpoint);
  const all = await testSplit(job.dataDir, model.dataset);
  const split = job.limitTest === null ? all : takeFirst(all, job.limitTest);
  const probs: number[][] = [];
  progress(0, split.count);
  // In chunks, so that the page can show how far it is.
  for (let start = 0; start < split.count; start += job.batchSize) {
    const chunk = subset(split, range(start, Math.min(split.count, start + job.batchSize)));
    probs.push(...(await probabilities(model, chunk, job.batchSize)));
    progress(probs.length, split.count);
  }
  const predictions = probs.map((p) => p.indexOf(Math.max(...p)));
  const confusion = confusionMatrix(split.labels, predictions, model.classes.length);
  let lossSum = 0;
  let correct = 0;
  probs.forEach((p, i) => {
    lossSum -= Math.log(Math.max(p[split.labels[i]], 1e-30));
    if (predictions[i] === split.labels[i]) correct++;
  });
  const wrong = range(0, split.count)
    .filter((i) => predictions[i] !== split.labels[i])
    .sort((a, b) => probs[b][predictions[b]] - probs[a][predictions[a]] || a - b)
    .slice(0, MOST_WRONG);
  const facts = describeModel(model.cfg);
  const maps = wrong.length && facts.attention ? await attentionMaps(model, subset(split, wrong)) : null;
  const mostWrong: WrongImage[] = [];
  for (const [k, i] of wrong.entries()) {
    mostWrong.push({
      index: i,
      label: model.classes[split.labels[i]],
      top: topK(probs[i], model.classes, 3),
      image: await pngDataUrl(split.images.subarray(i * IMAGE_BYTES, (i + 1) * IMAGE_BYTES)),
      map: maps ? maps[k] : null,
    });
  }
  return {
    report: {
      accuracy: correct / split.count,
      loss: lossSum / split.count,
      images: split.count,
      tta: model.tta,
      classes: model.classes,
      confusion,
      perClass: perClassAccuracy(confusion),
      source: 'computed',
    },
    mostWrong,
    attention: facts.attention,
  };
}

async function predict(job: Extract<ComputeRequest, { kind: 'predict' }>): Promise<PredictResult> {
  const model = await modelFor(job.checkpoint);
  const images = await readImages([job.file]);
  const split = imagesAsSplit(images);
  const [probs] = await probabilities(model, split, 1);
  const facts = describeModel(model.cfg);
  const maps = facts.attention ? await attentionMaps(model, split) : null;
  return { top: topK(probs, model.classes, 5), input: await pngDataUrl(images[0].pixels), map: maps ? maps[0] : null, attention: facts.attention };
}

function subset(split: Split, indices: number[]): Split {
  const images = new Uint8Array(indices.length * IMAGE_BYTES);
  indices.forEach((i, k) => images.set(split.images.subarray(i * IMAGE_BYTES, (i + 1) * IMAGE_BYTES), k * IMAGE_BYTES));
  return { images, labels: Uint8Array.from(indices, (i) => split.labels[i]), count: indices.length };
}

function range(start: number, end: number): number[] {
  return Array.from({ length: end - start }, (_, i) => start + i);
}

async function pngDataUrl(pixels: Uint8Array): Promise<string> {
  return `data:image/png;base64,${(await encodePng({ width: IMAGE_SIZE, height: IMAGE_SIZE, pixels })).toString('base64')}`;
}

function reply(message: ComputeReply): void {
  process.send?.(message);
}

/** Jobs run one after another: a model and its backend are process-wide in tfjs. */
let queue: Promise<void> = Promise.resolve();
process.on('message', (job: ComputeRequest) => {
  queue = queue.then(async () => {
    try {
      const result = job.kind === 'analyze' ? await analyze(job, (done, total) => reply({ id: job.id, type: 'progress', done, total })) : await predict(job);
      reply({ id: job.id, type: 'result', result });
    } catch (err) {
      reply({ id: job.id, type: 'error', message: (err as Error).message.split('\n')[0] });
    }
  });
});
// The server is gone (closed, killed): nothing is left to compute for.
process.on('disconnect', () => process.exit(0));
