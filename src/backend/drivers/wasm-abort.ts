import * as tf from '@tensorflow/tfjs';

/**
 * When wasm's heap cannot grow (it is capped at 4 GiB), tfjs-backend-wasm's C++ cannot allocate
 * and the Emscripten runtime aborts: it prints "Aborted()" through the console.warn it captured
 * when the module was created, then throws a bare WebAssembly.RuntimeError from inside a kernel.
 * Neither says what happened or what to change, so the CLI turns the error into one line, and
 * the module is created with a console.warn that drops the raw "Aborted()" print.
 */

const ABORT_MESSAGE = /^Aborted\(/;

/** A console.warn that passes everything on to `warn` except Emscripten's "Aborted(…)" line. */
export function withoutAbortLine(warn: (...args: unknown[]) => void): (...args: unknown[]) => void {
  return (...args: unknown[]) => {
    if (args.length === 1 && typeof args[0] === 'string' && ABORT_MESSAGE.test(args[0])) return;
    warn(...args);
  };
}

/** Runs `create` (a setBackend, which may instantiate the wasm module) with console.warn filtered as above. */
export async function createQuietly<T>(create: () => Promise<T>): Promise<T> {
  const warn = console.warn;
  console.warn = withoutAbortLine(warn.bind(console));
  try {
    return await create();
  } finally {
    console.warn = warn;
  }
}

/**
 * tfjs-backend-wasm allocates every tensor with the module's `_malloc`, which does not abort when
 * the heap cannot grow past 4 GiB: its break pointer wraps around 2³² and it returns an address
 * whose block ends past the heap (or 0). tfjs then fails on "offset is out of bounds", or a kernel
 * writes there and the process dies on "memory access out of bounds" (a ConvMixer evaluated at
 * batch 250 after training did). This turns such an address into an abort at the allocation,
 * which wasmAbortLine explains. Idempotent; a no-op until the wasm backend exists.
 */
export function guardWasmMalloc(): void {
  const backend = tf.engine().registry.wasm as { wasm?: WasmHeap } | undefined;
  const wasm = backend?.wasm;
  if (!wasm?._malloc || wasm._malloc.guarded) return;
  // Emscripten's _malloc is a stub that, on its first call, puts the wasm export in its own
  // place: call it once, so the function wrapped is the export and stays wrapped.
  wasm._free(wasm._malloc(16));
  const malloc = wasm._malloc;
  const guarded: Guarded = (bytes: number) => {
    const address = malloc(bytes);
    // `>>> 0`: addresses above 2 GiB come back as negative int32s (tfjs reads them the same way).
    if (bytes > 0 && (address === 0 || (address >>> 0) + bytes > wasm.HEAPU8.length)) {
      throw Object.assign(new Error(`Aborted(malloc of ${bytes} bytes found no room in the heap)`), { name: 'RuntimeError' });
    }
    return address;
  };
  guarded.guarded = true;
  wasm._malloc = guarded;
}

interface WasmHeap {
  _malloc?: Guarded;
  _free: (address: number) => void;
  HEAPU8: Uint8Array;
}

type Guarded = ((bytes: number) => number) & { guarded?: boolean };

/** The one line that explains a wasm abort, or undefined when `err` is not one. */
export function wasmAbortLine(err: unknown, heapBytes = wasmHeapBytes()): string | undefined {
  // WebAssembly.RuntimeError, named by its name: Node's lib types here do not declare WebAssembly.
  if (!(err instanceof Error) || err.name !== 'RuntimeError' || !ABORT_MESSAGE.test(err.message)) return undefined;
  const inUse = heapBytes === undefined ? '' : ` (${(heapBytes / 1024 ** 3).toFixed(1)} GiB of it in use)`;
  return (
    `the wasm backend ran out of memory: its heap is capped at 4 GiB${inUse}, and this step needs more. ` +
    'Lower train.batch_size, or train.eval_batch_size when evaluating (vit bench: --batch), or use a smaller model; checkpoints already written are intact'
  );
}

/** The wasm heap's current size, when the wasm backend has been created. */
function wasmHeapBytes(): number | undefined {
  const backend = tf.engine().registry.wasm as { wasm?: { HEAPU8?: Uint8Array } } | undefined;
  return backend?.wasm?.HEAPU8?.length;
}
