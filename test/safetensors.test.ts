import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeSafetensors, encodeSafetensors, type SafeTensor } from '../src/checkpoint/safetensors.js';
import { UserError } from '../src/errors.js';

const tensors: Record<string, SafeTensor> = {
  'b.weight': { dtype: 'F32', shape: [2, 3], data: new Float32Array([1, -2.5, 3, 0.125, 5, -6e-8]) },
  'a.steps': { dtype: 'I32', shape: [3], data: new Int32Array([7, -1, 2147483647]) },
  scalar: { dtype: 'F32', shape: [], data: new Float32Array([42]) },
};

/** A file with a hand-written header and `dataBytes` zero bytes after it. */
function fileWithHeader(header: string, dataBytes = 0): Uint8Array {
  const json = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + json.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  return out;
}

function headerOf(bytes: Uint8Array): string {
  const length = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return new TextDecoder().decode(bytes.subarray(8, 8 + length));
}

test('round trip keeps names, dtypes, shapes, values and metadata', () => {
  const { tensors: decoded, metadata } = decodeSafetensors(encodeSafetensors(tensors, { format: 'pt' }), 'mem');
  assert.deepEqual(decoded, tensors);
  assert.deepEqual(metadata, { format: 'pt' });
});

test('decodes from a Node Buffer that is a view into a larger pool, as readFile may return', () => {
  const bytes = encodeSafetensors(tensors);
  const pooled = Buffer.alloc(bytes.length + 16);
  pooled.set(bytes, 8);
  assert.deepEqual(decodeSafetensors(pooled.subarray(8, 8 + bytes.length), 'mem').tensors, tensors);
});

test('no metadata decodes as an empty object', () => {
  assert.deepEqual(decodeSafetensors(encodeSafetensors(tensors), 'mem').metadata, {});
});

test('header is space-padded to a multiple of 8 and tensors are laid out in sorted name order', () => {
  const metadatas: (Record<string, string> | undefined)[] = [undefined, { k: 'v' }, { key: 'value!' }, { a: 'é' }];
  for (const metadata of metadatas) {
    const bytes = encodeSafetensors(tensors, metadata);
    const header = headerOf(bytes);
    assert.equal(new TextEncoder().encode(header).length % 8, 0);
    assert.match(header, /^\{.*\} *$/);
    const parsed = JSON.parse(header);
    assert.deepEqual(parsed['a.steps'].data_offsets, [0, 12]);
    assert.deepEqual(parsed['b.weight'].data_offsets, [12, 36]);
    assert.deepEqual(parsed.scalar.data_offsets, [36, 40]);
    assert.equal(bytes.length, 8 + new TextEncoder().encode(header).length + 40);
  }
});

test('data is little-endian', () => {
  const bytes = encodeSafetensors({ x: { dtype: 'I32', shape: [1], data: new Int32Array([0x01020304]) } });
  assert.deepEqual([...bytes.subarray(bytes.length - 4)], [4, 3, 2, 1]);
});

test('the same tensors in any insertion order give the same bytes', () => {
  const reversed = Object.fromEntries(Object.entries(tensors).reverse());
  assert.deepEqual(encodeSafetensors(reversed), encodeSafetensors(tensors));
});

test('decoding bad input throws a UserError naming the source and the problem', () => {
  const good = encodeSafetensors(tensors);
  const cases: [string, Uint8Array, RegExp][] = [
    ['shorter than the length field', new Uint8Array(5), /truncated/],
    ['header longer than the file', good.subarray(0, 20), /truncated/],
    ['data cut short', good.subarray(0, good.length - 4), /out of range/],
    ['header not JSON', fileWithHeader('{"a": '), /not JSON/],
    ['header not an object', fileWithHeader('[1, 2]'), /not a JSON object/],
    ['metadata not strings', fileWithHeader('{"__metadata__": {"n": 1}}'), /__metadata__/],
    [
      'unsupported dtype',
      fileWithHeader('{"x": {"dtype": "C64", "shape": [2], "data_offsets": [0, 4]}}', 4),
      /unsupported dtype "C64"/,
    ],
    [
      'offsets out of range',
      fileWithHeader('{"x": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}', 4),
      /out of range/,
    ],
    [
      'offsets reversed',
      fileWithHeader('{"x": {"dtype": "F32", "shape": [0], "data_offsets": [4, 0]}}', 4),
      /out of range/,
    ],
    [
      'size mismatch',
      fileWithHeader('{"x": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}', 8),
      /8 bytes of data, shape \[3\] of F32 needs 12/,
    ],
    ['bad shape', fileWithHeader('{"x": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 0]}}'), /shape/],
  ];
  for (const [what, bytes, problem] of cases) {
    assert.throws(
      () => decodeSafetensors(bytes, 'ckpt/weights.safetensors'),
      (err: unknown) =>
        err instanceof UserError && err.message.startsWith('ckpt/weights.safetensors: ') && problem.test(err.message),
      what,
    );
  }
});
