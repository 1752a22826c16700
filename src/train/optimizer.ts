import * as tf from '@tensorflow/tfjs';
import { hasKernel } from '../backend/kernel-traits.js';
import { OPTIMIZER_STEP, type OptimizerParameter, type OptimizerRule } from '../backend/fused-kernels.js';
import { STATE_PREFIX } from '../checkpoint/state-keys.js';
import type { Config, OptimizerConfig } from '../config/schema.js';
import { UserError } from '../errors.js';
import type { Params } from '../layers/params.js';
import { decayRule, hiddenMatrixRule, trainedParams } from '../model/index.js';
import { clipByGlobalNorm, globalNorm } from './clip.js';
import { muonMatrix, muonUpdate } from './muon.js';

/** Gradients by parameter name, as `tf.variableGrads` returns them. */
export type Grads = Record<string, tf.Tensor>;

/**
 * What a checkpoint keeps to resume the optimizer: the step count and its moments, each named by
 * its kind's prefix (checkpoint/state-keys.ts) and the parameter's name.
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
  Partial<Pick<OptimizerConfig, 'lr' | 'muon' | 'sgd'>>;

/**
 * Adam with PyTorch's semantics. Weight decay applies only to parameters `isDecayed` names
 * (biases, norms, tokens and embeddings are usually left out), in one of two ways:
 * - `adamw` (torch.optim.AdamW): decoupled, p ← p − lr·wd·p, next to the Adam step;
 * - `adam` (torch.optim.Adam): L2, wd·p is added to the gradient before it enters the moments.
 * The Adam step is p ← p − lr·m̂/(√v̂ + eps), with m̂ and v̂ the bias-corrected moments.
 *
 * `muon` (the Muon package's MuonWithAuxAdam): the parameters `usesMuon` names (the family's
 * hidden layers' weight matrices) take Muon steps (muon.ts), p ← p·(1 − lr_μ·wd_μ) − lr_μ·update with
 * lr_μ = muon.lr · (lr / optimizer.lr), so the schedule shapes both groups alike; every other
 * parameter takes AdamW steps with optimizer.lr, betas and weight_decay.
 *
 * `sgd` (torch.optim.SGD, dampening 0): g ← g + wd·p (L2), buffer ← momentum·buffer + g, and
 * p ← p − lr·(Nesterov: g + momentum·buffer; else buffer).
 */
export class Optimizer {
  private stepsTaken = 0;
  /** Adam's moments, for the parameters Adam updates. */
  private readonly m: Params;
  private readonly v: Params;
  /** Muon's or SGD's momentum buffers, for the parameters they update. */
  private readonly buffers: Params;

  /** The optimizer a run of `config` trains with: its model's trained parameters and the family's rules. */
  static forModel(params: Params, config: Pick<Config, 'model' | 'optimizer'>): Optimizer {
    return new Optimizer(trainedParams(params, config.model), config.optimizer, decayRule(config.model), hiddenMatrixRule(config.model));
  }

  constructor(
    /** The parameters it trains (train-step.ts takes the gradients of these only). */
    readonly params: Params,
    private readonly settings: OptimizerSettings,
    private readonly isDecayed: (name: string) => boolean,
    /** For 'muon': which parameters Muon trains (the rest are AdamW's). */
    usesMuon?: (name: string) => boolean,
  ) {
    const muon = settings.name === 'muon';
    if (muon && (settings.muon === undefined || settings.lr === undefined || usesMuon === undefined)) throw new Error("Optimizer: 'muon' needs the settings' lr and muon, and usesMuon");
    if (settings.name === 'sgd' && settings.sgd === undefined) throw new Error("Optimizer: 'sgd' needs the settings' sgd");
    const byBuffer = (name: string) => settings.name === 'sgd' || (muon && usesMuon!(name) && params[name].rank >= 2);
    const adamParams = Object.fromEntries(Object.entries(params).filter(([name]) => !byBuffer(name)));
    this.m = zerosLikeEach(adamParams);
    this.v = zerosLikeEach(adamParams);
    this.buffers = zerosLikeEach(Object.fromEntries(Object.entries(params).filter(([name]) => byBuffer(name))));
  }

