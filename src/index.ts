// vireo: train and run image-classification CNNs on the device. PyTorch-shaped API, NCHW float32.
import './backends/reference/index.js';
import './backends/wasm/index.js';
import './backends/webgpu/index.js';
import * as nn from './nn/index.js';
import * as optim from './train/optim/index.js';
import * as metrics from './train/metrics.js';

export { nn, optim, metrics };
export * as models from './models.js';
export type { ArchitectureOptions } from './models.js';
export * from './train/index.js';
export { Tensor, tensor, zeros, type GradFn, type TensorOptions } from './core/tensor.js';
export { Parameter } from './core/parameter.js';
export { manualSeed, Random } from './core/random.js';
export {
  VireoError,
  ShapeError,
  FormatError,
  StateDictError,
  ArgumentError,
  BackendFault,
  DeviceLostError,
  LimitError,
} from './core/errors.js';
export type { Shape } from './core/shape.js';
export { readSafetensors, readSafetensorsFile, writeSafetensors } from './io/safetensors.js';
export {
  saveModel,
  loadModel,
  readModelMeta,
  encodeModel,
  decodeModel,
  parseModelMeta,
  type ModelFiles,
  moduleToSpec,
  moduleFromSpec,
  type ModelMeta,
  type LayerSpec,
  type SaveModelOptions,
} from './io/model-file.js';
export { writeTar, readTar, type TarEntry } from './io/tar.js';
export { saveCheckpoint, loadCheckpoint, encodeCheckpoint, decodeCheckpoint, type Checkpoint } from './io/checkpoint.js';
export {
  importOnnx,
  OnnxModel,
  UnsupportedOpError,
  onnxWithNewHead,
  type ImportOnnxOptions,
  type OnnxHeadOptions,
  type OnnxWithHead,
} from './io/onnx/index.js';
export {
  getBackend,
  backendNames,
  disposeBackend,
  autoCandidates,
  type BackendName,
  type BackendOptions,
  type WasmBuild,
} from './backends/registry.js';
export { backendInfo } from './backends/info.js';
export { Graph } from './graph/ir.js';
export { Plan, type LayerTiming } from './graph/plan.js';
export { TrainPlan } from './graph/train-plan.js';
export { buildTrainingGraph, type TrainingGraph, type TrainingGraphOptions } from './graph/autodiff.js';
export { opDefs } from './ops/index.js';
export { CompiledModel, type ValidateOptions } from './nn/compiled.js';
export type { ToOptions } from './nn/module.js';
export { schedule, stopCalibrations, type Schedule, type LayerPlacement } from './scheduler/schedule.js';
export { assign, type AssignProblem, type Assignment } from './scheduler/assign.js';
export { clearCalibrationCache, calibrationStore, fingerprint } from './scheduler/cache.js';
export { describeCandidate, loadCandidates, type SkippedCandidate } from './scheduler/candidates.js';
export {
  datasets,
  transforms,
  functional as imageFunctional,
  DataLoader,
  Dataset,
  type DataLoaderOptions,
  type DataBatch,
  type LoaderStats,
} from './data/index.js';
