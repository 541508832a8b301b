// LR schedules with torch.optim.lr_scheduler's semantics: construction applies step 0, each `step()`
// advances one epoch (or batch, for OneCycleLR) and writes the new lr into every param group.
import { ArgumentError } from '../core/errors.js';
import type { GroupBase, Optimizer } from './optim/optimizer.js';

export abstract class LRScheduler {
  lastEpoch = -1;
  readonly baseLrs: number[];
  private lastLr: number[] = [];

  constructor(readonly optimizer: Optimizer<GroupBase>) {
    for (const g of optimizer.paramGroups) if (g.initialLr === undefined) g.initialLr = g.lr;
    this.baseLrs = optimizer.paramGroups.map((g) => g.initialLr as number);
  }

  /** The lr of each group for `lastEpoch`, from the current lrs (torch's chainable get_lr). */
  protected abstract computeLr(): number[];

  /** Call once from the subclass constructor (torch's _initial_step). */
  protected initialStep(): void {
    this.step();
  }

  /** The lr of each group at `lastEpoch` computed from the base lrs alone, where the schedule has one. */
  protected closedFormLr(): number[] | null {
    return null;
  }

  /**
   * Advances one epoch. `step(epoch)` jumps to an epoch (torch's deprecated form, used by SequentialLR
   * with 0 at a milestone): the closed form where the schedule has one.
   */
  step(epoch?: number): void {
    let lrs: number[];
    if (epoch === undefined) {
      this.lastEpoch++;
      lrs = this.computeLr();
    } else {
      this.lastEpoch = epoch;
      lrs = this.closedFormLr() ?? this.computeLr();
    }
    this.optimizer.paramGroups.forEach((g, i) => {
      g.lr = lrs[i];
    });
    this.lastLr = lrs;
  }

  getLastLr(): number[] {
    return [...this.lastLr];
  }

  protected lrs(): number[] {
    return this.optimizer.paramGroups.map((g) => g.lr);
  }

  stateDict(): Record<string, unknown> {
    return { lastEpoch: this.lastEpoch, lastLr: [...this.lastLr], baseLrs: [...this.baseLrs] };
  }

  loadStateDict(sd: Record<string, unknown>): void {
    this.lastEpoch = sd.lastEpoch as number;
    this.lastLr = [...(sd.lastLr as number[])];
  }
}

/** lr · gamma every `stepSize` epochs. */
export class StepLR extends LRScheduler {
  readonly stepSize: number;
  readonly gamma: number;
  constructor(optimizer: Optimizer<GroupBase>, options: { stepSize: number; gamma?: number }) {
    super(optimizer);
    if (!(Number.isInteger(options.stepSize) && options.stepSize > 0))
      throw new ArgumentError(`StepLR: stepSize must be a positive integer, got ${options.stepSize}`);
    this.stepSize = options.stepSize;
    this.gamma = options.gamma ?? 0.1;
    this.initialStep();
  }
  protected computeLr(): number[] {
    if (this.lastEpoch === 0 || this.lastEpoch % this.stepSize !== 0) return this.lrs();
    return this.lrs().map((lr) => lr * this.gamma);
  }
  protected override closedFormLr(): number[] {
    return this.baseLrs.map((lr) => lr * this.gamma ** Math.floor(this.lastEpoch / this.stepSize));
  }
}

/** Cosine from the base lr to etaMin over tMax epochs (torch's recursive form, so it also continues past tMax). */
export class CosineAnnealingLR extends LRScheduler {
  readonly tMax: number;
  readonly etaMin: number;
  constructor(optimizer: Optimizer<GroupBase>, options: { tMax: number; etaMin?: number }) {
    super(optimizer);
    if (!(options.tMax > 0)) throw new ArgumentError(`CosineAnnealingLR: tMax must be > 0, got ${options.tMax}`);
    this.tMax = options.tMax;
    this.etaMin = options.etaMin ?? 0;
    this.initialStep();
  }
  protected computeLr(): number[] {
    const e = this.lastEpoch;
    const T = this.tMax;
    const lrs = this.lrs();
    if (e === 0) return lrs;
    if ((e - 1 - T) % (2 * T) === 0) {
      return lrs.map((lr, i) => lr + ((this.baseLrs[i] - this.etaMin) * (1 - Math.cos(Math.PI / T))) / 2);
    }
    const ratio = (1 + Math.cos((Math.PI * e) / T)) / (1 + Math.cos((Math.PI * (e - 1)) / T));
    return lrs.map((lr) => ratio * (lr - this.etaMin) + this.etaMin);
  }
  protected override closedFormLr(): number[] {
    return this.baseLrs.map(
      (lr) => this.etaMin + ((lr - this.etaMin) * (1 + Math.cos((Math.PI * this.lastEpoch) / this.tMax))) / 2,
    );
  }
}

