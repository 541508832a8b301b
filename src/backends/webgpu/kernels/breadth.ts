// The WebGPU kernels of the ops beyond the CNN core: dropout, the ONNX breadth ops and their backward ops.
// Kept as one partial table so the backend's own table (index.ts) takes them in a single line.
import type { KernelTable } from '../../backend.js';
import type { GpuContext } from '../program.js';
import { dropoutMaskWebGpu, dropoutWebGpu } from './dropout.js';
import * as grads from './grads.js';
import * as ln from './layer-norm.js';
import * as tensor from './tensor-ops.js';

export function breadthKernels(ctx: GpuContext): KernelTable {
  return {
    dropout: dropoutWebGpu(ctx),
    dropoutMask: dropoutMaskWebGpu(ctx),
    constant: tensor.constantWebGpu(ctx),
    reduce: tensor.reduceWebGpu(ctx),
    expand: tensor.expandWebGpu(ctx),
    slice: tensor.sliceWebGpu(ctx),
    where: tensor.whereWebGpu(ctx),
    gather: tensor.gatherWebGpu(ctx),
    layerNorm: ln.layerNormWebGpu(ctx),
    layerNormGradInput: ln.layerNormGradInputWebGpu(ctx),
    layerNormGradWeight: ln.layerNormGradWeightWebGpu(ctx),
    unaryGrad: grads.unaryGradWebGpu(ctx),
    binaryGrad: grads.binaryGradWebGpu(ctx),
    whereGrad: grads.whereGradWebGpu(ctx),
    gatherGrad: grads.gatherGradWebGpu(ctx),
    reduceMaxGrad: grads.reduceMaxGradWebGpu(ctx),
  };
}
