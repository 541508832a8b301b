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

export interface SGDOptions extends GroupBase {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
}

/**
 * torch.optim.SGD: weight decay added to the gradient, momentum buffer equal to the gradient on its
 * first step (no dampening then), nesterov look-ahead. Full-batch gradient descent is this over one batch.
 */
export class SGD extends Optimizer<SGDOptions> {
  constructor(params: ParamsArg<SGDOptions> | Iterable<Parameter>, options: Partial<SGDOptions> & { lr: number }) {
    super('SGD', params, { momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, ...options });
  }

  protected validate(h: SGDOptions): void {
    checkLr(h.lr, 'SGD');
    if (!(h.momentum >= 0)) throw new ArgumentError(`SGD: momentum must be ≥ 0, got ${h.momentum}`);
    if (!(h.weightDecay >= 0)) throw new ArgumentError(`SGD: weightDecay must be ≥ 0, got ${h.weightDecay}`);
    if (!Number.isFinite(h.dampening)) throw new ArgumentError(`SGD: dampening must be finite, got ${h.dampening}`);
    if (h.nesterov && (h.momentum <= 0 || h.dampening !== 0)) {
      throw new ArgumentError('SGD: nesterov momentum requires a momentum > 0 and zero dampening');
    }
  }

  protected bufferNames(): string[] {
    return ['momentumBuffer'];
  }

  private flags(group: ParamGroup<SGDOptions>, st: ParamState): { first: boolean } {
    const first = group.momentum !== 0 && !st.has.has('momentumBuffer');
    if (group.momentum !== 0) st.has.add('momentumBuffer');
    return { first };
  }

  protected update(group: ParamGroup<SGDOptions>, st: ParamState, t: UpdateTarget, n: number): void {
    const { first } = this.flags(group, st);
    const { lr, momentum, dampening, weightDecay, nesterov } = group;
    t.updates.sgd(t.p, t.g, t.buf('momentumBuffer'), n, lr, momentum, dampening, weightDecay, nesterov, first);
  }
}
