import type { Shape } from '../core/shape.js';

/** Every op the graph IR knows, declared once. Backends register kernels against these names. */
export type OpName =
  | 'conv2d'
  | 'maxPool2d'
  | 'avgPool2d'
  | 'adaptiveAvgPool2d'
  | 'linear'
  | 'activation'
  | 'batchNorm2d'
  | 'dropout'
  | 'flatten'
  | 'add'
  | 'softmax'
  // Training: backward ops (added by src/graph/autodiff.ts from each op's `grad` rule) and helpers.
  | 'conv2dGradInput'
  | 'conv2dGradWeight'
  | 'biasGrad'
  | 'activationGrad'
  | 'maxPool2dGrad'
  | 'avgPool2dGrad'
  | 'adaptiveAvgPool2dGrad'
  | 'linearGradInput'
  | 'linearGradWeight'
  | 'batchNorm2dGradInput'
  | 'batchNorm2dGradWeight'
  | 'softmaxGrad'
  | 'dropoutMask'
  | 'mul'
  | 'reshape'
  // ONNX import: broadcasting arithmetic, constants and tensor plumbing (src/ops/tensor-ops.ts).
  | 'binary'
  | 'constant'
  | 'concat'
  | 'transpose'
  | 'pad'
  | 'unary'
  | 'matmul'
  | 'unaryGrad'
  // ONNX breadth (src/ops/reduce.ts, slice.ts, layer-norm.ts).
  | 'reduce'
  | 'expand'
  | 'slice'
  | 'layerNorm'
  | 'layerNormGradInput'
  | 'layerNormGradWeight'
  // ONNX breadth II (src/ops/select.ts): Where, Gather on activations, and backward ops of binary max/min/pow/prelu and ReduceMax.
  | 'where'
  | 'gather'
  | 'binaryGrad'
  | 'whereGrad'
  | 'gatherGrad'
  | 'reduceMaxGrad';

/** Element-wise activations; conv2d and linear can fuse one into their epilogue. */
export type ActivationKind = 'none' | 'relu' | 'relu6' | 'leakyRelu' | 'sigmoid' | 'tanh';

export interface FusedActivation {
  kind: ActivationKind;
  /** Negative slope, for leakyRelu only. */
  alpha: number;
}

export interface Conv2dAttrs {
  inChannels: number;
  outChannels: number;
  kernel: [number, number];
  stride: [number, number];
  /** Resolved padding: top, left, bottom, right ('same' is resolved when the layer is made). */
  padding: [number, number, number, number];
  dilation: [number, number];
  groups: number;
  bias: boolean;
  activation: FusedActivation;
}

export interface Pool2dAttrs {
  kernel: [number, number];
  stride: [number, number];
  /** Symmetric padding per side: [padH, padW]. */
  padding: [number, number];
  dilation: [number, number];
  ceilMode: boolean;
  /** Average pooling only: whether padded cells count in the divisor. */
  countIncludePad: boolean;
}

export interface AdaptiveAvgPool2dAttrs {
  outputSize: [number, number];
}

export interface LinearAttrs {
  inFeatures: number;
  outFeatures: number;
  bias: boolean;
  activation: FusedActivation;
}

export interface ActivationAttrs extends FusedActivation {}

export interface BatchNorm2dAttrs {
  numFeatures: number;
  eps: number;
  momentum: number;
  /** True while the module trains: batch statistics instead of running ones. */
  training: boolean;
}

/**
 * Where a dropout layer stands in its mask stream: mask number `calls` is drawn from
 * `Random(seed + calls · 7919)`, so the masks are a pure function of (layer seed, count). Held by the
 * layer (nn.Dropout), read and advanced by the kernel at run time, saved in checkpoints.
 */
export interface DropoutGenerator {
  seed: number;
  /** Masks drawn so far (training-mode forward passes through the layer). */
  calls: number;
}

export interface DropoutAttrs {
  p: number;
  training: boolean;
  /** Seed of the layer's mask generator; each call draws a new mask from it. */
  seed: number;
  /**
   * The layer's generator state (nn.Dropout passes its own): the kernels take seed and count from it at run
   * time and advance it, so plans recompiled or rebuilt in another process continue the same stream. Without
   * it (op cases, ONNX imports) each kernel counts its own calls from 0 with `seed`.
   */
  generator?: DropoutGenerator;
}

