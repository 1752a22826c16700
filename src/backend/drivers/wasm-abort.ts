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

/** The one line that explains a wasm abort, or undefined when `err` is not one. */
export function wasmAbortLine(err: unknown, heapBytes = wasmHeapBytes()): string | undefined {
  // WebAssembly.RuntimeError, named by its name: Node's lib types here do not declare WebAssembly.
  if (!(err instanceof Error) || err.name !== 'RuntimeError' || !ABORT_MESSAGE.test(err.message)) return undefined;
  const inUse = heapBytes === undefined ? '' : ` (${(heapBytes / 1024 ** 3).toFixed(1)} GiB of it in use)`;
  return (
    `the wasm backend ran out of memory: its heap is capped at 4 GiB${inUse}, and this step needs more. ` +
    'Lower train.batch_size (vit bench: --batch) or use a smaller model; checkpoints already written are intact'
  );
}

/** The wasm heap's current size, when the wasm backend has been created. */
function wasmHeapBytes(): number | undefined {
  const backend = tf.engine().registry.wasm as { wasm?: { HEAPU8?: Uint8Array } } | undefined;
  return backend?.wasm?.HEAPU8?.length;
}
