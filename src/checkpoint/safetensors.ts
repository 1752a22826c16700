import { UserError } from '../errors.js';
import { BYTES_PER_ELEMENT as STORAGE_BYTES, type StorageDtype, toFloat32 } from './dtypes.js';

/**
 * The safetensors format (https://github.com/huggingface/safetensors), by hand: an 8-byte
 * little-endian header length, a JSON header `{name: {dtype, shape, data_offsets}, __metadata__}`
 * padded with spaces to a multiple of 8, then the raw tensor bytes. PyTorch, JAX and NumPy read
 * it, and unlike pickle it cannot run code when loaded.
 *
 * Typed arrays use the host's byte order; every platform Node and tfjs ship for is little-endian,
 * which is the byte order of the format.
 */
export type SafeTensor =
  | { dtype: 'F32'; shape: number[]; data: Float32Array }
  | { dtype: 'I32'; shape: number[]; data: Int32Array }
  | { dtype: 'I64'; shape: number[]; data: BigInt64Array };

export type DType = SafeTensor['dtype'];

/** Read as float32 (the values PyTorch may save in, which vit computes with in float32). */
const CONVERTED: StorageDtype[] = ['F16', 'BF16', 'F64'];

export function encodeSafetensors(
  tensors: Record<string, SafeTensor>,
  metadata?: Record<string, string>,
): Uint8Array {
  // Sorted names: the same tensors always give the same bytes.
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  for (const name of names) {
    const { dtype, shape, data } = tensors[name];
    if (data.length !== elementCount(shape)) {
      throw new Error(`tensor ${name}: shape [${shape}] needs ${elementCount(shape)} values, got ${data.length}`);
    }
    header[name] = { dtype, shape, data_offsets: [offset, offset + data.byteLength] };
    offset += data.byteLength;
  }

  const json = new TextEncoder().encode(JSON.stringify(header));
  // Space padding keeps the tensor data 8-byte aligned, so readers can map it in place.
  const headerLength = Math.ceil(json.length / 8) * 8;

  const out = new Uint8Array(8 + headerLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);
  let position = 8 + headerLength;
  for (const name of names) {
    const { data } = tensors[name];
    out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), position);
    position += data.byteLength;
  }
  return out;
}

/** Parses a safetensors file; `source` (a path) names the file in error messages. */
export function decodeSafetensors(
  bytes: Uint8Array,
  source: string,
): { tensors: Record<string, SafeTensor>; metadata: Record<string, string> } {
  const fail = (problem: string) => new UserError(`${source}: not a valid safetensors file: ${problem}`);

  if (bytes.length < 8) throw fail(`truncated (${bytes.length} bytes, the header length alone takes 8)`);
  const headerLength = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  const dataStart = 8 + headerLength;
  if (dataStart > bytes.length) {
    throw fail(`truncated (header claims ${headerLength} bytes, the file has ${bytes.length - 8} after the length)`);
  }

  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, dataStart)));
  } catch (err) {
    throw fail(`header is not JSON (${(err as Error).message})`);
  }
  if (!isPlainObject(header)) throw fail('header is not a JSON object');

  const { __metadata__: rawMetadata = {}, ...entries } = header;
  if (!isPlainObject(rawMetadata) || !Object.values(rawMetadata).every((v) => typeof v === 'string')) {
    throw fail('__metadata__ must be an object of strings');
  }
  const metadata = rawMetadata as Record<string, string>;

  const dataLength = bytes.length - dataStart;
  const tensors: Record<string, SafeTensor> = {};
  for (const name of Object.keys(entries).sort()) {
    const entry = entries[name];
    if (!isPlainObject(entry)) throw fail(`tensor ${name}: entry is not an object`);
    const { dtype, shape, data_offsets: offsets } = entry;
    const known = ['F32', 'I32', 'I64', ...CONVERTED];
    if (typeof dtype !== 'string' || !known.includes(dtype)) {
      throw fail(`tensor ${name}: unsupported dtype ${JSON.stringify(dtype)} (expected one of ${known.join(', ')})`);
    }
    if (!Array.isArray(shape) || !shape.every(isNonNegativeInt)) {
      throw fail(`tensor ${name}: shape must be an array of non-negative integers`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isNonNegativeInt)) {
      throw fail(`tensor ${name}: data_offsets must be [begin, end]`);
    }
    const [begin, end] = offsets as [number, number];
    if (begin > end || end > dataLength) {
      throw fail(`tensor ${name}: data_offsets [${begin}, ${end}] out of range (data section is ${dataLength} bytes)`);
    }
    const expectedBytes = elementCount(shape) * STORAGE_BYTES[dtype as StorageDtype];
    if (end - begin !== expectedBytes) {
      throw fail(`tensor ${name}: ${end - begin} bytes of data, shape [${shape}] of ${dtype} needs ${expectedBytes}`);
    }
    // A copy into a fresh buffer, which typed arrays can view aligned. (Not bytes.slice(): on a
    // Node Buffer, as readFile returns, slice() shares memory instead of copying.)
    const raw = new Uint8Array(bytes.subarray(dataStart + begin, dataStart + end)).buffer;
    if (dtype === 'F32') tensors[name] = { dtype, shape, data: new Float32Array(raw) };
    else if (dtype === 'I32') tensors[name] = { dtype, shape, data: new Int32Array(raw) };
    else if (dtype === 'I64') tensors[name] = { dtype, shape, data: new BigInt64Array(raw) };
    else tensors[name] = { dtype: 'F32', shape, data: toFloat32(new Uint8Array(raw), 0, elementCount(shape), dtype as StorageDtype) };
  }
  return { tensors, metadata };
}

function elementCount(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function isNonNegativeInt(x: unknown): x is number {
  return Number.isSafeInteger(x) && (x as number) >= 0;
}
