import { ArgumentError } from '../../core/errors.js';
import { Parameter } from '../../core/parameter.js';
import type { Graph, ValueId } from '../../graph/ir.js';
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

let dropoutSeed = 1;

export class Dropout extends Module {
  private readonly seed = dropoutSeed++;
  constructor(readonly p = 0.5) {
    super();
    if (!(p >= 0 && p < 1)) throw new ArgumentError(`Dropout: p must be in [0, 1), got ${p}`);
  }
  emit(graph: Graph, [x]: ValueId[], path: string): ValueId {
    return graph.addNode('dropout', path || 'Dropout', { p: this.p, training: this.training, seed: this.seed }, [x]);
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
