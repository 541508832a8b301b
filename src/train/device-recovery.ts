// fit's answer to a lost GPU device: host copies of everything a training run needs to continue (weights,
// BatchNorm statistics, optimizer state and step counts, the LR schedule, dropout generators), taken at a
// cadence, plus the batches run since the last copy. On a loss the model has already moved to wasm; the
// copy is restored and those batches run again in the same order, so the run ends as if it had resumed on
// wasm from that copy.
import type { DeviceLostError } from '../core/errors.js';
import { Tensor } from '../core/tensor.js';
import type { OptimizerStateDict } from './optim/optimizer.js';
import type { GroupBase, Optimizer } from './optim/optimizer.js';
import type { LRScheduler } from './schedules.js';

/** When fit takes host copies for device-loss recovery. */
export interface RecoveryOptions {
  /**
   * Also every N optimizer steps (default: only before the first step and at the end of every epoch, before
   * validation and `onEpochEnd` — so before any checkpoint written there). Fewer steps between copies
   * means less to re-run after a loss and fewer batches kept on the host, at the cost of a device sync.
   */
  everySteps?: number;
  /**
   * After a loss, at each following epoch's start, try to place the model as before (a new GPU device, when
   * the adapter gives one) instead of finishing on wasm. Default false.
   */
  returnToDevice?: boolean;
}

/** What fit needs of a model to recover (an nn.Module has all of it). */
export interface RecoverableModel {
  canLoseDevice(): Promise<boolean>;
  lostDevice(error: unknown): Promise<DeviceLostError | null>;
  syncToHost(): Promise<void>;
  stateDict(): Record<string, Tensor>;
  loadStateDict(stateDict: Record<string, Tensor>): void;
  returnToDevice?(): Promise<boolean>;
  rngState?(): Record<string, { seed: number; calls: number }>;
  loadRngState?(state: Record<string, { seed: number; calls: number }>): void;
}

/** A loss fit recovered from: where it was noticed and how many steps ran again on wasm. */
export interface DeviceLossRecord {
  epoch: number;
  step: number;
  reason: string;
  /** The epoch step after which the restored host copy was taken (0: the epoch's start). */
  restoredAfterStep: number;
  replayedSteps: number;
  /** The epoch at whose start the model went back to a (new) device, with `returnToDevice`. */
  returnedAtEpoch?: number;
}

interface Snapshot {
  step: number;
  model: Record<string, Tensor>;
  optimizer: OptimizerStateDict;
  schedule: Record<string, unknown> | null;
  rng: Record<string, { seed: number; calls: number }> | null;
}

/** A batch run since the last host copy; `counted` once its loss and metrics entered the epoch's record. */
export interface LoggedStep {
  x: Tensor;
  y: Tensor;
  step: number;
  counted: boolean;
}

const copyTensor = (t: Tensor): Tensor => new Tensor(t.dataSync().slice(), t.shape, { integer: t.integer });

export function isRecoverable(model: unknown): model is RecoverableModel {
  const m = model as Partial<RecoverableModel>;
  return typeof m.canLoseDevice === 'function' && typeof m.lostDevice === 'function' && typeof m.stateDict === 'function';
}

export class DeviceRecovery {
  private snapshot: Snapshot | null = null;
  private log: LoggedStep[] = [];
  private stepsSinceCopy = 0;
  readonly losses: DeviceLossRecord[] = [];

  constructor(
    private readonly model: RecoverableModel,
    private readonly optimizer: Optimizer<GroupBase>,
    private readonly schedule: LRScheduler | undefined,
    private readonly everySteps: number,
    private readonly returnToDevice = false,
  ) {}

  /**
   * At an epoch's start, after a loss (with `returnToDevice`): places the model as before when the adapter
   * gives a new device. The host copy was just taken, so nothing is at risk; the optimizer's state follows
   * each parameter at its next step.
   */
  async maybeReturn(epoch: number): Promise<void> {
    const last = this.losses.at(-1);
    if (!this.returnToDevice || !last || last.returnedAtEpoch !== undefined || !this.model.returnToDevice) return;
    if (await this.model.returnToDevice()) last.returnedAtEpoch = epoch;
  }

  /** The host copy, taken at `step` of the current epoch (0: its start); the batch log starts afresh. */
  async copy(step: number): Promise<void> {
    await this.model.syncToHost();
    await this.optimizer.syncToHost();
    this.snapshot = {
      step,
      model: this.model.stateDict(),
      optimizer: this.optimizer.stateDict(),
      schedule: this.schedule ? this.schedule.stateDict() : null,
      rng: this.model.rngState ? this.model.rngState() : null,
    };
    this.log = [];
    this.stepsSinceCopy = 0;
  }

  /** Keeps a copy of the batch (a DataLoader reuses its memory after release) until the next host copy. */
  record(x: Tensor, y: Tensor, step: number): LoggedStep {
    const entry = { x: copyTensor(x), y: copyTensor(y), step, counted: false };
    this.log.push(entry);
    return entry;
  }

  /** After a step: whether the cadence asks for a host copy now. */
  due(): boolean {
    return this.everySteps > 0 && ++this.stepsSinceCopy >= this.everySteps;
  }

  /**
   * Runs `work`; a lost device under it restores the last host copy and re-runs every logged step with
   * `replay` (counting in the epoch's record only the steps that were not counted before), then `work`
   * again when `again` says so. Any other failure passes through.
   */
  async guard(
    epoch: number,
    step: number,
    work: () => Promise<void>,
    replay: (entry: LoggedStep) => Promise<void>,
    again: boolean,
  ): Promise<void> {
    try {
      await work();
      return;
    } catch (e) {
      const lost = await this.model.lostDevice(e);
      if (!lost || !this.snapshot) throw e;
      this.restore();
      for (const entry of this.log) await replay(entry);
      this.losses.push({
        epoch,
        step,
        reason: lost.reason,
        restoredAfterStep: this.snapshot.step,
        replayedSteps: this.log.length,
      });
    }
    if (again) await work();
  }

  private restore(): void {
    const snap = this.snapshot as Snapshot;
    // The lost device's state is gone: drop it unread, then load the copy (on wasm now).
    this.optimizer.forgetLostDevices();
    this.model.loadStateDict(snap.model);
    this.optimizer.loadStateDict(snap.optimizer);
    if (this.schedule && snap.schedule) this.schedule.loadStateDict(snap.schedule);
    if (snap.rng && this.model.loadRngState) this.model.loadRngState(snap.rng);
  }
}