  /** How parameter `name` is updated. */
  private ruleOf(name: string): OptimizerRule {
    if (!(name in this.buffers)) return 'adam';
    return this.settings.name === 'sgd' ? 'sgd' : 'muon';
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
        if (this.ruleOf(name) === 'sgd') {
          const { momentum, nesterov } = this.settings.sgd!;
          const g = wd > 0 && this.isDecayed(name) ? clipped[i].add(p.mul(c.wd)) : clipped[i];
          const buffer = this.buffers[name].mul(momentum).add(g);
          this.buffers[name].assign(buffer);
          p.assign(p.sub((nesterov ? g.add(buffer.mul(momentum)) : buffer).mul(lr)));
          return;
        }
        if (this.ruleOf(name) === 'muon') {
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
   * the global norm, clipping, every AdamW, Muon and SGD update in one call, the formulas term for
   * term as above and in muon.ts.
   */
  private fusedStep(names: string[], grads: tf.Tensor[], lr: number, muonLr: number): tf.Scalar {
    const t = this.stepsTaken;
    const { betas, eps, weight_decay: wd, grad_clip: maxNorm, muon, sgd } = this.settings;
    const decoupled = this.settings.name === 'adamw' || this.settings.name === 'muon';
    const rules = names.map((name) => this.ruleOf(name));
    const inputs: tf.NamedTensorMap = {};
    names.forEach((name, i) => {
      const moments = rules[i] === 'adam' ? { [`m${i}`]: this.m[name], [`v${i}`]: this.v[name] } : { [`m${i}`]: this.buffers[name] };
      Object.assign(inputs, { [`p${i}`]: this.params[name], [`g${i}`]: grads[i], ...moments });
    });
    const decayed = (name: string) => wd > 0 && this.isDecayed(name);
    const parameters = names.map((name, i): OptimizerParameter => {
      if (rules[i] === 'muon') {
        const matrix = muonMatrix(this.params[name].shape);
        const keep = muon!.weight_decay > 0 && this.isDecayed(name) ? 1 - muonLr * muon!.weight_decay : 1;
        return { rule: 'muon', keep, l2: 0, rows: matrix.rows, stepScale: muonLr * matrix.scale };
      }
      if (rules[i] === 'sgd') return { rule: 'sgd', keep: 1, l2: decayed(name) ? wd : 0, rows: 0, stepScale: lr };
      return { rule: 'adam', keep: decayed(name) && decoupled ? 1 - lr * wd : 1, l2: decayed(name) && !decoupled ? wd : 0, rows: 0, stepScale: 0 };
    });
    const momentum = muon ?? sgd;
    const attrs = {
      parameters,
      beta1: betas[0],
      beta2: betas[1],
      stepSize: lr / (1 - betas[0] ** t),
      invSqrtBias2: 1 / Math.sqrt(1 - betas[1] ** t),
      eps,
      maxNorm: maxNorm ?? 0,
      momentum: momentum?.momentum ?? 0,
      nesterov: momentum?.nesterov ?? false,
      nsSteps: muon?.ns_steps ?? 0,
    };
    const [norm, ...updated] = tf.engine().runKernel(OPTIMIZER_STEP, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
    const n = names.length;
    let v = 2 * n;
    names.forEach((name, i) => {
      this.params[name].assign(updated[i]);
      (rules[i] === 'adam' ? this.m : this.buffers)[name].assign(updated[n + i]);
      if (rules[i] === 'adam') this.v[name].assign(updated[v++]);
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
    const { adamFirstMoment, adamSecondMoment, muonMomentum, sgdMomentum } = STATE_PREFIX;
    return new Map(
      Object.keys(this.params).flatMap((name): [string, tf.Variable][] => {
        const rule = this.ruleOf(name);
        if (rule === 'adam') return [[adamFirstMoment + name, this.m[name]], [adamSecondMoment + name, this.v[name]]];
        return [[(rule === 'sgd' ? sgdMomentum : muonMomentum) + name, this.buffers[name]]];
      }),
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
