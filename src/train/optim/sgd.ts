import { ArgumentError } from '../../core/errors.js';
import type { Parameter } from '../../core/parameter.js';
import { sgdUpdate } from './kernels.js';
import { type GroupBase, Optimizer, type ParamGroup, type ParamState, type ParamsArg, checkLr } from './optimizer.js';
import type { OptimRuntime } from './runtime.js';

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

  protected updateHost(group: ParamGroup<SGDOptions>, st: ParamState, p: Float32Array, g: Float32Array, n: number): void {
    const { first } = this.flags(group, st);
    const buf = this.buffer(st, 'momentumBuffer', n);
    sgdUpdate(p, g, buf, n, group.lr, group.momentum, group.dampening, group.weightDecay, group.nesterov, first);
  }

  protected updateWasm(group: ParamGroup<SGDOptions>, st: ParamState, rt: OptimRuntime, n: number): void {
    const { first } = this.flags(group, st);
    const ptr = st.ptr as NonNullable<ParamState['ptr']>;
    rt.exports.f32_sgd_update(
      ptr.p,
      ptr.g,
      ptr.bufs.get('momentumBuffer') as number,
      n,
      group.lr,
      group.momentum,
      group.dampening,
      group.weightDecay,
      group.nesterov ? 1 : 0,
      first ? 1 : 0,
    );
  }
}