/** Linear warm-up: factor goes from startFactor to endFactor over totalIters steps, then stays. */
export class LinearLR extends LRScheduler {
  readonly startFactor: number;
  readonly endFactor: number;
  readonly totalIters: number;
  constructor(optimizer: Optimizer<GroupBase>, options: { startFactor?: number; endFactor?: number; totalIters?: number } = {}) {
    super(optimizer);
    this.startFactor = options.startFactor ?? 1 / 3;
    this.endFactor = options.endFactor ?? 1;
    this.totalIters = options.totalIters ?? 5;
    if (!(this.startFactor > 0 && this.startFactor <= 1))
      throw new ArgumentError(`LinearLR: startFactor must be in (0, 1], got ${this.startFactor}`);
    if (!(this.endFactor >= 0 && this.endFactor <= 1))
      throw new ArgumentError(`LinearLR: endFactor must be in [0, 1], got ${this.endFactor}`);
    this.initialStep();
  }
  protected computeLr(): number[] {
    const e = this.lastEpoch;
    if (e === 0) return this.lrs().map((lr) => lr * this.startFactor);
    if (e > this.totalIters) return this.lrs();
    const d = this.endFactor - this.startFactor;
    return this.lrs().map((lr) => lr * (1 + d / (this.totalIters * this.startFactor + (e - 1) * d)));
  }
  protected override closedFormLr(): number[] {
    const f =
      this.startFactor + ((this.endFactor - this.startFactor) * Math.min(this.totalIters, this.lastEpoch)) / this.totalIters;
    return this.baseLrs.map((lr) => lr * f);
  }
}

export interface OneCycleOptions {
  maxLr: number | number[];
  totalSteps?: number;
  epochs?: number;
  stepsPerEpoch?: number;
  pctStart?: number;
  anneal?: 'cos' | 'linear';
  cycleMomentum?: boolean;
  baseMomentum?: number;
  maxMomentum?: number;
  divFactor?: number;
  finalDivFactor?: number;
  threePhase?: boolean;
}

/**
 * The 1cycle policy (torch.optim.lr_scheduler.OneCycleLR), stepped once per batch: lr from maxLr/divFactor
 * up to maxLr over pctStart of the steps, then down to initial/finalDivFactor; momentum (SGD) or betas[0]
 * (Adam) cycles the other way unless cycleMomentum is false.
 */
export class OneCycleLR extends LRScheduler {
  readonly totalSteps: number;
  private readonly phases: { end: number; lr: [string, string]; mom: [string, string] }[];
  private readonly anneal: (start: number, end: number, pct: number) => number;
  private readonly cycleMomentum: boolean;
  private readonly useBeta1: boolean;
  private readonly bounds: { initial: number; max: number; min: number; baseMom: number; maxMom: number }[];

