import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { guardWasmMalloc, createQuietly, wasmAbortLine, withoutAbortLine } from '../src/backend/drivers/wasm-abort.js';
import { useBackend } from '../src/backend/index.js';

// Node has WebAssembly; the lib types this project compiles against do not declare it.
const { RuntimeError } = (globalThis as unknown as { WebAssembly: { RuntimeError: ErrorConstructor } }).WebAssembly;

/** What Emscripten's abort() throws in a release build: no message of its own. */
const abortError = () => new RuntimeError('Aborted(). Build with -sASSERTIONS for more info.');

test('a wasm abort becomes one line that names the heap cap, its use and the keys to change', () => {
  const line = wasmAbortLine(abortError(), 3.96 * 1024 ** 3);
  assert.match(line!, /^the wasm backend ran out of memory: its heap is capped at 4 GiB \(4\.0 GiB of it in use\)/);
  assert.match(line!, /train\.batch_size/);
  assert.doesNotMatch(line!, /\n/);
  assert.match(wasmAbortLine(abortError(), undefined)!, /capped at 4 GiB, and/);
});

test('other errors, even RuntimeErrors or an Error saying "Aborted()", are not taken for a wasm abort', () => {
  assert.equal(wasmAbortLine(new RuntimeError('unreachable'), 1), undefined);
  assert.equal(wasmAbortLine(new Error('Aborted()'), 1), undefined);
  assert.equal(wasmAbortLine('Aborted()', 1), undefined);
  assert.equal(wasmAbortLine(undefined, 1), undefined);
});

test("the filtered console.warn drops Emscripten's Aborted(…) print and passes every other warning on", () => {
  const seen: unknown[][] = [];
  const warn = withoutAbortLine((...args) => seen.push(args));
  warn('Aborted()');
  warn('Aborted(OOM)');
  warn('tfjs: some other warning');
  warn('Aborted()', 'with a second argument');
  assert.deepEqual(seen, [['tfjs: some other warning'], ['Aborted()', 'with a second argument']]);
});

test('createQuietly filters console.warn only while the module is created, and restores it after a failure too', async () => {
  const original = console.warn;
  let during: typeof console.warn | undefined;
  assert.equal(await createQuietly(async () => ((during = console.warn), 7)), 7);
  assert.notEqual(during, original);
  assert.equal(console.warn, original);
  await assert.rejects(createQuietly(() => Promise.reject(new Error('init failed'))), /init failed/);
  assert.equal(console.warn, original);
});

test("with the heap full, wasm's malloc returns an address past the heap's end: the allocation fails there as an abort that becomes the one line, instead of a tensor written out of bounds", async () => {
  await useBackend('wasm');
  const wasm = (tf.engine().registry.wasm as unknown as { wasm: { _malloc: (n: number) => number; _free: (a: number) => void } }).wasm;
  const installed = wasm._malloc;
  guardWasmMalloc();
  assert.equal(wasm._malloc, installed, 'useBackend installed the guard already (a second call changes nothing)');
  // Most of the 4 GiB heap taken (never written, so no memory is touched), then a tensor that does not fit.
  const hog = wasm._malloc(Math.floor(3.7 * 1024 ** 3));
  assert.notEqual(hog, 0);
  const before = tf.memory().numTensors;
  let caught: unknown;
  try {
    tf.zeros([Math.floor((0.5 * 1024 ** 3) / 4)]).dispose();
  } catch (err) {
    caught = err;
  } finally {
    wasm._free(hog);
  }
  assert.ok(caught, 'the allocation failed');
  assert.match(wasmAbortLine(caught) ?? String(caught), /the wasm backend ran out of memory: its heap is capped at 4 GiB/);
  assert.equal(tf.memory().numTensors, before, 'no tensor was made');
});
