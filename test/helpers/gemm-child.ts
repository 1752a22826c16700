/**
 * Computes products with the native addon in a process of its own (so that VIT_GEMM_KERNEL,
 * VIT_BLAS and VIT_NUM_THREADS, read once when the addon loads, can differ from the parent's), on
 * a plain ArrayBuffer standing in for the wasm heap. Reads the cases as JSON from argv[2], writes
 * `{ info, outputs: number[][] }` as JSON to argv[3]. Inputs are made from the case's seed.
 */
import { writeFileSync } from 'node:fs';
import { nativeStatus } from '../../src/backend/native/addon.js';
import { type GemmCase, inputsOf } from './gemm-cases.js';

const cases = JSON.parse(process.argv[2]) as GemmCase[];
const native = nativeStatus();
if (!native.available) throw new Error(native.reason);
const { addon } = native;
const outputs = cases.map((c) => {
  const { a, b, bias } = inputsOf(c);
  const outSize = c.batch * c.m * c.n;
  const heap = new ArrayBuffer(4 * (a.length + b.length + bias.length + outSize) + 64);
  const place = (values: Float32Array, offset: number) => (new Float32Array(heap, offset, values.length).set(values), offset);
  const aAt = place(a, 0);
  const bAt = place(b, aAt + 4 * a.length);
  const biasAt = place(bias, bAt + 4 * b.length);
  const outAt = biasAt + 4 * bias.length;
  // NaN where nothing was written, so an output the kernel forgot is caught.
  new Float32Array(heap, outAt, outSize).fill(Number.NaN);
  if (c.bias) addon.affine(heap, aAt, bAt, biasAt, outAt, c.m, c.n, c.k);
  else addon.matMul(heap, aAt, bAt, outAt, c.batch, c.m, c.n, c.k, c.transposeA, c.transposeB, c.broadcastA ? 0 : c.m * c.k, c.k * c.n);
  return Array.from(new Float32Array(heap, outAt, outSize));
});
writeFileSync(process.argv[3], JSON.stringify({ info: addon.info(), outputs }));
