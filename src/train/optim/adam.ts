import { ArgumentError } from '../../core/errors.js';
import type { Parameter } from '../../core/parameter.js';
import {
  type GroupBase,
  Optimizer,
  type ParamGroup,
  type ParamState,
  type ParamsArg,
  type UpdateTarget,
  checkLr,
} from './optimizer.js';

export interface AdamOptions extends GroupBase {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  amsgrad: boolean;
}

/** Adam and AdamW share everything but where weight decay goes (gradient vs. decoupled shrink). */
abstract class AdamBase extends Optimizer<AdamOptions> {
  protected abstract readonly decoupled: boolean;

  protected validate(h: AdamOptions): void {
    checkLr(h.lr, this.name);
    const [b1, b2] = h.betas ?? [];
    if (!(b1 >= 0 && b1 < 1)) throw new ArgumentError(`${this.name}: betas[0] must be in [0, 1), got ${b1}`);
    if (!(b2 >= 0 && b2 < 1)) throw new ArgumentError(`${this.name}: betas[1] must be in [0, 1), got ${b2}`);
    if (!(h.eps >= 0)) throw new ArgumentError(`${this.name}: eps must be ≥ 0, got ${h.eps}`);
    if (!(h.weightDecay >= 0)) throw new ArgumentError(`${this.name}: weightDecay must be ≥ 0, got ${h.weightDecay}`);
  }

  protected bufferNames(group: ParamGroup<AdamOptions>): string[] {
    return group.amsgrad ? ['expAvg', 'expAvgSq', 'maxExpAvgSq'] : ['expAvg', 'expAvgSq'];
  }

  private scalars(group: ParamGroup<AdamOptions>, st: ParamState): { stepSize: number; bc2Sqrt: number } {
    for (const name of this.bufferNames(group)) st.has.add(name);
    const [b1, b2] = group.betas;
    return { stepSize: group.lr / (1 - b1 ** st.step), bc2Sqrt: Math.sqrt(1 - b2 ** st.step) };
  }

  protected update(group: ParamGroup<AdamOptions>, st: ParamState, t: UpdateTarget, n: number): void {
    const { stepSize, bc2Sqrt } = this.scalars(group, st);
    const [b1, b2] = group.betas;
    const vmax = group.amsgrad ? t.buf('maxExpAvgSq') : -1;
    const { lr, eps, weightDecay } = group;
    t.updates.adam(
      t.p,
      t.g,
      t.buf('expAvg'),
      t.buf('expAvgSq'),
      vmax,
      n,
      lr,
      b1,
      b2,
      eps,
      weightDecay,
      this.decoupled,
      stepSize,
      bc2Sqrt,
    );
  }
}

/** torch.optim.Adam (weight decay as L2 added to the gradient). */
export class Adam extends AdamBase {
  protected readonly decoupled = false;
  constructor(params: ParamsArg<AdamOptions> | Iterable<Parameter>, options: Partial<AdamOptions> = {}) {
    super('Adam', params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false, ...options });
  }
}

/** torch.optim.AdamW (decoupled weight decay, default 1e-2). */
export class AdamW extends AdamBase {
  protected readonly decoupled = true;
  constructor(params: ParamsArg<AdamOptions> | Iterable<Parameter>, options: Partial<AdamOptions> = {}) {
    super('AdamW', params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 1e-2, amsgrad: false, ...options });
  }
}
