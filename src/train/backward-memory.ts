import * as tf from '@tensorflow/tfjs';

/**
 * tfjs keeps every intermediate gradient and every tensor saved for the backward pass until the
 * whole backward pass ends (engine.gradients frees them in one tidy), so a training step's peak
 * memory is about the forward activations plus all their gradients. With this installed, each
 * tape node's output gradients and saved tensors are freed as soon as the next node's gradient
 * starts (by then all of this node's input gradients exist): the same values, a lower peak.
 *
 * It wraps the gradient function of every tape node (engine.addTapeNode, tfjs 4.x). A gradient
 * tensor is freed early only when it is stored under one tensor alone: one that a gradient
 * function returned for two inputs, or passed through as its own input's gradient, is left to
 * tfjs's final tidy. Saved tensors are each node's own clones, freed only at gradient depth 0
 * (no gradient of a gradient is being taken).
 */
interface TapeNode {
  gradient?: (dys: (tf.Tensor | null)[]) => Record<string, () => tf.Tensor>;
  saved?: tf.Tensor[];
}
interface EngineInternals {
  addTapeNode: (...args: unknown[]) => void;
  state: { activeTape: TapeNode[] | null; gradientDepth: number };
}

let original: EngineInternals['addTapeNode'] | null = null;

/** Installs the early freeing (idempotent). */
export function freeBackwardMemoryEarly(): void {
  const engine = tf.engine() as unknown as EngineInternals;
  if (original) return;
  original = engine.addTapeNode;
  // Gradients returned by some node, and how many times: a tensor returned twice is stored under
  // two tensors' gradients, and freeing it for one would free it for the other.
  const returned = new WeakMap<tf.Tensor, number>();
  let pending: { dys: (tf.Tensor | null)[]; saved: tf.Tensor[]; results: Set<tf.Tensor> } | null = null;
  const flush = () => {
    if (!pending) return;
    for (const dy of pending.dys) {
      if (dy && !dy.isDisposed && !pending.results.has(dy) && (returned.get(dy) ?? 0) <= 1) dy.dispose();
    }
    if (engine.state.gradientDepth === 0) for (const t of pending.saved) t.dispose();
    pending = null;
  };
  engine.addTapeNode = function (this: EngineInternals, ...args: unknown[]) {
    original!.apply(this, args);
    const node = this.state.activeTape!.at(-1)!;
    const gradient = node.gradient;
    if (!gradient) return;
    node.gradient = (dys) => {
      flush();
      const grads = gradient(dys);
      const results = new Set<tf.Tensor>();
      pending = { dys, saved: node.saved ?? [], results };
      return Object.fromEntries(
        Object.entries(grads).map(([name, grad]) => [
          name,
          () => {
            const g = grad();
            results.add(g);
            returned.set(g, (returned.get(g) ?? 0) + 1);
            return g;
          },
        ]),
      );
    };
  };
}

/** Removes it again (for tests that compare with tfjs's own behaviour). */
export function keepBackwardMemoryToTheEnd(): void {
  if (!original) return;
  (tf.engine() as unknown as EngineInternals).addTapeNode = original;
  original = null;
}
