import { unzipSync } from 'fflate';
import { Parser } from 'pickleparser';
import { UserError } from '../errors.js';
import { BYTES_PER_ELEMENT, type StorageDtype, toFloat32 } from './dtypes.js';
import type { SafeTensor } from './safetensors.js';

/**
 * Reading what `torch.save` writes (.pth, .pt, .t7, .bin) as `torch.load(weights_only=True)`
 * does: PyTorch ≥ 1.6 writes a zip of `data.pkl` (a pickle) and one raw file per tensor storage
 * (`data/<key>`). Unpickling can run any Python function a file names, so the unpickler here
 * (pickleparser) resolves only the globals a state_dict needs — OrderedDict, the tensor rebuild
 * functions and the storage types — and refuses the file on any other, before anything is built.
 */

/** A tensor as read: float storages become float32; int64 stays (BatchNorm's batch counts). */
export type TorchTensor = SafeTensor;

/** The storage types torch.save names, by their dtype. */
const STORAGE_TYPES: Record<string, StorageDtype> = {
  FloatStorage: 'F32',
  DoubleStorage: 'F64',
  HalfStorage: 'F16',
  BFloat16Storage: 'BF16',
  LongStorage: 'I64',
  IntStorage: 'I32',
  ShortStorage: 'I16',
  CharStorage: 'I8',
  ByteStorage: 'U8',
  BoolStorage: 'BOOL',
};

interface Storage {
  dtype: StorageDtype;
  bytes: Uint8Array;
  key: string;
}

/**
 * The object `torch.save` wrote in `bytes` (a Map for each dict, arrays for lists and tuples,
 * TorchTensor for each tensor). `source` names the file in errors, each one line: the legacy
 * format of PyTorch < 1.6, a broken zip or pickle, a refused global, a storage too short.
 */
export function readTorchFile(bytes: Uint8Array, source: string): unknown {
  const isZip = bytes[0] === 0x50 && bytes[1] === 0x4b; // "PK"
  if (!isZip) {
    const legacy = bytes[0] === 0x80 || isTar(bytes);
    throw new UserError(
      legacy
        ? `${source}: the legacy torch.save format of PyTorch < 1.6 is not read; re-save it with a newer PyTorch: torch.save(torch.load(path), path)`
        : `${source}: not a file written by torch.save (no zip archive)`,
    );
  }
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes, { filter: (file) => file.originalSize <= MAX_ENTRY_BYTES });
  } catch (err) {
    throw new UserError(`${source}: not a complete zip archive (${(err as Error).message})`);
  }
  const pickleName = Object.keys(files).find((name) => name === 'data.pkl' || name.endsWith('/data.pkl'));
  if (!pickleName) throw new UserError(`${source}: a zip without data.pkl, not a file written by torch.save`);
  const root = pickleName.slice(0, -'data.pkl'.length); // "archive/" or "<name>/"

  const storages = new Map<string, Storage>();
  const parser = new Parser({
    unpicklingTypeOfDictionary: 'Map',
    nameResolver: { resolve: (module, name) => allowedGlobal(module, name, source) },
    persistentResolver: {
      resolve: (pid: unknown) => {
        // ('storage', storage type, key, location, numel): the location ('cpu', 'cuda:0') does not matter here.
        const [kind, type, key] = pid as [unknown, unknown, unknown];
        if (kind !== 'storage' || typeof key !== 'string' || !isStorageType(type)) throw new UserError(`${source}: an unknown persistent reference in data.pkl`);
        const file = files[`${root}data/${key}`];
        if (!file) throw new UserError(`${source}: storage ${key} is missing from the archive`);
        const storage = storages.get(key) ?? { dtype: type.dtype, bytes: file, key };
        storages.set(key, storage);
        return storage;
      },
    },
  });
  try {
    return parser.parse(files[pickleName]);
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(`${source}: malformed pickle in data.pkl (${(err as Error).message})`);
  }
}

/** Inflated entries larger than this are refused: a torch.save zip stores its data uncompressed. */
const MAX_ENTRY_BYTES = 2 ** 31;

interface StorageType {
  storageType: true;
  dtype: StorageDtype;
}

function isStorageType(x: unknown): x is StorageType {
  return typeof x === 'object' && x !== null && (x as StorageType).storageType === true;
}

/** What each allowed global becomes; the same list torch.load(weights_only=True) needs for a state_dict. */
function allowedGlobal(module: string, name: string, source: string): (...args: unknown[]) => unknown {
  const qualified = `${module}.${name}`;
  if (qualified === 'collections.OrderedDict') return () => new Map();
  if (qualified === 'torch._utils._rebuild_tensor_v2') return (storage, offset, size, stride) => rebuildTensor(storage, offset, size, stride, source);
  if (qualified === 'torch._utils._rebuild_parameter' || qualified === 'torch._utils._rebuild_parameter_with_state') return (data) => data;
  if (module === 'torch' && name in STORAGE_TYPES) {
    const type: StorageType = { storageType: true, dtype: STORAGE_TYPES[name] };
    return type as unknown as () => StorageType; // a value the persistent references name, never called
  }
  throw new UserError(
    `${source}: refused to load the global ${qualified}: a state_dict needs only tensors, numbers, strings and dicts, and vit, like torch.load(weights_only=True), runs nothing else` +
      (module.startsWith('models') || module === '__main__' ? ' (this looks like a whole pickled model: save model.state_dict() instead)' : ''),
  );
}