  constructor(optimizer: Optimizer<GroupBase>, options: OneCycleOptions) {
    super(optimizer);
    const total =
      options.totalSteps ??
      (options.epochs !== undefined && options.stepsPerEpoch !== undefined ? options.epochs * options.stepsPerEpoch : undefined);
    if (total === undefined) throw new ArgumentError('OneCycleLR: give totalSteps, or epochs and stepsPerEpoch');
    if (!(Number.isInteger(total) && total > 0))
      throw new ArgumentError(`OneCycleLR: totalSteps must be a positive integer, got ${total}`);
    this.totalSteps = total;
    const pct = options.pctStart ?? 0.3;
    if (!(pct >= 0 && pct <= 1)) throw new ArgumentError(`OneCycleLR: pctStart must be in [0, 1], got ${pct}`);
    const anneal = options.anneal ?? 'cos';
    this.anneal = anneal === 'cos' ? (s, e, p) => e + ((s - e) / 2) * (Math.cos(Math.PI * p) + 1) : (s, e, p) => (e - s) * p + s;
    this.phases = options.threePhase
      ? [
          { end: pct * total - 1, lr: ['initial', 'max'], mom: ['maxMom', 'baseMom'] },
          { end: 2 * pct * total - 2, lr: ['max', 'initial'], mom: ['baseMom', 'maxMom'] },
          { end: total - 1, lr: ['initial', 'min'], mom: ['maxMom', 'maxMom'] },
        ]
      : [
          { end: pct * total - 1, lr: ['initial', 'max'], mom: ['maxMom', 'baseMom'] },
          { end: total - 1, lr: ['max', 'min'], mom: ['baseMom', 'maxMom'] },
        ];
    const groups = optimizer.paramGroups;
    const maxLrs = Array.isArray(options.maxLr) ? options.maxLr : groups.map(() => options.maxLr as number);
    if (maxLrs.length !== groups.length)
      throw new ArgumentError(`OneCycleLR: ${maxLrs.length} maxLr values for ${groups.length} param groups`);
    const div = options.divFactor ?? 25;
    const finalDiv = options.finalDivFactor ?? 1e4;
    this.cycleMomentum = options.cycleMomentum ?? true;
    this.useBeta1 = groups.length > 0 && 'betas' in groups[0];
    if (this.cycleMomentum && !this.useBeta1 && !('momentum' in groups[0])) {
      throw new ArgumentError('OneCycleLR: optimizer has neither momentum nor betas; pass cycleMomentum: false');
    }
    const baseMom = options.baseMomentum ?? 0.85;
    const maxMom = options.maxMomentum ?? 0.95;
    this.bounds = groups.map((g, i) => {
      const initial = maxLrs[i] / div;
      g.initialLr = initial;
      g.lr = initial;
      return { initial, max: maxLrs[i], min: initial / finalDiv, baseMom, maxMom };
    });
    if (this.cycleMomentum) groups.forEach((g) => this.setMomentum(g, maxMom));
    this.baseLrs.splice(0, this.baseLrs.length, ...this.bounds.map((b) => b.initial));
    this.initialStep();
  }

  private setMomentum(g: GroupBase, m: number): void {
    if (this.useBeta1) g.betas = [m, (g.betas as [number, number])[1]];
    else g.momentum = m;
  }

  protected computeLr(): number[] {
    const step = this.lastEpoch;
    if (step > this.totalSteps) {
      throw new ArgumentError(`OneCycleLR: stepped ${step} times, more than totalSteps (${this.totalSteps})`);
    }
    return this.optimizer.paramGroups.map((g, gi) => {
      const b = this.bounds[gi] as unknown as Record<string, number>;
      let start = 0;
      for (let i = 0; i < this.phases.length; i++) {
        const ph = this.phases[i];
        if (step <= ph.end || i === this.phases.length - 1) {
          const pct = (step - start) / (ph.end - start);
          if (this.cycleMomentum) this.setMomentum(g, this.anneal(b[ph.mom[0]], b[ph.mom[1]], pct));
          return this.anneal(b[ph.lr[0]], b[ph.lr[1]], pct);
        }
        start = ph.end;
      }
      return g.lr;
    });
  }
}

/**
 * Runs schedulers one after another (torch's SequentialLR): `schedulers[i]` from `milestones[i-1]` on,
 * restarted at its milestone. Typical use: LinearLR warm-up, then CosineAnnealingLR.
 */
export class SequentialLR extends LRScheduler {
  private readonly schedulers: LRScheduler[];
  private readonly milestones: number[];
  private current: number[] = [];

  constructor(optimizer: Optimizer<GroupBase>, options: { schedulers: LRScheduler[]; milestones: number[] }) {
    super(optimizer);
    const { schedulers, milestones } = options;
    if (schedulers.length === 0) throw new ArgumentError('SequentialLR: give at least one scheduler');
    if (schedulers.some((s) => s.optimizer !== optimizer))
      throw new ArgumentError('SequentialLR: every scheduler must belong to the same optimizer');
    if (milestones.length !== schedulers.length - 1) {
      throw new ArgumentError(
        `SequentialLR: ${schedulers.length} schedulers need ${schedulers.length - 1} milestones, got ${milestones.length}`,
      );
    }
    this.schedulers = schedulers;
    this.milestones = [...milestones];
    this.lastEpoch = 0;
    for (const g of optimizer.paramGroups) g.lr = g.initialLr as number;
    for (const s of schedulers) s.lastEpoch -= 1;
    schedulers[0].step();
    this.current = schedulers[0].getLastLr();
  }

  protected computeLr(): number[] {
    return this.lrs();
  }

  override step(): void {
    this.lastEpoch++;
    let idx = 0;
    while (idx < this.milestones.length && this.milestones[idx] <= this.lastEpoch) idx++;
    const s = this.schedulers[idx];
    if (idx > 0 && this.milestones[idx - 1] === this.lastEpoch) s.step(0);
    else s.step();
    this.current = s.getLastLr();
  }

  override getLastLr(): number[] {
    return [...this.current];
  }
}
