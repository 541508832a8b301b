/**
 * Debug switches that force one path of an op's algorithm choice, read when a plan is compiled. One
 * place for all of them, so production code keeps no mutable tuning objects of its own; the A/B
 * benchmark (bench/train-ab.ts) flips them. Defaults are the measured-faster paths.
 */
export const flags = {
  /** wasm conv2d weight gradient: im2col straight into packed B panels (true) or im2col + f32_gemm (false). */
  convGradWeightPanels: true,
  /** wasm linear: pack weights with the SIMD packing kernels in wasm (true) or with the TypeScript loops (false). */
  packWeightsInWasm: true,
  /** ONNX import: fuse GELU (Erf form), HardSwish (HardSigmoid + Mul) and SiLU (Sigmoid + Mul) chains into one kernel. */
  fuseOnnxPatterns: true,
};