/** torch._utils._rebuild_tensor_v2: a view of `size` with `stride` into a storage from `offset`, read as a dense tensor. */
function rebuildTensor(storage: unknown, offset: unknown, size: unknown, stride: unknown, source: string): TorchTensor {
  const dims = size as number[];
  const strides = stride as number[];
  const start = offset as number;
  const valid = (list: unknown): list is number[] => Array.isArray(list) && list.every((n) => Number.isSafeInteger(n) && n >= 0);
  if (typeof storage !== 'object' || storage === null || !('bytes' in storage) || !valid(dims) || !valid(strides) || dims.length !== strides.length || !Number.isSafeInteger(start) || start < 0) {
    throw new UserError(`${source}: a malformed tensor in data.pkl`);
  }
  const { dtype, bytes, key } = storage as Storage;
  const count = dims.reduce((a, b) => a * b, 1);
  const elements = Math.floor(bytes.length / BYTES_PER_ELEMENT[dtype]);
  const last = count === 0 ? -1 : start + dims.reduce((sum, d, i) => sum + (d - 1) * strides[i], 0);
  if (last >= elements) throw new UserError(`${source}: a tensor [${dims}] reads element ${last} of storage ${key}, which holds ${elements}: the file is truncated or corrupt`);
  const contiguous = dims.every((_, i) => strides[i] === dims.slice(i + 1).reduce((a, b) => a * b, 1) || dims[i] === 1);
  // A dense copy in row-major order (a view with other strides, e.g. a transposed tensor, is gathered).
  const indices = contiguous ? null : gatherOrder(dims, strides, start);
  if (dtype === 'I64') {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const data = BigInt64Array.from({ length: count }, (_, i) => view.getBigInt64(8 * (indices ? indices[i] : start + i), true));
    return { dtype: 'I64', shape: dims, data };
  }
  if (contiguous) return { dtype: 'F32', shape: dims, data: toFloat32(bytes, start * BYTES_PER_ELEMENT[dtype], count, dtype) };
  const all = toFloat32(bytes, 0, elements, dtype);
  return { dtype: 'F32', shape: dims, data: Float32Array.from(indices!, (i) => all[i]) };
}

/** The storage index of each element of a strided view, in row-major order. */
function gatherOrder(dims: number[], strides: number[], start: number): number[] {
  let indices = [start];
  dims.forEach((d, axis) => {
    const next: number[] = [];
    for (const base of indices) for (let i = 0; i < d; i++) next.push(base + i * strides[axis]);
    indices = next;
  });
  return indices;
}

function isTar(bytes: Uint8Array): boolean {
  return bytes.length > 262 && new TextDecoder().decode(bytes.subarray(257, 262)) === 'ustar';
}

/** The keys under which training scripts keep the state_dict in what they save. */
const STATE_DICT_KEYS = ['state_dict', 'model_state_dict', 'model', 'net'];

/**
 * The state_dict in what torch.save wrote: the object itself when its values are tensors, else the
 * first of `state_dict`, `model_state_dict`, `model` or `net` that is one. `module.` prefixes (from
 * nn.DataParallel or DistributedDataParallel) are removed from every key.
 */
export function findStateDict(value: unknown, source: string): { stateDict: Record<string, TorchTensor>; key: string | null; unwrapped: boolean } {
  const asStateDict = (x: unknown) => (x instanceof Map && x.size > 0 && [...x.values()].every(isTensor) ? (x as Map<string, TorchTensor>) : null);
  let found = asStateDict(value);
  let key: string | null = null;
  if (!found && value instanceof Map) {
    key = STATE_DICT_KEYS.find((k) => asStateDict(value.get(k))) ?? null;
    if (key) found = asStateDict(value.get(key));
  }
  if (!found) {
    const keys = value instanceof Map ? [...value.keys()].map(String).join(', ') : typeof value;
    throw new UserError(`${source}: no state_dict found (expected a dict of tensors, or one under ${STATE_DICT_KEYS.join(', ')}; the file holds: ${keys})`);
  }
  const names = [...found.keys()];
  const unwrapped = names.every((name) => name.startsWith('module.'));
  const stateDict: Record<string, TorchTensor> = {};
  for (const [name, tensor] of found) stateDict[unwrapped ? name.slice('module.'.length) : name] = tensor;
  return { stateDict, key, unwrapped };
}

function isTensor(x: unknown): x is TorchTensor {
  return typeof x === 'object' && x !== null && 'dtype' in x && 'shape' in x && 'data' in x;
}
