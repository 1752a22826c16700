import * as tf from '@tensorflow/tfjs';
import { importOptional } from './optional-import.js';

/** The fields of tfjs-node's `NodeJSKernelBackend` that tell what libtensorflow runs on. */
interface NodeKernelBackend {
  isUsingGpuDevice: boolean;
  binding: { TF_Version: string };
}

export type TfjsNodeLoad =
  | { status: 'missing' }
  | { status: 'failed'; message: string }
  | { status: 'loaded'; usingGpu: boolean; details: Record<string, string> };

/**
 * Loads `@tensorflow/tfjs-node` or `@tensorflow/tfjs-node-gpu`. Either registers libtensorflow as
 * the tfjs backend "tensorflow" (and makes it current) into the shared tfjs engine, at import.
 */
export async function loadTfjsNode(
  pkg: '@tensorflow/tfjs-node' | '@tensorflow/tfjs-node-gpu',
): Promise<TfjsNodeLoad> {
  const loaded = await importOptional(pkg);
  if (loaded.status !== 'loaded') return loaded;
  const { version } = loaded.module as { version: Record<string, string> };
  const backend = tf.findBackend('tensorflow') as unknown as NodeKernelBackend | null;
  if (!backend) return { status: 'failed', message: `${pkg} loaded but registered no "tensorflow" backend` };
  return {
    status: 'loaded',
    usingGpu: backend.isUsingGpuDevice,
    details: { version: version['tfjs-node'], libtensorflow: backend.binding.TF_Version },
  };
}
