import * as tf from '@tensorflow/tfjs';
import type { OptimizerConfig } from '../config/schema.js';
import { UserError } from '../errors.js';
import { isHiddenMatrix } from '../model/family.js';
import { clipByGlobalNorm, globalNorm } from './clip.js';
import { hasKernel } from '../backend/kernel-traits.js';
import { OPTIMIZER_STEP } from '../model/fused-kernels.js';
import { muonMatrix, muonUpdate } from './muon.js';

/** Model parameters by name. */
export type Params = Record<string, tf.Variable>;
/** Gradients by parameter name, as `tf.variableGrads` returns them. */
export type Grads = Record<string, tf.Tensor>;

/**
 * What a checkpoint keeps to resume the optimizer: the step count and moments `m/<param>`,
 * `v/<param>` (Adam), `muon/<param>` (Muon's momentum buffers).
 */
export interface OptimizerState {
  step: number;
  tensors: Record<string, tf.Tensor>;
}

/**
 * The learning rate the schedule passes to every step is AdamW's; `lr` (the configured peak) and
 * `muon` are needed only by 'muon', whose LR is scaled with it: muon.lr · (lr / optimizer.lr).
 */
export type OptimizerSettings = Pick<OptimizerConfig, 'name' | 'betas' | 'eps' | 'weight_decay' | 'grad_clip'> &
  Partial<Pick<OptimizerConfig, 'lr' | 'muon'>>;

/**
 * Adam with PyTorch's semantics. Weight decay applies only to parameters `isDecayed` names
 * (biases, norms, tokens and embeddings are usually left out), in one of two ways:
 * - `adamw` (torch.optim.AdamW): decoupled, p ← p − lr·wd·p, next to the Adam step;
 * - `adam` (torch.optim.Adam): L2, wd·p is added to the gradient before it enters the moments.
 * The Adam step is p ← p − lr·m̂/(√v̂ + eps), with m̂ and v̂ the bias-corrected moments.
 *
 * `muon` (the Muon package's MuonWithAuxAdam): the parameters `usesMuon` names (by default the
 * hidden layers' weight matrices, family.ts) take Muon steps (muon.ts), p ← p·(1 − lr_μ·wd_μ) − lr_μ·update with
 * lr_μ = muon.lr · (lr / optimizer.lr), so the schedule shapes both groups alike; every other
 * parameter takes AdamW steps with optimizer.lr, betas and weight_decay.
 */
export class Optimizer {
  private stepsTaken = 0;
  /** Adam's moments, for the parameters Adam updates. */
  private readonly m: Params;
  private readonly v: Params;
  /** Muon's momentum buffers, for the parameters Muon updates. */
  private readonly buffers: Params;

  constructor(
    /** The parameters it trains (train-step.ts takes the gradients of these only). */
    readonly params: Params,
    private readonly settings: OptimizerSettings,
    private readonly isDecayed: (name: string) => boolean,
    usesMuon: (name: string) => boolean = isHiddenMatrix,
  ) {
    const muon = settings.name === 'muon';
    if (muon && (settings.muon === undefined || settings.lr === undefined)) throw new Error("Optimizer: 'muon' needs the settings' lr and muon");
    const byMuon = (name: string) => muon && usesMuon(name) && params[name].rank >= 2;
    const adamParams = Object.fromEntries(Object.entries(params).filter(([name]) => !byMuon(name)));
    this.m = zerosLikeEach(adamParams);
    this.v = zerosLikeEach(adamParams);
    this.buffers = zerosLikeEach(Object.fromEntries(Object.entries(params).filter(([name]) => byMuon(name))));
  }

  /**
   * Updates every parameter with learning rate `lr`, after clipping the gradients when `grad_clip`
   * is set. Returns the gradients' global norm before clipping as a tensor the caller disposes:
   * reading it is left to the caller, so that a step never waits for the device.
   */
  step(grads: Grads, lr: number): tf.Scalar {
    const names = Object.keys(this.params);
    const rawGrads = names.map((name) => gradientOf(grads, name));
    this.stepsTaken += 1;
    const t = this.stepsTaken;
    const { betas, eps, weight_decay: wd, grad_clip: maxNorm, muon } = this.settings;
    const decoupled = this.settings.name !== 'adam';
    const muonLr = muon ? (muon.lr * lr) / this.settings.lr! : 0;
    if (hasKernel(OPTIMIZER_STEP)) return this.fusedStep(names, rawGrads, lr, muonLr);
    return tf.tidy(() => {
      const norm = globalNorm(rawGrads);
      const clipped = maxNorm === null ? rawGrads : clipByGlobalNorm(rawGrads, norm, maxNorm);
      // One scalar of each kind per step rather than per parameter: on a GPU each is an upload.
      const c = {
        beta1: tf.scalar(betas[0]),
        beta2: tf.scalar(betas[1]),
        oneMinusBeta1: tf.scalar(1 - betas[0]),
        oneMinusBeta2: tf.scalar(1 - betas[1]),
        stepSize: tf.scalar(lr / (1 - betas[0] ** t)),
        invSqrtBias2: tf.scalar(1 / Math.sqrt(1 - betas[1] ** t)),
        eps: tf.scalar(eps),
        wd: tf.scalar(wd),
        keep: tf.scalar(1 - lr * wd),
      };
      names.forEach((name, i) => {
        const p = this.params[name];
        if (name in this.buffers) {
          const update = muonUpdate(clipped[i], this.buffers[name], muon!);
          const decayed = muon!.weight_decay > 0 && this.isDecayed(name) ? p.mul(1 - muonLr * muon!.weight_decay) : p;
          p.assign(decayed.sub(update.mul(muonLr)));
          return;
        }
        const decayed = wd > 0 && this.isDecayed(name);
        const g = decayed && !decoupled ? clipped[i].add(p.mul(c.wd)) : clipped[i];
        const m = this.m[name].mul(c.beta1).add(g.mul(c.oneMinusBeta1));
        const v = this.v[name].mul(c.beta2).add(g.square().mul(c.oneMinusBeta2));
        const update = m.mul(c.stepSize).div(v.sqrt().mul(c.invSqrtBias2).add(c.eps));
        const decayedP = decayed && decoupled ? p.mul(c.keep) : p;
        this.m[name].assign(m);
        this.v[name].assign(v);
        p.assign(decayedP.sub(update));
      });
      return norm;
    });
  }

