import { ArgumentError } from '../../core/errors.js';
import { Parameter } from '../../core/parameter.js';
import { nextLayerSeed } from '../../core/random.js';
import type { Graph, ValueId } from '../../graph/ir.js';
import type { DropoutGenerator } from '../../ops/types.js';
import { Module, childPath } from '../module.js';

export class BatchNorm2d extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter;
  readonly runningMean: Parameter;
  readonly runningVar: Parameter;
  readonly numBatchesTracked: Parameter;

  constructor(
    readonly numFeatures: number,
    readonly options: { eps?: number; momentum?: number } = {},
  ) {
    super();
    if (!Number.isInteger(numFeatures) || numFeatures < 1)
      throw new ArgumentError(`BatchNorm2d: numFeatures must be a positive integer, got ${numFeatures}`);
    this.weight = this.registerParameter(
      'weight',
      new Parameter([numFeatures], { values: new Float32Array(numFeatures).fill(1) }),
    );
    this.bias = this.registerParameter('bias', new Parameter([numFeatures]));
    this.runningMean = this.registerParameter('running_mean', new Parameter([numFeatures], { isBuffer: true }));
    this.runningVar = this.registerParameter(
      'running_var',
      new Parameter([numFeatures], { isBuffer: true, values: new Float32Array(numFeatures).fill(1) }),
    );
    this.numBatchesTracked = this.registerParameter('num_batches_tracked', new Parameter([], { isBuffer: true, dtype: 'int64' }));
  }

  emit(graph: Graph, [x]: ValueId[], path: string): ValueId {
    const attrs = {
      numFeatures: this.numFeatures,
      eps: this.options.eps ?? 1e-5,
      momentum: this.options.momentum ?? 0.1,
      training: this.training,
    };
    const params = {
      weight: this.weight,
      bias: this.bias,
      running_mean: this.runningMean,
      running_var: this.runningVar,
      // Counted by the training plan after each training-mode forward, as PyTorch does.
      num_batches_tracked: this.numBatchesTracked,
    };
    return graph.addNode('batchNorm2d', path || 'BatchNorm2d', attrs, [x], params);
  }
}

/**
 * Training-mode dropout. Mask number c of this layer is a pure function of its seed (from manualSeed when
 * made) and c; the count lives here, not in a compiled plan, so it survives recompiles and travels in
 * `rngState()` / checkpoints.
 */
export class Dropout extends Module {
  readonly generator: DropoutGenerator = { seed: nextLayerSeed(), calls: 0 };
  constructor(readonly p = 0.5) {
    super();
    if (!(p >= 0 && p < 1)) throw new ArgumentError(`Dropout: p must be in [0, 1), got ${p}`);
  }
  protected override ownGenerator(): DropoutGenerator {
    return this.generator;
  }
  emit(graph: Graph, [x]: ValueId[], path: string): ValueId {
    const attrs = { p: this.p, training: this.training, seed: this.generator.seed, generator: this.generator };
    return graph.addNode('dropout', path || 'Dropout', attrs, [x]);
  }
}

export class Flatten extends Module {
  constructor(
    readonly startDim = 1,
    readonly endDim = -1,
  ) {
    super();
  }
  emit(graph: Graph, [x]: ValueId[], path: string): ValueId {
    return graph.addNode('flatten', path || 'Flatten', { startDim: this.startDim, endDim: this.endDim }, [x]);
  }
}

export class Softmax extends Module {
  constructor(readonly dim = 1) {
    super();
  }
  emit(graph: Graph, [x]: ValueId[], path: string): ValueId {
    return graph.addNode('softmax', path || 'Softmax', { dim: this.dim }, [x]);
  }
}

/** y = main(x) + shortcut(x) (identity shortcut when none is given): the residual block's DAG. */
export class Residual extends Module {
  constructor(
    readonly main: Module,
    readonly shortcut?: Module,
  ) {
    super();
    this.registerModule('main', main);
    if (shortcut) this.registerModule('shortcut', shortcut);
  }
  emit(graph: Graph, [x]: ValueId[], path: string): ValueId {
    const a = this.main.emit(graph, [x], childPath(path, 'main'));
    const b = this.shortcut ? this.shortcut.emit(graph, [x], childPath(path, 'shortcut')) : x;
    return graph.addNode('add', path || 'Residual', {}, [a, b]);
  }
}