export interface FlattenAttrs {
  startDim: number;
  endDim: number;
}

export interface SoftmaxAttrs {
  dim: number;
}

export type AddAttrs = Record<string, never>;

/** Backward attrs that also need the forward input's spatial size (not recoverable from dY alone). */
export interface Conv2dGradInputAttrs extends Conv2dAttrs {
  inputSize: [number, number];
}
export interface Pool2dGradAttrs extends Pool2dAttrs {
  inputSize: [number, number];
}
export interface AdaptiveAvgPool2dGradAttrs extends AdaptiveAvgPool2dAttrs {
  inputSize: [number, number];
}
/** Sum of dY over every dimension but `channelDim` (negative counts from the end). */
export interface BiasGradAttrs {
  channelDim: number;
}
export interface ReshapeAttrs {
  shape: number[];
}

/** prelu: a ≥ 0 ? a : a · b (ONNX PRelu, b the slope). */
export type BinaryKind = 'add' | 'sub' | 'mul' | 'div' | 'max' | 'min' | 'pow' | 'prelu';
export interface BinaryAttrs {
  kind: BinaryKind;
}
export interface ConstantAttrs {
  shape: number[];
}
export interface ConcatAttrs {
  axis: number;
}
export interface TransposeAttrs {
  perm: number[];
}
/** ONNX order: all begins, then all ends; constant mode only. */
export interface PadAttrs {
  pads: number[];
  value: number;
}
export type UnaryKind =
  | 'clip'
  | 'hardSwish'
  // Element-wise math of ONNX graphs (src/ops/unary-math.ts defines each).
  | 'hardSigmoid'
  | 'erf'
  | 'gelu'
  | 'silu'
  | 'sqrt'
  | 'exp'
  | 'log'
  | 'reciprocal'
  | 'pow'
  | 'abs'
  | 'affine'
  | 'elu'
  | 'selu'
  | 'softplus'
  | 'mish';
export interface UnaryAttrs {
  kind: UnaryKind;
  /** Clip bounds (±Infinity when absent). */
  min: number;
  max: number;
  /**
   * hardSigmoid: max(0, min(1, αx + β)); pow: x^α; affine: αx + β; elu: x > 0 ? x : α(eˣ − 1);
   * selu: β · elu with α (ONNX's γ is β).
   */
  alpha?: number;
  beta?: number;
}
export type ReduceKind = 'sum' | 'mean' | 'max';
export interface ReduceAttrs {
  kind: ReduceKind;
  /** Reduced axes, non-negative and ascending. */
  axes: number[];
  keepdims: boolean;
}
/** Broadcast to `shape` (NumPy rules), times `scale`. */
export interface ExpandAttrs {
  shape: number[];
  scale: number;
}
/** Per axis of the input: the first index read, the step, and the output size (a strided view copied). */
export interface SliceAttrs {
  starts: number[];
  steps: number[];
  sizes: number[];
}
/** Normalization over the trailing dimensions `normalizedShape`; `affine`: weight and bias parameters. */
export interface LayerNormAttrs {
  normalizedShape: number[];
  eps: number;
  affine: boolean;
}

/** Gather along `axis` at fixed indices (non-negative, each < the axis size) laid out as `indicesShape`. */
export interface GatherAttrs {
  axis: number;
  indices: number[];
  indicesShape: number[];
}
/** dL/d(operand) of a broadcasting `binary` node, at the output's shape (the caller sums it to the operand's). */
export interface BinaryGradAttrs {
  kind: BinaryKind;
  operand: 0 | 1;
}
/** dL/d(x) (operand 1) or dL/d(y) (operand 2) of where(c, x, y), at the output's shape. */
export interface WhereGradAttrs {
  operand: 1 | 2;
}
/** The scatter-add of a gather: dX of the gathered input, whose size along `axis` is `axisSize`. */
export interface GatherGradAttrs extends GatherAttrs {
  axisSize: number;
}