  /**
   * The same step as one kernel over all parameters (OPTIMIZER_STEP, where the backend has it):
   * the global norm, clipping, every AdamW update and every Muon update in one call, the
   * formulas term for term as above and in muon.ts.
   */
  private fusedStep(names: string[], grads: tf.Tensor[], lr: number, muonLr: number): tf.Scalar {
    const t = this.stepsTaken;
    const { betas, eps, weight_decay: wd, grad_clip: maxNorm, muon } = this.settings;
    const decoupled = this.settings.name !== 'adam';
    const byMuon = names.map((name) => name in this.buffers);
    const inputs: tf.NamedTensorMap = {};
    names.forEach((name, i) => {
      const moments = byMuon[i] ? { [`m${i}`]: this.buffers[name] } : { [`m${i}`]: this.m[name], [`v${i}`]: this.v[name] };
      Object.assign(inputs, { [`p${i}`]: this.params[name], [`g${i}`]: grads[i], ...moments });
    });
    const matrices = names.map((name, i) => (byMuon[i] ? muonMatrix(this.params[name].shape) : null));
    const attrs = {
      count: names.length,
      beta1: betas[0],
      beta2: betas[1],
      stepSize: lr / (1 - betas[0] ** t),
      invSqrtBias2: 1 / Math.sqrt(1 - betas[1] ** t),
      eps,
      maxNorm: maxNorm ?? 0,
      momentum: muon?.momentum ?? 0,
      nesterov: muon?.nesterov ?? false,
      nsSteps: muon?.ns_steps ?? 0,
      keep: names.map((name, i) => {
        if (byMuon[i]) return muon!.weight_decay > 0 && this.isDecayed(name) ? 1 - muonLr * muon!.weight_decay : 1;
        return wd > 0 && this.isDecayed(name) && decoupled ? 1 - lr * wd : 1;
      }),
      l2: names.map((name, i) => (!byMuon[i] && wd > 0 && this.isDecayed(name) && !decoupled ? wd : 0)),
      muon: matrices.map((matrix) => matrix?.rows ?? 0),
      stepScale: matrices.map((matrix) => (matrix ? muonLr * matrix.scale : 0)),
    };
    const [norm, ...updated] = tf.engine().runKernel(OPTIMIZER_STEP, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
    const n = names.length;
    let v = 2 * n;
    names.forEach((name, i) => {
      this.params[name].assign(updated[i]);
      (byMuon[i] ? this.buffers : this.m)[name].assign(updated[n + i]);
      if (!byMuon[i]) this.v[name].assign(updated[v++]);
    });
    tf.dispose(updated);
    return norm as tf.Scalar;
  }

  /** Snapshots of the moments (the caller disposes them); later steps do not change them. */
  getState(): OptimizerState {
    const tensors: Record<string, tf.Tensor> = {};
    for (const [key, moment] of this.moments()) tensors[key] = moment.clone();
    return { step: this.stepsTaken, tensors };
  }

  /**
   * Restores what `getState` returned, e.g. from a checkpoint. Checks everything before changing
   * anything. The caller keeps ownership of `state`'s tensors.
   */
  setState(state: OptimizerState): void {
    if (!Number.isInteger(state.step) || state.step < 0) {
      throw new UserError(`optimizer state: step must be a non-negative integer, got ${state.step}`);
    }
    const moments = this.moments();
    const unknown = Object.keys(state.tensors).filter((key) => !moments.has(key));
    if (unknown.length > 0) {
      throw new UserError(`optimizer state has tensors for parameters the model lacks: ${unknown.join(', ')}`);
    }
    for (const [key, moment] of moments) {
      const saved = state.tensors[key];
      if (saved === undefined) throw new UserError(`optimizer state lacks ${key}`);
      if (saved.dtype !== moment.dtype || !tf.util.arraysEqual(saved.shape, moment.shape)) {
        throw new UserError(
          `optimizer state: ${key} is ${saved.dtype} [${saved.shape}], the model needs ${moment.dtype} [${moment.shape}]`,
        );
      }
    }
    for (const [key, moment] of moments) moment.assign(state.tensors[key]);
    this.stepsTaken = state.step;
  }

  dispose(): void {
    for (const moment of this.moments().values()) moment.dispose();
  }

  private moments(): Map<string, tf.Variable> {
    return new Map(
      Object.keys(this.params).flatMap((name): [string, tf.Variable][] =>
        name in this.buffers
          ? [[`muon/${name}`, this.buffers[name]]]
          : [
              [`m/${name}`, this.m[name]],
              [`v/${name}`, this.v[name]],
            ],
      ),
    );
  }
}

function gradientOf(grads: Grads, name: string): tf.Tensor {
  const g = grads[name];
  if (g === undefined) throw new Error(`no gradient for parameter ${name}`);
  return g;
}

function zerosLikeEach(params: Params): Params {
  return Object.fromEntries(
    Object.entries(params).map(([name, p]) => [name, tf.tidy(() => tf.zerosLike(p).variable(false))]),
  );
}
