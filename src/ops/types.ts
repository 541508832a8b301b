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
  | 'softmax';

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

export interface DropoutAttrs {
  p: number;
  training: boolean;
  /** Seed of the layer's mask generator; each call draws a new mask from it. */
  seed: number;
}

export interface FlattenAttrs {
  startDim: number;
  endDim: number;
}

export interface SoftmaxAttrs {
  dim: number;
}

export type AddAttrs = Record<string, never>;

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
}

export const noActivation: FusedActivation = { kind: 'none', alpha: 0 };