export interface OpAttrs {
  conv2d: Conv2dAttrs;
  maxPool2d: Pool2dAttrs;
  avgPool2d: Pool2dAttrs;
  adaptiveAvgPool2d: AdaptiveAvgPool2dAttrs;
  linear: LinearAttrs;
  activation: ActivationAttrs;
  batchNorm2d: BatchNorm2dAttrs;
  dropout: DropoutAttrs;
  flatten: FlattenAttrs;
  add: AddAttrs;
  softmax: SoftmaxAttrs;
  conv2dGradInput: Conv2dGradInputAttrs;
  conv2dGradWeight: Conv2dAttrs;
  biasGrad: BiasGradAttrs;
  activationGrad: ActivationAttrs;
  maxPool2dGrad: Pool2dAttrs;
  avgPool2dGrad: Pool2dGradAttrs;
  adaptiveAvgPool2dGrad: AdaptiveAvgPool2dGradAttrs;
  linearGradInput: LinearAttrs;
  linearGradWeight: LinearAttrs;
  batchNorm2dGradInput: BatchNorm2dAttrs;
  batchNorm2dGradWeight: BatchNorm2dAttrs;
  softmaxGrad: SoftmaxAttrs;
  dropoutMask: DropoutAttrs;
  mul: AddAttrs;
  reshape: ReshapeAttrs;
  binary: BinaryAttrs;
  constant: ConstantAttrs;
  concat: ConcatAttrs;
  transpose: TransposeAttrs;
  pad: PadAttrs;
  unary: UnaryAttrs;
  matmul: AddAttrs;
  /** dX from (dY, X) of a `unary` node. */
  unaryGrad: UnaryAttrs;
  reduce: ReduceAttrs;
  expand: ExpandAttrs;
  slice: SliceAttrs;
  layerNorm: LayerNormAttrs;
  layerNormGradInput: LayerNormAttrs;
  layerNormGradWeight: LayerNormAttrs;
  /** Inputs: condition (nonzero: true), x, y; NumPy broadcasting. */
  where: AddAttrs;
  gather: GatherAttrs;
  /** Inputs: dY, a, b. */
  binaryGrad: BinaryGradAttrs;
  /** Inputs: condition, dY. */
  whereGrad: WhereGradAttrs;
  gatherGrad: GatherGradAttrs;
  /** Inputs: dY, X, Y (the forward output); dY shared evenly by the maxima that tie, as torch.amax. */
  reduceMaxGrad: ReduceAttrs;
}

/** Shapes of an op's parameters, by PyTorch name (weight, bias, running_mean, ...). */
export type ParamShapes = Record<string, Shape>;

/** What an op is, independent of any backend: shape inference, parameter shapes and FLOP count. */
export interface OpDef<K extends OpName = OpName> {
  name: K;
  /** Number of tensor inputs (parameters excluded). */
  arity: number;
  /** Parameter shapes the op expects for these attributes. */
  paramShapes(attrs: OpAttrs[K]): ParamShapes;
  /** Output shape; throws a plain Error whose message the graph prefixes with the layer's name. */
  inferShape(inputs: Shape[], attrs: OpAttrs[K]): Shape;
  /** Multiply-adds count as 2 FLOPs. */
  flops(inputs: Shape[], output: Shape, attrs: OpAttrs[K]): number;
  /** True when the output is the input's memory under another shape (no kernel runs). */
  alias?(attrs: OpAttrs[K]): boolean;
  /** Gradient definition: adds the backward nodes of one forward node (absent: not differentiable). */
  grad?(ctx: GradContext<K>): GradResult;
}

/**
 * What a gradient definition sees of one forward node. Values are graph value ids; `emit` adds a
 * backward node reading the named forward parameters (same keys) and returns its output value.
 */
export interface GradContext<K extends OpName = OpName> {
  attrs: OpAttrs[K];
  inputs: readonly number[];
  output: number;
  inputShapes: readonly Shape[];
  outputShape: Shape;
  /** dL/d(output). */
  dy: number;
  needsInputGrad: readonly boolean[];
  needsParamGrad: Readonly<Record<string, boolean>>;
  emit<J extends OpName>(op: J, attrs: OpAttrs[J], inputs: number[], params?: string[]): number;
}

/** dL/d(each input) (null: not needed) and dL/d(parameter) by parameter key. */
export interface GradResult {
  inputs: (number | null)[];
  params: Record<string, number>;
}

export const noActivation: FusedActivation = { kind: 'none', alpha: 0 };
